"""Several studies head to head (engines, samplers, pruners): which finds better models faster.

python -m analysis.compare --studies optuna-run kt-hyperband --out reports/compare/

One figure, best-so-far val accuracy against wall-clock time and against epochs trained, one
line per study; and a table of best val loss/accuracy, trials, epochs trained, wall time and the
time each study took to reach given val accuracies.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import optuna
import pandas as pd

from analysis.plotting import plt, save_figure
from analysis.trials import add_studies_arguments, readable, studies_and_folder
from search.record import MONITOR, Record, local_seconds
from search.study_attrs import StudyAttrs

GOALS = (0.85, 0.88, 0.90)


RULES = ("epoch", "complete")


def progress(study: optuna.Study, rule: str = "epoch") -> pd.DataFrame:
    """The study's best so far, as it grew: seconds since its first trial began, epochs trained
    so far (pruned and failed trials count: they cost), the best val accuracy and val loss.

    ``rule="epoch"``: every epoch's end of every trial counts when it was measured, pruned and
    failed trials' included, as Hyperband's short first-bracket trials count when they end: the
    same rule for every engine. A trial recorded before epoch ends were (no ``epoch_ends``)
    counts at its end. ``rule="complete"``: completed trials only, at their end, with the
    metrics at their best epoch (the rule of the benchmarks before 2026-12-08)."""
    if rule not in RULES:
        raise ValueError(f"Unknown rule {rule!r}; choose one of {list(RULES)}")
    finished = [t for t in study.get_trials(deepcopy=False) if t.datetime_complete is not None]
    columns = ["trial", "seconds", "epochs", "best_val_accuracy", "best_val_loss"]
    if not finished:
        return pd.DataFrame(columns=columns)
    start = min(t.datetime_start for t in finished)
    origin = local_seconds(start)  # epoch_ends count in local seconds
    events = []  # (seconds, trial, epochs trained, val accuracy, val loss)
    for t in finished:
        r, end = Record.of(t), (t.datetime_complete - start).total_seconds()
        complete = t.state == optuna.trial.TrialState.COMPLETE
        if rule == "complete":
            value = (r.val_accuracy, t.value) if complete else (None, None)
            events.append((end, t.number, r.epochs(), *value))
            continue
        accuracy, loss = r.curves.get("val_accuracy", []), r.curves.get(MONITOR, [])
        ends = r.epoch_ends if len(r.epoch_ends) == len(loss) else []
        for i, when in enumerate(ends):
            measured = accuracy[i] if i < len(accuracy) else None
            events.append((when - origin, t.number, 1, measured, loss[i]))
        if not ends:  # recorded before epoch ends were: the whole trial at its end
            best = max(accuracy, default=None), min(loss, default=None)
            events.append((end, t.number, len(loss), *best))
    rows, epochs, best_acc, best_loss = [], 0, -math.inf, math.inf
    for seconds, number, trained, accuracy, loss in sorted(events, key=lambda e: e[0]):
        epochs += trained
        if accuracy is not None and math.isfinite(accuracy):
            best_acc = max(best_acc, accuracy)
        if loss is not None and math.isfinite(loss):
            best_loss = min(best_loss, loss)
        rows.append(
            {
                "trial": number,
                "seconds": seconds,
                "epochs": epochs,
                "best_val_accuracy": best_acc if math.isfinite(best_acc) else None,
                "best_val_loss": best_loss if math.isfinite(best_loss) else None,
            }
        )
    return pd.DataFrame(rows, columns=columns)


def table(studies: list[optuna.Study], goals=GOALS, rule: str = "epoch") -> pd.DataFrame:
    """One row per study: what it found and what it cost, and when it reached each goal (by
    ``rule``, as ``progress`` counts)."""
    rows = []
    for study in studies:
        p = progress(study, rule)
        settings = StudyAttrs.of(study).settings or {}
        finished = [t for t in study.get_trials(deepcopy=False) if t.datetime_complete]
        states = [t.state for t in finished]
        start = min((t.datetime_start for t in finished), default=None)
        row = {
            "study": study.study_name,
            "engine": settings.get("engine", "optuna"),
            "search": f"{settings.get('sampler', '?')}/{settings.get('pruner', '?')}",
            "best_val_loss": p["best_val_loss"].min() if len(p) else None,
            "best_val_acc": p["best_val_accuracy"].max() if len(p) else None,
            "trials": len(finished),
            "complete": states.count(optuna.trial.TrialState.COMPLETE),
            "epochs": int(p["epochs"].iloc[-1]) if len(p) else 0,
            "wall_s": round(max((t.datetime_complete - start).total_seconds() for t in finished))
            if finished
            else 0,
        }
        for goal in goals:
            hit = p[p["best_val_accuracy"].fillna(-1) >= goal]
            row[f"s_to_{goal:.2f}"] = round(hit["seconds"].iloc[0]) if len(hit) else None
        rows.append(row)
    return pd.DataFrame(rows)


def plot(studies: list[optuna.Study], path: Path, rule: str = "epoch") -> Path:
    fig, (by_time, by_epochs) = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for study in studies:
        p = progress(study, rule).dropna(subset=["best_val_accuracy"])
        if p.empty:
            continue
        by_time.step(
            p["seconds"] / 60,
            p["best_val_accuracy"],
            where="post",
            label=study.study_name,
            marker="o",  # a study whose first success came late is one point, not hidden
            ms=3,
        )
        by_epochs.step(
            p["epochs"],
            p["best_val_accuracy"],
            where="post",
            label=study.study_name,
            marker="o",
            ms=3,
        )
    by_time.set_xlabel("wall time since the first trial began (minutes)")
    by_epochs.set_xlabel("epochs trained (all trials)")
    by_time.set_ylabel(
        "best val accuracy so far" + (" (any epoch)" if rule == "epoch" else " (complete trials)")
    )
    for ax in (by_time, by_epochs):
        ax.grid(alpha=0.3)
    by_time.legend(loc="best")
    fig.suptitle("Best val accuracy so far: " + " vs ".join(s.study_name for s in studies))
    return save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.compare", description=__doc__)
    add_studies_arguments(parser, "compare")
    parser.add_argument(
        "--rule",
        choices=RULES,
        default="epoch",
        help="what counts as found: every epoch's end of every trial, when it was measured "
        "(epoch, the default: the same for Hyperband's short trials and pruned ones), or "
        "completed trials only, at their end (complete)",
    )
    args = parser.parse_args(argv)
    try:
        studies, out = studies_and_folder(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    frame = table(studies, rule=args.rule)
    csv, md = out / "compare.csv", out / "compare.md"
    frame.to_csv(csv, index=False)
    shown = readable(frame).to_markdown(index=False)  # the CSV keeps full precision
    md.write_text(shown + "\n")
    figure = plot(studies, out / "compare.png", args.rule)
    print(shown)
    for path in (csv, md, figure):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
