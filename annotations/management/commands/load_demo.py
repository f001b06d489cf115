"""python manage.py load_demo: the demo projects, users and memberships. Safe to run again.

Loads three projects from the real data in `annotations/demo_data/` (see its NOTICE.md), each
only while it has no judgements yet, so a second run imports nothing and keeps what annotators
did in the meantime. Creates the superuser `admin` (lead of every demo project) and the
annotators `annotator1` and `annotator2` with the password from DEMO_PASSWORD (default
"judgeapp-demo"). Their judgements go into each project's annotator group (`annotators`), never
into the imported `expert` groups, so trying the queue leaves the published experts' rows of
every report as they were. `make run` runs this every time, so it never undoes a person's
change: a password is set only when the account is created (never reset to the well-known
default), a membership's group only when the membership is created (a lead's move stays), a
description or guidelines only where they are blank. `make run` runs
`migrate` before this.

MT-bench comes with the six models' answer texts; ProcessBench with reference answers taken,
leave-one-out, from another correct solution of the same problem (the processbench importer's
`leave_one_out_references`). SummEval comes with the binary `consistent` criterion (each
consistency rating of 5 is a yes; the summeval importer's `consistent`) and a score judge on it,
the summaries' extractive fragment density (`annotations.judges.extractive`, group `metric`),
which the report calibrates against the experts. A
database loaded before the answer texts were shipped keeps its MT-bench project as it is:
the demo is loaded once, and a re-import would clash with the stored items, whose content
has no answers. The command then says how to get the texts: delete that project (or
db.sqlite3) and run it again.
"""

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from annotations import services
from annotations.importers import FORMATS, processbench, summeval
from annotations.importers.errors import Origin
from annotations.importers.records import Record, ScoreRecord
from annotations.importers.writer import ImportCounts, ImportRejected, ImportWriter
from annotations.judges import extractive
from annotations.judges import services as judge_services
from annotations.models import Item, Judgement, Membership, Project

DEMO_DATA = Path(__file__).resolve().parents[2] / "demo_data"
DEFAULT_PASSWORD = "judgeapp-demo"  # noqa: S105 - a local demo login, printed on purpose
ANNOTATORS = ("annotator1", "annotator2")
MT_BENCH_MODELS = (
    "alpaca-13b",
    "claude-v1",
    "gpt-3.5-turbo",
    "gpt-4",
    "llama-13b",
    "vicuna-13b-v1.2",
)


@dataclass(frozen=True)
class DemoProject:
    name: str
    format: str
    files: tuple[str, ...]
    description: str
    guidelines: str
    parse: Callable[[list[Path]], Iterator[Record]]
    # Records made from the stored items after the import, e.g. a score judge's scores.
    derived: Callable[[Project], Iterator[Record]] | None = None


MT_BENCH_GUIDELINES = """\
## Which answer is better?

You see one question from MT-bench and two assistants' answers, **A** and **B**. For a turn-2
question the turn-1 question is shown first, as context: judge only the answer to turn 2.

- Choose **A** or **B** if one answer is clearly more helpful, correct and relevant.
- Choose **tie** if neither is clearly better (both good or both bad).
- Do not let the length of an answer, the order of A and B or the assistants' names sway you.
- For math, reasoning and coding questions a reference answer is shown: check correctness
  against it first.

The stored votes are from Zheng et al. (2023): 58 expert annotators, 7 paper authors and
GPT-4 as a pairwise judge, cast on these same answers (FastChat's generation of May 2023).
"""

PROCESSBENCH_GUIDELINES = """\
## Is each step correct?

Read the problem, then the solution one step at a time.

- Mark a step **correct** if its reasoning and calculations are right *given the steps
  before it*, even if it does not make much progress.
- Mark a step **incorrect** if it contains a mathematical error, a wrong claim, a false
  assumption or a calculation mistake.
- Stop at the **first incorrect step**: later steps build on a wrong result and are not
  judged.
- Then give your verdict on the whole solution: **correct** only if every step is.

Do not judge a solution by its final answer alone: a flawed solution can still end in the
right number, which is exactly what this project measures.
"""

