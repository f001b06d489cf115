"""Streamed runs (config chunk_items > 0): chunks of items, each a task, merged into rows.

The chunks are computed eagerly here; tests/analysis/test_streamed_worker.py runs them on
real workers."""

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from analysis import services, streamed_runs
from analysis.config import RunConfig, RunConfigError
from analysis.engine.streamed import STREAMED_METRICS
from analysis.models import AgreementResult, AgreementRun, ReportChunk, ShortfallResult
from annotations import services as annotation_services
from tests.analysis.test_runs import result_rows, study_lines
from tests.factories import write_jsonl

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_celery")]

STREAMED = RunConfig(slice_keys=("turn", "subset"), n_boot=200, seed=4, chunk_items=17)


@pytest.fixture
def study(tmp_path, project):
    lines = study_lines(seed=3, n_pairs=60, n_solutions=30)
    annotation_services.items_import(project=project, paths=[write_jsonl(tmp_path / "s", lines)])
    return project


def _start(project, lead, config: RunConfig) -> AgreementRun:
    run = services.agreement_run_start(project=project, user=lead, config=config)
    run.refresh_from_db()
    return run


def test_it_computes_a_run_in_chunks_and_finishes_it(study, lead):
    run = _start(study, lead, STREAMED)

    assert run.status == "done", run.error
    assert ReportChunk.objects.filter(run=run, status="done").count() == 6  # 90 items / 17
    assert run.stage == "done" and run.progress == 1.0
    assert run.timings["chunks"] == 6 and run.timings["chunk_peak_rss_mb"] > 0
    metrics = set(AgreementResult.objects.filter(run=run).values_list("metric", flat=True))
    assert metrics and metrics <= STREAMED_METRICS
    assert "Poisson" in AgreementResult.objects.filter(run=run).first().method


def test_it_gives_the_in_process_point_estimates_exactly(study, lead):
    streamed = _start(study, lead, STREAMED)
    whole = _start(study, lead, RunConfig(slice_keys=("turn", "subset"), n_boot=200, seed=4))

    by_key = {row[:6]: row for row in result_rows(whole)}
    rows = result_rows(streamed)
    assert len(rows) > 50
    for row in rows:
        old = by_key[row[:6]]
        # estimate, n_items, n_pairs: identical; the intervals come from another bootstrap.
        assert (row[6], row[9], row[10]) == (old[6], old[9], old[10]), row[:6]
    # The shortfall table (gap to the human ceiling per judge and slice): same rows, same rank.
    fields = ("rank", "criterion", "slice", "slice_value", "judge_group", "gap", "n_items",
              "small_slice")  # fmt: skip
    shortfall = ShortfallResult.objects.order_by("rank").values_list(*fields)
    assert list(shortfall.filter(run=streamed)) == list(shortfall.filter(run=whole))
    assert shortfall.filter(run=streamed).count() >= 4


def test_it_gives_the_same_rows_whatever_the_chunk_size(study, lead):
    small = _start(study, lead, STREAMED)
    large = _start(study, lead, RunConfig(slice_keys=("turn", "subset"), n_boot=200, seed=4,
                                          chunk_items=1000))  # fmt: skip

    assert ReportChunk.objects.filter(run=large).count() == 1
    assert result_rows(small) == result_rows(large)


def test_it_redoes_a_lost_chunk_by_itself(study, lead):
    run = _start(study, lead, STREAMED)
    before = result_rows(run)
    lost = ReportChunk.objects.get(run=run, index=2)
    # The worker of chunk 2 died mid-way: its row is running with a stale heartbeat, and the
    # run waits for it.
    stale = timezone.now() - timezone.timedelta(hours=1)
    ReportChunk.objects.filter(pk=lost.pk).update(status="running", heartbeat_at=stale, sums=None)
    AgreementRun.objects.filter(pk=run.pk).update(status="running", stage="1 of 6 chunks")
    AgreementResult.objects.filter(run=run).delete()

    reaped = services.agreement_runs_reap(stale_seconds=60)

    assert reaped["chunks_requeued"] == 1 and reaped.get("requeued", 0) == 0
    attempts = dict(ReportChunk.objects.filter(run=run).values_list("index", "attempts"))
    assert attempts == {0: 1, 1: 1, 2: 2, 3: 1, 4: 1, 5: 1}  # only chunk 2 ran again
    run.refresh_from_db()
    assert run.status == "done"
    assert result_rows(run) == before


def test_it_ignores_a_chunk_message_delivered_twice(study, lead):
    run = _start(study, lead, STREAMED)
    before = result_rows(run)
    chunk = ReportChunk.objects.get(run=run, index=0)

    streamed_runs.report_chunk_execute(chunk_id=chunk.pk, redelivered=True)
    streamed_runs.report_merge_execute(run_id=run.pk)

    assert ReportChunk.objects.get(pk=chunk.pk).attempts == 1
    assert result_rows(run) == before


def test_it_refuses_chunks_without_bootstrap_resamples():
    with pytest.raises(RunConfigError, match="bootstrap resamples"):
        RunConfig(n_boot=0, chunk_items=100)


@given(
    st.one_of(st.integers(), st.text(max_size=12), st.floats(), st.booleans(), st.none(),
              st.lists(st.integers(), max_size=2)),
    st.integers(min_value=-2, max_value=3),
)  # fmt: skip
def test_it_takes_any_chunk_items_input_or_names_the_field(chunk, n_boot):
    try:
        config = RunConfig.from_input({"chunk_items": chunk, "n_boot": n_boot})
    except RunConfigError as exc:
        assert exc.field in ("chunk_items", "n_boot")
    else:
        assert config.chunk_items >= 0 and (config.chunk_items == 0 or config.n_boot >= 1)


def test_it_starts_a_streamed_run_from_the_api(client, study, lead):
    client.force_login(lead)
    url = f"/api/projects/{study.slug}/agreement-runs/"

    bad = client.post(url, {"n_boot": 0, "chunk_items": 10}, content_type="application/json")
    started = client.post(url, {"n_boot": 50, "chunk_items": 40}, content_type="application/json")

    assert bad.status_code == 400 and "chunk_items" in bad.json()
    assert started.status_code == 202
    run = AgreementRun.objects.get(pk=started.json()["id"])
    assert run.status == "done" and ReportChunk.objects.filter(run=run).count() == 3


def test_the_run_page_says_what_a_chunked_run_leaves_out(study, lead, client):
    streamed = _start(study, lead, STREAMED)
    whole = _start(study, lead, RunConfig(slice_keys=("turn",), n_boot=20, seed=4))
    client.force_login(lead)

    page = client.get(reverse("analysis:run-detail", args=[streamed.pk])).content.decode()
    plain = client.get(reverse("analysis:run-detail", args=[whole.pk])).content.decode()

    assert 'id="streamed-note"' in page and "chunks of 17 items" in page
    assert "correlations on interval scales" in page and "Poisson(1)" in page
    assert 'id="streamed-note"' not in plain and "Poisson" not in plain


def test_it_leaves_no_chunk_sums_in_debugs_query_log(study, lead, settings):
    """make run has DEBUG on and runs chunks in the web process: Django's query log kept each
    chunk's sums as SQL text (a demo run of 120 chunks grew the server to 2.5 GB)."""
    from django.db import connection  # noqa: PLC0415

    settings.DEBUG = True
    run = _start(study, lead, STREAMED)

    assert run.status == "done", run.error
    assert ReportChunk.objects.filter(run=run).count() == 6
    longest = max((len(q["sql"]) for q in connection.queries), default=0)
    assert longest < 20_000, longest
