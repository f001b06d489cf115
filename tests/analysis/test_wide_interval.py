"""A wide interval scale (0..1e6) reports with interval statistics on the values, in memory
that depends on the judgements, not on the range; the importer bounds what it accepts."""

import random
import tracemalloc

import pytest

from analysis.config import RunConfig
from analysis.engine import criterion_report
from analysis.loading import criterion_data_load, project_index_load
from annotations import services
from annotations.errors import DomainError
from annotations.models import Criterion
from tests.factories import judgement, write_jsonl

pytestmark = pytest.mark.django_db


def scored_study(tmp_path, project, *, low: float, high: float, n_items: int = 40) -> Criterion:
    rnd = random.Random(3)
    criterion = {"type": "criterion", "name": "score", "target": "item", "scale": "interval"}
    lines = [criterion | {"min": low, "max": high}]
    for i in range(n_items):
        lines.append({"type": "item", "id": f"r{i}", "kind": "response", "response": "x"})
        truth = rnd.randint(int(low), int(high))
        for rater in ("expert_0", "expert_1", "expert_2"):
            noisy = min(int(high), max(int(low), truth + rnd.randint(-2, 2)))
            lines.append(judgement(f"r{i}", "score", noisy, rater=rater))
        model = {"rater_kind": "model", "rater_group": "judge"}
        lines.append(judgement(f"r{i}", "score", truth, rater="judge", **model))
    services.items_import(project=project, paths=[write_jsonl(tmp_path / "s.jsonl", lines)])
    return Criterion.objects.get(project=project, name="score")


def test_it_reports_a_0_to_1e6_scale_with_interval_statistics_in_bounded_memory(tmp_path, project):
    criterion = scored_study(tmp_path, project, low=0, high=1e6)

    tracemalloc.start()
    data = criterion_data_load(criterion=criterion, index=project_index_load(project=project))
    report = criterion_report(data, RunConfig(n_boot=200, seed=1))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    assert data.n_categories == 0  # not a million categories
    assert data.groups["expert"].codes.shape == (40, 3)
    assert data.groups["judge"].codes.shape == (40, 1)
    assert peak < 64 * 2**20  # the range once cost 29.8 GiB at max 1e4
    overall = {(r.group_a, r.group_b, r.metric): r for r in report.rows if r.slice == "all"}
    alpha = overall[("expert", "expert", "krippendorff_alpha")]
    assert alpha.estimate > 0.99 and "interval, on values" in alpha.method
    assert overall[("expert", "judge", "pearson")].estimate > 0.99
    assert not any(metric.startswith("cohen_kappa") for (_, _, metric) in overall)


def test_a_short_whole_number_scale_still_gets_category_statistics(tmp_path, project):
    criterion = scored_study(tmp_path, project, low=1, high=10)

    data = criterion_data_load(criterion=criterion, index=project_index_load(project=project))

    assert data.n_categories == 10
    report = criterion_report(data, RunConfig(n_boot=0))
    assert any(r.metric == "cohen_kappa_quadratic" for r in report.rows)


@pytest.mark.parametrize("bound", ["1e10", "1e30", "9" * 400, "-1e308"])
def test_it_refuses_interval_bounds_the_statistics_cannot_use(tmp_path, project, bound):
    line = (
        '{"type": "criterion", "name": "score", "target": "item", "scale": "interval", '
        f'"min": -1, "max": {bound}}}'
    )
    path = tmp_path / "c.jsonl"
    path.write_text(line + "\n")

    with pytest.raises(DomainError) as caught:
        services.items_import(project=project, paths=[path])

    assert caught.value.errors == [
        "c.jsonl line 1, field 'max': must be a number from -1e+09 to 1e+09"
    ]
    assert not Criterion.objects.exists()
