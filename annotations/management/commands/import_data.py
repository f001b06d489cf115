"""python manage.py import_data --project NAME --format FORMAT [--human-group G] FILE..."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from annotations import services
from annotations.errors import DomainError
from annotations.importers import FORMATS


class Command(BaseCommand):
    help = "Import judgement files into a project (created if needed), all or nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--project", required=True, help="project name")
        parser.add_argument("--format", default="native", choices=sorted(FORMATS))
        parser.add_argument(
            "--human-group",
            help="group of the export's own annotators (argilla; default: the format's name)",
        )

    def handle(self, *args, **options) -> None:
        for path in options["files"]:
            if not path.exists():
                raise CommandError(f"{path}: no such file")

        def progress(lines: int) -> None:
            self.stderr.write(f"  {lines:,} records read", ending="\r")

        try:
            # One transaction with the import: a failed import into a new name leaves no
            # empty project behind (all or nothing, as the README promises).
            with transaction.atomic():
                project = services.project_get_or_create(name=options["project"])
                counts = services.items_import(
                    project=project,
                    paths=options["files"],
                    format=options["format"],
                    progress=progress if options["verbosity"] > 1 else None,
                    human_group=options["human_group"],
                )
        except DomainError as exc:
            for line in exc.errors:
                self.stderr.write(line)
            if exc.count > len(exc.errors):
                self.stderr.write(f"... and {exc.count - len(exc.errors)} more")
            raise CommandError(exc.message) from None
        summary = ", ".join(f"{k.replace('_', ' ')}: {v:,}" for k, v in counts.as_dict().items())
        self.stdout.write(f"Imported into {project.name!r}: {summary}")
