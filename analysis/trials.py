"""The trials table: one row per trial from the study storage alone (no Keras, no training).

python -m analysis.trials --study imdb --out reports/imdb/
"""

from __future__ import annotations

import argparse
from pathlib import Path

import optuna
import pandas as pd

from search.files import writable_folder
from search.record import Record
from search.storage import load_study
from search.study_attrs import StudyAttrs

METRICS = [
    "trial",
    "state",
    "val_loss",
    "val_acc",
    "train_acc",
    "gap_acc",
    "gap_loss",
    "best_epoch",
    "epochs",
    "seconds",
    "ms_per_review",
    "param_count",
    "test_acc",
]


def reruns(study: optuna.Study) -> dict[int, dict]:
    """Test metrics that ``search.rerun`` stored (``search.study_attrs``)."""
    return StudyAttrs.of(study).reruns


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """Params, state and the metrics the objective recorded, sorted by the objective (best
    first; pruned and failed trials after the completed ones)."""
    tested = reruns(study)
    rows = []
    for t in study.get_trials(deepcopy=False):
        r = Record.of(t)
        rows.append(
            {
                "trial": t.number,
                "state": t.state.name,
                "val_loss": t.value if t.value is not None else r.val_loss,
                "val_acc": r.val_accuracy,
                "train_acc": r.train_accuracy,
                "gap_acc": r.gap_accuracy,
                "gap_loss": r.gap_loss,
                "best_epoch": r.best_epoch,
                "epochs": r.epochs_run,
                "seconds": r.fit_seconds,
                # the trial's cost, comparable across trials of any length (fit and validation)
                "ms_per_review": None
                if r.seconds_per_review is None
                else round(1000 * r.seconds_per_review, 3),
                "param_count": r.param_count,
                "test_acc": tested.get(t.number, {}).get("test_accuracy"),
                **t.params,
            }
        )
    frame = pd.DataFrame(rows, columns=None if rows else METRICS)
    if frame.empty:
        return frame
    frame["_complete"] = frame["state"] != "COMPLETE"
    frame = frame.sort_values(["_complete", "val_loss", "trial"], na_position="last")
    return frame.drop(columns="_complete").reset_index(drop=True)


def param_names(study: optuna.Study) -> list[str]:
    """Every parameter any trial used, in first-seen order."""
    names: dict[str, None] = {}
    for t in study.get_trials(deepcopy=False):
        names.update(dict.fromkeys(t.params))
    return list(names)


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers as a person reads them, for Markdown and HTML (the CSV keeps full precision):
    four significant digits (an L2 of 9.3e-06, not 0.0000), whole numbers without ``.0`` (29
    epochs, not 29.0), blanks where a trial has no value."""

    def cell(value):
        if value is None or value is pd.NA:
            return ""
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, float):
            if value != value:  # NaN
                return ""
            return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.4g}"
        return str(value)

    return frame.apply(lambda column: column.map(cell))


WHOLE = ("trial", "best_epoch", "epochs", "param_count")  # counts, whatever pandas made of them


def whole_numbers(frame: pd.DataFrame, study: optuna.Study) -> pd.DataFrame:
    """Counts and integer params as integers (a column with a blank turns float in pandas: 29.0
    epochs), for the CSV; blanks stay blank."""
    integer = {
        name
        for t in study.get_trials(deepcopy=False)
        for name, dist in t.distributions.items()
        if isinstance(dist, optuna.distributions.IntDistribution)
    }
    frame = frame.copy()
    for column in [c for c in frame.columns if c in WHOLE or c in integer]:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) and (values.dropna() % 1 == 0).all():
            frame[column] = values.astype("Int64")
    return frame


def write_csv(frame: pd.DataFrame, study: optuna.Study, path: Path) -> Path:
    whole_numbers(frame, study).to_csv(path, index=False)
    return path


def write_table(frame: pd.DataFrame, out: Path, study: optuna.Study) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    csv, md = out / "trials.csv", out / "trials.md"
    write_csv(frame, study, csv)
    md.write_text(readable(frame).to_markdown(index=False) + "\n")
    return [csv, md]


def add_study_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--study", default="imdb")
    parser.add_argument(
        "--storage", default=None, help="Optuna storage URL (default: sqlite:///studies/<study>.db)"
    )


def add_arguments(parser: argparse.ArgumentParser, out: str = "reports") -> None:
    add_study_arguments(parser)
    parser.add_argument(
        "--out", type=Path, default=None, help=f"output folder (default: {out}/<study>/)"
    )


def add_studies_arguments(parser: argparse.ArgumentParser, out: str) -> None:
    """``--studies`` (several, head to head or pooled), one ``--storage`` and ``--out``."""
    parser.add_argument("--studies", nargs="+", required=True, metavar="NAME")
    parser.add_argument(
        "--storage",
        default=None,
        help="one Optuna storage URL for all studies (default: each study's "
        "sqlite:///studies/<study>.db)",
    )
    parser.add_argument("--out", type=Path, default=Path("reports") / out)


def studies_and_folder(args: argparse.Namespace) -> tuple[list[optuna.Study], Path]:
    """The ``--studies`` and a writable ``--out``; a ValueError (one line) when one is not."""
    studies = [load_study(n, args.storage) for n in args.studies]
    return studies, writable_folder(args.out)


def study_with_trials(name: str, storage: str | None) -> optuna.Study:
    """The stored study; a ValueError when it is missing or has no trial to show."""
    study = load_study(name, storage)
    if not study.get_trials(deepcopy=False):
        raise ValueError(f"Study {name!r} has no trials yet; run search.optimize first")
    return study


def resolve(args: argparse.Namespace) -> tuple[optuna.Study, Path]:
    """The study (clear error when missing or empty) and the output folder."""
    study = study_with_trials(args.study, args.storage)
    out = args.out or Path("reports") / args.study
    return study, writable_folder(out)  # before any figure is drawn


def run(main_body, argv: list[str] | None, description: str) -> int:
    """Shared CLI shell: parse, load the study, run, print where files went."""
    import sys

    parser = argparse.ArgumentParser(
        prog=f"python -m {main_body.__module__}", description=description
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        study, out = resolve(args)
        written = main_body(study, out)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(
        lambda study, out: write_table(trials_frame(study), out, study),
        argv,
        "Write the trials table (CSV and Markdown), sorted by the objective.",
    )


if __name__ == "__main__":
    raise SystemExit(main())
