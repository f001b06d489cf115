"""Every URL x every role: the outcome each role gets is written down, so a new view without
an access check (or a new URL nobody thought about) fails here.

The URLs come from the resolver (`judgeapp.urls`, walked recursively), not from a list kept by
hand: a pattern missing from `EXPECTED` fails the test, which prints the row it observed for
you to check and paste. Each URL is requested with GET and with an empty POST by seven people,
on a study holding the secrets annotators must never see (model judgements, a colleague's
rationale, gold answers, a judge's configuration, prompts and raw answers, an external judge's
name). Every request runs in a transaction that is rolled back, so no request changes what the
next one sees and the table does not depend on the order.

The Django admin (`admin:`) is left out of the walk: it has its own guard (active staff, then
per-model permissions), tested by Django; `test_it_keeps_the_admin_to_staff` checks its door.

How to read and extend `EXPECTED`: one row per (URL name, method), the outcomes in `ROLES`
order. `L` is a redirect to the login page, `R` any other redirect, a number is the status.
Add a row for each new URL name (GET and POST); a POST-only view answers 405 to GET once the
user is past its access check.
"""

from http.cookies import SimpleCookie

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from analysis import services as analysis_services
from analysis.config import RunConfig
from annotations import export_jobs
from annotations import services as core_services
from annotations.annotate import services as annotate_services
from annotations.judges import external
from annotations.judges import services as judge_services
from annotations.judges.models import JudgeConfig
from annotations.models import Item, Membership, Project
from tests.annotations.annotate.conftest import (
    COLLEAGUE_SECRET,
    SECRET,
    SOLUTION_CORRECT,
    import_lines,
    item_label,
    next_assignment,
    step_labels,
    submit_answers,
)
from tests.annotations.annotate.test_annotate_blind import (
    EXTERNAL_ID_SECRET,
    GOLD_SECRET,
    JUDGE_SECRET,
    PROMPT_SECRET,
    RAW_SECRET,
    seed_platform_judge,
)
from tests.factories import VALIDITY, judgement, solution

TOKEN_SECRET = "EXTERNAL-JUDGE-SECRET-3e9d"  # an external judge's rater name
CANARIES = (SECRET, COLLEAGUE_SECRET, GOLD_SECRET, JUDGE_SECRET, PROMPT_SECRET, RAW_SECRET)
CANARIES += (TOKEN_SECRET, EXTERNAL_ID_SECRET)

ROLES = ("anonymous", "outsider", "other_annotator", "annotator", "lead", "staff", "superuser")
BLIND_ROLES = ("anonymous", "outsider", "other_annotator", "annotator")

