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
from analysis.trials import readable
from search.files import writable_folder
from search.record import Record
from search.storage import load_study
from search.study_attrs import StudyAttrs

GOALS = (0.85, 0.88, 0.90)


def progress(study: optuna.Study) -> pd.DataFrame:
    """Per finished trial, in the order they finished: seconds since the study's first trial
    began, epochs trained so far (pruned and failed trials count: they cost), and the best val
    accuracy of a completed trial so far."""
    finished = [t for t in study.get_trials(deepcopy=False) if t.datetime_complete is not None]
    columns = ["trial", "seconds", "epochs", "best_val_accuracy", "best_val_loss"]
    if not finished:
        return pd.DataFrame(columns=columns)
    start = min(t.datetime_start for t in finished)
    rows, epochs, best_acc, best_loss = [], 0, -math.inf, math.inf
    for t in sorted(finished, key=lambda t: t.datetime_complete):
        r = Record.of(t)
        epochs += r.epochs()
        if t.state == optuna.trial.TrialState.COMPLETE:
            best_acc = max(best_acc, r.val_accuracy if r.val_accuracy is not None else -math.inf)
            best_loss = min(best_loss, t.value)
        rows.append(
            {
                "trial": t.number,
                "seconds": (t.datetime_complete - start).total_seconds(),
                "epochs": epochs,
                "best_val_accuracy": best_acc if math.isfinite(best_acc) else None,
                "best_val_loss": best_loss if math.isfinite(best_loss) else None,
            }
        )
    return pd.DataFrame(rows, columns=columns)


def table(studies: list[optuna.Study], goals=GOALS) -> pd.DataFrame:
    """One row per study: what it found and what it cost, and when it reached each goal."""
    rows = []
    for study in studies:
        p = progress(study)
        settings = StudyAttrs.of(study).settings or {}
        states = [t.state for t in study.get_trials(deepcopy=False)]
        row = {
            "study": study.study_name,
            "engine": settings.get("engine", "optuna"),
            "search": f"{settings.get('sampler', '?')}/{settings.get('pruner', '?')}",
            "best_val_loss": p["best_val_loss"].min() if len(p) else None,
            "best_val_acc": p["best_val_accuracy"].max() if len(p) else None,
            "trials": len(p),
            "complete": states.count(optuna.trial.TrialState.COMPLETE),
            "epochs": int(p["epochs"].iloc[-1]) if len(p) else 0,
            "wall_s": round(p["seconds"].iloc[-1]) if len(p) else 0,
        }
        for goal in goals:
            hit = p[p["best_val_accuracy"].fillna(-1) >= goal]
            row[f"s_to_{goal:.2f}"] = round(hit["seconds"].iloc[0]) if len(hit) else None
        rows.append(row)
    return pd.DataFrame(rows)


def plot(studies: list[optuna.Study], path: Path) -> Path:
    fig, (by_time, by_epochs) = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for study in studies:
        p = progress(study).dropna(subset=["best_val_accuracy"])
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
    by_time.set_ylabel("best val accuracy so far")
    for ax in (by_time, by_epochs):
        ax.grid(alpha=0.3)
    by_time.legend(loc="best")
    fig.suptitle("Best val accuracy so far: " + " vs ".join(s.study_name for s in studies))
    return save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.compare", description=__doc__)
    parser.add_argument("--studies", nargs="+", required=True, metavar="NAME")
    parser.add_argument(
        "--storage",
        default=None,
        help="one Optuna storage URL for all studies (default: each study's "
        "sqlite:///studies/<study>.db)",
    )
    parser.add_argument("--out", type=Path, default=Path("reports") / "compare")
    args = parser.parse_args(argv)
    try:
        studies = [load_study(n, args.storage) for n in args.studies]
        out = writable_folder(args.out)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    frame = table(studies)
    csv, md = out / "compare.csv", out / "compare.md"
    frame.to_csv(csv, index=False)
    shown = readable(frame).to_markdown(index=False)  # the CSV keeps full precision
    md.write_text(shown + "\n")
    figure = plot(studies, out / "compare.png")
    print(shown)
    for path in (csv, md, figure):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