SUMMEVAL_GUIDELINES = """\
## Rate the summary, 1 (worst) to 5 (best), on four criteria

Read the news article, then the summary.

- **Coherence**: the summary is well-structured and well-organised; it builds from sentence
  to sentence into a coherent body of information, not a heap of related facts.
- **Consistency**: every fact in the summary is supported by the article; no hallucinated
  or contradicting facts.
- **Fluency**: each sentence is well-written: no formatting problems, capitalisation errors
  or ungrammatical sentences that make it hard to read.
- **Relevance**: the summary keeps the important content of the article and leaves out
  redundant or unimportant details.

Judge each criterion on its own: a fluent summary can still be inconsistent.
"""

PROJECTS = (
    DemoProject(
        name="MT-bench",
        format="mtbench",
        files=(
            "mt_bench/mt_bench_human.csv",
            "mt_bench/mt_bench_gpt4_pair.csv",
            "mt_bench/question.jsonl",
            "mt_bench/reference_answer_gpt-4.jsonl",
            *(f"mt_bench/model_answer/{model}.jsonl" for model in MT_BENCH_MODELS),
        ),
        description=(
            "Pairwise preferences on MT-bench questions: expert and author votes next to "
            "GPT-4 as a judge, on the same answer pairs (Zheng et al. 2023)."
        ),
        guidelines=MT_BENCH_GUIDELINES,
        parse=FORMATS["mtbench"],
    ),
    DemoProject(
        name="ProcessBench",
        format="processbench",
        files=tuple(
            f"processbench/{name}.json" for name in ("gsm8k", "math", "olympiadbench", "omnimath")
        ),
        description=(
            "Step-by-step correctness of competition-math solutions: expert labels of the "
            "first wrong step, and an answer-only check (a sample of 400 from ProcessBench)."
        ),
        guidelines=PROCESSBENCH_GUIDELINES,
        parse=partial(processbench.parse, leave_one_out_references=True),
    ),
    DemoProject(
        name="SummEval",
        format="summeval",
        files=tuple(
            sorted(
                f"summeval/{path.name}"
                for path in (DEMO_DATA / "summeval").glob("M*_outputs_annotations.jsonl")
            )
        ),
        description=(
            "1,200 news summaries rated 1-5 for coherence, consistency, fluency and "
            "relevance by 3 experts and 5 crowd workers (Fabbri et al. 2021)."
        ),
        guidelines=SUMMEVAL_GUIDELINES,
        parse=partial(summeval.parse, consistent=True),
        derived=lambda project: _density_scores(project),
    ),
)


class Command(BaseCommand):
    help = "Load the demo projects, users and memberships (safe to run again)."

    def handle(self, *args, **options) -> None:
        password = os.environ.get("DEMO_PASSWORD") or DEFAULT_PASSWORD
        users, created = _users(password)
        admin, *annotators = users
        for demo in PROJECTS:
            project = services.project_get_or_create(name=demo.name)
            self._load(project, demo)
            with transaction.atomic():
                _describe(project, demo)
                services.membership_set(project=project, user=admin, role=Membership.Role.LEAD)
                for user in annotators:
                    services.membership_set(
                        project=project, user=user, role=Membership.Role.ANNOTATOR
                    )
        _demo_judges(admin)
        port = os.environ.get("PORT") or "8000"
        self.stdout.write(f"\nOpen http://127.0.0.1:{port}/ and log in as:")
        roles = ["superuser, lead of every demo project"] + ["annotator"] * len(annotators)
        for user, role in zip(users, roles, strict=True):
            shown = password if user.username in created else "(unchanged: the account existed)"
            self.stdout.write(f"  {user.username:<11} password {shown}  - {role}")

    def _load(self, project: Project, demo: DemoProject) -> None:
        if Judgement.objects.filter(item__project=project).exists():
            self.stdout.write(f"{demo.name}: already loaded, left as it is")
            if demo.format == "mtbench" and _lacks_answers(project):
                self.stdout.write(
                    f"  (loaded before the answer texts were shipped: delete the {demo.name} "
                    "project, or db.sqlite3, and run again to see them)"
                )
            return
        with transaction.atomic():  # the derived records land with the data or not at all
            counts = _import(project, demo.parse([DEMO_DATA / name for name in demo.files]))
            if demo.derived is not None:
                _import(project, demo.derived(project))
        # Two annotators per item, so the demo's annotators can be compared with each other;
        # ProcessBench is labelled as its experts did, stopping at the earliest error.
        Project.objects.filter(pk=project.pk).update(
            overlap=2, error_ends_solution=demo.format == "processbench"
        )
        self.stdout.write(
            f"{demo.name}: {counts.items_created:,} items, "
            f"{counts.judgements_created:,} judgements, {counts.raters_created:,} raters"
        )


