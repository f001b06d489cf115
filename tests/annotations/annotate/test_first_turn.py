"""A turn-2 pair shows both conversations' first turn above the answers, in the annotator's
side order, rendered like the answers; nothing else of the item's meta reaches the page."""

import pytest
from django.urls import reverse

from annotations.models import Assignment
from tests.annotations.annotate.conftest import import_lines
from tests.factories import PREFERENCE

META_SECRET = "MODEL-NAME-SECRET-2c4d"


@pytest.fixture
def bob(client, annotator):
    client.force_login(annotator)
    return client


def pair_line(item_id: str, **meta) -> dict:
    return {
        "type": "item", "id": item_id, "kind": "pair", "prompt": "Can you parallelize it?",
        "response_a": "A2: use `Pool`.", "response_b": "B2: use threads.",
        "meta": {"model_a": META_SECRET, **meta},
    }  # fmt: skip


def open_item(client, project) -> tuple[str, Assignment]:
    response = client.post(reverse("annotations:annotate:next", args=[project.slug]))
    page = client.get(response.url).content.decode()
    return page, Assignment.objects.get()


def test_it_shows_the_first_turn_collapsed_in_the_annotators_side_order(bob, project, tmp_path):
    turn1 = {"turn": 2, "turn1_answer_a": "A1: **a loop**", "turn1_answer_b": "B1: $x^2$"}
    import_lines(project, tmp_path, [PREFERENCE, pair_line("t2", **turn1)])
    page, assignment = open_item(bob, project)
    first_turn = page[page.index('<details class="first-turn"') : page.index("</details>")]
    left, right = ("B1", "A1") if assignment.swapped else ("A1", "B1")
    assert first_turn.index(left) < first_turn.index(right)
    assert "A1: <strong>a loop</strong>" in first_turn
    assert '<span class="math inline">x^2</span>' in first_turn
    assert '<details class="first-turn" id="first-turn">' in page  # not open
    assert META_SECRET not in page and "turn1_answer" not in page


def test_it_shows_no_first_turn_on_a_first_turn_pair(bob, project, tmp_path):
    import_lines(project, tmp_path, [PREFERENCE, pair_line("t1", turn=1)])
    page, _ = open_item(bob, project)
    assert "first-turn" not in page and "A2: use <code>Pool</code>." in page