# (URL name, method): the outcome for each of
#   anonymous outsider other_annotator annotator lead staff superuser
# "a/b": the URL's variants (file names) answer differently: the API serves the CSVs only.
# Anonymous API calls answer 403 where DRF's session auth has no WWW-Authenticate (issue 11).
EXPECTED: dict[tuple[str, str], str] = {
    ("healthz", "GET"): "200 200 200 200 200 200 200",
    ("healthz", "POST"): "200 200 200 200 200 200 200",
    ("home", "GET"): "L 200 200 200 200 200 200",
    ("home", "POST"): "L 200 200 200 200 200 200",
    ("login", "GET"): "200 200 200 200 200 200 200",
    ("login", "POST"): "200 200 200 200 200 200 200",
    ("logout", "GET"): "405 405 405 405 405 405 405",
    ("logout", "POST"): "L L L L L L L",
    ("api:project-list", "GET"): "401 200 200 200 200 200 200",
    ("api:project-list", "POST"): "401 405 405 405 405 405 405",
    ("api:import-create", "GET"): "401 405 405 405 405 405 405",
    ("api:import-create", "POST"): "401 404 404 403 400 404 400",
    ("api:import-detail", "GET"): "401 404 404 404 200 404 200",
    ("api:import-detail", "POST"): "401 405 405 405 405 405 405",
    ("api:assignment-next", "GET"): "401 405 405 405 405 405 405",
    ("api:assignment-next", "POST"): "401 404 404 200 200 404 404",
    ("api:assignment-detail", "GET"): "401 404 404 200 404 404 404",
    ("api:assignment-detail", "POST"): "401 405 405 405 405 405 405",
    ("api:assignment-submit", "GET"): "401 405 405 405 405 405 405",
    ("api:assignment-submit", "POST"): "401 404 404 415 404 404 404",
    ("api:assignment-skip", "GET"): "401 405 405 405 405 405 405",
    ("api:assignment-skip", "POST"): "401 404 404 200 404 404 404",
    ("api:judgement-bulk", "GET"): "401 401 401 401 401 401 401",
    ("api:judgement-bulk", "POST"): "401 401 401 401 401 401 401",
    ("analysis-api:run-create", "GET"): "401 405 405 405 405 405 405",
    ("analysis-api:run-create", "POST"): "401 404 404 403 202 404 202",
    ("analysis-api:run-detail", "GET"): "401 404 404 404 200 404 200",
    ("analysis-api:run-detail", "POST"): "401 405 405 405 405 405 405",
    ("analysis-api:run-file", "GET"): "401 404 404 404 200/404 404 200/404",
    ("analysis-api:run-file", "POST"): "401 405 405 405 405 405 405",
    ("analysis:run-list", "GET"): "L 404 404 403 200 404 200",
    ("analysis:run-list", "POST"): "L 404 404 403 200 404 200",
    ("analysis:run-create", "GET"): "L 405 405 405 405 405 405",
    ("analysis:run-create", "POST"): "L 404 404 403 400 404 400",
    ("analysis:overview", "GET"): "L 404 404 404 200 200 200",
    ("analysis:overview", "POST"): "L 404 404 404 200 200 200",
    ("analysis:overview-live", "GET"): "L 404 404 404 200 200 200",
    ("analysis:overview-live", "POST"): "L 404 404 404 200 200 200",
    ("analysis:qc", "GET"): "L 404 404 403 200 404 200",
    ("analysis:qc", "POST"): "L 404 404 403 200 404 200",
    ("analysis:qc-move", "GET"): "L 405 405 405 405 405 405",
    ("analysis:qc-move", "POST"): "L 404 404 403 400 404 400",
    ("analysis:run-detail", "GET"): "L 404 404 404 200 404 200",
    ("analysis:run-detail", "POST"): "L 404 404 404 200 404 200",
    ("analysis:run-status", "GET"): "L 404 404 404 200 404 200",
    ("analysis:run-status", "POST"): "L 404 404 404 200 404 200",
    ("analysis:run-download", "GET"): "L 404 404 404 200 404 200",
    ("analysis:run-download", "POST"): "L 404 404 404 200 404 200",
    ("annotations:project-list", "GET"): "L 200 200 200 200 200 200",
    ("annotations:project-list", "POST"): "L 200 200 200 200 200 200",
    ("annotations:project-detail", "GET"): "L 404 404 200 200 404 200",
    ("annotations:project-detail", "POST"): "L 404 404 200 200 404 200",
    ("annotations:import-create", "GET"): "L 405 405 405 405 405 405",
    ("annotations:import-create", "POST"): "L 404 404 403 400 404 400",
    ("annotations:audit-log", "GET"): "L 404 404 403 200 404 200",
    ("annotations:audit-log", "POST"): "L 404 404 403 200 404 200",
    ("annotations:exports", "GET"): "L 404 404 403 200 404 200",
    ("annotations:exports", "POST"): "L 404 404 403 400 404 400",
    ("annotations:export-status", "GET"): "L 404 404 404 200 404 200",
    ("annotations:export-status", "POST"): "L 404 404 404 200 404 200",
    ("annotations:export-download", "GET"): "L 404 404 404 200 404 200",
    ("annotations:export-download", "POST"): "L 404 404 404 200 404 200",
    ("annotations:import-format", "GET"): "L 200 200 200 200 200 200",
    ("annotations:import-format", "POST"): "L 200 200 200 200 200 200",
    ("annotations:import-detail", "GET"): "L 404 404 404 200 404 200",
    ("annotations:import-detail", "POST"): "L 404 404 404 200 404 200",
    ("annotations:import-status", "GET"): "L 404 404 404 200 404 200",
    ("annotations:import-status", "POST"): "L 404 404 404 200 404 200",
    ("annotations:annotate:queue", "GET"): "L 404 404 200 200 404 404",
    ("annotations:annotate:queue", "POST"): "L 404 404 200 200 404 404",
    ("annotations:annotate:next", "GET"): "L 405 405 405 405 405 405",
    ("annotations:annotate:next", "POST"): "L 404 404 R R 404 404",
    ("annotations:annotate:previous", "GET"): "L 404 404 R R 404 404",
    ("annotations:annotate:previous", "POST"): "L 404 404 R R 404 404",
    ("annotations:annotate:guidelines", "GET"): "L 404 404 200 200 404 404",
    ("annotations:annotate:guidelines", "POST"): "L 404 404 200 200 404 404",
    ("annotations:annotate:item", "GET"): "L 404 404 200 404 404 404",
    ("annotations:annotate:item", "POST"): "L 404 404 200 404 404 404",
    ("annotations:annotate:submit", "GET"): "L 405 405 405 405 405 405",
    ("annotations:annotate:submit", "POST"): "L 404 404 400 404 404 404",
    ("annotations:annotate:skip", "GET"): "L 405 405 405 405 405 405",
    ("annotations:annotate:skip", "POST"): "L 404 404 R 404 404 404",
    ("annotations:annotate:flag", "GET"): "L 405 405 405 405 405 405",
    ("annotations:annotate:flag", "POST"): "L 404 404 R 404 404 404",
    ("annotations:annotate:lead", "GET"): "L 404 404 403 200 404 200",
    ("annotations:annotate:lead", "POST"): "L 404 404 403 200 404 200",
    ("annotations:annotate:lead-settings", "GET"): "L 405 405 405 405 405 405",
    ("annotations:annotate:lead-settings", "POST"): "L 404 404 403 400 404 400",
    ("annotations:annotate:lead-annotator-add", "GET"): "L 405 405 405 405 405 405",
    ("annotations:annotate:lead-annotator-add", "POST"): "L 404 404 403 400 404 400",
    ("annotations:annotate:lead-gold-set", "GET"): "L 405 405 405 405 405 405",
    ("annotations:annotate:lead-gold-set", "POST"): "L 404 404 403 400 404 400",
    ("annotations:annotate:lead-flag-release", "GET"): "L 405 405 405 405 405 405",
    ("annotations:annotate:lead-flag-release", "POST"): "L 404 404 403 R 404 R",
    ("annotations:judges:list", "GET"): "L 404 404 403 200 404 200",
    ("annotations:judges:list", "POST"): "L 404 404 403 400 404 400",
    ("annotations:judges:token-create", "GET"): "L 405 405 405 405 405 405",
    ("annotations:judges:token-create", "POST"): "L 404 404 403 400 404 400",
    ("annotations:judges:run-detail", "GET"): "L 404 404 404 200 404 200",
    ("annotations:judges:run-detail", "POST"): "L 404 404 404 200 404 200",
    ("annotations:judges:run-status", "GET"): "L 404 404 404 200 404 200",
    ("annotations:judges:run-status", "POST"): "L 404 404 404 200 404 200",
    ("annotations:judges:run-cancel", "GET"): "L 405 405 405 405 405 405",
    ("annotations:judges:run-cancel", "POST"): "L 404 404 404 R 404 R",
    ("annotations:review:targets", "GET"): "404 404 404 403 200 200 200",
    ("annotations:review:targets", "POST"): "404 404 404 403 200 200 200",
    ("annotations:review:items", "GET"): "404 404 404 403 200 200 200",
    ("annotations:review:items", "POST"): "404 404 404 403 200 200 200",
    ("annotations:review:item", "GET"): "404 404 404 403 200 200 200",
    ("annotations:review:item", "POST"): "404 404 404 403 200 200 200",
    # The site: favicon, a person's API tokens, the OpenAPI schema and its docs (public).
    ("favicon", "GET"): "R R R R R R R",
    ("favicon", "POST"): "R R R R R R R",
    ("tokens", "GET"): "L 200 200 200 200 200 200",
    ("tokens", "POST"): "L 200 200 200 200 200 200",
    ("token-revoke", "GET"): "L 405 405 405 405 405 405",
    ("token-revoke", "POST"): "L R R R R R R",
    ("api-schema", "GET"): "200 200 200 200 200 200 200",
    ("api-schema", "POST"): "405 405 405 405 405 405 405",
    ("api-docs", "GET"): "200 200 200 200 200 200 200",
    ("api-docs", "POST"): "405 405 405 405 405 405 405",
}


