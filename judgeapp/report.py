"""Read an agreement report's files into pandas: the stable way to use judgeapp's results in
Python, without Django or a database.

    python -m judgeapp.report out/            # a summary of the report in out/
    python -m judgeapp.report out/ --json     # the same, as JSON

    from judgeapp.report import load
    frames = load("out/")                     # {"agreement": DataFrame, "shortfall": ..., ...}

`out/` is what `manage.py agreement_report --out out/` writes, or the files downloaded from a
report's page or the API. Each table is read from its JSON file (`agreement.json`: a list of
objects, the CSV's columns as keys), or from the CSV when only that is there. The one-liner:
`pandas.read_json("out/agreement.json", dtype=False)` (dtype=False: a label stays text).
"""

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

TABLES = ("agreement", "shortfall", "disagreements", "charts")


def load(directory: str | Path) -> dict[str, pd.DataFrame]:
    """The report tables found in `directory`, by name (a missing table is left out)."""
    directory = Path(directory)
    frames = {}
    for table in TABLES:
        as_json, as_csv = directory / f"{table}.json", directory / f"{table}.csv"
        if as_json.exists():
            # From the records as they are: a label stays text ("1" is not 1).
            rows = json.loads(as_json.read_text(encoding="utf-8"))
            frames[table] = pd.DataFrame.from_records(rows)
        elif as_csv.exists():
            frames[table] = pd.read_csv(as_csv)
    if not frames:
        raise FileNotFoundError(
            f"{directory}: no report files (agreement.json, agreement.csv, ...) there"
        )
    return frames


def summary(frames: dict[str, pd.DataFrame]) -> dict:
    """What a reader wants first: rows per table, and per criterion and judge group the
    alt-test verdicts of the shortfall table (where the judge stands against the experts)."""
    result: dict = {"rows": {name: len(frame) for name, frame in frames.items()}}
    shortfall = frames.get("shortfall")
    if shortfall is not None and len(shortfall) and "verdict" in shortfall:
        whole = shortfall[shortfall["slice"].fillna("") == "all"] if "slice" in shortfall else None
        rows = whole if whole is not None and len(whole) else shortfall
        result["verdicts"] = [
            {
                "criterion": row["criterion"],
                "judge_group": row["judge_group"],
                "reference_group": row["reference_group"],
                "gap": _number(row.get("gap")),
                "verdict": row["verdict"],
            }
            for row in rows.to_dict("records")
        ]
    return result


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), 4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m judgeapp.report", description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    try:
        frames = load(args.directory)
    except (FileNotFoundError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 1
    result = summary(frames)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for name, n in result["rows"].items():
        print(f"{name}: {n:,} rows")
    for row in result.get("verdicts", []):
        gap = "" if row["gap"] is None else f" (gap {row['gap']:+.3f})"
        print(
            f"{row['criterion']}: {row['judge_group']} vs {row['reference_group']}: "
            f"{row['verdict']}{gap}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
