"""The trial record: what every engine stores about one trial, defined in one place.

A record is an Optuna trial's user attrs, one attr per field, so ``optuna-dashboard`` shows each
field and a pruned or failed trial keeps what it had so far. Engines write it with ``write``
(fields as they become known: the seed before training, the curves after every epoch) and
everything else reads it back with ``Record.of(trial)``. The metrics at the best epoch are
derived from the curves here and stored too, for tables and the dashboard. Keras-free.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

MONITOR = "val_loss"  # the objective every engine minimises, and the metric pruners watch
# the curves are stored one attr per metric (curve_loss, curve_val_accuracy, ...), rounded: as
# one attr they made a line 3,600 px wide on optuna-dashboard's trial page
CURVE = "curve_"
DIGITS = 5
LOCAL_EPOCH = datetime(1970, 1, 1)  # what ``epoch_ends`` count from (``local_seconds``)


class Failure(StrEnum):
    """Why a trial failed, as a value the budget can count on (the reason text is for people)."""

    ERROR = "error"  # an exception in the space, the build or the fit
    DIVERGED = "diverged"  # a NaN/inf loss: a bad point of the space, not a broken search
    INTERRUPTED = "interrupted"  # SIGINT/SIGTERM
    NOT_NEEDED = "not_needed"  # the study's total was reached by other workers' trials
    TIMEOUT = "timeout"  # the study's --timeout cut it: partial, run again on resume


@dataclass(frozen=True)
class Record:
    seed: int | None = None  # Keras seed the trial trained with
    param_count: int | None = None
    curves: dict[str, list[float]] = field(default_factory=dict)  # per epoch, as Keras logs
    fit_seconds: float = 0.0  # training only, not data or model assembly
    samples_per_second: float = 0.0  # reviews trained (batches x batch size) per fit second
    reviews_trained: int = 0
    seconds_per_review: float | None = None  # fit seconds (validation included) per review
    first_epoch_seconds: float | None = None  # the first epoch: what the guard compares
    # each epoch's end, in seconds since 1970-01-01 on the local clock, as Optuna's naive
    # datetime_start counts: a study analysed in another time zone keeps its order
    epoch_ends: list[float] = field(default_factory=list)
    fail_reason: str | None = None
    failure: str | None = None  # a ``Failure`` value
    stopped_by: str | None = None  # "timeout": the study's budget ended it; "guard": too slow
    preset: str | None = None  # a queued preset's name
    retry_of: int | None = None  # the trial the timeout cut, whose params this one runs again
    worker: int | None = None  # --workers: which process ran it
    engine: str = "optuna"  # or "kerastuner"
    kerastuner: dict[str, Any] | None = None  # its trial id and Hyperband's tuner/* values
    kept: dict[str, str] | None = None  # artifact ids of its weights and val predictions
    # derived from the curves at the best (lowest val_loss) epoch; stored for tables
    epochs_run: int = 0
    best_epoch: int | None = None
    val_loss: float | None = None
    val_accuracy: float | None = None
    train_loss: float | None = None
    train_accuracy: float | None = None
    gap_accuracy: float | None = None  # train - val accuracy: > 0 fits train better
    gap_loss: float | None = None  # val - train loss

    @classmethod
    def of(cls, trial) -> Record:
        """The record of a (frozen) Optuna trial; fields it never wrote keep their defaults.
        Studies from before the per-metric curves stored them in one ``curves`` attr."""
        attrs = trial.user_attrs
        values = {k: v for k, v in attrs.items() if k in FIELDS}
        curves = {k.removeprefix(CURVE): v for k, v in attrs.items() if k.startswith(CURVE)}
        if curves:
            values["curves"] = curves
        return cls(**values)

    def epochs(self) -> int:
        return len(self.curves.get(MONITOR, []))


FIELDS = frozenset(f.name for f in dataclasses.fields(Record))


def local_seconds(when: datetime | None = None) -> float:
    """``when`` (default: now), a naive local time as Optuna stores a trial's start, in seconds
    since ``LOCAL_EPOCH``."""
    return ((when or datetime.now()) - LOCAL_EPOCH).total_seconds()


def checked(values: dict[str, Any]) -> dict[str, Any]:
    """``values``, if every name is a record field; a name that is not is a bug."""
    unknown = set(values) - FIELDS
    if unknown:
        raise KeyError(f"not trial record fields: {sorted(unknown)}")
    return values


REASON_SHOWN = 100  # characters: optuna-dashboard shows a user attr on one line, never wrapped


def stored(values: dict[str, Any]) -> dict[str, Any]:
    """Record fields as the user attrs that hold them: the curves one attr per metric, and a
    fail reason cut to ``REASON_SHOWN`` characters (a longer one made the dashboard's trial
    page wider than the window; the trial's note has it whole)."""
    attrs = dict(checked(values))
    reason = attrs.get("fail_reason")
    if isinstance(reason, str) and len(reason) > REASON_SHOWN:
        attrs["fail_reason"] = reason[: REASON_SHOWN - 1] + "…"
    curves = attrs.pop("curves", None)
    for name, series in (curves or {}).items():
        attrs[CURVE + name] = [round(float(v), DIGITS) for v in series]
    return attrs


def write(trial, **values: Any) -> None:
    """Store fields on a live ``optuna.Trial``."""
    for key, value in stored(values).items():
        trial.set_user_attr(key, value)


def save_note(trial, body: str) -> None:
    """``body`` as optuna-dashboard's note of a live ``optuna.Trial``, the first thing its
    trial page shows (Markdown)."""
    from optuna_dashboard import save_note as dashboard_note

    dashboard_note(trial, body)


def trial_note(model_params: dict[str, Any], curves: dict[str, list[float]]) -> str:
    """A trial's dashboard note: its learning curves, train and val accuracy included (the
    dashboard plots only val_loss), and what ``build_model`` got with its defaults filled in,
    as Markdown that wraps (a user attr is one line, as wide as it is long)."""
    params = ", ".join(f"{k}={v}" for k, v in model_params.items())
    return curves_table(curves) + f"\n**Model** (defaults filled in): {params}\n"


def failure_note(reason: str, curves: dict[str, list[float]]) -> str:
    """A failed trial's dashboard note: the whole reason, as Markdown that wraps, and the
    curves of the epochs it finished."""
    body = f"**Failed**: {reason}\n"
    if curves.get(MONITOR):
        body += "\n" + curves_table(curves)
    return body


def curves_table(curves: dict[str, list[float]]) -> str:
    """Markdown: one row per epoch, one column per metric, the best epoch in bold."""
    names = [n for n in ("loss", "accuracy", MONITOR, "val_accuracy") if n in curves]
    names += sorted(set(curves) - set(names))
    finite = [(v, i + 1) for i, v in enumerate(curves.get(MONITOR, [])) if math.isfinite(v)]
    best = min(finite)[1] if finite else None
    lines = [
        f"**Learning curves** (best epoch {best} of {len(curves.get(MONITOR, []))})",
        "",
        "| epoch | " + " | ".join(names) + " |",
        "|---:|" + "---:|" * len(names),
    ]
    for i in range(max(len(curves[n]) for n in names)):
        cells = [f"{curves[n][i]:.4f}" if i < len(curves[n]) else "" for n in names]
        row = [str(i + 1), *cells]
        if i + 1 == best:
            row = [f"**{cell}**" for cell in row]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def at_best_epoch(curves: dict[str, list[float]]) -> dict[str, Any]:
    """The derived fields: metrics at the lowest finite val_loss, and the gaps there."""
    val_loss = curves.get(MONITOR, [])
    finite = [(v, i) for i, v in enumerate(val_loss) if math.isfinite(v)]
    if not finite:
        return {"epochs_run": len(val_loss)}
    best_loss, i = min(finite)
    train_acc, val_acc = curves["accuracy"][i], curves["val_accuracy"][i]
    train_loss = curves["loss"][i]
    return {
        "epochs_run": len(val_loss),
        "best_epoch": i + 1,
        "val_loss": best_loss,
        "val_accuracy": val_acc,
        "train_loss": train_loss,
        "train_accuracy": train_acc,
        "gap_accuracy": train_acc - val_acc,
        "gap_loss": best_loss - train_loss,
    }


def finished_fit(curves: dict[str, list[float]], seconds: float, reviews: int) -> dict[str, Any]:
    """The fields a fit adds when it ends (complete, pruned, failed or interrupted); ``reviews``
    is what it trained on, so a fit cut mid-epoch is not credited with the whole epoch."""
    return {
        "curves": curves,
        **at_best_epoch(curves),
        "fit_seconds": round(seconds, 2),
        "reviews_trained": reviews,
        "samples_per_second": round(reviews / seconds, 1) if seconds else 0.0,
        "seconds_per_review": round(seconds / reviews, 6) if reviews else None,
    }


def diverged(curves: dict[str, list[float]]) -> bool:
    """No val_loss at all, or a NaN/inf loss anywhere: the trial learned nothing usable."""
    losses = curves.get(MONITOR, [])
    return not losses or not all(map(math.isfinite, losses + curves.get("loss", [])))
