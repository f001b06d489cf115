"""The annotator QC page: numbers, outliers, links, access, and moving an annotator."""

import re

import numpy as np
import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.qc.links import review_items_url
from analysis.qc.selectors import annotator_qc
from analysis.stats.pool import pool_agreement
from annotations.annotate.raters import rater_for_user
from annotations.models import Assignment, Item, Judgement, Membership, Project, Rater
from annotations.services import items_import
from tests.factories import judgement, write_jsonl

VERDICT = {
    "type": "criterion",
    "name": "verdict",
    "target": "item",
    "scale": "nominal",
    "labels": ["yes", "no"],
}
# Expert answers on 12 items: e1 and e2 mostly agree, e3 contradicts them, e4 agrees.
TRUTH = ["yes", "no"] * 6
FLIP = {"yes": "no", "no": "yes"}


def _response(i: int) -> dict:
    return {"type": "item", "id": f"r{i}", "kind": "response", "prompt": "p", "response": "r"}


@pytest.fixture
def pool(project, tmp_path, lead, annotator) -> Project:
    lines = [VERDICT] + [_response(i) for i in range(12)]
    for i, truth in enumerate(TRUTH):
        lines.append(judgement(f"r{i}", "verdict", truth, rater="e1"))
        lines.append(judgement(f"r{i}", "verdict", truth if i != 3 else FLIP[truth], rater="e2"))
        lines.append(judgement(f"r{i}", "verdict", FLIP[truth] if i != 0 else truth, rater="e3"))
        lines.append(judgement(f"r{i}", "verdict", truth, rater="e4"))
        lines.append(
            judgement(f"r{i}", "verdict", "yes", rater="gpt", rater_kind="model", rater_group="gpt")
        )
    items_import(project=project, paths=[write_jsonl(tmp_path / "pool.jsonl", lines)])
    # bob, an app annotator, labelled the first 8 items like e1 and gave two back.
    rater = rater_for_user(user_id=annotator.pk, project_id=project.pk)
    items = list(Item.objects.filter(project=project).order_by("pk"))
    criterion = project.criteria.get()
    for i, item in enumerate(items[:8]):
        Judgement.objects.create(
            rater=rater,
            item=item,
            criterion=criterion,
            value=TRUTH[i],
            code=TRUTH.index(TRUTH[i]) % 2,
        )
        Assignment.objects.create(
            project=project,
            item=item,
            user=annotator,
            slot=0,
            status="submitted",
            time_spent_ms=[3000, 5000, 7000, 9000, 11000, 13000, 15000, 60000][i],
            gold_correct=4 if i == 0 else None,
            gold_total=5 if i == 0 else None,
        )
    Assignment.objects.create(project=project, item=items[8], user=annotator, status="skipped")
    Assignment.objects.create(
        project=project, item=items[9], user=annotator, status="flagged", reason="broken"
    )
    return project


def _codes(project: Project) -> tuple[list[str], np.ndarray]:
    """The human pool as a matrix, read independently of the QC selector."""
    raters = list(Rater.objects.filter(project=project, kind="human").order_by("group", "name"))
    items = list(Item.objects.filter(project=project).order_by("pk"))
    matrix = np.full((len(items), len(raters)), np.nan)
    for j in Judgement.objects.filter(rater__in=raters):
        matrix[items.index(j.item), raters.index(j.rater)] = j.code
    return [r.name for r in raters], matrix


@pytest.mark.django_db
def test_it_compares_each_human_rater_with_the_majority_of_the_others(pool):
    report = annotator_qc(project=pool)
    names, matrix = _codes(pool)
    expected = pool_agreement(matrix, n_categories=2)
    rows = {row.name: row for row in report.rows}
    assert set(rows) == {"bob", "e1", "e2", "e3", "e4"}  # the model judge is no annotator
    for name, estimate in zip(names, expected, strict=True):
        cell = rows[name].agreement[0]
        assert cell.estimate.value == pytest.approx(estimate.value)
        assert cell.estimate.n_items == estimate.n_items
        assert cell.estimate.ci_low <= cell.estimate.value <= cell.estimate.ci_high
        assert "percentile cluster bootstrap" in cell.estimate.method
    assert rows["e3"].agreement[0].outlier and rows["e3"].agreement[0].estimate.value < 0
    assert not any(rows[n].agreement[0].outlier for n in ("e1", "e2", "e4", "bob"))


@pytest.mark.django_db
def test_it_reports_gold_time_skips_and_flags_of_app_annotators(pool):
    bob = next(row for row in annotator_qc(project=pool).rows if row.name == "bob")
    assert bob.median_seconds == pytest.approx(10.0)  # median of 3, 5, ..., 15, 60 s
    assert bob.submitted == 8
    assert bob.gold.estimate.value == pytest.approx(0.8) and bob.gold.estimate.n_items == 5
    assert "Wilson" in bob.gold.estimate.method
    assert bob.skip.estimate.value == pytest.approx(0.1)  # 1 of 10 given
    assert bob.flag.estimate.value == pytest.approx(0.1)
    assert bob.flag.url == "/projects/demo-study/review/items/?rater=bob&status=flagged"
    assert bob.gold.url == "/projects/demo-study/review/items/?rater=bob&status=gold"
    e1 = next(row for row in annotator_qc(project=pool).rows if row.name == "e1")
    assert e1.gold is None and e1.membership_id is None  # imported: no queue


