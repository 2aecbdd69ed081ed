"""Benchmark: Optuna (the product's default search) against KerasTuner Hyperband on the same
space, data, training and wall budget, one after the other on a quiet machine.

Runs ``python -m search.optimize`` twice as a user would (``--engine optuna`` with its default
sampler and pruner but no queued presets, then ``--engine kerastuner --tuner hyperband``), each
with ``--timeout BUDGET``, and prints ``analysis.compare``'s table. Goal: Optuna reaches
KerasTuner Hyperband's best val accuracy in at most two-thirds of the wall time Hyperband took
to reach it.

    python bench/engines.py --data ../shared/data/aclImdb_v1_labeled.tar.gz --budget 3600
    python bench/engines.py --prefix cmp --no-run          # the figures of studies that ran
"""

from __future__ import annotations

import argparse
import sys

from analysis import compare
from search import optimize
from search.storage import load_study


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--unsup", default=None, help="unlabeled reviews, for domain vectors")
    parser.add_argument("--budget", type=int, default=3600, help="wall seconds per engine")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--space", default="default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prefix", default="engines", help="studies <prefix>-optuna, -hyperband")
    parser.add_argument("--storage", default="sqlite:///studies/engines.db")
    parser.add_argument("--no-run", action="store_true", help="only read the studies back")
    parser.add_argument("--out", default="reports/engines")
    args = parser.parse_args()

    names = {"optuna": f"{args.prefix}-optuna", "kerastuner": f"{args.prefix}-hyperband"}
    common = ["--storage", args.storage, "--space", args.space, "--epochs", str(args.epochs)]
    common += ["--seed", str(args.seed), "--timeout", str(args.budget), "--quiet", "--no-baseline"]
    common += ["--data", args.data] if args.data else []
    common += ["--unsup", args.unsup] if args.unsup else []
    if not args.no_run:
        for engine, name in names.items():
            # no queued presets: KerasTuner has no queue, so both start from nothing
            extra = ["--engine", engine]
            extra += (
                ["--tuner", "hyperband"] if engine == "kerastuner" else ["--no-enqueue-presets"]
            )
            code = optimize.main(["--study", name, *common, *extra])
            if code not in (0, 130):
                return code
    studies = [load_study(name, args.storage) for name in names.values()]
    compare.main(["--studies", *names.values(), "--storage", args.storage, "--out", args.out])
    ours, theirs = (compare.progress(s).dropna(subset=["best_val_accuracy"]) for s in studies)
    if ours.empty or theirs.empty:
        print("a study completed no trial: nothing to compare")
        return 1
    target = theirs["best_val_accuracy"].max()
    their_time = theirs[theirs["best_val_accuracy"] >= target]["seconds"].iloc[0]
    hit = ours[ours["best_val_accuracy"] >= target]
    if hit.empty:
        print(
            f"Optuna never reached Hyperband's best val accuracy {target:.4f} "
            f"(its best: {ours['best_val_accuracy'].max():.4f}); goal not met"
        )
        return 0
    share = hit["seconds"].iloc[0] / their_time
    print(
        f"Hyperband's best val accuracy {target:.4f} at {their_time:.0f}s; Optuna reached it at "
        f"{hit['seconds'].iloc[0]:.0f}s = {share:.2f} of that time (goal <= 0.67: "
        f"{'met' if share <= 2 / 3 else 'not met'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
