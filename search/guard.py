"""The wall-clock guard: no trial spends more than a bounded share of the study's time before
it passes its first rung, where the pruner first compares it with others (half an epoch of
reviews, ``search.rungs``; one epoch in a study whose steps are epochs).

One epoch of a model from the space's cost tail (800 tokens unmasked, 3 layers, VAT) can take
longer than a dozen cheap trials together: without a bound, a search that draws one spends much
of its budget before the pruner can say anything. The rule, as ``--pruner``'s help says it:
with ``--timeout``, a trial still short of its first rung when ``SHARE`` of the time the study
had left at its start has passed is pruned; without one, past ``MULTIPLE`` times the median
first epoch of the study's finished trials (and at least ``FLOOR`` seconds: a first epoch of a
few seconds varies by more than 4x with TensorFlow's first-call tracing and the machine's load),
once ``AFTER`` of them have one. A trial the pruner
has let through a rung is the pruner's to judge from then on.
"""

from __future__ import annotations

import statistics
import time

import optuna
from optuna.trial import TrialState

from search.record import Record

SHARE = 0.25
MULTIPLE = 4.0
FLOOR = 60.0  # seconds: without --timeout, no trial is cut sooner
AFTER = 3
RULE = (
    f"a trial still short of its first rung (half an epoch of reviews) after {SHARE:.0%} of the "
    f"time --timeout has left (without one: {MULTIPLE:g}x the median first epoch and at least "
    f"{FLOOR:.0f}s, once {AFTER} "
    f"trials have one) is pruned, and no trial starts when the fastest first epoch so far is "
    f"longer than that share"
)
HELP = RULE.replace("%", "%%")  # argparse formats help texts with %


def limit(study: optuna.Study, deadline: float | None) -> float | None:
    """Seconds the next trial's first epoch may take (None: no bound yet)."""
    if deadline is not None:
        return max(SHARE * (deadline - time.monotonic()), 0.0)
    firsts = first_epochs(study)
    if len(firsts) < AFTER:
        return None
    return max(MULTIPLE * statistics.median(firsts), FLOOR)


def first_epochs(study: optuna.Study) -> list[float]:
    """Seconds of the first epoch of each finished trial (the guard's own cuts left out)."""
    return [
        r.first_epoch_seconds
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
        if (r := Record.of(t)).first_epoch_seconds is not None and r.stopped_by != "guard"
    ]


def no_time_for_an_epoch(study: optuna.Study, deadline: float | None) -> str | None:
    """Why no trial should start now: the guard would stop any first epoch longer than
    ``SHARE`` of the time left, and even the fastest first epoch so far is longer, so a new
    trial could only be cut before its first result (None: start one)."""
    fastest = min(first_epochs(study), default=None) if deadline is not None else None
    if fastest is None or limit(study, deadline) >= fastest:
        return None
    left = deadline - time.monotonic()
    return (
        f"no trial started in the {max(left, 0):.0f}s of --timeout left: a first epoch may take "
        f"{SHARE:.0%} of it, and the fastest so far took {fastest:.0f}s"
    )


def callback(seconds: float | None, stopped: list, passed: list | None = None):
    """A Keras callback that ends the first epoch after ``seconds`` (appending to ``stopped``),
    unless the trial has passed a rung by then (``passed`` not empty: the pruning callback
    fills it)."""
    import keras

    passed = [] if passed is None else passed

    class Guard(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.began, self.first = time.monotonic(), True

        def on_train_batch_end(self, batch, logs=None):
            if not self.first or passed or seconds is None:
                return
            if time.monotonic() - self.began > seconds:
                self.model.stop_training = True
                stopped.append(round(time.monotonic() - self.began))

        def on_epoch_end(self, epoch, logs=None):
            self.first = False

    return Guard()
