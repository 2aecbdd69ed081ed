"""Optimization history (best so far vs trial and vs wall time), slice plots of the objective
against each parameter with range-edge flags, and a parallel-coordinate view.

    python -m analysis.history --study imdb --out reports/imdb/
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import optuna
import pandas as pd
from matplotlib.ticker import MaxNLocator
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.trial import TrialState

from analysis.importance import importances
from analysis.plotting import STATE_COLORS, label, ordered, plt, save_figure
from analysis.trials import run
from search.record import Record
from search.study_attrs import StudyAttrs

EDGE = 0.1  # a best value in the outer 10% of a range suggests the range should grow
EDGE_TRIALS = 5  # completed trials before a best value's place in its range means anything
EDGE_COLUMNS = ["param", "low", "high", "best", "position", "edge"]


def history_frame(study: optuna.Study) -> pd.DataFrame:
    """Per finished trial: its value and val accuracy, the best of each so far (completed
    trials), and minutes since the study began."""
    columns = ["trial", "state", "value", "best_so_far", "val_accuracy", "best_acc_so_far"]
    trials = [t for t in study.get_trials(deepcopy=False) if t.datetime_complete is not None]
    if not trials:
        return pd.DataFrame(columns=[*columns, "minutes"])
    start = min(t.datetime_start for t in trials)
    rows, best, best_acc = [], math.inf, -math.inf
    for t in sorted(trials, key=lambda t: t.number):
        r = Record.of(t)
        accuracy = r.val_accuracy
        if t.state == TrialState.COMPLETE:
            best = min(best, t.value)
            best_acc = max(best_acc, accuracy if accuracy is not None else -math.inf)
        value = t.value if t.value is not None else r.val_loss  # pruned
        rows.append(
            {
                "trial": t.number,
                "state": t.state.name,
                "value": value,
                "best_so_far": best if math.isfinite(best) else None,
                "val_accuracy": accuracy,
                "best_acc_so_far": best_acc if math.isfinite(best_acc) else None,
                "minutes": (t.datetime_complete - start).total_seconds() / 60,
            }
        )
    return pd.DataFrame(rows)


def edge_flags(study: optuna.Study) -> pd.DataFrame:
    """Numeric parameters whose best value sits in the outer ``EDGE`` of its range (measured on
    the log scale for log ranges): the optimum may lie outside, so the range should grow. Judged
    from ``EDGE_TRIALS`` completed trials on (empty before), and only at an edge that can move:
    not below one layer or a zero rate."""
    if len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) < EDGE_TRIALS:
        return pd.DataFrame(columns=EDGE_COLUMNS)
    best = study.best_trial
    rows = []
    for name, dist in best.distributions.items():
        if not isinstance(dist, FloatDistribution | IntDistribution) or dist.high == dist.low:
            continue
        value = best.params[name]
        scale = math.log if dist.log else (lambda x: x)
        position = (scale(value) - scale(dist.low)) / (scale(dist.high) - scale(dist.low))
        edge = "low" if position <= EDGE else "high" if position >= 1 - EDGE else ""
        if edge == "low" and dist.low <= (1 if isinstance(dist, IntDistribution) else 0):
            edge = ""  # 0 layers or a negative dropout is no wider range
        rows.append(
            {
                "param": name,
                "low": dist.low,
                "high": dist.high,
                "best": value,
                "position": round(position, 3),
                "edge": edge,
            }
        )
    return pd.DataFrame(rows, columns=EDGE_COLUMNS)


def plot_history(
    frame: pd.DataFrame,
    path: Path,
    *,
    title: str,
    baseline: float | None = None,
    baseline_name: str = "linear baseline",
) -> Path:
    """val_loss (top) and val accuracy (bottom) against trial number and wall time, with the
    linear baseline's val accuracy as a line: the bar a searched model has to clear."""
    fig, axes = plt.subplots(2, 2, figsize=(12, 8), sharex="col")
    rows = (
        ("value", "best_so_far", "best val_loss of the trial"),
        ("val_accuracy", "best_acc_so_far", "val accuracy at the best epoch"),
    )
    for row, (column, best, ylabel) in enumerate(rows):
        for col, x in enumerate(("trial", "minutes")):
            ax = axes[row, col]
            for state, group in frame.groupby("state"):
                ax.scatter(
                    group[x],
                    group[column],
                    s=20,
                    alpha=0.8,
                    label=state.lower(),
                    color=STATE_COLORS.get(state, "black"),
                )
            ax.step(frame[x], frame[best], where="post", color="black", label="best so far")
            if column == "val_accuracy" and baseline is not None:
                ax.axhline(
                    baseline,
                    color="tab:red",
                    linestyle="--",
                    label=f"{baseline_name} ({baseline:.4f})",
                )
            ax.grid(alpha=0.3)
        axes[row, 0].set_ylabel(ylabel)
        axes[row, 0].legend(fontsize=8)
    axes[1, 0].set_xlabel("trial number")
    axes[1, 1].set_xlabel("wall time since the first trial (minutes)")
    fig.suptitle(title)
    return save_figure(fig, path, dpi=110)


