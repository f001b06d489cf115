"""Judge runs end to end against fake OpenAI and Anthropic servers on loopback.

The SDKs talk HTTP to a real local server (tests/annotations/judges/fakes.py); Celery runs
eagerly, so `judge_run_start` returns after every chunk ran.
"""

import json
import re
from dataclasses import replace

import pytest

from annotations.errors import DomainError
from annotations.judges import services, structured
from annotations.judges.models import JudgeAnswer, JudgeRun, ModelPrice
from annotations.judges.services import JudgeSpec, Selection
from annotations.models import Criterion, Judgement, Project, Rater
from annotations.services import items_import
from tests.annotations.judges.fakes import FakeReply, replies
from tests.factories import PREFERENCE, VALIDITY, solution, write_jsonl

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_celery")]


def _pair(i: int, **meta) -> dict:
    return {
        "type": "item",
        "id": f"p{i}",
        "kind": "pair",
        "prompt": f"Question {i}?",
        "response_a": f"answer A{i}",
        "response_b": f"answer B{i}",
        "meta": {"turn": 1, "category": "writing" if i % 2 else "math", **meta},
    }


@pytest.fixture
def pairs(tmp_path) -> Project:
    project = Project.objects.create(name="Judged", slug="judged")
    lines = [PREFERENCE] + [_pair(i) for i in range(6)]
    items_import(project=project, paths=[write_jsonl(tmp_path / "p.jsonl", lines)])
    return project


@pytest.fixture
def solutions(tmp_path) -> Project:
    project = Project.objects.create(name="Steps", slug="steps")
    lines = [VALIDITY] + [solution(f"s{i}", n_steps=4) for i in range(3)]
    items_import(project=project, paths=[write_jsonl(tmp_path / "s.jsonl", lines)])
    return project


def spec(server, template="mtbench-pair", **extra) -> JudgeSpec:
    fields = {
        "name": "judge",
        "provider": server.provider,
        "model": "fake-model",
        "template": template,
        "group": "fake-judge",
        "base_url": server.base_url,
        "parameters": {"temperature": 0},
    }
    return JudgeSpec(**(fields | extra))


def start(project, server, criterion="preference", selection=None, **extra):
    config = services.judge_config_create(project=project, spec=spec(server, **extra), user=None)
    run = services.judge_run_start(
        config=config,
        criterion=Criterion.objects.get(project=project, name=criterion),
        selection=selection or Selection(),
        user=None,
        api_key_env="FAKE_KEY",
    )
    run.refresh_from_db()
    return config, run


def answer_a_wins(body: dict, call_index: int) -> FakeReply:
    """Prefers the answer that is the item's A, whichever side it is shown on."""
    prompt = body["messages"][-1]["content"]
    shown_first = re.search(r"Assistant A's Answer\]\n(answer [AB])", prompt).group(1)
    return FakeReply(text="[[A]]" if "A" in shown_first else "[[B]]", tokens_in=100, tokens_out=5)


def values(config) -> dict[str, str]:
    rows = Judgement.objects.filter(rater=config.rater).select_related("item")
    return {j.item.external_id: j.value for j in rows}


def test_it_asks_both_orders_and_maps_the_verdicts_back(pairs, openai_server):
    openai_server.use(answer_a_wins)
    config, run = start(pairs, openai_server)
    assert run.status == JudgeRun.Status.DONE
    assert len(openai_server.requests) == 12  # 6 pairs x 2 orders
    assert values(config) == {f"p{i}": "a" for i in range(6)}
    body = openai_server.requests[0].body
    assert body["messages"][0]["role"] == "system"
    assert "impartial judge" in body["messages"][0]["content"]
    assert body["model"] == "fake-model" and body["temperature"] == 0
    # What a lead reads back is what was sent: the system prompt and the prompt, per answer.
    sent = {
        (r.body["messages"][0]["content"], r.body["messages"][1]["content"])
        for r in openai_server.requests
    }
    stored = set(JudgeAnswer.objects.filter(config=config).values_list("system", "prompt"))
    assert stored == sent and len(stored) == 12
    rater = Rater.objects.get(pk=config.rater_id)
    assert (rater.kind, rater.group) == ("model", "fake-judge")


