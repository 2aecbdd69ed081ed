"""Where a trial reports to the pruner: steps counted in training reviews seen, several reports
an epoch, so the pruner compares trials after the same amount of training, however long their
epochs take.

An epoch's first ``PER_EPOCH - 1`` reports are the loss on a fixed stratified subset of the
validation split (``SUBSET`` reviews, the same for every trial of a study); the last is the
epoch's full validation loss, which is also what the trial's value is made of. Every report is
the best value so far. Both include the L2 penalty, as Keras' ``val_loss`` does, so the reports
of one trial are on one scale. Step ``k`` is ``k * quarter``, ``quarter`` being the training
split's size over ``PER_EPOCH``: equal steps are equal counts of reviews trained on.

Studies made before steps were reviews (no ``steps`` attr) keep one report an epoch, at steps
1, 2, 3...: a successive-halving rung already stored in epochs must not be compared with one in
reviews.
"""

from __future__ import annotations

import math

import numpy as np

from search.data import Split

PER_EPOCH = 4  # reports an epoch
SUBSET = 1000  # validation reviews the sub-epoch reports are measured on
REVIEWS, EPOCHS = "reviews", "epochs"  # what a study's steps count (its ``steps`` attr)


def quarter(train_size: int) -> int:
    """Reviews between two reports: the step unit of a study whose steps count reviews."""
    return max(train_size // PER_EPOCH, 1)


def epoch_step(steps: str, train_size: int) -> int:
    """The step one epoch of training reaches: ``PER_EPOCH`` quarters, or 1 in epoch steps."""
    return PER_EPOCH * quarter(train_size) if steps == REVIEWS else 1


def first_rung(epoch_step: int) -> int:
    """The step of the first rung: half an epoch of reviews, or epoch 1 in epoch steps."""
    return max(epoch_step // 2, 1)


def subset_indices(y: np.ndarray, size: int = SUBSET, seed: int = 0) -> np.ndarray:
    """Rows of a validation split for the sub-epoch reports: ``size`` of them (all when the
    split is smaller), each class in its share of the split, fixed by ``seed``, sorted."""
    if len(y) <= size:
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        chosen.append(rng.choice(rows, size=round(size * len(rows) / len(y)), replace=False))
    return np.sort(np.concatenate(chosen))


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Binary cross-entropy as Keras computes it (probabilities clipped to 1e-7)."""
    p = np.clip(p.astype(np.float64), 1e-7, 1 - 1e-7)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def subset_loss(model, subset: Split, padding: str) -> float:
    """The model's loss on ``subset`` now, with its L2 penalty (``model.losses``), by
    ``predict``: ``evaluate`` inside ``fit`` would reset the epoch's training metrics."""
    from search.fitting import predict

    penalty = sum(float(loss) for loss in model.losses)
    return log_loss(subset.y, predict(model, subset.x, padding=padding)) + penalty


def callback(report, *, epochs: int, train_size: int, subset: Split | None, padding: str):
    """A Keras callback that calls ``report(best_so_far, step, last)`` at every step (``last``:
    within the last epoch, where no pruning is asked). ``subset=None``: epoch steps, one report
    an epoch with the full validation loss, as studies made before rungs in reviews have."""
    import keras

    from search.record import MONITOR

    unit = quarter(train_size)

    class Rungs(keras.callbacks.Callback):
        best = math.inf

        def _report(self, value: float, step: int, epoch: int) -> None:
            self.best = min(self.best, value) if math.isfinite(value) else value
            report(self.best, step, epoch + 1 >= epochs)

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch, self.reported = epoch, 0

        def on_train_batch_end(self, batch, logs=None):
            steps = self.params.get("steps")
            if subset is None or not steps:
                return
            due = min((batch + 1) * PER_EPOCH // steps, PER_EPOCH - 1)  # the epoch's end: full
            if due <= self.reported:
                return
            value = subset_loss(self.model, subset, padding)
            for k in range(self.reported + 1, due + 1):
                self._report(value, (self.epoch * PER_EPOCH + k) * unit, self.epoch)
            self.reported = due

        def on_epoch_end(self, epoch, logs=None):
            value = float(logs[MONITOR])
            step = (epoch + 1) * PER_EPOCH * unit if subset is not None else epoch + 1
            self._report(value, step, epoch)

    return Rungs()
