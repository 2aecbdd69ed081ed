"""Benchmark: the product's default search against KerasTuner Hyperband and a random floor, on
the same space, data, training and wall budget, one after the other on a quiet machine.

Runs ``python -m search.optimize`` as a user would, each with ``--timeout BUDGET``:

- ``optuna``: the default sampler and pruner, cold (no queued presets: KerasTuner has no queue);
- ``hyperband``: ``--engine kerastuner --tuner hyperband``;
- ``random``: Optuna's random sampler without pruning, the floor any search must beat.

With several seeds the engines alternate (seed 0: optuna, hyperband, random; then seed 1), so a
slow hour of the machine does not fall on one engine. The data's tokenisation and the domain
word vectors are prepared once before the first run, so no engine pays for them. Then
``analysis.compare`` prints one table (best val accuracy, trials, epochs, seconds to 0.85, 0.88,
0.90) and draws the anytime curve of every study in one figure, twice: counting every epoch's
end of every trial when it was measured (Hyperband's 2-epoch trials and pruned trials alike),
then completed trials only (the rule before 2026-12-08); and ``analysis.costs`` of all the
studies: what each choice of the space cost and reached, the data a review of its ranges needs.
Goal: the default reaches Hyperband's final best val accuracy in at most two thirds of
Hyperband's time, and ends ahead.

    python bench/engines.py --data ../shared/data/aclImdb_v1_labeled.tar.gz \\
        --unsup ../shared/data/aclImdb_v1_unsup.tar.gz --budget 2400
    python bench/engines.py --prefix engines --no-run          # the figures of studies that ran
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis import compare, costs
from search import data as data_command
from search import optimize
from search import vectors as vectors_command
from search.storage import load_study
from spaces import companion

ENGINES = {
    "optuna": ["--engine", "optuna", "--no-enqueue-presets"],
    "hyperband": ["--engine", "kerastuner", "--tuner", "hyperband"],
    "random": ["--engine", "optuna", "--sampler", "random", "--pruner", "none"]
    + ["--no-enqueue-presets"],
}


def study_name(prefix: str, engine: str, seed: int) -> str:
    return f"{prefix}-{engine}-s{seed}"


def warm(args: argparse.Namespace) -> int:
    """Tokenise at the space's largest cut and train the domain vectors once (both cached)."""
    tokenize = companion(args.space, "TOKENIZE")
    data = ["--data", args.data] if args.data else []
    cut = ["--maxlen", str(tokenize["maxlen"]), "--vocab-size", str(tokenize["vocab_size"])]
    code = data_command.main([*data, *cut])
    if code == 0 and args.unsup:
        code = vectors_command.main([*data, "--unsup", args.unsup])
    return code


def goal(ours_name: str, theirs_name: str, storage: str, rule: str = "epoch") -> str:
    """The goal's verdict for one seed, in one line, counting as ``compare.progress(rule)``."""
    ours, theirs = (
        compare.progress(load_study(n, storage), rule).dropna(subset=["best_val_accuracy"])
        for n in (ours_name, theirs_name)
    )
    if ours.empty or theirs.empty:
        return f"{ours_name} / {theirs_name}: a study completed no trial, nothing to compare"
    target = theirs["best_val_accuracy"].max()
    their_time = theirs[theirs["best_val_accuracy"] >= target]["seconds"].iloc[0]
    hit = ours[ours["best_val_accuracy"] >= target]
    best = ours["best_val_accuracy"].max()
    if hit.empty:
        return (
            f"{ours_name} never reached Hyperband's best val accuracy {target:.4f} (at "
            f"{their_time:.0f}s); its best {best:.4f}: goal not met"
        )
    share = hit["seconds"].iloc[0] / their_time
    met = share <= 2 / 3 and best > target
    return (
        f"Hyperband's best {target:.4f} at {their_time:.0f}s; {ours_name} reached it at "
        f"{hit['seconds'].iloc[0]:.0f}s = {share:.2f} of that time and ended at {best:.4f} "
        f"(goal <= 0.67 and ahead: {'met' if met else 'not met'})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--unsup", default=None, help="unlabeled reviews, for domain vectors")
    parser.add_argument("--budget", type=int, default=2400, help="wall seconds per engine")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--space", default="default")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--engines", nargs="+", choices=list(ENGINES), default=list(ENGINES))
    parser.add_argument("--prefix", default="engines", help="studies <prefix>-<engine>-s<seed>")
    parser.add_argument("--storage", default="sqlite:///studies/engines.db")
    parser.add_argument("--no-run", action="store_true", help="only read the studies back")
    parser.add_argument("--out", default="reports/engines")
    args = parser.parse_args()

    common = ["--storage", args.storage, "--space", args.space, "--epochs", str(args.epochs)]
    common += ["--timeout", str(args.budget), "--quiet", "--no-baseline"]
    common += ["--data", args.data] if args.data else []
    common += ["--unsup", args.unsup] if args.unsup else []
    runs = [(seed, engine) for seed in args.seeds for engine in args.engines]
    if not args.no_run:
        code = warm(args)
        if code != 0:
            return code
        for seed, engine in runs:
            name = study_name(args.prefix, engine, seed)
            print(f"== {name}: {args.budget}s", flush=True)
            code = optimize.main(["--study", name, *common, "--seed", str(seed), *ENGINES[engine]])
            if code not in (0, 130):
                return code
    names = [study_name(args.prefix, engine, seed) for seed, engine in runs]
    for rule in compare.RULES:  # any epoch of any trial (the figure), then completed trials
        print(f"== found: {rule} rule (python -m analysis.compare --rule {rule})")
        out = str(Path(args.out) / rule)
        code = compare.main(
            ["--studies", *names, "--storage", args.storage, "--out", out, "--rule", rule]
        )
        if code != 0:
            return code
        if {"optuna", "hyperband"} <= set(args.engines):
            for seed in args.seeds:
                ours, theirs = (study_name(args.prefix, e, seed) for e in ("optuna", "hyperband"))
                print(goal(ours, theirs, args.storage, rule))
    print("== where the budget went, by choice (python -m analysis.costs): the space review's data")
    return costs.main(
        ["--studies", *names, "--storage", args.storage, "--out", str(Path(args.out) / "costs")]
    )


if __name__ == "__main__":
    sys.exit(main())