def test_it_stores_an_order_dependent_verdict_as_an_inconsistent_tie(pairs, openai_server):
    openai_server.use(lambda body, i: FakeReply(text="Verdict: [[A]]"))  # always the first shown
    config, _ = start(pairs, openai_server)
    judgement = Judgement.objects.filter(rater=config.rater).first()
    assert judgement.value == "tie"
    assert judgement.meta["inconsistent"] is True
    assert judgement.meta["orders"] == {"ab": "a", "ba": "b"}
    assert len(judgement.meta["answers"]) == 2


def test_it_asks_nothing_the_second_time(pairs, openai_server):
    openai_server.use(answer_a_wins)
    config, _ = start(pairs, openai_server)
    first = len(openai_server.requests)
    again, run = start(pairs, openai_server)
    assert again.pk == config.pk
    assert len(openai_server.requests) == first  # zero requests
    chunk_counts = run.chunks.get().counts
    assert chunk_counts["cached"] == 12 and chunk_counts["asked"] == 0
    assert values(config) == {f"p{i}": "a" for i in range(6)}


def test_a_changed_parameter_is_a_new_judge_version_and_keeps_the_old_judgements(
    pairs, openai_server
):
    openai_server.use(answer_a_wins)
    old, _ = start(pairs, openai_server)
    openai_server.use(lambda body, i: FakeReply(text="[[C]]"))
    new, _ = start(pairs, openai_server, parameters={"temperature": 0.7})
    assert new.pk != old.pk and new.rater_id != old.rater_id
    assert set(values(old).values()) == {"a"}
    assert set(values(new).values()) == {"tie"}
    assert Rater.objects.filter(project=pairs, kind="model").count() == 2


def test_it_stores_an_answer_that_does_not_parse_raw_and_makes_no_judgement(pairs, openai_server):
    openai_server.use(lambda body, i: FakeReply(text="I cannot decide."))
    config, run = start(pairs, openai_server)
    assert not Judgement.objects.filter(rater=config.rater).exists()
    assert JudgeAnswer.objects.filter(run=run).count() == 12
    assert set(JudgeAnswer.objects.values_list("raw", flat=True)) == {"I cannot decide."}
    assert run.chunks.get().counts["unparsed"] == 6


def test_it_retries_a_429_and_a_500_and_succeeds(pairs, openai_server):
    script = replies(
        FakeReply(status=429, text="slow down", headers={"retry-after": "0"}),
        FakeReply(status=500, text="oops"),
        FakeReply(text="[[A]]"),
    )
    openai_server.use(script)
    config, run = start(pairs, openai_server, selection=Selection(ids=("p0",)))
    assert len(openai_server.requests) == 4  # 429, 500, then both orders
    assert run.status == JudgeRun.Status.DONE
    assert values(config) == {"p0": "tie"}


def test_it_fails_fast_on_a_refused_request_with_the_providers_message(pairs, openai_server):
    openai_server.use(lambda body, i: FakeReply(status=401, text="invalid api key sk-FAKE"))
    _, run = start(pairs, openai_server, concurrency=1)
    assert run.status == JudgeRun.Status.FAILED
    assert "invalid api key" in run.error
    assert len(openai_server.requests) == 1


def test_it_counts_tokens_and_cost_and_stops_at_the_cost_cap(pairs, openai_server):
    ModelPrice.objects.create(model_prefix="fake", input_per_mtok=1000, output_per_mtok=2000)
    openai_server.use(lambda b, i: FakeReply(text="[[A]]", tokens_in=100, tokens_out=50))
    config = services.judge_config_create(
        project=pairs, spec=spec(openai_server, concurrency=1), user=None
    )
    run = services.judge_run_start(
        config=config,
        criterion=Criterion.objects.get(project=pairs, name="preference"),
        selection=Selection(),
        user=None,
        cost_cap=0.5,
    )
    run.refresh_from_db()
    # Each request costs 100 x 1000 / 1e6 + 50 x 2000 / 1e6 = $0.2: the cap stops it early.
    assert run.status == JudgeRun.Status.CANCELLED
    assert "cost cap" in run.stop_reason
    answers = JudgeAnswer.objects.filter(run=run)
    assert answers.first().cost == pytest.approx(0.2)
    assert 3 <= answers.count() < 12


