"""How far the answer checker (math-verify) agrees with ProcessBench's own final-answer check.

Run by hand from the repository root (not a test):

    python benchmarks/answer_checker.py                      # the demo sample in the repo
    python benchmarks/answer_checker.py /path/to/processbench  # a folder of <subset>.json

Each solution gets its reference answer leave-one-out, exactly as the demo import does
(`processbench.parse(..., leave_one_out_references=True)`: the boxed final answer of another
solution of the same problem that the data set marks `final_answer_correct`). Where a
solution has a reference and a boxed final answer of its own, `check_answer` is compared with
`final_answer_correct`. Per subset and overall it prints:

- coverage: solutions with a reference and a boxed answer / all solutions;
- agreement and Cohen's kappa of the checker's verdict with `final_answer_correct`;
- flawed passed: solutions the experts found an error in (label != -1) that the checker
  passes, next to how many of them `final_answer_correct` passes;
- timeouts (checks that ran out of time are left out of the comparison).
"""

import argparse
import os
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import django
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
# The importers package loads the writer, which imports the models; no database is used.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "judgeapp.settings")
django.setup()

from analysis.stats.kappa import cohen_kappa  # noqa: E402
from annotations.importers import processbench  # noqa: E402
from annotations.importers.errors import LineError  # noqa: E402
from annotations.importers.records import ItemRecord, JudgementRecord  # noqa: E402
from annotations.judges.checker import check_answer  # noqa: E402

DEMO = REPO / "annotations" / "demo_data" / "processbench"
SUBSETS = ("gsm8k", "math", "olympiadbench", "omnimath")


@dataclass
class Solution:
    subset: str
    text: str
    reference: str | None
    final_answer_correct: bool | None = None
    flawed: bool | None = None


def solutions(folder: Path) -> dict[str, Solution]:
    """Every solution of the folder's subset files, with its leave-one-out reference."""
    paths = [folder / f"{name}.json" for name in SUBSETS if (folder / f"{name}.json").exists()]
    found: dict[str, Solution] = {}
    for record in processbench.parse(paths, leave_one_out_references=True):
        if isinstance(record, ItemRecord):
            text = "\n".join(record.steps)
            found[record.external_id] = Solution(
                record.meta["subset"], text, record.reference_answer
            )
        elif isinstance(record, JudgementRecord) and record.criterion == "solution_correct":
            solution = found[record.item]
            if record.rater == processbench.OUTCOME_CHECK:
                solution.final_answer_correct = record.value == "correct"
            else:
                solution.flawed = record.value == "incorrect"
        elif isinstance(record, LineError):
            raise SystemExit(f"bad input: {record}")
    return found


def measure(found: dict[str, Solution]) -> list[dict]:
    rows: dict[str, list[tuple[bool, bool, bool]]] = defaultdict(list)
    totals: dict[str, int] = defaultdict(int)
    timeouts: dict[str, int] = defaultdict(int)
    for solution in found.values():
        totals[solution.subset] += 1
        if not solution.reference:
            continue
        result = check_answer(solution_text=solution.text, reference=solution.reference)
        if result.reason.startswith("timed out"):
            timeouts[solution.subset] += 1
        if result.passed is None:
            continue
        rows[solution.subset].append(
            (result.passed, bool(solution.final_answer_correct), bool(solution.flawed))
        )
    subsets = [s for s in SUBSETS if s in totals]
    table = [_row(s, rows[s], totals[s], timeouts[s]) for s in subsets]
    every = [row for s in subsets for row in rows[s]]
    table.append(_row("all", every, sum(totals.values()), sum(timeouts.values())))
    return table


def _row(name: str, rows: list[tuple[bool, bool, bool]], total: int, timeouts: int) -> dict:
    checker = np.array([r[0] for r in rows], dtype=float)
    dataset = np.array([r[1] for r in rows], dtype=float)
    flawed = [r for r in rows if r[2]]
    kappa = cohen_kappa(checker, dataset, n_categories=2).value if rows else float("nan")
    return {
        "subset": name,
        "solutions": total,
        "covered": len(rows),
        "coverage": len(rows) / total if total else float("nan"),
        "agreement": float(np.mean(checker == dataset)) if rows else float("nan"),
        "kappa": kappa,
        "flawed": len(flawed),
        "flawed_passed_checker": sum(r[0] for r in flawed),
        "flawed_passed_dataset": sum(r[1] for r in flawed),
        "timeouts": timeouts,
    }


def _markdown(table: list[dict]) -> str:
    lines = [
        "| subset | solutions | compared (coverage) | agreement | κ | flawed compared | "
        "flawed passed: checker / data set | timeouts |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in table:
        lines.append(
            f"| {r['subset']} | {r['solutions']:,} | {r['covered']:,} ({r['coverage']:.1%}) | "
            f"{r['agreement']:.3f} | {r['kappa']:.2f} | {r['flawed']} | "
            f"{r['flawed_passed_checker']} / {r['flawed_passed_dataset']} | {r['timeouts']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEMO)
    args = parser.parse_args()
    started = time.monotonic()
    table = measure(solutions(args.folder))
    print(_markdown(table))
    print(f"\n{args.folder}: {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
