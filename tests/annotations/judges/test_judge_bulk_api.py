"""External judges: a model rater's token posts its judgements and scores in bulk, by the
import's rules, all or nothing, once per batch id; nothing else can post as a rater, nor post
elsewhere."""

import hashlib
import json
import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token

from annotations.errors import DomainError
from annotations.judges import external
from annotations.judges.tokens import RaterBatch, RaterToken
from annotations.models import Criterion, Item, Judgement, Project, Rater, Score
from annotations.services import items_import
from tests.factories import COHERENCE, PREFERENCE, VALIDITY, pair, solution, write_jsonl

pytestmark = pytest.mark.django_db


SCORE = {"type": "criterion", "name": "score", "target": "item", "scale": "interval"}
SCORE |= {"min": 0, "max": 10}


@pytest.fixture
def study(project, tmp_path):
    lines = [VALIDITY, PREFERENCE, COHERENCE, SCORE, solution("s1", n_steps=3), pair("p1")]
    items_import(project=project, paths=[write_jsonl(tmp_path / "study.jsonl", lines)])
    return project


@pytest.fixture
def issued(study, lead) -> external.IssuedToken:
    return external.rater_token_create(
        project=study, name="our-judge", group="external", model_name="judge-7b", user=lead
    )


def url(project: Project) -> str:
    return reverse("api:judgement-bulk", args=[project.slug])


def post(client, project: Project, body, key: str | None = None, **headers):
    if key is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    text = body if isinstance(body, str) else json.dumps(body)
    return client.post(url(project), text, content_type="application/json", **headers)


def entries() -> list[dict]:
    return [
        {"item": "s1", "criterion": "validity", "step": 0, "value": "correct"},
        {"item": "s1", "criterion": "validity", "step": 1, "value": "incorrect",
         "rationale": "sign error", "meta": {"confidence": 0.7}, "time_spent_ms": 1200},
        {"item": "p1", "criterion": "preference", "value": "a"},
        {"item": "s1", "criterion": "coherence", "value": 4},
    ]  # fmt: skip


def stored() -> tuple[int, int]:
    """Judgements and scores, and batches."""
    return Judgement.objects.count() + Score.objects.count(), RaterBatch.objects.count()


def score_entries() -> list[dict]:
    return [
        {"item": "s1", "criterion": "validity", "step": 0, "score": 0.93},
        {"item": "s1", "criterion": "validity", "step": 2, "score": -4.5},
        {"item": "p1", "criterion": "preference", "score": 0.25},
    ]


# ---- posting ---------------------------------------------------------------------------------


def test_it_stores_a_batch_as_the_tokens_rater_and_answers_the_counts(client, study, issued):
    response = post(
        client, study, {"batch_id": "run-1/part-1", "judgements": entries()}, issued.key
    )
    assert response.status_code == 201
    assert response.json() == {
        "batch_id": "run-1/part-1", "created": 4, "unchanged": 0, "repeated": False,
    }  # fmt: skip
    rater = issued.token.rater
    assert set(Judgement.objects.values_list("rater_id", flat=True)) == {rater.pk}
    assert (rater.kind, rater.group, rater.model_name) == ("model", "external", "judge-7b")
    second_step = Judgement.objects.get(step__index=1)
    assert second_step.value == "incorrect" and second_step.rationale == "sign error"
    assert second_step.meta == {"confidence": 0.7} and second_step.time_spent_ms == 1200
    assert Judgement.objects.get(criterion__name="coherence").code == 3.0
    assert RaterBatch.objects.get().created == 4
    issued.token.refresh_from_db()
    assert issued.token.last_used_at is not None