def test_it_judges_steps_from_the_processbench_critic(solutions, openai_server):
    openai_server.use(lambda body, i: FakeReply(text="The error is here: \\boxed{2}"))
    config, run = start(
        solutions, openai_server, criterion="validity", template="processbench-critic"
    )
    prompt = openai_server.requests[0].body["messages"][-1]["content"]
    assert "<paragraph_0>\nstep 0" in prompt and "<paragraph_3>" in prompt
    rows = Judgement.objects.filter(rater=config.rater, item__external_id="s0")
    by_step = {j.step.index: j.value for j in rows.select_related("step")}
    assert by_step == {0: "correct", 1: "correct", 2: "incorrect"}
    assert run.chunks.get().counts["judged"] == 3


def test_it_runs_the_anthropic_path(pairs, anthropic_server):
    anthropic_server.use(answer_a_wins_anthropic)
    config, run = start(pairs, anthropic_server, parameters={"max_tokens": 256})
    assert run.status == JudgeRun.Status.DONE
    body = anthropic_server.requests[0].body
    assert "impartial judge" in body["system"] and body["max_tokens"] == 256
    assert values(config) == {f"p{i}": "a" for i in range(6)}


def answer_a_wins_anthropic(body: dict, call_index: int) -> FakeReply:
    prompt = body["messages"][-1]["content"]
    if isinstance(prompt, list):
        prompt = prompt[0]["text"]
    shown_first = re.search(r"Assistant A's Answer\]\n(answer [AB])", prompt).group(1)
    return FakeReply(text="[[A]]" if "A" in shown_first else "[[B]]")


@pytest.fixture
def responses(tmp_path) -> Project:
    project = Project.objects.create(name="Graded", slug="graded")
    score = {
        "type": "criterion", "name": "quality", "target": "item", "scale": "ordinal",
        "labels": list(range(1, 11)),
    }  # fmt: skip
    lines = [score] + [
        {"type": "item", "id": f"r{i}", "kind": "response", "prompt": f"Q{i}", "response": f"R{i}"}
        for i in range(4)
    ]
    items_import(project=project, paths=[write_jsonl(tmp_path / "r.jsonl", lines)])
    return project


def test_it_grades_on_the_criterions_scale_with_the_mtbench_single_prompt(responses, openai_server):
    openai_server.use(lambda body, i: FakeReply(text="Good. Rating: [[7]]"))
    config, _ = start(responses, openai_server, criterion="quality", template="rubric")
    prompt = openai_server.requests[0].body["messages"][-1]["content"]
    assert "on a scale of 1 to 10" in prompt and "[Question]\nQ" in prompt
    assert "[The Start of Assistant's Answer]\nR" in prompt
    assert set(values(config).values()) == {7}


def test_it_votes_over_samples_and_asks_each_sample_once(responses, openai_server):
    scores = iter(["[[7]]", "[[7]]", "[[3]]"] * 4)
    openai_server.use(lambda body, i: FakeReply(text=next(scores)))
    config, run = start(
        responses, openai_server, criterion="quality", template="rubric", concurrency=1,
        parameters={"samples": 3, "temperature": 1},
    )  # fmt: skip
    assert len(openai_server.requests) == 12
    assert set(values(config).values()) == {7}
    assert JudgeAnswer.objects.filter(run=run).values("sample").distinct().count() == 3
    judgement = Judgement.objects.filter(rater=config.rater).first()
    assert judgement.meta["scores"] == [7.0, 7.0, 3.0]


def test_a_score_off_the_scale_makes_no_judgement(responses, openai_server):
    openai_server.use(lambda body, i: FakeReply(text="[[11]]"))
    config, run = start(responses, openai_server, criterion="quality", template="rubric")
    assert not Judgement.objects.filter(rater=config.rater).exists()
    assert run.chunks.get().counts["unparsed"] == 4


def test_it_judges_every_step_with_the_step_validity_template(solutions, openai_server):
    reply = "\n".join(f"[[Step {k}: {'incorrect' if k == 4 else 'correct'}]]" for k in (1, 2, 3, 4))
    openai_server.use(lambda body, i: FakeReply(text=reply))
    config, _ = start(solutions, openai_server, criterion="validity", template="step-validity")
    prompt = openai_server.requests[0].body["messages"][-1]["content"]
    assert "Step 1: step 0" in prompt and "one of: correct, incorrect" in prompt
    rows = Judgement.objects.filter(rater=config.rater, item__external_id="s1")
    assert [j.value for j in rows.order_by("step__index")] == ["correct"] * 3 + ["incorrect"]


