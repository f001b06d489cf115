"""Agreement runs end to end: import judgements, run (eager Celery), rows, CSVs, web and API."""

import csv
import io
import random
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from analysis import services
from analysis.config import RunConfig
from analysis.exports import AGREEMENT_COLUMNS, cell
from analysis.models import AgreementResult, AgreementRun, Disagreement, ShortfallResult
from annotations import services as annotation_services
from tests.factories import PREFERENCE, VALIDITY, judgement, pair, solution, write_jsonl

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_celery")]


def study_lines(seed: int = 1, n_pairs: int = 60, n_solutions: int = 20) -> list:
    """Three experts and a model judge on pairs and on solution steps."""
    rnd = random.Random(seed)
    lines = [PREFERENCE, VALIDITY]
    for i in range(n_pairs):
        lines.append(pair(f"p{i}", turn=1 + i % 2, category="=HYPERLINK" if i < 5 else "math"))
    for i in range(n_solutions):
        lines.append(solution(f"s{i}", n_steps=4, subset="gsm8k" if i % 2 else "math"))
    for i in range(n_pairs):
        truth = rnd.choice("abt")
        for e in range(3):
            value = truth if rnd.random() < 0.8 else rnd.choice("abt")
            lines.append(judgement(f"p{i}", "preference", _tie(value), rater=f"expert_{e}"))
        value = truth if rnd.random() < 0.6 else rnd.choice("abt")
        lines.append(
            judgement(
                f"p{i}",
                "preference",
                _tie(value),
                rater="gpt",
                rater_kind="model",
                rater_group="gpt-4",
                meta={"inconsistent": rnd.random() < 0.2},
            )
        )
    for i in range(n_solutions):
        error_at = rnd.choice([-1, 1, 2, 3])
        for rater, kind, group in [
            ("expert_0", "human", "expert"),
            ("expert_1", "human", "expert"),
            ("prm", "model", "prm"),
        ]:
            for step in range(4):
                wrong = step == error_at or (kind == "model" and rnd.random() < 0.15)
                lines.append(
                    judgement(
                        f"s{i}",
                        "validity",
                        "incorrect" if wrong else "correct",
                        rater=rater,
                        rater_kind=kind,
                        rater_group=group,
                        step=step,
                    )
                )
    return lines  # fmt: skip


def _tie(value: str) -> str:
    return "tie" if value == "t" else value


@pytest.fixture
def study(tmp_path, project):
    path = write_jsonl(tmp_path / "study.jsonl", study_lines())
    annotation_services.items_import(project=project, paths=[path])
    return project


def result_rows(run: AgreementRun) -> list[tuple]:
    return list(
        AgreementResult.objects.filter(run=run)
        .order_by("criterion", "slice", "slice_value", "group_a", "group_b", "metric")
        .values_list("criterion", "slice", "slice_value", "group_a", "group_b", "metric",
                     "estimate", "ci_low", "ci_high", "n_items", "n_pairs")
    )  # fmt: skip


def test_it_runs_a_report_and_stores_its_rows(study, lead):
    run = services.agreement_run_start(
        project=study,
        user=lead,
        config=RunConfig.from_input({"slice_keys": ["turn"], "n_boot": 200, "seed": 3}),
    )

    run.refresh_from_db()
    assert run.status == "done", run.error
    assert run.progress == 1.0
    assert run.attempts == 1
    metrics = set(AgreementResult.objects.filter(run=run).values_list("metric", flat=True))
    assert {"percent_agreement", "percent_agreement_no_ties", "cohen_kappa", "fleiss_kappa",
            "krippendorff_alpha", "gwet_ac1", "gap", "position_consistency",
            "first_error_accuracy", "processbench_f1"} <= metrics  # fmt: skip
    slices = set(AgreementResult.objects.filter(run=run).values_list("slice", "slice_value"))
    assert {("all", "all"), ("turn", "1"), ("turn", "2"), ("step_position", "0")} <= slices
    assert ShortfallResult.objects.filter(run=run, judge_group="gpt-4").exists()
    step_rows = Disagreement.objects.filter(run=run, judge_group="prm")
    assert step_rows.exists()
    for row in step_rows:
        assert row.criterion == "validity" and row.reference_group == "expert"
        assert row.item.startswith("s") and 0 <= row.step < 4
        assert {row.judge_label, row.reference_label} == {"correct", "incorrect"}
    assert set(run.timings) >= {"load_s", "compute_s", "store_s", "total_s"}


