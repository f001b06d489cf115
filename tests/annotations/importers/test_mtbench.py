"""The MT-bench importer, on the real human and GPT-4 votes copied into demo_data."""

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from annotations import services
from annotations.errors import DomainError
from annotations.models import Criterion, Item, Judgement, Rater

DATA = Path(__file__).resolve().parents[3] / "annotations" / "demo_data" / "mt_bench"
HUMAN = DATA / "mt_bench_human.csv"
GPT4 = DATA / "mt_bench_gpt4_pair.csv"
QUESTIONS = DATA / "question.jsonl"
REFERENCES = DATA / "reference_answer_gpt-4.jsonl"
ALL_FILES = [HUMAN, GPT4, QUESTIONS, REFERENCES]


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _key(row: dict) -> tuple:
    pair = tuple(sorted([row["model_a"], row["model_b"]]))
    return (row["question_id"], pair, row["turn"])


def _db_counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Criterion, Item, Rater, Judgement))


@pytest.fixture
def imported(project):
    return services.items_import(project=project, paths=ALL_FILES, format="mtbench")


@pytest.mark.django_db
def test_it_imports_one_judgement_per_vote_minus_repeats(project, imported):
    rows = _rows(HUMAN) + _rows(GPT4)
    votes = Counter((row["judge"], *_key(row)) for row in rows)
    repeats = sum(n - 1 for n in votes.values())
    assert repeats == 1  # author_0 on q128, claude-v1 vs gpt-3.5-turbo, turn 1, in both orders
    assert imported.judgements_created == len(rows) - repeats == 3355 + 2400 - 1
    assert Judgement.objects.filter(item__project=project).count() == len(rows) - repeats
    assert imported.items_created == len({_key(row) for row in rows})
    assert Judgement.objects.filter(rater__kind="model").count() == len(_rows(GPT4))
    criterion = Criterion.objects.get(project=project)
    assert (criterion.name, criterion.target, criterion.scale) == ("preference", "item", "pairwise")


@pytest.mark.django_db
def test_it_swaps_the_verdict_of_a_row_in_reverse_alphabetical_order(project, imported):
    row = next(r for r in _rows(HUMAN) if r["model_a"] > r["model_b"] and r["winner"] == "model_a")
    item_id = f"q{row['question_id']}-{row['model_b']}-vs-{row['model_a']}-t{row['turn']}"
    judgement = Judgement.objects.get(item__external_id=item_id, rater__name=row["judge"])
    assert judgement.value == "b"
    assert judgement.meta["swapped"] is True
    assert judgement.item.meta["model_a"] == row["model_b"]


@pytest.mark.django_db
def test_it_keeps_an_inconsistent_tie_as_a_tie_marked_in_meta(project, imported):
    inconsistent = sum(1 for r in _rows(GPT4) if r["winner"] == "tie (inconsistent)")
    assert inconsistent > 0
    marked = Judgement.objects.filter(meta__inconsistent=True)
    assert marked.count() == inconsistent
    assert set(marked.values_list("value", flat=True)) == {"tie"}
    assert set(marked.values_list("rater__name", flat=True)) == {"gpt4_pair"}


@pytest.mark.django_db
def test_it_keeps_the_first_of_a_repeated_vote_and_records_the_repeat(project, imported):
    judgement = Judgement.objects.get(
        item__external_id="q128-claude-v1-vs-gpt-3.5-turbo-t1", rater__name="author_0"
    )
    assert judgement.value == "tie"
    assert judgement.meta == {"dropped_repeats": 1, "dropped_values": ["tie"]}