def test_it_rejects_a_bad_entry_naming_it_and_stores_nothing(client, study, issued):
    body = entries()
    body[3]["value"] = 9
    body.insert(1, {"item": "s1", "criterion": "validity", "step": 2, "value": "maybe"})
    response = post(client, study, {"batch_id": "b", "judgements": body}, issued.key)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        'judgements[1].value: "maybe" is not one of "correct", "incorrect"',
        "judgements[4].value: 9 is not one of 1, 2, 3, 4, 5",
    ]
    assert stored() == (0, 0)


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ({"item": "nope", "criterion": "validity", "step": 0, "value": "correct"},
         "judgements[0].item: unknown item 'nope'"),
        ({"item": "s1", "criterion": "clarity", "value": 1},
         "judgements[0].criterion: unknown criterion 'clarity'"),
        ({"item": "s1", "criterion": "validity", "step": 7, "value": "correct"},
         "judgements[0].step: step 7 is out of range: 's1' has steps 0..2"),
        ({"item": "s1", "criterion": "validity", "value": "correct"},
         "judgements[0].step: criterion 'validity' needs a step"),
        ({"criterion": "coherence", "value": 1}, "judgements[0].item: is required"),
        ({"item": "s1", "criterion": "coherence", "value": 1, "time_spent_ms": -5},
         "judgements[0].time_spent_ms: must not be negative"),
        ({"item": "s1", "criterion": "coherence", "value": 1, "rater": "someone-else"},
         "judgements[0].rater: the rater is the token's; leave this field out"),
        ("s1", "judgements[0]: must be a JSON object"),
        # Numbers the database cannot hold are refused before it sees them.
        ({"item": "s1", "criterion": "coherence", "value": 1, "time_spent_ms": 2**31},
         "judgements[0].time_spent_ms: must be at most 2147483647"),
        ({"item": "s1", "criterion": "score", "value": 10**400},
         "judgements[0].value: 1000000000000000000000000000000000000000 is outside 0 to 10"),
        ('{"item": "s1", "criterion": "score", "value": 1, "meta": {"x": -1e999}}',
         "judgements[0].meta: holds a number out of range (NaN or infinite), which cannot be "
         "stored"),
    ],
)  # fmt: skip
def test_it_names_the_entry_and_field_of_each_error_and_creates_nothing(
    client, study, issued, entry, error
):
    before = Item.objects.count(), Criterion.objects.count()
    # An entry given as text goes into the body as it is (JSON Python cannot write, e.g. 1e999).
    text = entry if isinstance(entry, str) and entry.startswith("{") else json.dumps(entry)
    body = '{"batch_id": "b", "judgements": [' + text + "]}"
    response = post(client, study, body, issued.key)
    assert response.status_code == 400
    assert response.json()["errors"] == [error]
    assert stored() == (0, 0)
    assert (Item.objects.count(), Criterion.objects.count()) == before


def test_it_names_both_entries_of_a_duplicate(client, study, issued):
    body = [entries()[2], {**entries()[2], "value": "b"}]
    response = post(client, study, {"batch_id": "b", "judgements": body}, issued.key)
    assert response.json()["errors"] == [
        "judgements[1]: duplicate judgement: same rater, item, step and criterion as judgements[0]"
    ]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"judgements": [{}]}, "batch_id: This field is required."),
        ({"batch_id": "", "judgements": [{}]}, "batch_id: This field may not be blank."),
        ({"batch_id": "x" * 101, "judgements": [{}]},
         "batch_id: Ensure this field has no more than 100 characters."),
        ({"batch_id": "b", "judgements": []}, "body: Send at least one judgement or score."),
        ({"batch_id": "b", "scores": []}, "body: Send at least one judgement or score."),
        ({"batch_id": "b", "scores": [{}] * 5000, "judgements": [{}] * 5001},
         "body: At most 10,000 judgements and scores together."),
        ({"batch_id": "b", "judgements": {}},
         'judgements: Expected a list of items but got type "dict".'),
        ([], "body: Invalid data. Expected a dictionary, but got list."),
    ],
)  # fmt: skip
def test_it_rejects_a_body_of_the_wrong_shape(client, study, issued, body, error):
    response = post(client, study, body, issued.key)
    assert response.status_code == 400 and response.json()["errors"] == [error]


def test_it_takes_at_most_ten_thousand_judgements(client, study, issued):
    body = {"batch_id": "b", "judgements": [{}] * 10_001}
    response = post(client, study, body, issued.key)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        "judgements: Ensure this field has no more than 10000 elements."
    ]


# ---- scores --------------------------------------------------------------------------------


