"""The study's best trials at a glance, as KerasTuner's ``results_summary()`` shows them:

python -m search.results --study imdb [--top 10] [--csv trials.csv]

(``search.results`` is only the command's name: ``search.results()`` is the API's trials table.)

The table comes from the storage alone: no TensorFlow, no data, so it answers in a second while
a study runs.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import optuna
import pandas as pd

from analysis.trials import (
    add_study_arguments,
    param_names,
    readable,
    study_with_trials,
    trials_frame,
    whole_numbers,
    write_csv,
)
from search.files import writable_folder
from search.study_attrs import StudyAttrs

TOP = 10
SHOWN = ("trial", "state", "val_loss", "val_acc", "test_acc", "epochs", "seconds")


def summary(study: optuna.Study, top: int = TOP) -> pd.DataFrame:
    """The ``top`` trials by the study's measure (completed by val_loss, then pruned ones by the
    val_loss they reached), with what they scored, cost, and the params that set them apart
    (all of them when only one trial is shown). Failed, running and waiting trials are left out."""
    frame = trials_frame(study)
    if frame.empty:
        return frame
    ranked = frame[frame["state"].isin(("COMPLETE", "PRUNED"))].head(top)
    params = [p for p in param_names(study) if p in ranked and ranked[p].notna().any()]
    differing = [p for p in params if ranked[p].astype(str).nunique() > 1]
    columns = [c for c in SHOWN if c != "test_acc" or ranked[c].notna().any()]
    return whole_numbers(ranked[columns + (differing or params)], study).reset_index(drop=True)


def header(study: optuna.Study) -> str:
    """What the table is out of: the trials by state, the measure, and the bar to clear."""
    states = Counter(t.state.name.lower() for t in study.get_trials(deepcopy=False))
    counts = ", ".join(f"{n} {state}" for state, n in states.most_common())
    line = f"study {study.study_name!r}: {sum(states.values())} trials ({counts}); best first by "
    line += "val_loss (lower is better)"
    bar = StudyAttrs.of(study).baseline
    if bar:
        line += (
            f"\nthe bar: {bar.get('model', 'linear baseline')} val accuracy "
            f"{bar['val_accuracy']:.4f}, test accuracy {bar['test_accuracy']:.4f}"
        )
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m search.results",
        description="Show a study's best trials: scores, cost and the params that differ.",
    )
    add_study_arguments(parser)
    parser.add_argument("--top", type=int, default=TOP, help=f"trials shown (default {TOP})")
    parser.add_argument(
        "--csv", type=Path, default=None, help="also write every trial to this CSV file"
    )
    args = parser.parse_args(argv)
    if args.top < 1:
        parser.error(f"--top {args.top}: expected a positive number of trials")
    try:
        study = study_with_trials(args.study, args.storage)
        if args.csv is not None:
            writable_folder(args.csv.parent, "--csv")
            write_csv(trials_frame(study), study, args.csv)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    table = summary(study, args.top)
    print(header(study))
    if table.empty:
        print("no completed or pruned trial yet")
    else:
        print(readable(table).to_string(index=False))
    if args.csv is not None:
        print(f"wrote {args.csv}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
