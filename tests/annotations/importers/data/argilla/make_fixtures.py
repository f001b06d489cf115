"""Write the Argilla test fixtures with Argilla's own SDK (argilla 2.8.0), no server needed.

`rg.Dataset.to_disk` fetches the records from a server, so this script calls the same
serializers it does on records built in memory: `Dataset._persist_dataset_model` writes
`.argilla/dataset.json`, `Settings.to_json` writes `.argilla/settings.json`, and
`JsonIO.to_json` (what `dataset.records.to_json` calls) writes `records.json`. The same records
go through `HFDatasetsIO.to_datasets` (what `to_hub` uploads) into `feedback-hf/` as JSON
Lines, the flattened Hugging Face layout. Run it in a throwaway virtualenv:

    python -m venv /tmp/argilla && /tmp/argilla/bin/pip install argilla==2.8.0 requests
    /tmp/argilla/bin/python tests/annotations/importers/data/argilla/make_fixtures.py

Note what the SDK's JSON keeps: `records.json` has no response status, so a discarded response
reads like a submitted one there (record r4's "bad" by the second user); the Hugging Face
layout keeps `<question>.responses.status`, and the importer skips what is not submitted.
In that layout a LabelQuestion's suggestion is the label's index (a `ClassLabel`).

The values are invented (two annotators and one model judge on four chat answers); the
client below is never contacted.
"""

import shutil
import uuid
from pathlib import Path

import argilla as rg
from argilla._api._client import APIClient
from argilla.records._io._datasets import HFDatasetsIO
from argilla.records._io._json import JsonIO

HERE = Path(__file__).resolve().parent
ALICE = "0b6c1f0e-4a57-4c39-9d2e-2f1b6a3c0001"
BOB = "0b6c1f0e-4a57-4c39-9d2e-2f1b6a3c0002"
# The client checks its server when made; nothing here needs one, so that check is skipped.
APIClient._validate_connection = lambda self: None
CLIENT = rg.Argilla(api_url="http://127.0.0.1:9", api_key="offline")


def settings(*, multi_label: bool = False) -> rg.Settings:
    questions = [
        rg.LabelQuestion(name="quality", labels=["good", "bad"], client=CLIENT),
        rg.RatingQuestion(name="helpfulness", values=[1, 2, 3, 4, 5], client=CLIENT),
        rg.RankingQuestion(name="preference", values=["response_a", "response_b"], client=CLIENT),
        rg.TextQuestion(name="why", required=False, client=CLIENT),
    ]
    if multi_label:
        questions.append(
            rg.MultiLabelQuestion(name="topics", labels=["math", "code"], client=CLIENT)
        )
    fields = [
        rg.TextField(name=name, client=CLIENT) for name in ("prompt", "response_a", "response_b")
    ]
    return rg.Settings(fields=fields, questions=questions, _dataset=None)


def ranking(first: str, second: str) -> list[dict]:
    return [{"value": first, "rank": 1}, {"value": second, "rank": 2}]


ROWS = [
    # id, prompt, a, b, responses by user, suggestions (value, score)
    (
        "r1",
        "What is 2 + 2?",
        "4",
        "5",
        {
            ALICE: {
                "quality": "good",
                "helpfulness": 5,
                "preference": ranking("response_a", "response_b"),
                "why": "a is right",
            },
            BOB: {
                "quality": "good",
                "helpfulness": 4,
                "preference": ranking("response_a", "response_b"),
            },
        },
        {
            "quality": ("good", 0.9),
            "helpfulness": (5, 0.8),
            "preference": (ranking("response_a", "response_b"), 0.95),
        },
    ),
    (
        "r2",
        "Name a prime number above 10.",
        "12",
        "13",
        {
            ALICE: {
                "quality": "bad",
                "helpfulness": 2,
                "preference": ranking("response_b", "response_a"),
            },
            BOB: {
                "quality": "bad",
                "helpfulness": 1,
                "preference": ranking("response_b", "response_a"),
                "why": "12 is not prime",
            },
        },
        {
            "quality": ("good", 0.55),
            "helpfulness": (3, 0.4),
            "preference": (ranking("response_a", "response_b"), 0.6),
        },
    ),
    (
        "r3",
        "Capital of France?",
        "Paris",
        "Lyon",
        {
            ALICE: {
                "quality": "good",
                "helpfulness": 4,
                "preference": ranking("response_a", "response_b"),
            }
        },
        {"quality": ("good", 0.99)},
    ),
    ("r4", "Translate 'chat' to English.", "cat", "chat", {}, {}),
]


def records(*, discarded: bool = False, multi_label: bool = False) -> list[rg.Record]:
    built = []
    for record_id, prompt, a, b, answers, suggestions in ROWS:
        responses = [
            rg.Response(question, value, user_id=uuid.UUID(user), status="submitted")
            for user, values in answers.items()
            for question, value in values.items()
        ]
        if discarded and record_id == "r4":
            responses.append(
                rg.Response("quality", "bad", user_id=uuid.UUID(BOB), status="discarded")
            )
        if multi_label and record_id == "r1":
            responses.append(
                rg.Response("topics", ["math"], user_id=uuid.UUID(ALICE), status="submitted")
            )
        built.append(
            rg.Record(
                id=record_id,
                fields={"prompt": prompt, "response_a": a, "response_b": b},
                metadata={"source": "fixture"},
                responses=responses,
                suggestions=[
                    rg.Suggestion(question, value, score=score, agent="gpt-4o-judge")
                    for question, (value, score) in suggestions.items()
                ],
            )
        )
    return built


def write(name: str, **options: bool) -> None:
    out = HERE / name
    shutil.rmtree(out, ignore_errors=True)
    (out / ".argilla").mkdir(parents=True)
    workspace = rg.Workspace(name="fixtures", id=uuid.UUID(int=1), client=CLIENT)
    dataset = rg.Dataset(
        name=name,
        settings=settings(multi_label=options.get("multi_label", False)),
        workspace=workspace,
        client=CLIENT,
    )
    dataset._persist_dataset_model(path=out / ".argilla" / "dataset.json")
    dataset.settings.to_json(path=out / ".argilla" / "settings.json")
    built = records(**options)
    JsonIO.to_json(built, path=out / "records.json")
    return dataset, built


if __name__ == "__main__":
    dataset, built = write("feedback", discarded=True)
    # As `Dataset.to_hub` lays a repository out: the settings under .argilla/, the records as
    # Parquet under data/ (what `datasets.push_to_hub` writes).
    hf = HFDatasetsIO.to_datasets(built, dataset)
    shutil.rmtree(HERE / "feedback-hf", ignore_errors=True)
    shutil.copytree(HERE / "feedback" / ".argilla", HERE / "feedback-hf" / ".argilla")
    (HERE / "feedback-hf" / "data").mkdir()
    hf.to_parquet(HERE / "feedback-hf" / "data" / "train-00000-of-00001.parquet")
    write("multilabel", multi_label=True)
