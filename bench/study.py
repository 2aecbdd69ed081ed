"""Benchmark: a study on the full data with the default space, sampler and pruner.

Runs ``python -m search.optimize`` as a user would, then reads the study back and prints the wall
time, trial counts, the epochs actually trained against the epochs the same trials would have
trained without pruning, and the best val_loss / val accuracy. Goal: pruning spends at most 35% of
the unpruned epochs.

A completed trial's unpruned epochs are the epochs it ran (early stopping ended it). A pruned trial
was stopped before early stopping could end it, so its unpruned count is bounded: at least
``max(pruned epoch + 1, best epoch + patience)`` (early stopping cannot fire sooner), at most the
max epochs. Both bounds are printed. ``--unpruned K`` measures it instead for a seeded random
sample of K pruned trials, the quickest epochs first: each runs again through the product's
objective with its params and its seed (``optuna.trial.FixedTrial`` with its number), unpruned, on
the same data, until early stopping or the max epochs end it; its curve is printed beside the
pruned run's (TensorFlow on CPU is not bitwise deterministic: the same configuration and seed, not
the same numbers). The study's share is then estimated with the sample's mean would-be epochs
standing in for the pruned trials not rerun. A rerun cut short by ``--unpruned-budget`` counts the
epochs it ran, fewer than it would have, so the share printed is then an upper bound.

    python bench/study.py --data ../shared/data/aclImdb_v1_labeled.tar.gz --trials 20
    python bench/study.py --study imdb-default --storage sqlite:///studies/imdb-default.db \
        --no-run                          # the figures of a study that already ran
    python bench/study.py --no-run --unpruned 5   # ... and 5 pruned trials rerun unpruned
"""

from __future__ import annotations

import argparse
import random
import time

import optuna

from search import optimize
from search.display import counts
from search.fitting import fit
from search.record import Record
from search.runner import prepare
from search.settings import RunSettings
from search.study_attrs import StudyAttrs

PATIENCE = fit.__kwdefaults__["patience"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=None)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--study", default="bench")
    parser.add_argument("--storage", default="sqlite:///studies/bench.db")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--unsup", default=None, help="unlabeled reviews, for domain vectors")
    parser.add_argument("--no-run", action="store_true", help="only read the study back")
    parser.add_argument(
        "--unpruned", type=int, default=0, help="rerun this many pruned trials unpruned"
    )
    parser.add_argument(
        "--unpruned-budget",
        type=float,
        default=1800,
        help="seconds for the reruns; one cut short counts the epochs it ran, a lower bound",
    )
    args = parser.parse_args()

    argv = [
        "--study",
        args.study,
        "--storage",
        args.storage,
        "--trials",
        str(args.trials),
        "--epochs",
        str(args.epochs),
        "--seed",
        str(args.seed),
    ]
    if args.data:
        argv += ["--data", args.data]
    if args.timeout:
        argv += ["--timeout", str(args.timeout)]
    if args.unsup:
        argv += ["--unsup", args.unsup]
    start = time.perf_counter()
    code = 0 if args.no_run else optimize.main(argv)
    wall = time.perf_counter() - start
    if code not in (0, 130):
        raise SystemExit(code)

    study = optuna.load_study(study_name=args.study, storage=args.storage)
    states = optuna.trial.TrialState
    trained = low = high = complete = 0
    for trial in study.trials:
        # the curves, not epochs_run: a trial killed mid-run has curves but no summary
        ran = Record.of(trial).epochs()
        trained += ran
        if trial.state == states.COMPLETE:
            complete += ran  # early stopping ended it: its unpruned epochs
            low += ran
            high += ran
        elif trial.state == states.PRUNED:
            best = Record.of(trial).best_epoch or ran
            low += min(args.epochs, max(ran + 1, best + PATIENCE))
            high += args.epochs
    c = counts(study)
    ends = [t.datetime_complete for t in study.trials if t.datetime_complete]
    start0 = min(t.datetime_start for t in study.trials if t.datetime_start)  # not queued ones
    span = (max(ends) - start0).total_seconds()
    print(
        f"\nwall time           {wall / 60:.1f} min (this run), {span / 60:.1f} min "
        "(study: first trial start to last trial end)"
    )
    for goal in (0.88, 0.90):  # the first trial end at which the best val accuracy reached it
        hit = [
            t.datetime_complete
            for t in study.trials
            if t.state == states.COMPLETE and (Record.of(t).val_accuracy or 0) >= goal
        ]
        reached = f"{(min(hit) - start0).total_seconds() / 60:.1f} min" if hit else "not reached"
        print(f"val_acc >= {goal:.2f}      {reached} (from the first trial's start)")
    print(f"trials              {c['complete']} complete, {c['pruned']} pruned, {c['fail']} failed")
    print(f"epochs trained      {trained}")
    print(f"epochs unpruned     {low} .. {high} (lower .. upper bound)")
    if high:
        print(
            f"pruning spent       {100 * trained / high:.0f}% .. {100 * trained / low:.0f}% "
            "of the unpruned epochs (goal <= 35%)"
        )
    pruned = [t for t in study.trials if t.state == states.PRUNED]
    if args.unpruned and pruned:
        sample = random.Random(args.seed).sample(pruned, min(args.unpruned, len(pruned)))
        # quickest epochs first: when the budget runs out, it cuts the slowest rerun short
        would = rerun_unpruned(args, sorted(sample, key=seconds_per_epoch))
        if would:
            ran = sum(Record.of(t).epochs() for t in sample if t.number in would)
            unpruned = sum(would.values())
            mean = unpruned / len(would)
            estimate = complete + unpruned + mean * (len(pruned) - len(would))
            print(
                f"rerun unpruned      {len(would)} of {len(pruned)} pruned trials: {ran} epochs "
                f"pruned, {unpruned} unpruned ({100 * ran / unpruned:.0f}%), "
                f"{mean:.1f} would-be epochs per pruned trial"
            )
            print(
                f"pruning spent       {100 * trained / estimate:.0f}% of an estimated "
                f"{estimate:.0f} unpruned epochs (the sample's mean for the pruned trials not "
                "rerun; goal <= 35%)"
            )
    if c["complete"]:
        best = study.best_trial
        print(
            f"best val_loss       {best.value:.4f} (trial {best.number}), "
            f"val_acc {Record.of(best).val_accuracy:.4f}"
        )
        print(f"best params         {best.params}")
        behind(best, pruned)


