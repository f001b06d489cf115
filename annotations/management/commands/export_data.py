"""python manage.py export_data --project NAME [--out FILE] (native JSONL; stdout by default)

python manage.py export_data --project NAME --format parquet|jsonl --out DIR [--pairs]
[--pairs-group G] [--consensus majority|unanimous] [--min-votes N] [--license L] [--source S]...
writes the tidy data set (annotations/exports_tidy.py) and its dataset card into DIR.
"""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotations.exports import project_export_native
from annotations.exports_pairs import CONSENSUS, PairCounts, preference_pairs
from annotations.exports_tidy import FORMATS as TIDY_FORMATS
from annotations.exports_tidy import project_export_tidy
from annotations.models import Project


class Command(BaseCommand):
    help = "Export a project's criteria, items, judgements and scores in the native JSONL format."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, help="project name")
        parser.add_argument("--out", help="file to write (default: standard output)")
        parser.add_argument(
            "--format",
            default="native",
            choices=["native", *TIDY_FORMATS],
            help="native JSONL (re-importable), or a tidy data set in a directory (--out)",
        )
        parser.add_argument("--pairs", action="store_true", help="add preference_pairs")
        parser.add_argument("--pairs-group", default="expert", help="whose votes decide")
        parser.add_argument("--consensus", default="majority", choices=CONSENSUS)
        parser.add_argument("--min-votes", type=int, default=1, help="fewer: pair left out")
        parser.add_argument("--license", default="", help="the export's licence, for the card")
        parser.add_argument(
            "--source", action="append", default=[], help="a source and its licence, for the card"
        )

    def handle(self, *args, **options) -> None:
        project = Project.objects.filter(name=options["project"]).first()
        if project is None:
            raise CommandError(f"No project named {options['project']!r}.")
        if options["format"] != "native":
            self._tidy(project, options)
        elif options["out"]:
            with open(options["out"], "w", encoding="utf-8") as out:
                n = project_export_native(project=project, out=out)
            self.stderr.write(f"Wrote {n:,} lines to {options['out']}")
        else:
            project_export_native(project=project, out=sys.stdout)

    def _tidy(self, project: Project, options: dict) -> None:
        if not options["out"]:
            raise CommandError(f"--format {options['format']} writes a directory: give --out DIR.")
        counts = PairCounts()
        pairs = None
        if options["pairs"]:
            pairs = preference_pairs(
                project=project,
                group=options["pairs_group"],
                consensus=options["consensus"],
                min_votes=options["min_votes"],
                counts=counts,
            )
        export = project_export_tidy(
            project=project,
            directory=Path(options["out"]),
            format=options["format"],
            licence=options["license"],
            sources=options["source"],
            pairs=pairs,
        )
        for name, n in export.rows.items():
            self.stdout.write(f"{export.directory / name}: {n:,} rows")
        if options["pairs"]:
            self.stdout.write(
                f"Pairs left out: {counts.unclear:,} without a {options['consensus']} verdict, "
                f"{counts.too_few_votes:,} with too few votes, "
                f"{counts.without_texts:,} without both answers' texts"
            )
