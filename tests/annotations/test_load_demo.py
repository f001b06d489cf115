"""The load_demo command: the three demo projects, their users and memberships, run twice."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from annotations import services
from annotations.judges.models import JudgeConfig
from annotations.judges.parsers import final_answer
from annotations.models import Item, Judgement, Membership, Project, Score

DEMO_DATA = Path(__file__).resolve().parents[2] / "annotations" / "demo_data"


def _load() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def _judgements() -> dict[str, int]:
    return {
        p.name: Judgement.objects.filter(item__project=p).count() for p in Project.objects.all()
    }


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_celery")  # the demo's answer-check run, even with a broker
def test_it_loads_the_demo_twice_without_changing_anything_the_second_time(
    monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setenv("DEMO_PASSWORD", "s3cret-demo")
    monkeypatch.setenv("PORT", "8123")
    with django_capture_on_commit_callbacks(execute=True):
        first = _load()
    with_reference = Item.objects.filter(project__name="ProcessBench", reference_answer__gt="")
    answered = [i for i in with_reference if final_answer("\n".join(s.text for s in i.steps.all()))]
    checked = Judgement.objects.filter(rater__group="answer-check")
    assert checked.count() == len(answered) > 40  # a verdict wherever both answers exist
    checked.delete()  # the rest of the test counts the imported judgements
    ollama = JudgeConfig.objects.get(project__name="MT-bench")
    assert (ollama.base_url, ollama.template) == ("http://127.0.0.1:11434/v1", "mtbench-pair")
    loaded = _judgements()
    assert set(loaded) == {"MT-bench", "ProcessBench", "SummEval"}
    assert loaded["MT-bench"] == 3355 + 2400 - 1
    assert loaded["SummEval"] == 1200 * (4 + 1) * 8  # four criteria and `consistent`
    density = Score.objects.filter(item__project__name="SummEval", rater__group="metric")
    assert density.count() == 1200 and density.filter(criterion__name="consistent").count()
    solutions = [
        entry
        for path in sorted((DEMO_DATA / "processbench").glob("*.json"))
        for entry in json.loads(path.read_bytes())
    ]
    steps = sum(len(e["steps"]) if e["label"] == -1 else e["label"] + 1 for e in solutions)
    assert loaded["ProcessBench"] == steps + 2 * len(solutions) == 2662
    assert Item.objects.filter(project__name="ProcessBench").count() == 400
    pairs = Item.objects.filter(project__name="MT-bench")
    assert pairs.count() == 2400 and not pairs.filter(response_a=None).exists()
    assert not pairs.filter(response_b=None).exists()
    assert pairs.filter(meta__turn=2, meta__has_key="turn1_answer_a").count() == 1200
    # The OlympiadBench sample holds problems solved more than once: a reference for most.
    by_id = {str(e["id"]): e for e in solutions}
    for item in with_reference:
        source = by_id[item.meta["reference_source"]]
        assert source["id"] != item.external_id and source["final_answer_correct"]
        assert source["problem"] == by_id[item.external_id]["problem"]
    assert "http://127.0.0.1:8123/" in first
    assert "admin       password s3cret-demo" in first

    second = _load()
    assert _judgements() == loaded
    assert second.count("already loaded") == 3
    assert "s3cret-demo" not in second  # the accounts existed; their passwords were kept


@pytest.mark.django_db
def test_it_creates_the_users_and_their_memberships_in_every_demo_project(monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    _load()
    users = get_user_model().objects
    admin = users.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.check_password("judgeapp-demo")
    for name in ("annotator1", "annotator2"):
        user = users.get(username=name)
        assert not user.is_staff and user.check_password("judgeapp-demo")
    for project in Project.objects.all():
        memberships = set(
            Membership.objects.filter(project=project).values_list(
                "user__username", "role", "rater_group"
            )
        )
        assert memberships == {
            ("admin", "lead", "annotators"),
            ("annotator1", "annotator", "annotators"),
            ("annotator2", "annotator", "annotators"),
        }
        assert project.annotator_group == "annotators"
        assert project.description and project.guidelines.startswith("## ")


@pytest.mark.django_db
def test_it_keeps_a_changed_password_and_edited_guidelines(monkeypatch):
    _load()
    admin = get_user_model().objects.get(username="admin")
    admin.set_password("changed-by-admin")
    admin.save()
    Project.objects.filter(name="SummEval").update(guidelines="Our own rules.")
    moved = Membership.objects.get(project__name="SummEval", user__username="annotator1")
    services.annotator_group_move(membership=moved, group="pilot")
    _load()
    admin.refresh_from_db()
    assert admin.check_password("changed-by-admin")
    assert Project.objects.get(name="SummEval").guidelines == "Our own rules."
    moved.refresh_from_db()
    assert moved.rater_group == "pilot"


@pytest.mark.django_db
def test_it_leaves_an_mt_bench_loaded_without_answers_and_says_how_to_get_them():
    project = services.project_get_or_create(name="MT-bench")
    old_files = ["mt_bench_human.csv", "mt_bench_gpt4_pair.csv", "question.jsonl"]
    services.items_import(
        project=project,
        paths=[DEMO_DATA / "mt_bench" / name for name in old_files],
        format="mtbench",
    )
    out = _load()
    assert "MT-bench: already loaded, left as it is" in out
    assert "delete the MT-bench project, or db.sqlite3, and run again" in out
    assert Item.objects.filter(project=project, response_a=None).count() == 2400