@pytest.mark.django_db
def test_it_sets_raters_prompts_and_item_meta(project, imported):
    gpt4 = Rater.objects.get(project=project, name="gpt4_pair")
    assert (gpt4.kind, gpt4.group, gpt4.model_name) == ("model", "gpt-4", "gpt-4")
    groups = Counter(Rater.objects.filter(kind="human").values_list("group", flat=True))
    assert set(groups) == {"expert", "author"}
    judges = {r["judge"] for r in _rows(HUMAN)}
    assert sum(groups.values()) == len(judges)

    item = Item.objects.get(external_id="q81-alpaca-13b-vs-gpt-3.5-turbo-t2")
    assert item.kind == "pair" and item.response_a is None and item.response_b is None
    questions = item.meta.pop("turn1_question"), item.meta.pop("turn2_question")
    assert questions[0].startswith("Compose an engaging travel blog post")
    assert questions[1].startswith("Rewrite your previous response.")
    assert item.meta == {
        "turn": 2,
        "category": "writing",
        "model_a": "alpaca-13b",
        "model_b": "gpt-3.5-turbo",
        "question_id": 81,
    }
    assert item.prompt.startswith("[Turn 1 question, already answered - context only]\n")
    assert "Compose an engaging travel blog post" in item.prompt
    assert "[Turn 2 question - the turn being judged]\nRewrite your previous" in item.prompt
    math = Item.objects.filter(meta__category="math", meta__turn=1).first()
    assert math.reference_answer


@pytest.mark.django_db
def test_it_imports_again_without_changes(project, imported):
    again = services.items_import(project=project, paths=ALL_FILES, format="mtbench")
    assert again.judgements_created == 0
    assert again.items_created == 0
    assert again.judgements_unchanged == imported.judgements_created


@pytest.mark.django_db
def test_it_rejects_bad_rows_naming_file_line_and_field(project, tmp_path):
    votes = tmp_path / "votes.csv"
    votes.write_text(
        "question_id,model_a,model_b,winner,judge,turn\n"
        "81,alpaca-13b,gpt-4,model_a,expert_1,1\n"
        "81,alpaca-13b,gpt-4,maybe,expert_2,1\n"
        "999,alpaca-13b,gpt-4,tie,expert_1,1\n"
        "82,alpaca-13b,gpt-4,tie,somebody,1\n"
    )
    before = _db_counts()
    with pytest.raises(DomainError) as exc:
        services.items_import(project=project, paths=[votes, QUESTIONS], format="mtbench")
    assert exc.value.errors == [
        "votes.csv line 3, field 'winner': must be one of model_a, model_b, tie, "
        "tie (inconsistent), got 'maybe'",
        "votes.csv line 4, field 'question_id': 999 is not in question.jsonl",
        "votes.csv line 5, field 'judge': must be expert_N, author_N or gpt4_pair, got 'somebody'",
    ]
    assert _db_counts() == before


@pytest.mark.django_db
def test_it_rejects_votes_without_the_questions(project):
    with pytest.raises(DomainError) as exc:
        services.items_import(project=project, paths=[HUMAN], format="mtbench")
    assert exc.value.errors == [
        "mt_bench_human.csv line 1: question.jsonl is missing: pass it too, for the questions"
    ]
    assert _db_counts() == (0, 0, 0, 0)