def _import(project: Project, records: Iterator[Record]) -> ImportCounts:
    """The import `services.items_import` runs, with a parser of the demo's choosing: the
    service takes a format name only, and the demo turns on an importer option."""
    try:
        return ImportWriter(project).run(records)
    except ImportRejected as exc:
        raise CommandError("\n".join([str(exc), *exc.errors])) from None


DENSITY_RATER = "extractive-density"


def _density_scores(project: Project) -> Iterator[ScoreRecord]:
    """SummEval's score judge: each summary's extractive fragment density (Grusky et al.
    2018) as a score on the binary `consistent` criterion, for the report to calibrate."""
    origin = Origin("extractive density (computed by load_demo)", 1)
    for item_id, article, summary in Item.objects.filter(project=project).values_list(
        "external_id", "prompt", "response"
    ):
        yield ScoreRecord(
            origin=origin,
            item=item_id,
            criterion=summeval.CONSISTENT,
            rater=DENSITY_RATER,
            rater_group="metric",
            rater_model="extractive fragment density (Grusky et al. 2018)",
            score=extractive.density(article, summary or ""),
        )


OLLAMA_URL = "http://127.0.0.1:11434/v1"


def _demo_judges(admin) -> None:
    """A judge for MT-bench on a local Ollama (runs as is where Ollama serves llama3.1), and
    the answer checker (no network) run on ProcessBench's solution verdicts."""
    mt_bench = Project.objects.filter(name="MT-bench").first()
    if mt_bench is not None:
        judge_services.judge_config_create(
            project=mt_bench,
            spec=judge_services.JudgeSpec(
                name="llama3.1 on Ollama",
                provider="openai",
                model="llama3.1:8b",
                template="mtbench-pair",
                group="ollama-llama3.1",
                base_url=OLLAMA_URL,
                parameters={"temperature": 0, "max_tokens": 1024},
                concurrency=2,
            ),
            user=admin,
        )
    processbench = Project.objects.filter(name="ProcessBench").first()
    if processbench is None:
        return
    checker = judge_services.judge_config_create(
        project=processbench,
        spec=judge_services.JudgeSpec(
            name="answer checker",
            provider="checker",
            model="",
            template="answer-check",
            group="answer-check",
        ),
        user=admin,
    )
    if not checker.runs.exists():
        judge_services.judge_run_start(
            config=checker,
            criterion=processbench.criteria.get(name="solution_correct"),
            selection=judge_services.Selection(),
            user=admin,
        )


def _lacks_answers(project: Project) -> bool:
    return Item.objects.filter(project=project, kind="pair", response_a__isnull=True).exists()


def _users(password: str) -> tuple[list, set[str]]:
    """admin (a superuser) and the annotators, and the names of those created now."""
    user_model = get_user_model()
    users, created = [], set()
    with transaction.atomic():
        for name in ("admin", *ANNOTATORS):
            user, is_new = user_model.objects.get_or_create(username=name)
            if is_new:
                user.set_password(password)
                user.is_staff = user.is_superuser = name == "admin"
                user.save()
                created.add(name)
            users.append(user)
    return users, created


def _describe(project: Project, demo: DemoProject) -> None:
    """The demo's description and guidelines, where the project has none."""
    changed = []
    for field in ("description", "guidelines"):
        if not getattr(project, field).strip():
            setattr(project, field, getattr(demo, field))
            changed.append(field)
    if changed:
        project.save(update_fields=changed)