def slice_frame(study: optuna.Study) -> pd.DataFrame:
    """Per trial that reached a val_loss: its state, that val_loss and its params."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        value = t.value if t.value is not None else Record.of(t).val_loss
        if value is not None and t.params:
            rows.append({"trial": t.number, "state": t.state.name, "val_loss": value, **t.params})
    return pd.DataFrame(rows)


def plot_slices(study: optuna.Study, path: Path, *, title: str) -> Path:
    """val_loss against each parameter, one panel a parameter; pruned trials at the best
    val_loss they reached; the best trial starred; a best value at a range edge flagged."""
    frame = slice_frame(study)
    flags = edge_flags(study).set_index("param")["edge"].to_dict()
    best = study.best_trial
    params = [p for p in best.distributions if p in frame]
    params += [p for p in frame.columns[3:] if p not in params]
    cols = 3
    rows = max(1, -(-len(params) // cols))
    fig, axes = plt.subplots(
        rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False, sharey=True
    )
    for ax, param in zip(axes.flat, params, strict=False):
        sub = frame[frame[param].notna()]
        dist = next(
            (
                t.distributions[param]
                for t in study.get_trials(deepcopy=False)
                if param in t.distributions
            ),
            None,
        )
        categorical = not isinstance(dist, FloatDistribution | IntDistribution)
        x = sub[param]
        if categorical:
            levels = ordered(x)
            labels = [label(v) for v in levels]
            x = x.map({level: i for i, level in enumerate(levels)})
            ax.set_xticks(range(len(labels)))
            ax.set_xticklabels(
                labels,
                rotation=30 if max(map(len, labels)) > 6 else 0,
                ha="right" if max(map(len, labels)) > 6 else "center",
            )
        elif dist.log:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(plt.NullFormatter())
        elif isinstance(dist, IntDistribution):  # 4, 5 units: no 4.2
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.scatter(
            x,
            sub["val_loss"],
            s=18,
            alpha=0.8,
            color=[STATE_COLORS.get(s, "black") for s in sub["state"]],
        )
        if param in best.params:
            bx = levels.index(best.params[param]) if categorical else best.params[param]
            ax.scatter(
                [bx], [best.value], marker="*", s=160, color="gold", edgecolor="black", zorder=3
            )
        edge = flags.get(param, "")
        ax.set_title(
            param + (f"  (best at {edge} edge: widen)" if edge else ""),
            fontsize=10,
            color="tab:red" if edge else "black",
        )
        ax.grid(alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("val_loss (log scale)")
    axes[0, 0].set_yscale("log")  # shared: one strongly regularised trial would flatten the rest
    for ax in list(axes.flat)[len(params) :]:
        ax.set_visible(False)
    handles = [
        plt.Line2D([], [], marker="o", linestyle="", color=STATE_COLORS[s], label=s.lower())
        for s in ("COMPLETE", "PRUNED")
    ]
    handles.append(
        plt.Line2D(
            [],
            [],
            marker="*",
            linestyle="",
            markersize=12,
            color="gold",
            markeredgecolor="black",
            label=f"best (trial {best.number})",
        )
    )
    fig.legend(handles=handles, loc="upper right")
    fig.suptitle(title)
    return save_figure(fig, path, dpi=100, rect=(0, 0, 0.9, 0.97))


PARALLEL_PARAMS = 8  # axes that stay readable at the report's width


def plot_parallel(study: optuna.Study, path: Path, *, title: str) -> Path:
    """Optuna's parallel coordinates of the completed trials over the ``PARALLEL_PARAMS`` most
    important parameters (fANOVA; all of them when it cannot rank), at the page's width, in a
    colour map whose every line shows (Optuna's blues fade the worst trials to white)."""
    try:
        params = list(importances(study).index[:PARALLEL_PARAMS])
    except ValueError:  # fewer than 2 completed trials
        params = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # an axis whose parameter took one value: Matplotlib widens it, and says so on stderr
        warnings.filterwarnings("ignore", message="Attempting to set identical low and high")
        ax = optuna.visualization.matplotlib.plot_parallel_coordinate(
            study, params=params, target_name="val_loss"
        )
    for lines in ax.collections:
        lines.set_cmap("viridis")
        lines.set_linewidth(2)
    ax.set_title(title + (f" ({len(params)} most important parameters)" if params else ""))
    fig = ax.figure
    fig.set_size_inches(12, 5.5)
    return save_figure(fig, path, dpi=100)


def write(study: optuna.Study, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    frame = history_frame(study)
    flags = edge_flags(study)
    flags.to_csv(out / "range_edges.csv", index=False)
    written = [
        out / "range_edges.csv",
        plot_history(
            frame,
            out / "history.png",
            title=f"{study.study_name}: optimization history",
            baseline=(StudyAttrs.of(study).baseline or {}).get("val_accuracy"),
            baseline_name=_short_name((StudyAttrs.of(study).baseline or {}).get("model", "")),
        ),
    ]
    complete = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    if complete >= 1:
        written.append(
            plot_slices(
                study,
                out / "slices.png",
                title=f"{study.study_name}: val_loss against each parameter",
            )
        )
    if complete < 2:  # one line compares nothing
        (out / "parallel.txt").write_text(
            f"Parallel coordinates not drawn: {complete} completed trial(s); they compare "
            "completed trials, from 2 on.\n"
        )
        written.append(out / "parallel.txt")
    else:
        written.append(
            plot_parallel(
                study, out / "parallel.png", title=f"{study.study_name}: parallel coordinates"
            )
        )
    return written


def main(argv: list[str] | None = None) -> int:
    return run(write, argv, "Plot the optimization history, slices and parallel coordinates.")


def _short_name(model: str) -> str:
    """A baseline's name for a legend: its words before the first comma or parenthesis."""
    return model.split(" (")[0].split(",")[0] or "linear baseline"


if __name__ == "__main__":
    raise SystemExit(main())