def test_it_overwrites_rows_when_a_run_is_computed_again(study, lead):
    run = services.agreement_run_start(
        project=study, user=lead, config=RunConfig.from_input({"n_boot": 50})
    )
    first = result_rows(run)
    stopped = timezone.now() - timedelta(seconds=settings.JOB_STALE_S + 1)
    AgreementRun.objects.filter(pk=run.pk).update(status="running", heartbeat_at=stopped)

    services.agreement_run_execute(run_id=run.pk, redelivered=True)

    assert result_rows(run) == first
    assert AgreementResult.objects.filter(run=run).count() == len(first)
    run.refresh_from_db()
    assert run.attempts == 2


def test_a_redelivered_message_leaves_a_run_with_a_fresh_heartbeat_alone(study, lead):
    """Redis redelivers a live worker's message past the visibility timeout too."""
    run = services.agreement_run_start(
        project=study, user=lead, config=RunConfig.from_input({"n_boot": 0})
    )
    AgreementRun.objects.filter(pk=run.pk).update(status="running", heartbeat_at=timezone.now())

    services.agreement_run_execute(run_id=run.pk, redelivered=True)

    run.refresh_from_db()
    assert (run.status, run.attempts) == ("running", 1)


def test_it_does_nothing_for_a_run_that_is_already_done(study, lead):
    run = services.agreement_run_start(
        project=study, user=lead, config=RunConfig.from_input({"n_boot": 0})
    )
    count = AgreementResult.objects.filter(run=run).count()

    services.agreement_run_execute(run_id=run.pk)

    run.refresh_from_db()
    assert (run.attempts, AgreementResult.objects.filter(run=run).count()) == (1, count)


def test_it_requeues_a_stuck_run_and_fails_it_after_three_attempts(study, lead):
    run = services.agreement_run_start(
        project=study, user=lead, config=RunConfig.from_input({"n_boot": 0})
    )
    AgreementRun.objects.filter(pk=run.pk).update(status="running", attempts=1)

    assert services.agreement_runs_reap(stale_seconds=-1) == {
        "failed": 0,
        "requeued": 1,
        "resent": 1,
    }
    run.refresh_from_db()
    assert run.status == "done"  # eager: requeued and run again at once
    AgreementRun.objects.filter(pk=run.pk).update(status="running", attempts=3)

    assert services.agreement_runs_reap(stale_seconds=-1) == {
        "failed": 1,
        "requeued": 0,
        "resent": 0,
    }
    run.refresh_from_db()
    assert run.status == "failed"
    assert "3 times" in run.error


def test_it_rejects_an_unknown_criterion(study, lead):
    from annotations.errors import DomainError

    with pytest.raises(DomainError, match="Unknown criteria: nope"):
        services.agreement_run_start(
            project=study, user=lead, config=RunConfig.from_input({"criteria": ["nope"]})
        )
    assert not AgreementRun.objects.exists()


def test_the_cli_writes_the_three_csv_files_with_the_contract_columns(study, tmp_path):
    out = tmp_path / "report"
    call_command("agreement_report", project=study.name, out=out, by=["category"], bootstrap=100,
                 seed=7, stdout=io.StringIO())  # fmt: skip

    with open(out / "agreement.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == [
        "criterion", "slice", "slice_value", "group_a", "group_b", "metric",
        "estimate", "ci_low", "ci_high", "n_items", "n_pairs", "method",
    ]  # fmt: skip
    overall = [r for r in rows[1:] if r[1:3] == ["all", "all"]]
    assert overall and all(r[0] in ("preference", "validity") for r in overall)
    # a slice value that looks like a formula is neutralised; numbers stay numbers
    assert any(r[2] == "'=HYPERLINK" for r in rows[1:])
    assert all(not r[2].startswith("=") for r in rows[1:])
    kappas = [float(r[6]) for r in rows[1:] if r[6]]
    assert kappas
    assert (out / "shortfall.csv").read_text().startswith("rank,criterion,slice,slice_value,")
    assert (out / "disagreements.csv").read_text().startswith("criterion,item,step,")


