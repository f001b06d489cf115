"""python manage.py agreement_report --project NAME --out DIR [--by KEY]... [--bootstrap N]
[--seed S] [--reference GROUP] [--criterion NAME]... [--min-slice-items N]
[--epsilon E] [--epsilon GROUP=E]...

Runs a report (eagerly, or through the worker when a broker is set) and writes
DIR/agreement.csv, DIR/shortfall.csv, DIR/disagreements.csv and DIR/charts.csv, and the same
rows as JSON (DIR/agreement.json, ...; `python -m judgeapp.report DIR` reads them).
"""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis import services
from analysis.config import RunConfig
from analysis.exports import report_write_dir
from analysis.models import AgreementRun
from annotations.errors import DomainError
from annotations.models import Project


class Command(BaseCommand):
    help = "Compute the agreement report of a project and write its CSV files."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, help="project name")
        parser.add_argument("--out", required=True, type=Path, help="directory for the CSVs")
        parser.add_argument("--by", action="append", default=[], help="item meta key to slice by")
        parser.add_argument("--bootstrap", type=int, help="resamples (0 = none; default 1000)")
        parser.add_argument("--seed", type=int)
        parser.add_argument("--reference", help="reference human group (default: expert)")
        parser.add_argument("--criterion", action="append", default=[], help="only these")
        parser.add_argument("--min-slice-items", type=int, help="smaller slices are flagged")
        parser.add_argument(
            "--epsilon",
            action="append",
            default=[],
            help="alt-test margin: E for every human group (default 0.2), GROUP=E for one",
        )
        parser.add_argument(
            "--chunk-items", type=int, help="stream the report over the workers, N items a chunk"
        )
        parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait")

    def handle(self, *args, **options) -> None:
        project = Project.objects.filter(name=options["project"]).first()
        if project is None:
            raise CommandError(f"No project named {options['project']!r}.")
        plain = [v for v in options["epsilon"] if "=" not in v]
        per_group = [v for v in options["epsilon"] if "=" in v]
        if len(plain) > 1:
            raise CommandError("Give --epsilon E once (and GROUP=E for each group to override).")
        try:
            config = RunConfig.from_input(
                {
                    "criteria": options["criterion"],
                    "slice_keys": options["by"],
                    "reference_group": options["reference"],
                    "n_boot": options["bootstrap"],
                    "seed": options["seed"],
                    "min_slice_items": options["min_slice_items"],
                    "epsilon": plain[0] if plain else None,
                    "group_epsilons": per_group,
                    "chunk_items": options["chunk_items"],
                }
            )
            run = services.agreement_run_start(project=project, user=None, config=config)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        _wait(run, timeout=options["timeout"])
        written = report_write_dir(run=run, directory=options["out"])
        for name, n in written.items():
            self.stdout.write(f"{options['out'] / name}: {n:,} rows")
        self.stdout.write(f"Run #{run.pk} took {run.timings.get('total_s', 0):.1f} s")


def _wait(run: AgreementRun, *, timeout: float) -> None:
    """Until the run is done; CommandError if it fails or takes longer than `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        run.refresh_from_db()
        if run.status in (AgreementRun.Status.DONE, AgreementRun.Status.FAILED):
            break
        if time.monotonic() > deadline:
            raise CommandError(f"Run #{run.pk} did not finish in time ({run.status}).")
        time.sleep(0.5)
    if run.status == AgreementRun.Status.FAILED:
        raise CommandError(f"Run #{run.pk} failed: {run.error}")
