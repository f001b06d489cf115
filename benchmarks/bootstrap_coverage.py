"""Coverage of 95% intervals: the cluster (multinomial) bootstrap against the Poisson bootstrap
of streamed reports, on simulated studies whose true values are known.

Run by hand from the repository root (not a test; a few minutes on one core):

    python benchmarks/bootstrap_coverage.py --studies 400 --items 150

Each study: `--items` solutions of 5 steps; each solution has a difficulty that raises every
rater's error rate on all its steps (so steps of one solution are correlated and must be
resampled together); 3 experts (5% missing) and one model judge. The true value of each
statistic is its value on one study of 200,000 solutions (the estimators are ratios of sums,
consistent for that limit). For each simulated study both bootstraps give an interval from the
same statistics code (`analysis.stats`), the multinomial one from `Resampler.draw`, the
Poisson one from `poisson_weights` keyed by item; the table is the share of intervals that
hold the truth, with its Monte Carlo standard error.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis import stats  # noqa: E402
from analysis.stats.streaming import poisson_weights  # noqa: E402

STEPS = 5


def study(n_items: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    difficulty = rng.beta(1.0, 3.0, n_items)
    item = np.repeat(np.arange(n_items), STEPS)
    d = difficulty[item][:, None]
    truth = (rng.random(len(item)) < 0.3).astype(float)[:, None]
    experts = np.where(rng.random((len(item), 3)) < 0.05 + 0.3 * d, 1 - truth, truth)
    experts[rng.random(experts.shape) < 0.05] = np.nan
    judge = np.where(rng.random((len(item), 1)) < 0.1 + 0.4 * d, 1 - truth, truth)
    return {"item": item, "experts": experts, "judge": judge}


def statistics(data: dict, rng: object, n_boot: int) -> dict[str, stats.Estimate]:
    kw = {"clusters": data["item"], "n_boot": n_boot, "rng": rng}
    experts, judge = data["experts"], data["judge"]
    return {
        "percent agreement (experts vs judge)": stats.percent_agreement(
            experts, judge, n_categories=2, **kw
        ),
        "Fleiss' kappa (experts)": stats.fleiss_kappa(experts, n_categories=2, **kw),
        "Krippendorff's alpha (experts)": stats.krippendorff_alpha(experts, n_categories=2, **kw),
        "Cohen's kappa (expert consensus vs judge)": stats.cohen_kappa(
            stats.consensus(experts, n_categories=2), judge[:, 0], n_categories=2, **kw
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=400)
    parser.add_argument("--items", type=int, default=150)
    parser.add_argument("--bootstrap", type=int, default=500)
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    truth = {k: e.value for k, e in statistics(study(200_000, rng), None, 0).items()}
    hits = {method: dict.fromkeys(truth, 0) for method in ("cluster", "poisson")}
    widths = {method: dict.fromkeys(truth, 0.0) for method in hits}
    started = time.perf_counter()
    for s in range(args.studies):
        data = study(args.items, rng)
        keys = np.arange(args.items)
        resamplers = {
            "cluster": stats.Resampler.draw(data["item"], args.bootstrap, rng),
            "poisson": stats.Resampler(keys, poisson_weights(keys, args.bootstrap, seed=s)),
        }
        for method, resampler in resamplers.items():
            for name, est in statistics(data, resampler, args.bootstrap).items():
                hits[method][name] += est.ci_low <= truth[name] <= est.ci_high
                widths[method][name] += (est.ci_high - est.ci_low) / args.studies
    n = args.studies
    lines = [
        f"## Coverage of 95% intervals ({n} simulated studies of {args.items} solutions x "
        f"{STEPS} steps, {args.bootstrap} resamples; {time.perf_counter() - started:.0f} s)",
        "",
        "| statistic | true value | cluster bootstrap | Poisson bootstrap "
        "| mean width (cluster / Poisson) |",
        "|---|---:|---:|---:|---:|",
    ]  # fmt: skip
    for name, value in truth.items():
        cells = []
        for method in ("cluster", "poisson"):
            p = hits[method][name] / n
            cells.append(f"{100 * p:.1f}% ± {100 * np.sqrt(p * (1 - p) / n):.1f}")
        lines.append(
            f"| {name} | {value:.3f} | {cells[0]} | {cells[1]} | "
            f"{widths['cluster'][name]:.3f} / {widths['poisson'][name]:.3f} |"
        )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