def test_it_stores_scores_with_judgements_in_one_batch(client, study, issued):
    body = {"batch_id": "s-1", "judgements": entries(), "scores": score_entries()}

    response = post(client, study, body, issued.key)

    assert response.status_code == 201
    assert response.json() == {"batch_id": "s-1", "created": 7, "unchanged": 0, "repeated": False}
    rows = Score.objects.order_by("pk").values_list(
        "rater__name", "item__external_id", "step__index", "criterion__name", "score"
    )
    assert list(rows) == [
        ("our-judge", "s1", 0, "validity", 0.93),
        ("our-judge", "s1", 2, "validity", -4.5),
        ("our-judge", "p1", None, "preference", 0.25),
    ]


def test_scores_alone_are_a_batch_and_a_repeat_writes_nothing(client, study, issued):
    first = post(client, study, {"batch_id": "s", "scores": score_entries()}, issued.key)
    again = post(client, study, {"batch_id": "s", "scores": score_entries()[:1]}, issued.key)
    later = post(client, study, {"batch_id": "t", "scores": score_entries()}, issued.key)

    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == {"batch_id": "s", "created": 3, "unchanged": 0, "repeated": True}
    assert later.json() == {"batch_id": "t", "created": 0, "unchanged": 3, "repeated": False}
    assert stored() == (3, 2)


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ({"item": "p1", "criterion": "preference", "score": 1.5},
         "scores[1].score: 1.5 is outside 0 to 1: a score on pairwise criterion 'preference' "
         "is the probability that a is better than b"),
        ({"item": "s1", "criterion": "coherence", "score": 0.5},
         "scores[1].criterion: criterion 'coherence' has no error labels: scores need a nominal "
         "criterion with error_labels (a higher score means more likely correct) or a pairwise "
         "one (the probability that a is better than b)"),
        ({"item": "s1", "criterion": "validity", "score": 0.5},
         "scores[1].step: criterion 'validity' needs a step"),
        ({"item": "s1", "criterion": "preference", "score": 0.5},
         "scores[1].criterion: pairwise criterion 'preference' needs a pair, 's1' is not"),
        ({"item": "p1", "criterion": "preference", "score": "high"},
         'scores[1].score: must be a finite number (0 to 1 on a pairwise criterion), got "high"'),
        ({"item": "p1", "criterion": "preference", "score": 0.5, "rater_group": "x"},
         "scores[1].rater_group: the rater is the token's; leave this field out"),
        ({"item": "s1", "criterion": "validity", "step": 0, "score": 0.1},
         "scores[1]: duplicate score: same rater, item, step and criterion as scores[0]"),
        ([0.5], "scores[1]: must be a JSON object"),
    ],
)  # fmt: skip
def test_a_bad_score_is_named_and_nothing_of_the_batch_is_stored(
    client, study, issued, entry, error
):
    body = {"batch_id": "b", "judgements": entries(), "scores": [score_entries()[0], entry]}

    response = post(client, study, body, issued.key)

    assert response.status_code == 400
    assert response.json()["errors"] == [error]
    assert stored() == (0, 0)


def test_it_refuses_to_overwrite_a_score_with_another(client, study, issued):
    post(client, study, {"batch_id": "b1", "scores": score_entries()}, issued.key)
    changed = [{**score_entries()[2], "score": 0.75}]

    response = post(client, study, {"batch_id": "b2", "scores": changed}, issued.key)

    assert response.status_code == 400
    assert response.json()["errors"] == [
        "scores[0].score: conflicts with the stored score 0.25; scores are never overwritten "
        "by an import"
    ]
    assert stored() == (3, 1)


# ---- idempotency ---------------------------------------------------------------------------


def test_it_answers_a_repeated_batch_id_with_the_first_counts_and_writes_nothing(
    client, study, issued
):
    first = post(client, study, {"batch_id": "b", "judgements": entries()}, issued.key)
    again = post(client, study, {"batch_id": "b", "judgements": entries()}, issued.key)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == {"batch_id": "b", "created": 4, "unchanged": 0, "repeated": True}
    other_body = [{"item": "s1", "criterion": "validity", "step": 2, "value": "correct"}]
    different = post(client, study, {"batch_id": "b", "judgements": other_body}, issued.key)
    assert different.json()["repeated"] is True
    assert stored() == (4, 1)


