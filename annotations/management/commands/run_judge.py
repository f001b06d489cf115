"""Run a model judge on a project's items from the command line.

    python manage.py run_judge --project P --criterion C --template T --model M \
        --base-url URL --group G [--param KEY=VALUE]... [--dry-run] [--limit N] [--items ID...]

Runs through the worker when CELERY_BROKER_URL is set (waiting, printing progress), eagerly
otherwise. The API key comes from OPENAI_API_KEY (ANTHROPIC_API_KEY for --provider anthropic)
or the variable named by --api-key-env, read by the process that asks the model — with a
broker, the worker. The operator may use any base URL.
"""

import json
import time
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from annotations.errors import DomainError
from annotations.judges import selectors, services
from annotations.judges.models import JudgeRun
from annotations.judges.services import JudgeSpec, Selection
from annotations.models import Criterion, Project

POLL_S = 2.0


def _param(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise CommandError(f"--param takes KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(raw)  # numbers, true/false, lists
    except ValueError:
        return key, raw


class Command(BaseCommand):
    help = "Run a model judge (an LLM, or the answer checker) on a project's items."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--project", required=True, help="name or slug")
        parser.add_argument("--criterion", required=True)
        parser.add_argument("--template", required=True, help="mtbench-pair, rubric, ...")
        parser.add_argument("--model", default="")
        parser.add_argument("--base-url", default="")
        parser.add_argument("--group", required=True, help="the judge's rater group")
        parser.add_argument("--provider", choices=["openai", "anthropic", "checker"])
        parser.add_argument("--name", default="", help="a readable name (default: the model)")
        parser.add_argument("--param", action="append", default=[], type=_param)
        parser.add_argument("--dry-run", action="store_true", help="ask nothing; show prompts")
        parser.add_argument("--limit", type=int, help="at most N items")
        parser.add_argument("--items", nargs="+", default=[], help="item ids")
        parser.add_argument("--api-key-env", default="", help="variable holding the API key")
        parser.add_argument("--concurrency", type=int, default=4)
        parser.add_argument("--cost-cap", type=float, help="stop when the cost passes this")

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(
            Q(name=options["project"]) | Q(slug=options["project"])
        ).first()
        if project is None:
            raise CommandError(f"No project {options['project']!r}.")
        criterion = Criterion.objects.filter(project=project, name=options["criterion"]).first()
        if criterion is None:
            raise CommandError(f"{project.name} has no criterion {options['criterion']!r}.")
        template = options["template"]
        spec = JudgeSpec(
            name=options["name"] or options["model"] or template,
            provider=options["provider"] or ("checker" if template == "answer-check" else "openai"),
            model=options["model"],
            template=template,
            group=options["group"],
            base_url=options["base_url"],
            parameters=dict(options["param"]),
            concurrency=options["concurrency"],
        )
        selection = Selection(ids=tuple(options["items"]), limit=options["limit"])
        try:
            if options["dry_run"]:
                self._dry_run(project, spec, criterion, selection)
                return
            config = services.judge_config_create(project=project, spec=spec, user=None)
            run = services.judge_run_start(
                config=config,
                criterion=criterion,
                selection=selection,
                user=None,
                cost_cap=options["cost_cap"],
                api_key_env=options["api_key_env"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"judge {config.rater.name} (group {config.rater.group}), run {run.pk}")
        self._wait(run)

    def _dry_run(self, project, spec, criterion, selection) -> None:
        estimate = services.judge_preview(
            project=project, spec=spec, criterion=criterion, selection=selection, user=None
        )
        for preview in estimate.prompts:
            order = f", order {preview.order}" if preview.order else ""
            self.stdout.write(f"--- item {preview.item}{order}")
            if preview.system:
                self.stdout.write(f"[system]\n{preview.system}\n[user]")
            self.stdout.write(preview.prompt)
        cost = "unknown (no price)" if estimate.cost is None else f"${estimate.cost:.2f}"
        self.stdout.write(
            f"--- {estimate.n_items} items, {estimate.n_requests} requests, about "
            f"{estimate.tokens_in:,} input and up to {estimate.tokens_out:,} output tokens; "
            f"cost {cost}. Nothing was asked."
        )

    def _wait(self, run: JudgeRun) -> None:
        last = ""
        while True:
            run.refresh_from_db()
            line = selectors.run_progress(run=run).line()
            if line != last:
                self.stdout.write(line)
                last = line
            if run.status not in (JudgeRun.Status.PENDING, JudgeRun.Status.RUNNING):
                break
            if not settings.CELERY_BROKER_URL:
                break  # eager: the run is over (or stopped) when start returns
            time.sleep(POLL_S)
        if run.status == JudgeRun.Status.FAILED:
            raise CommandError(f"The run failed: {run.error}")
        self.stdout.write(
            f"run {run.pk} {run.status}{': ' + run.stop_reason if run.stop_reason else ''}"
        )
