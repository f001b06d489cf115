"""`manage.py run_judge`: the contract the checks use, against the fake OpenAI server."""

import io

import pytest
from django.core.management import CommandError, call_command

from annotations.judges.models import JudgeAnswer, JudgeConfig
from annotations.models import Judgement, Project
from annotations.services import items_import
from tests.annotations.judges.fakes import FakeReply
from tests.factories import PREFERENCE, pair, write_jsonl

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_celery")]


@pytest.fixture
def study(tmp_path) -> Project:
    project = Project.objects.create(name="CLI study", slug="cli-study")
    lines = [PREFERENCE] + [pair(f"q{i}") for i in range(3)]
    items_import(project=project, paths=[write_jsonl(tmp_path / "p.jsonl", lines)])
    return project


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("run_judge", *args, stdout=out)
    return out.getvalue()


def base(server) -> list[str]:
    return [
        "--project", "CLI study", "--criterion", "preference", "--template", "mtbench-pair",
        "--model", "fake-model", "--base-url", server.base_url, "--group", "cli-judge",
    ]  # fmt: skip


def test_it_prints_the_first_prompts_and_asks_nothing_on_a_dry_run(study, openai_server):
    out = run(*base(openai_server), "--dry-run")
    assert "[The Start of Assistant A's Answer]" in out and "--- item q0, order ab" in out
    assert "3 items, 6 requests" in out and "Nothing was asked." in out
    assert not openai_server.requests
    assert not JudgeConfig.objects.exists()


def test_it_runs_and_stores_judgements_under_a_model_rater_in_the_group(study, openai_server):
    openai_server.use(lambda body, i: FakeReply(text="[[C]]", tokens_in=10, tokens_out=2))
    out = run(*base(openai_server), "--param", "temperature=0", "--limit", "2")
    assert "2 of 2 items judged" in out and "done" in out
    rows = Judgement.objects.filter(rater__group="cli-judge")
    assert rows.count() == 2 and {j.value for j in rows} == {"tie"}
    assert rows.first().rater.kind == "model"
    assert JudgeAnswer.objects.count() == 4
    assert JudgeConfig.objects.get().parameters == {"temperature": 0}


def test_it_names_a_bad_argument(study, openai_server):
    with pytest.raises(CommandError, match="Unknown parameter 'temp'"):
        run(*base(openai_server), "--param", "temp=0")
    with pytest.raises(CommandError, match="no criterion 'nope'"):
        run(*[a if a != "preference" else "nope" for a in base(openai_server)])