@pytest.mark.django_db
def test_it_rejects_a_file_that_is_not_mt_bench(project, tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("id,score\n1,2\n")
    with pytest.raises(DomainError) as exc:
        services.items_import(project=project, paths=[other, QUESTIONS], format="mtbench")
    assert "other.csv line 1: is not an MT-bench vote CSV: missing column(s)" in exc.value.errors[0]


# ---- answer texts, from small files written here -----------------------------------------


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _answers(model: str, question_id: int, *turns: str) -> dict:
    return {
        "question_id": question_id,
        "answer_id": f"{model}-{question_id}",
        "model_id": model,
        "choices": [{"index": 0, "turns": list(turns)}],
        "tstamp": 1685358807.7,
    }


@pytest.fixture
def small(tmp_path) -> dict[str, Path]:
    """Two questions; votes on q81 (turns 1 and 2, models named in reverse order) and q82."""
    votes = tmp_path / "votes.csv"
    votes.write_text(
        "question_id,model_a,model_b,winner,judge,turn\n"
        "81,gpt-4,alpaca-13b,model_a,expert_1,1\n"
        "81,gpt-4,alpaca-13b,tie,expert_1,2\n"
        "82,claude-v1,llama-13b,model_b,gpt4_pair,1\n"
    )
    questions = _jsonl(
        tmp_path / "question.jsonl",
        [
            {"question_id": 81, "category": "writing", "turns": ["Write a poem.", "Shorter."]},
            {"question_id": 82, "category": "math", "turns": ["What is 2+2?", "And 3+3?"]},
        ],
    )
    return {"votes": votes, "questions": questions, "dir": tmp_path}


def _import(project, *paths: Path):
    return services.items_import(project=project, paths=list(paths), format="mtbench")


@pytest.mark.django_db
def test_it_fills_the_answers_of_each_pair_in_its_a_b_order(project, small):
    gpt4 = _jsonl(small["dir"] / "gpt-4.jsonl", [_answers("gpt-4", 81, "G1", "G2")])
    alpaca = _jsonl(small["dir"] / "alpaca.jsonl", [_answers("alpaca-13b", 81, "A1", "A2")])
    _import(project, small["votes"], small["questions"], gpt4, alpaca)

    first = Item.objects.get(external_id="q81-alpaca-13b-vs-gpt-4-t1")
    assert (first.response_a, first.response_b) == ("A1", "G1")
    assert "turn1_answer_a" not in first.meta
    second = Item.objects.get(external_id="q81-alpaca-13b-vs-gpt-4-t2")
    assert (second.response_a, second.response_b) == ("A2", "G2")
    assert (second.meta["turn1_answer_a"], second.meta["turn1_answer_b"]) == ("A1", "G1")
    assert second.prompt.startswith("[Turn 1 question, already answered - context only]\n")


@pytest.mark.django_db
def test_it_ignores_answers_nobody_voted_on_and_keeps_none_for_a_missing_model(project, small):
    answers = _jsonl(
        small["dir"] / "claude.jsonl",
        [
            _answers("claude-v1", 82, "C1", "C2"),
            _answers("claude-v1", 81, "not voted on", "x"),
            _answers("vicuna-13b-v1.2", 82, "no pair has vicuna", "x"),
        ],
    )
    imported = _import(project, small["votes"], small["questions"], answers)
    assert imported.items_created == 3
    item = Item.objects.get(external_id="q82-claude-v1-vs-llama-13b-t1")
    assert (item.response_a, item.response_b) == ("C1", None)
    assert Item.objects.filter(response_a=None, response_b=None).count() == 2


@pytest.mark.django_db
def test_it_keeps_a_file_named_as_reference_answers_for_the_references(project, small):
    references = _jsonl(
        small["dir"] / "reference_answer_gpt-4.jsonl", [_answers("gpt-4", 82, "4", "6")]
    )
    _import(project, small["votes"], small["questions"], references)
    item = Item.objects.get(external_id="q82-claude-v1-vs-llama-13b-t1")
    assert item.reference_answer == "4"
    assert item.response_a is None


@pytest.mark.django_db
def test_it_rejects_malformed_answer_lines_naming_file_line_and_field(project, small):
    bad = small["dir"] / "answers.jsonl"
    lines = [
        json.dumps(_answers("gpt-4", 81, "G1", "G2")),
        "{not json",
        json.dumps({**_answers("gpt-4", 82, "x"), "choices": []}),
        json.dumps(_answers("gpt-4", 81, "again", "again")),
        json.dumps({**_answers("", 82, "x"), "model_id": 7}),
        json.dumps({**_answers("gpt-4", 83, "x"), "question_id": "83"}),
    ]
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(DomainError) as exc:
        _import(project, small["votes"], small["questions"], bad)
    assert exc.value.errors == [
        "answers.jsonl line 2: not valid JSON",
        "answers.jsonl line 3, field 'choices': must be a non-empty list of objects",
        "answers.jsonl line 4, field 'question_id': gpt-4 answers question 81 twice: "
        "also answers.jsonl line 1",
        "answers.jsonl line 5, field 'model_id': must be a model name, got 7",
        "answers.jsonl line 6, field 'question_id': must be an integer, got '83'",
    ]
    assert _db_counts() == (0, 0, 0, 0)


@pytest.mark.django_db
def test_it_imports_the_same_answers_again_without_changes(project, small):
    gpt4 = _jsonl(small["dir"] / "gpt-4.jsonl", [_answers("gpt-4", 81, "G1", "G2")])
    files = (small["votes"], small["questions"], gpt4)
    imported = _import(project, *files)
    again = _import(project, *files)
    assert (again.items_created, again.judgements_created) == (0, 0)
    assert again.judgements_unchanged == imported.judgements_created == 3
