"""Training, the one path: the search, reruns, exports and the presets all fit through here,
so a configuration trains the same way wherever it runs.

``fit`` adds the callbacks the seed study found essential (EarlyStopping with the best weights,
ReduceLROnPlateau) and batches by length when the model masks its padding (``search.batches``).
"""

from __future__ import annotations

import math
import time
from typing import NamedTuple

import numpy as np

from search.batches import batch_indices, bucketed, lengths, trim
from search.data import Dataset
from search.record import MONITOR

EVAL_BATCH = 512


class FitResult(NamedTuple):
    history: dict[
        str, list[float]
    ]  # per epoch: loss, accuracy, val_loss, val_accuracy, learning_rate
    best_epoch: int  # 1-based epoch of the lowest val_loss; its weights are the model's now
    epochs_run: int
    seconds: float
    samples_per_second: float


def _curves_callback(history: dict[str, list[float]]):
    """Record every epoch's logs as they come, so a trial stopped by an exception (pruning) keeps
    the curves up to that point; fail loudly when the monitored metric is missing."""
    import keras

    class Curves(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            if MONITOR not in logs:
                raise KeyError(
                    f"fit monitors {MONITOR!r} but the epoch logs only have "
                    f"{sorted(logs)}; validation data is missing"
                )
            for key, value in logs.items():
                history.setdefault(key, []).append(float(value))
            # the rate this epoch trained with (ReduceLROnPlateau may lower it after us)
            rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            history.setdefault("learning_rate", []).append(rate)

    return Curves()


def fit(
    model,
    data: Dataset,
    *,
    epochs: int = 10,
    batch_size: int = 64,
    patience: int = 3,
    lr_patience: int = 1,
    callbacks: tuple | list = (),
    history: dict[str, list[float]] | None = None,
    bucket: bool | None = None,
    verbose: int = 0,
    initial_epoch: int = 0,
) -> FitResult:
    """Train on ``data.train``, validate on ``data.val`` each epoch, keep the best weights.

    EarlyStopping (``val_loss``, restore best weights) and ReduceLROnPlateau (halve the learning
    rate after ``lr_patience`` flat epochs) lifted the seed study's base LSTM from ~0.83 to ~0.87,
    so every model gets them. TerminateOnNaN ends a diverged run at once.

    Args:
        model: a compiled Keras model (``build_model``).
        data: the tokenised dataset; the test split is not touched.
        epochs: the most epochs to train.
        batch_size: samples per gradient step.
        patience: epochs without a better val_loss before stopping.
        lr_patience: epochs without a better val_loss before the learning rate is halved.
        callbacks: more Keras callbacks (the pruning callback), run after the built-in ones.
        history: dict to record the curves into (filled even if a callback raises).
        bucket: batch reviews of similar length, each batch padded only to its longest review
            (``search.batches``); the model must accept any length (``build_model``'s
            ``maxlen=None``). Off: every batch is padded to ``maxlen``. None (default): on
            exactly when the model masks its padding (``bucketing``).
        verbose: Keras' fit verbosity.
        initial_epoch: the epoch to resume at (KerasTuner's Hyperband continues a trial from
            its checkpoint); ``epochs`` stays the last epoch, as in ``keras.Model.fit``.
    """
    import keras

    if epochs < 1:
        raise ValueError(f"epochs={epochs!r}; expected an integer >= 1")
    history = {} if history is None else history
    builtin = [
        _curves_callback(history),
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.EarlyStopping(
            monitor=MONITOR, patience=patience, restore_best_weights=True
        ),
        keras.callbacks.ReduceLROnPlateau(
            monitor=MONITOR, factor=0.5, patience=lr_patience, min_lr=1e-5
        ),
    ]
    start = time.perf_counter()
    pool = data.unlabeled if getattr(model, "wants_unlabeled", False) else None
    by_length = bucketing(model, bucket)
    if by_length or pool is not None:
        padding = data.settings.padding
        seed = int(np.random.randint(2**31))  # follows keras.utils.set_random_seed
        train = bucketed(
            *data.train,
            batch_size,
            padding=padding,
            shuffle=True,
            seed=seed,
            pool=pool,
            by_length=by_length,
        )
        val = bucketed(*data.val, EVAL_BATCH, padding=padding, shuffle=False, by_length=by_length)
        model.fit(
            train,
            validation_data=val,
            epochs=epochs,
            initial_epoch=initial_epoch,
            shuffle=False,  # the batches are shuffled by length bucket, every epoch
            callbacks=[*builtin, *callbacks],
            verbose=verbose,
        )
    else:
        model.fit(
            data.train.x,
            data.train.y,
            validation_data=(data.val.x, data.val.y),
            epochs=epochs,
            initial_epoch=initial_epoch,
            batch_size=batch_size,
            callbacks=[*builtin, *callbacks],
            verbose=verbose,
        )
    seconds = time.perf_counter() - start
    val_loss = np.array(history.get(MONITOR, [math.nan]), dtype=float)
    best = int(np.nanargmin(val_loss)) + 1 if np.isfinite(val_loss).any() else 0
    epochs_run = len(history.get(MONITOR, []))
    return FitResult(
        history,
        best,
        epochs_run,
        seconds,
        epochs_run * len(data.train.y) / seconds if seconds > 0 else 0.0,
    )


def fit_fixed(
    model,
    split,
    *,
    epochs: int,
    batch_size: int,
    learning_rates: list[float],
    padding: str = "pre",
    verbose: int = 0,
    callbacks: tuple | list = (),
) -> float:
    """Train for a fixed number of epochs without validation (the final train+val fit),
    replaying the per-epoch learning rates that ReduceLROnPlateau chose with validation.
    ``callbacks``: more Keras callbacks (a progress line per epoch). Returns the seconds it
    took."""
    import keras

    def rate(epoch: int, current: float) -> float:
        return learning_rates[min(epoch, len(learning_rates) - 1)]

    start = time.perf_counter()
    callbacks = [
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.LearningRateScheduler(rate),
        *callbacks,
    ]
    if bucketing(model):
        seed = int(np.random.randint(2**31))
        batches = bucketed(*split, batch_size, padding=padding, shuffle=True, seed=seed)
        model.fit(batches, epochs=epochs, shuffle=False, verbose=verbose, callbacks=callbacks)
    else:
        model.fit(
            split.x,
            split.y,
            epochs=epochs,
            batch_size=batch_size,
            verbose=verbose,
            callbacks=callbacks,
        )
    return time.perf_counter() - start


def bucketing(model, bucket: bool | None = None) -> bool:
    """Whether batches are bucketed by length: ``bucket``, else exactly when the model masks
    its padding (pooled models, end padding). There the padding is invisible, so a batch padded
    to its longest review computes what one padded to ``maxlen`` does, in a fraction of the
    steps. A front-padded model without a mask reads its padding as a warm-up before the
    review; cutting the padding changes what it learns (README, "Performance"), so it keeps
    fixed padding unless asked."""
    if bucket is not None:
        return bucket
    return bool(getattr(model.get_layer("embedding"), "mask_zero", False))


def evaluate(model, split, *, padding: str = "pre", bucket: bool | None = None) -> dict[str, float]:
    """Loss and accuracy on ``split``, batched as ``fit`` batches (by length when bucketing)."""
    if bucketing(model, bucket):
        batches = bucketed(*split, EVAL_BATCH, padding=padding, shuffle=False)
        loss, accuracy = model.evaluate(batches, verbose=0)
    else:
        loss, accuracy = model.evaluate(split.x, split.y, batch_size=EVAL_BATCH, verbose=0)
    return {"loss": float(loss), "accuracy": float(accuracy)}


def predict(
    model, x: np.ndarray, *, padding: str = "pre", bucket: bool | None = None
) -> np.ndarray:
    """P(positive) per row of ``x``, in the rows' order."""
    if not bucketing(model, bucket):
        return model.predict(x, batch_size=EVAL_BATCH, verbose=0).reshape(-1)
    out = np.empty(len(x), dtype=np.float32)
    for index in batch_indices(lengths(x), EVAL_BATCH):
        out[index] = model.predict_on_batch(trim(x[index], padding)).reshape(-1)
    return out
