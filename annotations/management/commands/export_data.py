"""python manage.py export_data --project NAME [--out FILE] (native JSONL; stdout by default)."""

import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotations.exports import project_export_native
from annotations.models import Project


class Command(BaseCommand):
    help = "Export a project's criteria, items, judgements and scores in the native JSONL format."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, help="project name")
        parser.add_argument("--out", help="file to write (default: standard output)")

    def handle(self, *args, **options) -> None:
        project = Project.objects.filter(name=options["project"]).first()
        if project is None:
            raise CommandError(f"No project named {options['project']!r}.")
        if options["out"]:
            with open(options["out"], "w", encoding="utf-8") as out:
                n = project_export_native(project=project, out=out)
            self.stderr.write(f"Wrote {n:,} lines to {options['out']}")
        else:
            project_export_native(project=project, out=sys.stdout)
