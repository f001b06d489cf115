"""The MT-bench importer, on the real human and GPT-4 votes copied into demo_data."""

import csv
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
