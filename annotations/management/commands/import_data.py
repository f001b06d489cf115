"""python manage.py import_data --project NAME --format FORMAT FILE...

Label Studio (`--format labelstudio`) takes its own options: --config LABEL_CONFIG.xml,
--human-group G, --map FIELD=DATA_KEY (repeatable), --item-id-field F."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from annotations import services
from annotations.errors import DomainError
from annotations.importers import FORMATS, labelstudio


class Command(BaseCommand):
    help = "Import judgement files into a project (created if needed), all or nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--project", required=True, help="project name")
        parser.add_argument("--format", default="native", choices=sorted(FORMATS))
        ls = parser.add_argument_group("labelstudio")
        ls.add_argument("--config", type=Path, help="the labeling config (XML)")
        ls.add_argument("--human-group", help="the annotators' rater group (labelstudio, argilla)")
        ls.add_argument("--map", action="append", default=[], metavar="FIELD=DATA_KEY")
        ls.add_argument("--item-id-field", help="the data key holding the item id")

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
                    options=self._format_options(options),
                )
        except DomainError as exc:
            for line in exc.errors:
                self.stderr.write(line)
            if exc.count > len(exc.errors):
                self.stderr.write(f"... and {exc.count - len(exc.errors)} more")
            raise CommandError(exc.message) from None
        summary = ", ".join(f"{k.replace('_', ' ')}: {v:,}" for k, v in counts.as_dict().items())
        self.stdout.write(f"Imported into {project.name!r}: {summary}")
        for note in counts.notes:
            self.stdout.write(f"Note: {note}")

    def _format_options(self, options: dict) -> dict:
        """The labelstudio options as `labelstudio.Options` fields, argilla's human group (refused
        for other formats)."""
        given = {
            k: options[k] for k in ("config", "human_group", "item_id_field") if options[k]
        } | ({"mapping": options["map"]} if options["map"] else {})
        if not given:
            return {}
        if options["format"] == "argilla" and set(given) == {"human_group"}:
            return given
        if options["format"] != "labelstudio":
            flags = ", ".join("--" + k.replace("_", "-") for k in given)
            raise CommandError(f"{flags}: only for --format labelstudio")
        try:
            return labelstudio.options_clean(**given)
        except (OSError, ValueError, DomainError) as exc:
            raise CommandError(str(exc)) from None
