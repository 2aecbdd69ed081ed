"""Parameter importance with Optuna's fANOVA and PED-ANOVA evaluators, side by side.

python -m analysis.importance --study imdb --out reports/imdb/
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import optuna
import pandas as pd
from optuna.importance import (
    FanovaImportanceEvaluator,
    PedAnovaImportanceEvaluator,
    get_param_importances,
)
from optuna.trial import FrozenTrial, TrialState

from analysis.plotting import plt, save_figure
from analysis.trials import run

# fANOVA fits a random forest to the completed trials: on fewer than this it ranks noise (on 2,
# any target splits the same way), so no importance is shown before
MIN_TRIALS = 5

EVALUATORS = {
    "fANOVA": lambda: FanovaImportanceEvaluator(seed=0),
    "PED-ANOVA": lambda: PedAnovaImportanceEvaluator(),
}


def importances(
    study: optuna.Study, *, target: Callable[[FrozenTrial], float] | None = None
) -> pd.DataFrame:
    """Normalised importance per parameter (rows) and evaluator (columns), most important first.

    Only parameters every completed trial has (Optuna's intersection space) can be ranked, so
    conditional ones (conv filters, per-layer units) are left out. ``target`` ranks the
    parameters for another quantity than the objective, e.g. the overfitting gap.
    """
    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(completed) < MIN_TRIALS:
        raise ValueError(
            f"Parameter importance needs at least {MIN_TRIALS} completed trials to mean "
            f"something; study {study.study_name!r} has {len(completed)}. Run more trials first."
        )
    columns = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # PED-ANOVA notes that it ranks for low target values: the gap is low-is-good too
        warnings.filterwarnings("ignore", message="PedAnovaImportanceEvaluator computes")
        for name, evaluator in EVALUATORS.items():
            columns[name] = get_param_importances(study, evaluator=evaluator(), target=target)
    # a parameter an evaluator did not assess stays blank (NaN), not a measured 0; one that no
    # evaluator assessed is left out and named in attrs["not_assessed"]
    frame = pd.DataFrame(columns)
    frame.index.name = "param"
    assessed = frame.notna().any(axis=1)
    frame = frame[assessed].sort_values("fANOVA", ascending=False, na_position="last")
    frame.attrs["not_assessed"] = sorted(assessed.index[~assessed])
    return frame


def plot_importances(frame: pd.DataFrame, path: Path, *, title: str) -> Path:
    """Horizontal bars, one colour per evaluator, most important parameter on top."""
    ordered = frame.iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(frame) + 1.6))
    height = 0.8 / len(frame.columns)
    for i, column in enumerate(frame.columns):
        ax.barh(
            [y + i * height for y in range(len(ordered))],
            ordered[column],
            height=height,
            label=column,
        )
    ax.set_yticks([y + height * (len(frame.columns) - 1) / 2 for y in range(len(ordered))])
    ax.set_yticklabels(ordered.index)
    xlabel = "importance (normalised, sums to 1 per evaluator)"
    if frame.attrs.get("not_assessed"):
        xlabel += "\nnot assessed (absent from some trials): " + ", ".join(
            frame.attrs["not_assessed"]
        )
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return save_figure(fig, path, dpi=110)


def write(study: optuna.Study, out: Path) -> list[Path]:
    frame = importances(study)
    out.mkdir(parents=True, exist_ok=True)
    frame.round(4).to_csv(out / "importance.csv")
    complete = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    title = f"{study.study_name}: what drives val_loss ({complete} completed trials)"
    return [out / "importance.csv", plot_importances(frame, out / "importance.png", title=title)]


def main(argv: list[str] | None = None) -> int:
    return run(write, argv, "Plot parameter importance (fANOVA and PED-ANOVA) for val_loss.")


if __name__ == "__main__":
    raise SystemExit(main())
