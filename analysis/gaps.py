"""The overfitting gap: train vs val accuracy at each trial's best epoch, the gap by parameter,
and which parameters drive the gap itself.

    python -m analysis.gaps --study imdb --out reports/imdb/
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pandas as pd

from analysis.importance import importances, plot_importances
from analysis.plotting import STATE_COLORS, label, ordered, plt, save_figure
from analysis.trials import param_names, run, trials_frame
from search.record import Record


def gap_frame(study: optuna.Study) -> pd.DataFrame:
    """Trials that trained at least one epoch, with their accuracies and gaps at the best epoch."""
    frame = trials_frame(study)
    if frame.empty:
        return frame
    return frame.dropna(subset=["train_acc", "val_acc"]).reset_index(drop=True)


DISCRETE = 8  # a numeric parameter with at most this many values is shown value by value


def _continuous(values: pd.Series) -> bool:
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    return numeric and values.nunique() > DISCRETE


def gap_by_param(frame: pd.DataFrame, params: list[str], bins: int = 4) -> pd.DataFrame:
    """Mean accuracy gap per value of each parameter (continuous ones in ``bins`` quantile
    bins): columns param, value, mean_gap, n."""
    rows = []
    for param in params:
        if param not in frame:
            continue
        values = frame[param]
        present = values.notna()
        if not present.any():
            continue
        if _continuous(values[present]):
            groups = pd.qcut(values[present], bins, duplicates="drop").astype(str)
        else:
            groups = values[present].map(label)
        summary = frame.loc[present, "gap_acc"].groupby(groups).agg(["mean", "count"])
        for value, (mean, count) in summary.iterrows():
            rows.append({"param": param, "value": value, "mean_gap": mean, "n": int(count)})
    return pd.DataFrame(rows, columns=["param", "value", "mean_gap", "n"])


def gap_importances(study: optuna.Study) -> pd.DataFrame:
    """Which parameters drive the accuracy gap (train - val) of completed trials. Raises
    ValueError with too few completed trials to tell (``importance.MIN_TRIALS``)."""
    return importances(study, target=lambda t: Record.of(t).gap_accuracy)


def best_trial(frame: pd.DataFrame) -> int | None:
    """The best completed trial of a ``gap_frame`` (sorted by val_loss); None when no trial
    completed (a pruned trial's val_loss is not a finished result)."""
    complete = frame[frame["state"] == "COMPLETE"]
    return int(complete["trial"].iloc[0]) if len(complete) else None


def plot_gap_scatter(frame: pd.DataFrame, path: Path, *, title: str) -> Path:
    fig, ax = plt.subplots(figsize=(6.5, 6))
    for state, group in frame.groupby("state"):
        ax.scatter(
            group["train_acc"],
            group["val_acc"],
            label=f"{state.lower()} ({len(group)})",
            color=STATE_COLORS.get(state, "black"),
            alpha=0.8,
            edgecolor="white",
        )
    low = float(np.nanmin(frame[["train_acc", "val_acc"]].to_numpy())) - 0.02
    ax.plot([low, 1], [low, 1], color="gray", linestyle="--", label="no gap (val = train)")
    best = best_trial(frame)
    if best is not None:
        row = frame[frame["trial"] == best].iloc[0]
        ax.annotate(
            f"best: trial {best}",
            (row.train_acc, row.val_acc),
            textcoords="offset points",
            xytext=(-70, 8),
            fontsize=9,
        )
    ax.set_xlabel("train accuracy at the best epoch")
    ax.set_ylabel("validation accuracy at the best epoch")
    ax.set_title(title)
    ax.set_xlim(low, 1.01)  # a trial at 1.0 stays visible
    ax.set_ylim(low, 1.01)
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    return save_figure(fig, path, dpi=110)


def plot_gap_by_param(frame: pd.DataFrame, params: list[str], path: Path, *, title: str) -> Path:
    """One panel per parameter: the accuracy gap of each trial against the parameter's value."""
    params = [p for p in params if p in frame and frame[p].notna().any()]
    cols = 3
    rows = max(1, -(-len(params) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, param in zip(axes.flat, params, strict=False):
        sub = frame[frame[param].notna()]
        values = sub[param]
        if _continuous(values):
            for state, group in sub.groupby("state"):
                ax.scatter(
                    group[param],
                    group["gap_acc"],
                    s=18,
                    alpha=0.8,
                    color=STATE_COLORS.get(state, "black"),
                )
            if (values > 0).all() and values.max() / values.min() > 50:
                ax.set_xscale("log")
        else:
            levels = ordered(values)
            labels = [label(v) for v in levels]
            for i, level in enumerate(levels):
                group = sub[values == level]
                jitter = np.linspace(-0.15, 0.15, len(group)) if len(group) > 1 else [0.0]
                ax.scatter(
                    i + np.asarray(jitter),
                    group["gap_acc"],
                    s=18,
                    alpha=0.8,
                    color=[STATE_COLORS.get(s, "black") for s in group["state"]],
                )
                ax.hlines(group["gap_acc"].mean(), i - 0.3, i + 0.3, color="black")
            ax.set_xticks(range(len(labels)))
            ax.set_xticklabels(
                labels,
                rotation=30 if max(map(len, labels)) > 6 else 0,
                ha="right" if max(map(len, labels)) > 6 else "center",
            )
        ax.set_title(param, fontsize=10)
        ax.set_ylabel("train acc - val acc")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(params) :]:
        ax.set_visible(False)
    handles = [
        plt.Line2D([], [], marker="o", linestyle="", color=c, label=s.lower())
        for s, c in STATE_COLORS.items()
        if s in set(frame["state"])
    ]
    fig.legend(handles=handles, loc="upper right")
    fig.suptitle(title)
    return save_figure(fig, path, dpi=100, rect=(0, 0, 0.92, 0.97))


def write(study: optuna.Study, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    frame = gap_frame(study)
    if frame.empty:
        raise ValueError(f"Study {study.study_name!r} has no trial with recorded accuracies")
    params = param_names(study)
    table = gap_by_param(frame, params)
    table.round(4).to_csv(out / "gap_by_param.csv", index=False)
    written = [
        out / "gap_by_param.csv",
        plot_gap_scatter(
            frame,
            out / "gap_scatter.png",
            title=f"{study.study_name}: overfitting at the best epoch",
        ),
        plot_gap_by_param(
            frame,
            params,
            out / "gap_by_param.png",
            title=f"{study.study_name}: accuracy gap (train - val) by parameter",
        ),
    ]
    try:
        gap_imp = gap_importances(study)
    except ValueError as exc:  # too few completed trials: the other figures still stand
        print(f"gap importance skipped: {exc}")
        (out / "gap_importance.txt").write_text(f"{exc}\n")
        written.append(out / "gap_importance.txt")
    else:
        gap_imp.round(4).to_csv(out / "gap_importance.csv")
        written += [
            out / "gap_importance.csv",
            plot_importances(
                gap_imp,
                out / "gap_importance.png",
                title=f"{study.study_name}: what drives overfitting (target: train - val acc)",
            ),
        ]
    return written


def main(argv: list[str] | None = None) -> int:
    return run(write, argv, "Plot the overfitting gap (train vs val accuracy) and its causes.")


if __name__ == "__main__":
    raise SystemExit(main())