@pytest.mark.django_db
def test_it_shows_the_page_with_links_methods_and_groups_to_a_lead(client, pool, lead):
    client.force_login(lead)
    page = client.get(reverse("analysis:qc", args=[pool.slug])).content.decode()
    assert "/projects/demo-study/review/items/?rater=e3&amp;criterion=verdict" in page
    assert "Cohen&#x27;s kappa" in page and "Wilson score" in page
    assert "leave-one-out" in page and "entirely below the median" in page
    assert re.search(r"<td>expert</td><td>bob, e1, e2, e3, e4</td>", page)
    assert "outlier" in page


def test_it_builds_item_browser_links_in_one_place():
    assert review_items_url(slug="s", rater="a b&c", criterion="x") == (
        "/projects/s/review/items/?rater=a+b%26c&criterion=x"
    )
    assert review_items_url(slug="s") == "/projects/s/review/items/"


@pytest.mark.django_db
def test_it_hides_the_page_from_annotators_outsiders_and_anonymous_users(
    client, pool, annotator, outsider
):
    url = reverse("analysis:qc", args=[pool.slug])
    move = reverse("analysis:qc-move", args=[pool.slug])
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.post(move, {"membership": 1, "group": "x"}).status_code == 302
    for user in (annotator, outsider):
        client.force_login(user)
        denied = 403 if user == annotator else 404  # a member is told the page is for leads
        assert client.get(url).status_code == denied
        membership = Membership.objects.get(user=annotator)
        assert client.post(move, {"membership": membership.pk, "group": "x"}).status_code == denied
    assert Membership.objects.get(user=annotator).rater_group == "expert"


@pytest.mark.django_db
def test_it_moves_an_annotator_and_their_judgements_from_the_page(client, pool, lead, annotator):
    client.force_login(lead)
    membership = Membership.objects.get(project=pool, user=annotator)
    response = client.post(
        reverse("analysis:qc-move", args=[pool.slug]),
        {"membership": membership.pk, "group": "annotators"},
    )
    assert response.status_code == 302
    assert set(
        Judgement.objects.filter(rater__user=annotator).values_list("rater__group", flat=True)
    ) == {"annotators"}
    refused = client.post(
        reverse("analysis:qc-move", args=[pool.slug]), {"membership": membership.pk, "group": "gpt"}
    )
    assert refused.status_code == 400 and "holds model judges" in refused.content.decode()


@pytest.mark.django_db
def test_it_refuses_to_move_a_member_of_another_project(client, pool, lead, django_user_model):
    other = Project.objects.create(name="Other", slug="other")
    dave = django_user_model.objects.create_user(username="dave")
    foreign = Membership.objects.create(project=other, user=dave, rater_group="expert")
    client.force_login(lead)
    response = client.post(
        reverse("analysis:qc-move", args=[pool.slug]), {"membership": foreign.pk, "group": "x"}
    )
    assert response.status_code == 400
    foreign.refresh_from_db()
    assert foreign.rater_group == "expert"


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    membership=st.one_of(st.integers(-5, 10**12).map(str), st.text(max_size=12)),
    group=st.text(max_size=80),
)
def test_it_answers_any_posted_move_with_a_page_or_a_redirect(
    client, pool, lead, membership, group
):
    client.force_login(lead)
    response = client.post(
        reverse("analysis:qc-move", args=[pool.slug]), {"membership": membership, "group": group}
    )
    assert response.status_code in (302, 400)
    for stored in Membership.objects.values_list("rater_group", flat=True):
        assert stored == stored.strip() and 0 < len(stored) <= 64
    groups = dict(Rater.objects.filter(user__isnull=False).values_list("user_id", "group"))
    for member in Membership.objects.filter(project=pool, user_id__in=groups):
        assert groups[member.user_id] == member.rater_group  # rater and membership move together


@pytest.mark.django_db
def test_it_compares_each_rater_only_with_the_raters_of_their_own_group(pool):
    """A crowd of two is its own pool: the experts' numbers leave it out, and its members are
    measured against each other (as a large crowd would otherwise outvote a few experts)."""
    Rater.objects.filter(project=pool, name__in=["e3", "e4"]).update(group="crowd")
    names, matrix = _codes(pool)  # ordered by group, then name
    rows = {row.name: row for row in annotator_qc(project=pool).rows}
    groups = dict(Rater.objects.filter(project=pool, kind="human").values_list("name", "group"))
    for group in ("crowd", "expert"):
        members = [i for i, name in enumerate(names) if groups[name] == group]
        expected = pool_agreement(matrix[:, members], n_categories=2)
        for i, estimate in zip(members, expected, strict=True):
            cell = rows[names[i]].agreement[0]
            assert cell.estimate.value == pytest.approx(estimate.value, nan_ok=True)
            assert cell.estimate.n_items == estimate.n_items
    # Against e1, e2 and bob only, e3's contradiction no longer lowers anyone's majority.
    assert rows["e3"].agreement[0].estimate.n_items == rows["e4"].agreement[0].estimate.n_items