# ---- the study ---------------------------------------------------------------------------


def _user(username: str, **flags):
    return get_user_model().objects.create_user(username=username, password="pw", **flags)


@pytest.fixture
def world(db, tmp_path, project, lead, annotator, second_annotator, outsider, eager_celery):
    """The study (`project`) with every kind of object a URL can name, and the seven people."""
    lines = [VALIDITY, SOLUTION_CORRECT] + [solution(f"s{i}", n_steps=3) for i in range(4)]
    for i in range(4):
        lines += [
            judgement(f"s{i}", "validity", "incorrect", step=step, rater="gpt-4",
                      rater_kind="model", rater_group="gpt-4", rationale=SECRET)
            for step in range(3)
        ]  # fmt: skip
        lines.append(judgement(f"s{i}", "solution_correct", "no", rationale=SECRET))
    import_lines(project, tmp_path, lines)
    Item.objects.filter(project=project).update(meta={"label": SECRET})
    annotate_services.project_annotation_set(project=project, overlap=2, error_ends_solution=False)
    # charlie (a colleague) judges every item with a secret rationale.
    while (theirs := next_assignment(second_annotator, project)) is not None:
        submit_answers(
            theirs,
            step_labels(theirs.item, ["incorrect"] * 3)
            + [item_label(theirs.item, "solution_correct", "no")],
            rationale=COLLEAGUE_SECRET,
        )
    gold_item = project.items.get(external_id="s3")
    annotate_services.gold_set(item=gold_item, expected={"solution_correct": "no"}, user=lead)
    gold_item.gold.expected["note"] = GOLD_SECRET
    gold_item.gold.save()
    seed_platform_judge(project)
    external.rater_token_create(project=project, name=TOKEN_SECRET, group="ext", user=lead)
    # bob has flagged one item and holds another.
    flagged = next_assignment(annotator, project)
    annotate_services.assignment_skip(assignment=flagged, reason="broken", flag=True)
    mine = next_assignment(annotator, project)
    job = core_services.import_job_create(
        project=project,
        user=lead,
        file=SimpleUploadedFile("more.jsonl", b'{"type": "criterion"}\n'),
        format="native",
    )
    export = export_jobs.export_job_start(project=project, user=lead, format="native")
    export_jobs.export_job_run(job_id=export.pk)  # on_commit never fires in this transaction
    config = RunConfig.from_input({"n_boot": 20, "seed": 1})
    report = analysis_services.agreement_run_start(project=project, user=lead, config=config)
    analysis_services.agreement_run_execute(run_id=report.pk)
    report.refresh_from_db()
    assert report.status == "done", report.error
    judge_config = JudgeConfig.objects.get(project=project)
    judge_run = judge_services.judge_run_start(
        config=judge_config,
        criterion=project.criteria.get(name="solution_correct"),
        selection=judge_services.Selection(),
        user=lead,
    )
    for item in Item.objects.filter(project=project):  # ids that name models, as MT-bench's do
        item.external_id = f"{EXTERNAL_ID_SECRET}-{item.external_id}"
        item.save(update_fields=["external_id"])
    other = Project.objects.create(name="Other study", slug="other-study")
    dave = _user("dave")
    Membership.objects.create(user=dave, project=other, role="annotator")
    people = {
        "anonymous": None,
        "outsider": outsider,
        "other_annotator": dave,
        "annotator": annotator,
        "lead": lead,
        "staff": _user("sam", is_staff=True),
        "superuser": _user("root", is_staff=True, is_superuser=True),
    }
    args = {
        "slug": project.slug,
        "item_id": mine.item_id,
        "job_id": job.pk,
        "export_id": export.pk,
        "assignment_id": flagged.pk,
        "run_id": report.pk,
        "judge_run_id": judge_run.pk,
        "name": ["agreement.csv", "agreement.json", "report.html"],
    }
    return people, args


