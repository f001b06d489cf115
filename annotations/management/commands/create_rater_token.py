"""Give an external judge an API key: a model rater that posts its own judgements.

    python manage.py create_rater_token --project P --rater NAME --group G [--model MODEL]

Creates the model rater if it does not exist (a human rater gets no key) and prints the key
once; only its hash is stored. A rater that has a key gets a new one and the old one stops
working. The key is used as `Authorization: Bearer <key>` on
`POST /api/projects/<slug>/judgements/bulk/`.
"""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from annotations.errors import DomainError
from annotations.judges import external
from annotations.models import Project


class Command(BaseCommand):
    help = "Create a model rater's API key for posting judgements in bulk (printed once)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--project", required=True, help="name or slug")
        parser.add_argument("--rater", required=True, help="the model rater's name")
        parser.add_argument("--group", required=True, help="its rater group in reports")
        parser.add_argument("--model", default="", help="the model's name, e.g. gpt-4o")

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(
            Q(name=options["project"]) | Q(slug=options["project"])
        ).first()
        if project is None:
            raise CommandError(f"No project {options['project']!r}.")
        try:
            issued = external.rater_token_create(
                project=project,
                name=options["rater"],
                group=options["group"],
                model_name=options["model"],
                user=None,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        rater = issued.token.rater
        if issued.replaced:
            self.stderr.write(f"The previous key of {rater.name!r} no longer works.")
        self.stderr.write(
            f"Key for model rater {rater.name!r} (group {rater.group!r}) in {project.name}; "
            "it is shown only now:"
        )
        self.stdout.write(issued.key)