def test_it_counts_judgements_stored_by_an_earlier_batch_as_unchanged(client, study, issued):
    post(client, study, {"batch_id": "b1", "judgements": entries()[:2]}, issued.key)
    response = post(client, study, {"batch_id": "b2", "judgements": entries()}, issued.key)
    assert response.json() == {"batch_id": "b2", "created": 2, "unchanged": 2, "repeated": False}


def test_it_refuses_to_overwrite_a_judgement_with_another_value(client, study, issued):
    post(client, study, {"batch_id": "b1", "judgements": entries()[2:3]}, issued.key)
    changed = [{**entries()[2], "value": "b"}]
    response = post(client, study, {"batch_id": "b2", "judgements": changed}, issued.key)
    assert response.status_code == 400
    assert response.json()["errors"][0].startswith(
        'judgements[0].value: conflicts with the stored judgement "a"'
    )
    assert stored() == (1, 1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_posts_of_one_batch_at_once_store_it_once(study, issued, monkeypatch):
    """Both pass the first look for the batch id; the unique index decides, and the loser
    answers as a repeat."""
    both_looked = threading.Barrier(2, timeout=10)
    write = external._batch_write

    def write_when_both_looked(*args):
        both_looked.wait()
        return write(*args)

    monkeypatch.setattr(external, "_batch_write", write_when_both_looked)
    answers = []

    def post_once() -> None:
        from django.test import Client

        try:
            body = {"batch_id": "b", "judgements": entries()}
            answers.append(post(Client(), study, body, issued.key))
        finally:
            connection.close()

    threads = [threading.Thread(target=post_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(a.status_code for a in answers) == [200, 201]
    assert sorted(a.json()["repeated"] for a in answers) == [False, True]
    assert all(a.json()["created"] == 4 for a in answers)
    assert stored() == (4, 1)


# ---- who may post ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer jr_not-a-key", "Bearer", "Bearer a b", "Basic YWxpY2U6cHc="],
)
def test_it_refuses_a_missing_or_wrong_key(client, study, issued, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = post(client, study, {"batch_id": "b", "judgements": entries()}, **headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert stored() == (0, 0)


def test_a_leads_session_cannot_post_as_a_rater(client, study, issued, lead):
    client.force_login(lead)
    response = post(client, study, {"batch_id": "b", "judgements": entries()})
    assert response.status_code == 401 and stored() == (0, 0)


def test_a_users_api_token_cannot_post_as_a_rater(client, study, issued, lead):
    user_key = Token.objects.create(user=lead).key
    for scheme in ("Token", "Bearer"):
        headers = {"HTTP_AUTHORIZATION": f"{scheme} {user_key}"}
        response = post(client, study, {"batch_id": "b", "judgements": entries()}, **headers)
        assert response.status_code == 401
    assert stored() == (0, 0)


def test_a_key_posts_only_to_its_raters_project(client, study, issued):
    other = Project.objects.create(name="Other study", slug="other-study")
    response = post(client, other, {"batch_id": "b", "judgements": entries()}, issued.key)
    assert response.status_code == 404 and stored() == (0, 0)


def test_a_rater_key_opens_no_other_endpoint(client, study, issued):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {issued.key}"}
    response = client.get(reverse("api:project-list"), **headers)
    assert response.status_code in (401, 403)


# ---- keys ------------------------------------------------------------------------------------


def test_the_key_is_stored_only_as_its_hash(study, issued):
    token = RaterToken.objects.get()
    assert token.key_hash == hashlib.sha256(issued.key.encode()).hexdigest()
    assert issued.key.startswith("jr_") and len(issued.key) > 40
    row = json.dumps(list(RaterToken.objects.values().get().values()), default=str)
    assert issued.key not in row and token.key_prefix == issued.key[:10]


def test_a_new_key_replaces_the_old_one(client, study, issued, lead):
    again = external.rater_token_create(
        project=study, name="our-judge", group="external", user=lead
    )
    assert again.replaced and RaterToken.objects.count() == 1
    body = {"batch_id": "b", "judgements": entries()}
    assert post(client, study, body, issued.key).status_code == 401
    assert post(client, study, body, again.key).status_code == 201


def test_a_human_rater_gets_no_key(study, lead):
    Rater.objects.create(project=study, name="bob", kind="human", group="expert")
    with pytest.raises(DomainError, match="human rater"):
        external.rater_token_create(project=study, name="bob", group="expert", user=lead)
    with pytest.raises(CommandError, match="human rater"):
        call_command("create_rater_token", project=study.slug, rater="bob", group="expert")
    assert not RaterToken.objects.exists()


def test_a_model_rater_in_another_group_gets_no_key(study, issued, lead):
    with pytest.raises(DomainError, match="exists in group 'external'"):
        external.rater_token_create(project=study, name="our-judge", group="llm", user=lead)


def test_the_command_creates_the_rater_and_prints_a_working_key(client, study):
    out = StringIO()
    call_command(
        "create_rater_token", project=study.name, rater="gpt-x", group="llm", model="gpt-x-1",
        stdout=out, stderr=StringIO(),
    )  # fmt: skip
    key = out.getvalue().strip()
    rater = Rater.objects.get(name="gpt-x")
    assert (rater.kind, rater.group, rater.model_name) == ("model", "llm", "gpt-x-1")
    assert RaterToken.objects.get().key_hash == hashlib.sha256(key.encode()).hexdigest()
    response = post(client, study, {"batch_id": "b", "judgements": entries()}, key)
    assert response.status_code == 201


def test_the_lead_makes_a_key_on_the_judges_page_and_sees_it_once(client, study, lead):
    client.force_login(lead)
    form = {"key-name": "their-judge", "key-group": "external", "key-model_name": "m-1"}
    response = client.post(reverse("annotations:judges:token-create", args=[study.slug]), form)
    page = response.content.decode()
    assert response.status_code == 200 and 'id="new-token-key"' in page
    assert "no-store" in response.headers["Cache-Control"]
    key = page.split('id="new-token-key">')[1].split("<")[0]
    assert RaterToken.objects.get().key_hash == hashlib.sha256(key.encode()).hexdigest()
    later = client.get(reverse("annotations:judges:list", args=[study.slug])).content.decode()
    assert key not in later and key[:10] in later and "their-judge" in later


def test_the_judges_page_refuses_a_key_for_a_human_rater(client, study, lead):
    Rater.objects.create(project=study, name="bob", kind="human", group="expert")
    client.force_login(lead)
    form = {"key-name": "bob", "key-group": "expert"}
    response = client.post(reverse("annotations:judges:token-create", args=[study.slug]), form)
    assert response.status_code == 400 and "human rater" in response.content.decode()
    assert not RaterToken.objects.exists()


def test_an_annotator_cannot_make_a_key(client, study, annotator):
    client.force_login(annotator)
    form = {"key-name": "sneaky", "key-group": "external"}
    response = client.post(reverse("annotations:judges:token-create", args=[study.slug]), form)
    assert response.status_code == 403 and not RaterToken.objects.exists()


# ---- fuzzing -----------------------------------------------------------------------------------

INFINITY = float("inf")
texts = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["s1", "p1", "validity", "preference", "coherence", "a", "correct"]),
    st.just("x" * 5000),
    st.just("nul\x00"),
    st.just("lone \ud800 surrogate"),
)
numbers = st.one_of(
    st.integers(-3, 5),
    st.integers(),
    st.sampled_from([2**31, 2**63, 10**400, -(2**70)]),
    st.floats(allow_nan=True, allow_infinity=True),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
# Every judgement the study can take, to mutate one field at a time.
VALID = (
    [{"item": "s1", "criterion": "validity", "step": i, "value": v}
     for i in range(3) for v in ("correct", "incorrect")]
    + [{"item": "p1", "criterion": "preference", "value": v} for v in ("a", "b", "tie")]
    + [{"item": i, "criterion": "coherence", "value": v} for i in ("s1", "p1") for v in range(1, 6)]
    + [{"item": i, "criterion": "score", "value": v} for i in ("s1", "p1") for v in (0, 2.5, 10)]
)  # fmt: skip
# Values at the edges of what each field (and the database column behind it) can hold.
BIG_NUMBERS = [2**31, 2**63, 10**400, -1, 1.5, INFINITY, -INFINITY, float("nan"), True, None]
TEXTS = ["", "x" * 5000, "nul\x00", "lone \ud800", 5, None, [], {}]
EDGES = {
    "item": TEXTS + [10**400],
    "criterion": TEXTS,
    "step": BIG_NUMBERS,
    "value": BIG_NUMBERS + ["A", [], {}],
    "rationale": TEXTS,
    "meta": [{"x": INFINITY}, {"x": 10**400}, {"deep": [{"x": "nul\x00"}]}, [], "x", None],
    "time_spent_ms": BIG_NUMBERS,
    "rater": TEXTS,
}
# A valid judgement with one field changed (or none), or any JSON at all: entries that pass
# the checks reach the database, where a value a column cannot hold would fail.
one_change = st.one_of(
    *(
        st.fixed_dictionaries({name: st.one_of(st.sampled_from(edges), json_values)})
        for name, edges in EDGES.items()
    ),
    st.just({}),
)
changed = st.builds(lambda base, change: {**base, **change}, st.sampled_from(VALID), one_change)
# The same for scores: every kind the study takes, and the edges of each score field.
VALID_SCORES = (
    [{"item": "s1", "criterion": "validity", "step": i, "score": v}
     for i in range(3) for v in (-1e300, 0, 2.5)]
    + [{"item": "p1", "criterion": "preference", "score": v} for v in (0, 0.5, 1)]
)  # fmt: skip
SCORE_EDGES = {
    "item": TEXTS + [10**400],
    "criterion": TEXTS + ["coherence", "score"],
    "step": BIG_NUMBERS,
    "score": BIG_NUMBERS + [1 + 1e-12, -1e-300, 1e308, "0.5", [], {}],
    "rater_model": TEXTS,
}
score_change = st.one_of(
    *(
        st.fixed_dictionaries({name: st.one_of(st.sampled_from(edges), json_values)})
        for name, edges in SCORE_EDGES.items()
    ),
    st.just({}),
)
changed_score = st.builds(
    lambda base, change: {**base, **change}, st.sampled_from(VALID_SCORES), score_change
)
# Now and then an id used before: a repeat must write nothing, whatever its body.
batch_ids = st.one_of(st.uuids().map(str), st.just("b"))
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "batch_id": st.one_of(texts, numbers),
            "judgements": json_values,
            "scores": json_values,
        },
    ),
    st.fixed_dictionaries(
        {"batch_id": batch_ids},
        optional={
            "judgements": st.lists(st.one_of(changed, json_values), max_size=3),
            "scores": st.lists(st.one_of(changed_score, json_values), max_size=3),
        },
    ),
)