# ---- the URLs ----------------------------------------------------------------------------


def url_patterns(resolver=None, prefix: str = "") -> list[tuple[str, list[str]]]:
    """Every named URL outside the admin: (namespaced name, its parameter names)."""
    resolver = resolver or get_resolver()
    found = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue
            namespace = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            params = list(entry.pattern.converters)
            found += [(name, params + p) for name, p in url_patterns(entry, namespace)]
        elif isinstance(entry, URLPattern):
            assert entry.name, f"every URL needs a name: {entry.pattern}"
            found.append((prefix + entry.name, list(entry.pattern.converters)))
    return found


def urls_for(name: str, params: list[str], args: dict) -> list[str]:
    """The URLs to request for a pattern: its parameters filled with the study's objects."""
    kwargs = [{}]
    for param in params:
        key = (
            "judge_run_id"
            if param == "run_id" and name.startswith("annotations:judges:")
            else param
        )
        assert key in args, f"{name}: no study object for the parameter {param!r}; add one"
        values = args[key] if isinstance(args[key], list) else [args[key]]
        kwargs = [k | {param: v} for k in kwargs for v in values]
    return [reverse(name, kwargs=k) for k in kwargs]


def outcome(response) -> str:
    if response.status_code in (301, 302, 303):
        login = response["Location"].startswith(resolve_url(settings.LOGIN_URL))
        return "L" if login else "R"
    return str(response.status_code)


