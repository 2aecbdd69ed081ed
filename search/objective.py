"""The Optuna engine: a thin adapter from an ``optuna.Trial`` to the engine-neutral trial
(``search.trial``), with pruning on val_loss.

The value is the best val_loss the trial reached (minimize). The trial record
(``search.record``) is the trial's user attrs, for pruned and failed trials too.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable

import optuna
from optuna.artifacts import FileSystemArtifactStore

from search import guard, interrupt, kept, record
from search import trial as engine_neutral
from search.budget import DIVERGED
from search.data import Dataset
from search.embeddings import VectorSettings
from search.params import ModelParams
from search.record import MONITOR, Failure, Record
from spaces import OptunaSuggester, Space, draw

log = logging.getLogger(__name__)


def pruning_callback(trial: optuna.Trial, epochs: int):
    """Report the best val_loss so far each epoch and prune when the pruner says so (``fit``
    has already refused epoch logs without val_loss, and ``search.trial.train`` has stored the
    curves so far, which the chance-level pruner reads). The best so far, not the epoch's
    value: the trial's value is its best epoch (early stopping restores it), so a trial with one
    noisy epoch at a rung is not pruned for it (one that reached 0.2499 on its rerun was pruned
    on 0.341 after 0.279). Never at the last of ``epochs``: the trial has trained all it would,
    so it completes with what it reached, not as pruned."""
    import keras

    class Pruning(keras.callbacks.Callback):
        best = math.inf

        def on_epoch_end(self, epoch, logs=None):
            value = float(logs[MONITOR])
            self.best = min(self.best, value) if math.isfinite(value) else value
            trial.report(self.best, step=epoch + 1)
            if epoch + 1 < epochs and trial.should_prune():
                raise optuna.TrialPruned(
                    f"pruned at epoch {epoch + 1} ({MONITOR}={value:.4f}, best {self.best:.4f})"
                )

    return Pruning()


def make_objective(
    space: Space,
    data: Dataset,
    *,
    epochs: int,
    seed: int | None = None,
    vectors: VectorSettings = VectorSettings(),
    deadline: float | None = None,
    progress: Callable[[str], None] | None = None,
    artifacts: FileSystemArtifactStore | None = None,
    guarded: bool = False,
    extra: Callable[[int], list] | None = None,
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
        artifacts: where a complete trial keeps its weights and validation predictions
            (``search.kept``; None: nothing kept).
        guarded: prune a trial whose first epoch runs past ``search.guard``'s bound.
        extra: the user's Keras callbacks for trial number n (``search.trial.user_callbacks``),
            run before the pruning and stopping ones so they see every epoch a trial ends.
    """
    import keras
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # retracing notices for every new architecture

    def objective(trial: optuna.Trial) -> float:
        keras.backend.clear_session()  # or memory grows over a long study
        write = lambda **fields: record.write(trial, **fields)  # noqa: E731
        trial_seed = seed + trial.number if seed is not None else random.randrange(2**31)
        write(seed=trial_seed)
        cut_by_timeout, guarded_at = [], []

        def failed(reason: str, failure: Failure) -> None:
            """Record why, and say it in the dashboard's note with the curves so far."""
            write(fail_reason=reason, failure=failure)
            if not isinstance(trial, optuna.Trial):  # a FixedTrial has no storage
                return
            try:
                so_far = trial.study._storage.get_trial(trial._trial_id)
                record.save_note(trial, record.failure_note(reason, Record.of(so_far).curves))
            except Exception as exc:  # the note is a courtesy: never hide why the trial failed
                log.debug(f"trial {trial.number}: no failure note ({exc})")

        def pruned_by_guard(bound: float) -> str:
            reason = f"pruned by the wall-clock guard after {bound:.0f}s of its first epoch"
            write(stopped_by="guard", fail_reason=f"{reason} ({guard.RULE})")
            return reason

        try:
            interrupt.check()  # a signal between trials: do not start another
            params = ModelParams.of(draw(space, OptunaSuggester(trial)))
            cut, model = engine_neutral.assemble(
                params, data, seed=trial_seed, vectors=vectors, write=write
            )
            bound = guard.limit(trial.study, deadline) if guarded else None
            callbacks = [
                *(extra(trial.number) if extra else []),
                guard.callback(bound, guarded_at),
                pruning_callback(trial, epochs),
                *engine_neutral.engine_callbacks(
                    f"trial {trial.number:>3}",
                    epochs,
                    len(cut.train.y),
                    deadline=deadline,
                    stopped=lambda: cut_by_timeout.append(True),
                    progress=progress,
                ),
            ]
            result = engine_neutral.train(
                model,
                params,
                cut,
                epochs=epochs,
                callbacks=callbacks,
                write=write,
                # a FixedTrial (re-evaluating params, as Optuna's docs do) has no storage
                note=(lambda body: record.save_note(trial, body))
                if isinstance(trial, optuna.Trial)
                else None,
            )
        except optuna.TrialPruned:
            if guarded_at:  # the pruner, asked at the guard's cut epoch, pruned first
                pruned_by_guard(bound)
            raise
        except interrupt.Interrupted as exc:  # Optuna marks it FAIL and re-raises it
            failed(str(exc), Failure.INTERRUPTED)
            raise
        except Exception as exc:
            failed(f"{type(exc).__name__}: {exc}", Failure.ERROR)
            raise
        if guarded_at and not cut_by_timeout:
            raise optuna.TrialPruned(pruned_by_guard(bound))
        if cut_by_timeout:  # partial: not a result to rank, keep or learn from
            epochs_run = len(result.history.get(MONITOR, []))
            write(stopped_by="timeout")
            failed(
                f"cut by the study's --timeout after {epochs_run} of up to {epochs} epochs; a "
                "resumed study runs these params again",
                Failure.TIMEOUT,
            )
            return math.nan  # FAIL: out of best_trial and the sampler's model
        if record.diverged(result.history):
            failed(DIVERGED, Failure.DIVERGED)
            return math.nan  # Optuna records a NaN objective as FAIL and goes on
        if artifacts is not None and isinstance(trial, optuna.Trial):
            try:
                kept.keep(trial, model, cut, artifacts)
            except OSError as exc:  # a full disk costs the ensemble a member, not the trial
                log.warning(f"trial {trial.number}: its weights were not kept: {exc}")
        return min(result.history[MONITOR])

    return objective