def test_it_shows_a_second_turn_as_the_whole_conversation(tmp_path, openai_server):
    project = Project.objects.create(name="Turns", slug="turns")
    second = _pair(
        9, turn=2, turn1_question="First Q?", turn2_question="Second Q?",
        turn1_answer_a="first A", turn1_answer_b="first B",
    )  # fmt: skip
    items_import(project=project, paths=[write_jsonl(tmp_path / "t.jsonl", [PREFERENCE, second])])
    openai_server.use(lambda body, i: FakeReply(text="[[A]]"))
    start(project, openai_server)
    shown = [r.body["messages"][-1]["content"] for r in openai_server.requests]
    assert all("### User:\nFirst Q?" in p and "### User:\nSecond Q?" in p for p in shown)
    ab = next(p for p in shown if p.index("first A") < p.index("first B"))
    assert ab.index("first A") < ab.index("answer A9") < ab.index("first B")
    assert any(p.index("first B") < p.index("first A") for p in shown)  # the swapped order


def test_the_answer_checker_judges_final_answers_without_a_network(tmp_path, openai_server):
    project = Project.objects.create(name="Checked", slug="checked")
    verdict = {
        "type": "criterion", "name": "solution_correct", "target": "item", "scale": "nominal",
        "labels": ["correct", "incorrect"], "error_labels": ["incorrect"],
    }  # fmt: skip
    lines = [verdict]
    for i, last in enumerate([r"so \boxed{\frac{1}{2}}", r"\boxed{0.6}", "no final answer"]):
        item = solution(f"c{i}", n_steps=2)
        item["steps"][-1] = last
        item["reference_answer"] = "0.5"
        lines.append(item)
    items_import(project=project, paths=[write_jsonl(tmp_path / "c.jsonl", lines)])
    config, run = start(
        project, openai_server, criterion="solution_correct", template="answer-check",
        provider="checker", model="", base_url="",
    )  # fmt: skip
    assert values(config) == {"c0": "correct", "c1": "incorrect"}
    assert run.chunks.get().counts["unparsed"] == 1  # no \boxed{}: no verdict, never a guess
    assert not openai_server.requests


def test_the_estimate_counts_the_input_of_the_requests_a_run_sends(pairs, openai_server):
    openai_server.use(answer_a_wins)
    estimate = services.judge_preview(
        project=pairs,
        spec=spec(openai_server),
        criterion=Criterion.objects.get(project=pairs, name="preference"),
        selection=Selection(),
        user=None,
    )
    start(pairs, openai_server)
    sent = [m["content"] for r in openai_server.requests for m in r.body["messages"]]
    assert estimate.n_requests == len(openai_server.requests) == 12
    # About 4 characters a token, over every prompt: each counted once, not once per item.
    assert estimate.tokens_in == pytest.approx(sum(map(len, sent)) / 4, abs=1)


def test_it_refuses_a_cost_cap_on_a_model_without_a_price(pairs, openai_server):
    config = services.judge_config_create(project=pairs, spec=spec(openai_server), user=None)
    with pytest.raises(DomainError, match="A cost cap needs a price for fake-model"):
        services.judge_run_start(
            config=config,
            criterion=Criterion.objects.get(project=pairs, name="preference"),
            selection=Selection(),
            user=None,
            cost_cap=1.0,
        )
    assert not JudgeRun.objects.exists() and not openai_server.requests


def test_a_run_is_split_into_chunks_as_long_as_its_concurrency_needs(monkeypatch):
    assert [services.chunk_items(c) for c in (1, 4, 8, 32, 64)] == [100, 100, 200, 800, 1000]
    monkeypatch.setattr(services, "CHUNK_ITEMS", 7)
    assert services.chunk_items(64) == 7


def test_structured_output_asks_for_a_schema_and_reads_the_json(pairs, openai_server):
    def reply(body: dict, i: int) -> FakeReply:
        shown_first = re.search(
            r"Assistant A's Answer\]\n(answer [AB])", body["messages"][-1]["content"]
        ).group(1)
        verdict = "A" if "A" in shown_first else "B"
        return FakeReply(text=json.dumps({"explanation": "...", "verdict": verdict}))

    openai_server.use(reply)
    config, run = start(pairs, openai_server, parameters={"structured": True})
    schema = openai_server.requests[0].body["response_format"]
    assert schema["type"] == "json_schema"
    assert schema["json_schema"]["schema"]["properties"]["verdict"]["enum"] == ["A", "B", "C"]
    assert config.parser_version == "mtbench-pair/1+json/1"
    assert values(config) == {f"p{i}": "a" for i in range(6)}