def as_json(body) -> str:
    """The body as JSON text; infinities written as 1e999 (which a JSON reader takes in and
    Python reads as infinity) or as the non-JSON words, by turns."""
    text = json.dumps(body, allow_nan=True)
    return text.replace("-Infinity", "-1e999").replace("Infinity", "1e999", 1)


FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def assert_all_or_nothing(client, project: Project, key: str, body) -> None:
    before = stored()
    response = post(client, project, as_json(body), key)
    assert response.status_code in (200, 201, 400), response.content[:300]
    if response.status_code == 201:
        created = response.json()["created"]
        assert stored() == (before[0] + created, before[1] + 1)
    else:
        assert stored() == before


@FUZZ
@given(body=bodies)
def test_no_body_makes_a_server_error_or_half_a_write(client, study, issued, body):
    assert_all_or_nothing(client, study, issued.key, body)


@FUZZ
@given(batch_id=batch_ids, judgements=st.lists(changed, min_size=1, max_size=3))
def test_no_entry_makes_a_server_error_or_half_a_write(client, study, issued, batch_id, judgements):
    body = {"batch_id": batch_id, "judgements": judgements}
    assert_all_or_nothing(client, study, issued.key, body)


@FUZZ
@given(
    batch_id=batch_ids,
    judgements=st.lists(changed, max_size=2),
    scores=st.lists(changed_score, min_size=1, max_size=3),
)
def test_no_score_entry_makes_a_server_error_or_half_a_write(
    client, study, issued, batch_id, judgements, scores
):
    body = {"batch_id": batch_id, "judgements": judgements, "scores": scores}
    assert_all_or_nothing(client, study, issued.key, body)