def test_it_neutralises_formula_text_but_keeps_numbers():
    assert cell("=1+2") == "'=1+2"
    assert cell("@SUM(A1)") == "'@SUM(A1)"
    assert cell("\tx") == "'\tx"
    assert cell("-cmd") == "'-cmd"
    assert cell(-0.25) == -0.25
    assert cell(-3) == -3
    assert cell(float("nan")) == ""
    assert cell("plain") == "plain"


class TestWeb:
    def test_a_lead_starts_a_run_and_downloads_its_csv(self, client, study, lead):
        client.force_login(lead)

        response = client.post(
            reverse("analysis:run-create", args=[study.slug]),
            {"slice_keys": "turn", "n_boot": 50, "seed": 1},
        )

        run = AgreementRun.objects.get()
        assert response.url == reverse("analysis:run-detail", args=[run.pk])
        page = client.get(response.url).content.decode()
        assert "Where the judges fall short" in page
        assert "gpt-4" in page
        download = client.get(reverse("analysis:run-download", args=[run.pk, "agreement.csv"]))
        body = b"".join(download.streaming_content).decode()
        assert body.startswith(",".join(AGREEMENT_COLUMNS) + "\n")
        assert body.count("\n") == AgreementResult.objects.filter(run=run).count() + 1

    def test_annotators_and_outsiders_get_404(self, client, study, lead, annotator, outsider):
        run = services.agreement_run_start(
            project=study, user=lead, config=RunConfig.from_input({"n_boot": 0})
        )
        for user in (annotator, outsider):
            client.force_login(user)
            for url in (
                reverse("analysis:run-list", args=[study.slug]),
                reverse("analysis:run-detail", args=[run.pk]),
                reverse("analysis:run-status", args=[run.pk]),
                reverse("analysis:run-download", args=[run.pk, "agreement.csv"]),
                reverse("analysis-api:run-detail", args=[run.pk]),
                reverse("analysis-api:run-file", args=[run.pk, "agreement.csv"]),
            ):
                assert client.get(url).status_code in (
                    (403, 404) if user == annotator else (404,)
                ), url
            response = client.post(reverse("analysis:run-create", args=[study.slug]), {})
            assert response.status_code == (403 if user == annotator else 404)

    def test_the_api_starts_a_run_and_serves_its_files(self, client, study, lead):
        client.force_login(lead)

        body = client.post(
            reverse("analysis-api:run-create", args=[study.slug]),
            {"slice_keys": ["turn"], "n_boot": 20},
            content_type="application/json",
        ).json()

        assert body["status"] == "done"
        csv_response = client.get(body["files"]["shortfall.csv"])
        text = b"".join(csv_response.streaming_content).decode()
        assert text.startswith("rank,criterion,")

    def test_the_api_rejects_a_bad_bootstrap_count(self, client, study, lead):
        client.force_login(lead)
        response = client.post(
            reverse("analysis-api:run-create", args=[study.slug]),
            {"n_boot": -5},
            content_type="application/json",
        )
        assert response.status_code == 400
        assert "n_boot" in response.json()

    def test_the_form_rejects_too_many_resamples_on_the_field(self, client, study, lead):
        client.force_login(lead)

        response = client.post(
            reverse("analysis:run-create", args=[study.slug]), {"n_boot": 20_001, "seed": 0}
        )

        assert response.status_code == 400
        assert response.context["form"].errors["n_boot"] == [
            "Bootstrap resamples must be between 0 and 20000."
        ]
        assert not AgreementRun.objects.exists()

    def test_the_api_rejects_a_negative_small_slice_size(self, client, study, lead):
        client.force_login(lead)
        response = client.post(
            reverse("analysis-api:run-create", args=[study.slug]),
            {"min_slice_items": -1},
            content_type="application/json",
        )
        assert response.status_code == 400
        assert "min_slice_items" in response.json()


@pytest.mark.django_db
def test_it_suggests_category_keys_to_slice_by_and_not_texts_or_ids(project, tmp_path):
    from analysis.selectors import meta_keys
    from annotations.services import items_import
    from tests.factories import PREFERENCE, pair, write_jsonl

    lines = [PREFERENCE] + [
        pair(f"q{i}", turn=1 + i % 2, category="math", turn1_answer_a="long text " * 20, n=i)
        for i in range(120)
    ]
    items_import(project=project, paths=[write_jsonl(tmp_path / "p.jsonl", lines)])
    assert meta_keys(project=project) == ["category", "turn"]