def behind(best, pruned: list) -> None:
    """How far each pruned trial's best val_loss was behind the best trial's over the same
    epochs, when it was pruned: a pruned trial close to it might have become the best, one far
    behind would have needed to gain more than it had left to learn."""
    curve = Record.of(best).curves.get("val_loss", [])
    gaps = []
    for trial in pruned:
        own = Record.of(trial).curves.get("val_loss", [])
        if own and len(own) <= len(curve):
            gaps.append((min(own) - min(curve[: len(own)]), trial.number, len(own)))
    if not gaps:
        return
    gap, number, epoch = min(gaps)
    print(
        f"pruned vs best      every pruned trial's best val_loss was behind trial {best.number}'s "
        f"over the same epochs by >= {gap:.4f} (closest: trial {number}, {epoch} epochs; "
        f"median {sorted(g for g, *_ in gaps)[len(gaps) // 2]:.4f})"
        if gap > 0
        else f"pruned vs best      trial {number} was ahead of trial {best.number} at epoch "
        f"{epoch} by {-gap:.4f} when it was pruned"
    )


def seconds_per_epoch(trial) -> float:
    r = Record.of(trial)
    return r.fit_seconds / max(r.epochs(), 1)


def rerun_unpruned(args: argparse.Namespace, trials: list) -> dict[int, int]:
    """Each trial again, unpruned: its params and seed through the study's own objective, data
    and vectors (``FixedTrial`` never prunes); returns the epochs each would have trained."""
    from search import backend
    from search.objective import make_objective

    backend.load()
    ready = prepare(RunSettings(study=args.study, storage=args.storage, no_baseline=True))
    study, space, data, vectors = ready.study, ready.space, ready.data, ready.vectors
    settings = StudyAttrs.of(study).settings
    deadline = time.monotonic() + args.unpruned_budget
    objective = make_objective(
        space,
        data,
        epochs=settings["epochs"],
        seed=settings["seed"],
        vectors=vectors,
        deadline=deadline,
    )
    would = {}
    for trial in trials:
        if time.monotonic() >= deadline:
            print(f"trial {trial.number}: not rerun (--unpruned-budget spent)")
            continue
        fixed = optuna.trial.FixedTrial(trial.params, number=trial.number)
        start = time.perf_counter()
        try:
            objective(fixed)
        except Exception as exc:  # a rerun that fails says so and is left out of the sample
            print(f"trial {trial.number}: rerun failed ({type(exc).__name__}: {exc})")
            continue
        pruned_curve = Record.of(trial).curves.get("val_loss", [])
        curve = Record.of(fixed).curves.get("val_loss", [])
        would[trial.number] = len(curve)
        cut = " (cut by the budget: at least)" if fixed.user_attrs.get("stopped_by") else ""
        print(
            f"trial {trial.number:>3}: pruned after {len(pruned_curve)} epochs, unpruned "
            f"{len(curve)}{cut} ({time.perf_counter() - start:.0f}s); val_loss pruned "
            f"{[round(v, 4) for v in pruned_curve]}, unpruned {[round(v, 4) for v in curve]}",
            flush=True,
        )
    return would


if __name__ == "__main__":
    main()