def test_structured_json_that_does_not_match_is_unparsed(pairs, openai_server):
    replies_ = iter(['{"explanation": "x"}', "[[A]]", '{"verdict": "D", "explanation": ""}'] * 4)
    openai_server.use(lambda body, i: FakeReply(text=next(replies_)))
    config, run = start(pairs, openai_server, concurrency=1, parameters={"structured": True})
    assert not Judgement.objects.filter(rater=config.rater).exists()
    assert run.chunks.get().counts["unparsed"] == 6


def test_structured_output_is_refused_where_it_is_not_offered(pairs):
    checker = JudgeSpec(
        name="check", provider="checker", model="", template="answer-check", group="checker"
    )
    with pytest.raises(DomainError, match="OpenAI-compatible and Anthropic"):
        services.judge_config_create(
            project=pairs, spec=replace(checker, parameters={"structured": True}), user=None
        )


def shown_first_is_a(body: dict) -> bool:
    prompt = body["messages"][-1]["content"]
    return "A" in re.search(r"Assistant A's Answer\]\n(answer [AB])", prompt).group(1)


def test_structured_output_on_anthropic_forces_one_tool_with_the_schema(pairs, anthropic_server):
    def reply(body: dict, i: int) -> FakeReply:
        verdict = "A" if shown_first_is_a(body) else "B"
        return FakeReply(tool_input={"explanation": "A is right.", "verdict": verdict})

    anthropic_server.use(reply)
    config, run = start(pairs, anthropic_server, parameters={"structured": True})

    body = anthropic_server.requests[0].body
    (tool,) = body["tools"]
    assert tool["input_schema"] == structured.SCHEMAS["mtbench-pair"]
    assert body["tool_choice"] == {"type": "tool", "name": tool["name"]}
    assert "response_format" not in body
    assert config.parser_version == "mtbench-pair/1+json/1"
    assert run.status == JudgeRun.Status.DONE
    assert values(config) == {f"p{i}": "a" for i in range(6)}
    raw = JudgeAnswer.objects.filter(run=run).values_list("raw", flat=True)
    assert {json.loads(text)["verdict"] for text in raw} == {"A", "B"}


def test_a_tool_call_that_does_not_match_the_schema_is_stored_raw_and_unparsed(
    pairs, anthropic_server
):
    # Per item (both orders, one request in flight): a missing verdict, a verdict off the
    # enum, text instead of a tool call, an input that is not an object.
    bad = [{"explanation": "x"}, {"explanation": "", "verdict": "D"}, None, ["A"]]
    answers = iter(bad * 3)

    def reply(body: dict, i: int) -> FakeReply:
        tool_input = next(answers)
        return FakeReply(text="[[A]]", tool_input=tool_input)

    anthropic_server.use(reply)
    config, run = start(pairs, anthropic_server, concurrency=1, parameters={"structured": True})

    assert not Judgement.objects.filter(rater=config.rater).exists()
    assert run.chunks.get().counts["unparsed"] == 6
    raw = set(JudgeAnswer.objects.filter(run=run).values_list("raw", flat=True))
    assert raw == {'{"explanation": "x"}', '{"explanation": "", "verdict": "D"}', "[[A]]", '["A"]'}


def test_anthropic_tool_answers_are_reparsed_from_the_cache(pairs, anthropic_server):
    anthropic_server.use(lambda body, i: FakeReply(tool_input={"explanation": "", "verdict": "C"}))
    config, _ = start(pairs, anthropic_server, parameters={"structured": True})
    asked = len(anthropic_server.requests)

    config, run = start(pairs, anthropic_server, parameters={"structured": True})

    assert len(anthropic_server.requests) == asked
    assert run.status == JudgeRun.Status.DONE
    assert values(config) == {f"p{i}": "tie" for i in range(6)}


def test_it_passes_max_completion_tokens_to_openai_models_that_want_it(pairs, openai_server):
    openai_server.use(lambda body, i: FakeReply(text="[[A]]"))
    start(pairs, openai_server, parameters={"max_completion_tokens": 300})
    body = openai_server.requests[0].body
    assert body["max_completion_tokens"] == 300 and "max_tokens" not in body
