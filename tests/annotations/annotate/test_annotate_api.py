"""The queue's REST API: next item, item, submit, skip (session or token auth)."""

import uuid

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotations.models import Assignment, Judgement


def api(name, *args):
    return reverse(f"api:assignment-{name}", args=args)


@pytest.fixture
def bob_api(annotator):
    client = APIClient()
    token = Token.objects.create(user=annotator)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def answers(item: dict, step_value="correct", whole="yes") -> list[dict]:
    return [
        {
            "criterion": q["criterion"],
            "step": q["step"],
            "value": step_value if q["step"] is not None else whole,
        }
        for q in item["questions"]
    ]


def test_it_gives_the_next_item_with_its_questions(bob_api, study):
    response = bob_api.post(api("next", study.slug))
    assert response.status_code == 200
    item = response.json()
    assert item["kind"] == "solution" and len(item["steps"]) == 3
    assert [(q["criterion"], q["step"]) for q in item["questions"]] == [
        ("validity", 0),
        ("validity", 1),
        ("validity", 2),
        ("solution_correct", None),
    ]
    assert item["questions"][0]["labels"] == ["correct", "incorrect"]
    assert all(q["value"] is None for q in item["questions"])
    assert bob_api.post(api("next", study.slug)).json()["item"] == item["item"]


def test_it_records_a_submission_once_per_submission_id(bob_api, study, annotator):
    item = bob_api.post(api("next", study.slug)).json()
    body = {
        "submission_id": str(uuid.uuid4()),
        "labels": answers(item),
        "time_spent_ms": 30,
        "rationale": "  clear  ",
    }
    first = bob_api.post(item["submit_url"], body, format="json")
    again = bob_api.post(item["submit_url"], body, format="json")
    assert (first.status_code, again.status_code) == (200, 200)
    assert (first.json()["repeated"], again.json()["repeated"]) == (False, True)
    assert first.json()["stored"] == again.json()["stored"] == 4
    assert Judgement.objects.filter(rater__user=annotator).count() == 4
    assert {j.rationale for j in Judgement.objects.filter(rater__user=annotator)} == {"clear"}
    detail = bob_api.get(item["url"]).json()
    assert detail["status"] == "submitted"
    assert [q["value"] for q in detail["questions"]] == ["correct"] * 3 + ["yes"]


