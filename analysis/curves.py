"""Learning curves: train/val loss and accuracy per epoch for the best trials, and the val_loss
curves of pruned trials against completed ones (what pruning cut, and when).

    python -m analysis.curves --study imdb --out reports/imdb/ [--top 5]
"""

from __future__ import annotations

from pathlib import Path

import optuna
import pandas as pd

from analysis.plotting import STATE_COLORS, plt, save_figure
from analysis.trials import run
from search.record import Record

CURVES = ("loss", "accuracy", "val_loss", "val_accuracy")


def curves_frame(study: optuna.Study) -> pd.DataFrame:
    """Long format: one row per trial and epoch (1-based), with the four curves."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        curves = Record.of(t).curves
        for i in range(len(curves.get("val_loss", []))):
            rows.append(
                {
                    "trial": t.number,
                    "state": t.state.name,
                    "epoch": i + 1,
                    **{k: curves[k][i] for k in CURVES if k in curves},
                }
            )
    return pd.DataFrame(rows, columns=["trial", "state", "epoch", *CURVES])


def top_trials(study: optuna.Study, k: int) -> list[int]:
    completed = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return [t.number for t in sorted(completed, key=lambda t: t.value)[:k]]


def plot_top_curves(frame: pd.DataFrame, trials: list[int], path: Path, *, title: str) -> Path:
    """Loss and accuracy side by side; solid = validation, dashed = train, one colour a trial."""
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(12, 4.5))
    colors = plt.get_cmap("tab10")
    for i, number in enumerate(trials):
        sub = frame[frame["trial"] == number]
        color = colors(i % 10)
        for ax, key in ((loss_ax, "loss"), (acc_ax, "accuracy")):
            ax.plot(
                sub["epoch"],
                sub[f"val_{key}"],
                color=color,
                marker="o",
                label=f"trial {number} val",
            )
            ax.plot(
                sub["epoch"],
                sub[key],
                color=color,
                linestyle="--",
                alpha=0.7,
                label=f"trial {number} train",
            )
    loss_ax.set_ylabel("loss (cross-entropy + L2 penalty, log scale)")
    loss_ax.set_yscale("log")
    acc_ax.set_ylabel("accuracy")
    for ax in (loss_ax, acc_ax):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    acc_ax.legend(fontsize=8, ncol=2, loc="lower right")
    fig.suptitle(title)
    return save_figure(fig, path, dpi=110)


def plot_pruned_vs_completed(frame: pd.DataFrame, path: Path, *, title: str) -> Path:
    fig, ax = plt.subplots(figsize=(8, 5))
    for (_, state), sub in frame.groupby(["trial", "state"]):
        color = STATE_COLORS.get(state, "black")
        ax.plot(sub["epoch"], sub["val_loss"], color=color, alpha=0.6, linewidth=1.2)
        if state == "PRUNED":
            last = sub.iloc[-1]
            ax.scatter(last["epoch"], last["val_loss"], marker="x", color=color, zorder=3)
    handles = [
        plt.Line2D([], [], color=STATE_COLORS[s], label=s.lower())
        for s in ("COMPLETE", "PRUNED", "FAIL", "RUNNING")
        if s in set(frame["state"])
    ]
    handles.append(plt.Line2D([], [], marker="x", linestyle="", color="black", label="pruned here"))
    ax.legend(handles=handles)
    ax.set_xlabel("epoch")
    ax.set_ylabel("val_loss (cross-entropy + L2 penalty, log scale)")
    ax.set_yscale("log")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return save_figure(fig, path, dpi=110)


def write(study: optuna.Study, out: Path, top: int = 5) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    frame = curves_frame(study)
    if frame.empty:
        raise ValueError(f"Study {study.study_name!r} has no recorded learning curves")
    written = []
    best = top_trials(study, top)
    if best:
        written.append(
            plot_top_curves(
                frame,
                best,
                out / "curves_top.png",
                title=f"{study.study_name}: learning curves of the {len(best)} best trials",
            )
        )
    written.append(
        plot_pruned_vs_completed(
            frame,
            out / "curves_pruned.png",
            title=f"{study.study_name}: val_loss per epoch, pruned vs completed trials",
        )
    )
    return written


def main(argv: list[str] | None = None) -> int:
    return run(write, argv, "Plot learning curves of the best trials and of pruned trials.")


if __name__ == "__main__":
    raise SystemExit(main())
