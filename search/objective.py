"""One Optuna trial: params from the space, build, fit with pruning on val_loss, record curves.

The value is the best val_loss the trial reached (minimize). Everything analysis and the dashboard
need is stored as trial user attrs, for pruned and failed trials too.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from typing import Any

import optuna

from search import interrupt
from search.budget import DIVERGED
from search.data import Dataset
from search.embeddings import VectorSettings
from search.model import plain_params, validate_params
from search.train import MONITOR, fit, model_for, trial_data
from spaces import OptunaSuggester, Space


def pruning_callback(trial: optuna.Trial, history: dict[str, list[float]]):
    """Report val_loss each epoch, publish the curves so far, and prune when the pruner says so.

    Unlike ``optuna_integration.KerasPruningCallback``, which only warns, a missing val_loss is an
    error: a trial that reports nothing can never be pruned and would silently waste its budget.
    """
    import keras

    class Pruning(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            if MONITOR not in logs:
                raise KeyError(
                    f"pruning monitors {MONITOR!r} but the epoch logs only have {sorted(logs)}"
                )
            trial.report(float(logs[MONITOR]), step=epoch + 1)
            trial.set_user_attr("curves", history)  # live in the dashboard, kept when pruned
            if trial.should_prune():
                raise optuna.TrialPruned(
                    f"pruned at epoch {epoch + 1} ({MONITOR}={logs[MONITOR]:.4f})"
                )

    return Pruning()


def deadline_callback(deadline: float | None, trial: optuna.Trial):
    """End training at the epoch whose successor would finish after ``deadline``
    (``time.monotonic()``), or mid-epoch once it has passed, so a study's ``--timeout`` bounds
    its wall time: Optuna's timeout only stops new trials, and a trial started just before it
    could run its full epochs (a maxlen-800 BiLSTM epoch takes over 20 minutes on 2 cores). Keras
    validates the part-trained epoch; the trial completes with its best val_loss so far."""
    import keras

    class Deadline(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.began = time.monotonic()

        def on_train_batch_end(self, batch, logs=None):
            if deadline is not None and time.monotonic() > deadline:
                self.model.stop_training = True
                trial.set_user_attr("stopped_by", "timeout")

        def on_epoch_end(self, epoch, logs=None):
            now = time.monotonic()
            if deadline is not None and now + (now - self.began) > deadline:
                self.model.stop_training = True
                trial.set_user_attr("stopped_by", "timeout")

    return Deadline()


def progress_callback(trial: optuna.Trial, epochs: int, samples: int, write: Callable[[str], None]):
    """One line per epoch (``trial 12 epoch 3/10 val_loss=... 52s 385 samples/s``): plain lines,
    so a terminal, a log file and a notebook all show a long trial's progress."""
    import keras

    class Progress(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.began = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs, seconds = logs or {}, time.perf_counter() - self.began
            metrics = " ".join(
                f"{k}={logs[k]:.4f}" for k in ("val_loss", "val_accuracy", "loss") if k in logs
            )
            write(
                f"trial {trial.number:>3} epoch {epoch + 1}/{epochs} {metrics} {seconds:.0f}s "
                f"{samples / seconds:.0f} samples/s"
            )

    return Progress()


def summarize(history: dict[str, list[float]]) -> dict[str, Any]:
    """Metrics at the best (lowest val_loss) epoch, and the overfitting gap there."""
    val_loss = history.get(MONITOR, [])
    finite = [(v, i) for i, v in enumerate(val_loss) if math.isfinite(v)]
    if not finite:
        return {"epochs_run": len(val_loss)}
    best_loss, i = min(finite)
    train_acc, val_acc = history["accuracy"][i], history["val_accuracy"][i]
    train_loss = history["loss"][i]
    return {
        "epochs_run": len(val_loss),
        "best_epoch": i + 1,
        "val_loss": best_loss,
        "val_accuracy": val_acc,
        "train_loss": train_loss,
        "train_accuracy": train_acc,
        "gap_accuracy": train_acc - val_acc,  # > 0: fits train better than it generalises
        "gap_loss": best_loss - train_loss,
    }


def make_objective(
    space: Space,
    data: Dataset,
    *,
    epochs: int,
    seed: int | None = None,
    vectors: VectorSettings = VectorSettings(),
    deadline: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> Callable[[optuna.Trial], float]:
    """The objective for ``study.optimize``; ``data`` is loaded once and shared by all trials.

    Args:
        space: the search space function.
        data: tokenised IMDB; only train and val are used (the test split is never touched).
        epochs: most epochs per trial (early stopping and pruning end most trials sooner).
        seed: with a seed, trial ``n`` trains with Keras seed ``seed + n``: same params, same run.
        vectors: where the pretrained embeddings come from.
        deadline: ``time.monotonic()`` after which no epoch should end (the study's timeout).
        progress: where each epoch's progress line goes (None: nowhere).
    """
    import keras
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # retracing notices for every new architecture

    def objective(trial: optuna.Trial) -> float:
        keras.backend.clear_session()  # or memory grows over a long study
        trial_seed = seed + trial.number if seed is not None else random.randrange(2**31)
        trial.set_user_attr("seed", trial_seed)
        history: dict[str, list[float]] = {}
        start = time.perf_counter()
        try:
            interrupt.check()  # a signal between trials: do not start another
            params = validate_params(space(OptunaSuggester(trial)))
            trial.set_user_attr("model_params", plain_params(params))
            keras.utils.set_random_seed(trial_seed)
            cut = trial_data(params, data)
            model = model_for(params, cut, vectors=vectors)
            trial.set_user_attr("param_count", int(model.count_params()))
            start = time.perf_counter()  # fit seconds: training, not building
            fit(
                model,
                cut,
                epochs=epochs,
                batch_size=params["batch_size"],
                callbacks=[
                    pruning_callback(trial, history),
                    deadline_callback(deadline, trial),
                    interrupt.keras_callback(),
                    *(
                        [progress_callback(trial, epochs, len(cut.train.y), progress)]
                        if progress
                        else []
                    ),
                ],
                history=history,
            )
        except optuna.TrialPruned:
            raise
        except interrupt.Interrupted as exc:  # Optuna marks it FAIL and re-raises it
            trial.set_user_attr("fail_reason", str(exc))
            raise
        except Exception as exc:
            trial.set_user_attr("fail_reason", f"{type(exc).__name__}: {exc}")
            raise
        finally:  # complete, pruned, failed or interrupted: the curves so far are kept
            _record(trial, history, time.perf_counter() - start, len(data.train.y))
        losses = history.get(MONITOR, [])
        if not losses or not all(map(math.isfinite, losses + history.get("loss", []))):
            trial.set_user_attr("fail_reason", DIVERGED)
            return math.nan  # Optuna records a NaN objective as FAIL and goes on
        return min(losses)

    return objective


def _record(trial: optuna.Trial, history: dict[str, list[float]], seconds: float, n: int) -> None:
    trial.set_user_attr("curves", history)
    for key, value in summarize(history).items():
        trial.set_user_attr(key, value)
    epochs = len(history.get(MONITOR, []))
    trial.set_user_attr("fit_seconds", round(seconds, 2))
    trial.set_user_attr("samples_per_second", round(epochs * n / seconds, 1) if seconds else 0.0)