def request(client: Client, method: str, url: str):
    """One request whose writes are rolled back, and whose cookies too (a logout would
    otherwise sign the client out of every later request)."""
    cookies = {key: morsel.value for key, morsel in client.cookies.items()}
    with transaction.atomic():
        response = client.generic(method, url)
        transaction.set_rollback(True)
    client.cookies = SimpleCookie(cookies)
    return response


# ---- the tests ---------------------------------------------------------------------------


def test_it_gives_every_role_the_written_outcome_on_every_url(world):
    people, args = world
    clients = {}
    for role, user in people.items():
        clients[role] = Client(raise_request_exception=False)
        if user is not None:
            clients[role].force_login(user)
    patterns = url_patterns()
    names = [name for name, _ in patterns]
    assert len(names) == len(set(names)), "two URL patterns share a name"
    wrong, missing, leaks, errors = [], [], [], []
    for name, params in patterns:
        for method in ("GET", "POST"):
            observed = {role: set() for role in ROLES}
            for url in urls_for(name, params, args):
                for role in ROLES:
                    response = request(clients[role], method, url)
                    observed[role].add(outcome(response))
                    if response.status_code >= 500:
                        errors.append(f"{method} {url} as {role}: {response.status_code}")
                    if role in BLIND_ROLES:
                        body = b"".join(response) if response.streaming else response.content
                        leaks += [
                            f"{method} {url} as {role} shows {canary}"
                            for canary in CANARIES
                            if canary.encode() in body
                        ]
            got = " ".join("/".join(sorted(observed[role])) for role in ROLES)
            row = f'    ("{name}", "{method}"): "{got}",'
            if (name, method) not in EXPECTED:
                missing.append(row)
            elif EXPECTED[name, method] != got:
                wrong.append(f"{row}  # written: {EXPECTED[name, method]}")
    assert not errors, "server errors:\n" + "\n".join(errors)
    assert not leaks, "annotator-facing responses hold lead-only data:\n" + "\n".join(leaks)
    assert not missing, "URLs missing from EXPECTED (check, then paste):\n" + "\n".join(missing)
    assert not wrong, "outcomes differ from EXPECTED:\n" + "\n".join(wrong)
    stale = set(EXPECTED) - {(name, m) for name in names for m in ("GET", "POST")}
    assert not stale, f"EXPECTED names URLs that no longer exist: {sorted(stale)}"


def test_it_keeps_the_admin_to_staff(world):
    people, _ = world
    index = reverse("admin:index")
    for role, user in people.items():
        client = Client()
        if user is not None:
            client.force_login(user)
        response = client.get(index)
        if role in ("staff", "superuser"):
            assert response.status_code == 200, role
        else:
            assert response.status_code == 302, role
            assert response["Location"].startswith(reverse("admin:login")), role