def test_it_rejects_missing_and_invalid_answers_with_readable_400s(bob_api, study):
    item = bob_api.post(api("next", study.slug)).json()
    labels = answers(item)
    body = {"submission_id": str(uuid.uuid4()), "labels": labels[1:]}
    response = bob_api.post(item["submit_url"], body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == ["Step 1 needs a label for validity."]
    labels[0]["value"] = "meh"
    response = bob_api.post(item["submit_url"], {**body, "labels": labels}, format="json")
    assert response.json()["detail"] == 'validity: "meh" is not one of "correct", "incorrect".'
    labels[0] = {"criterion": "fluency", "value": 1}
    response = bob_api.post(item["submit_url"], {**body, "labels": labels}, format="json")
    assert response.status_code == 400
    response = bob_api.post(item["submit_url"], {"labels": []}, format="json")
    assert response.status_code == 400 and "`submission_id`" in response.json()["detail"]
    labels = answers(item)
    labels[2]["step"] = "two"
    response = bob_api.post(item["submit_url"], {**body, "labels": labels}, format="json")
    assert response.status_code == 400 and "$.labels[2].step" in response.json()["detail"]
    response = bob_api.post(item["submit_url"], {**body, "labels": answers(item)})  # a form
    assert response.status_code == 415
    response = bob_api.post(
        item["submit_url"], {**body, "labels": answers(item), "rationale": "a\x00b"}, format="json"
    )
    assert response.status_code == 400 and "$.rationale" in response.json()["detail"]
    assert Judgement.objects.filter(rater__user__username="bob").count() == 0


def test_it_skips_and_flags(bob_api, study):
    item = bob_api.post(api("next", study.slug)).json()
    response = bob_api.post(item["skip_url"], {"reason": "long"}, format="json")
    assert response.json()["status"] == "skipped"
    item = bob_api.post(api("next", study.slug)).json()
    response = bob_api.post(item["skip_url"], {"flag": True}, format="json")
    assert response.status_code == 400
    response = bob_api.post(item["skip_url"], {"flag": True, "reason": "bad"}, format="json")
    assert response.json()["status"] == "flagged"


def test_it_answers_204_when_nothing_is_left(bob_api, study):
    study.items.all().delete()
    assert bob_api.post(api("next", study.slug)).status_code == 204


def test_it_lists_pair_answers_in_the_annotators_order(annotator, pairs, bob_in_pairs):
    client = APIClient()
    client.force_authenticate(annotator)
    item = client.post(api("next", pairs.slug)).json()
    swapped = Assignment.objects.get().swapped
    assert [a["side"] for a in item["answers"]] == (["b", "a"] if swapped else ["a", "b"])
    assert [a["title"] for a in item["answers"]] == ["A", "B"]
    body = {
        "submission_id": str(uuid.uuid4()),
        "labels": [{"criterion": "preference", "value": "tie"}],
    }
    assert client.post(item["submit_url"], body, format="json").status_code == 200


def test_it_needs_authentication(client, study):
    item = study.items.first().pk
    for response in (
        APIClient().post(api("next", study.slug)),
        APIClient().get(api("detail", study.slug, item)),
        APIClient().post(api("submit", study.slug, item), {}, format="json"),
        APIClient().post(api("skip", study.slug, item), {}, format="json"),
    ):
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"


def test_it_needs_csrf_with_session_auth(study, annotator):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(annotator)
    assert client.post(api("next", study.slug)).status_code == 403


def test_it_refuses_bad_tokens_before_reading_anything(study, annotator, outsider):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert client.post(api("next", study.slug)).status_code == 401
    item = study.items.first()
    assert client.post(api("submit", study.slug, item.pk), {}, format="json").status_code == 401
    token = Token.objects.create(user=annotator)
    annotator.is_active = False
    annotator.save()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.post(api("next", study.slug)).status_code == 401
    # A valid token of someone outside the project: 404, as for a project that does not exist.
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=outsider).key}")
    assert client.post(api("next", study.slug)).status_code == 404
    assert client.post(api("next", "no-such-project")).status_code == 404
    body = {"submission_id": str(uuid.uuid4()), "labels": []}
    assert client.post(api("submit", study.slug, item.pk), body, format="json").status_code == 404
    assert not Assignment.objects.exists()


@pytest.mark.postgres
def test_it_reads_with_the_token_check_on_postgresql(bob_api, study, monkeypatch):
    # Token authentication is also the first read of next and submit: two statements a call.
    from annotations.annotate.queue_sql import auth, next, submit

    statements = []
    for module in (auth, next, submit):
        real = module.fetch
        monkeypatch.setattr(
            module,
            "fetch",
            lambda sql, params, real=real: statements.append(sql) or real(sql, params),
        )
    item = bob_api.post(api("next", study.slug)).json()
    assert len(statements) == 2 and "authtoken_token" in statements[0]
    body = {"submission_id": str(uuid.uuid4()), "labels": answers(item)}
    statements.clear()
    assert bob_api.post(item["submit_url"], body, format="json").json()["stored"] == 4
    assert len(statements) == 2 and "authtoken_token" in statements[0]


@pytest.mark.postgres
def test_it_prepares_the_fast_path_statements_on_the_server(bob_api, study):
    # Django turns psycopg's preparation off unless the settings ask for it; then
    # execute(prepare=True) silently plans every call again.
    from django.db import connection

    for _ in range(2):
        item = bob_api.post(api("next", study.slug)).json()
        body = {"submission_id": str(uuid.uuid4()), "labels": answers(item)}
        bob_api.post(item["submit_url"], body, format="json")
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans FROM pg_prepared_statements")
        prepared = cursor.fetchall()
    assert any("authtoken_token" in sql and generic for sql, generic in prepared)
    assert any("INSERT INTO annotations_assignment" in sql and generic for sql, generic in prepared)
