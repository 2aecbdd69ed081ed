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

from search import guard, interrupt, kept, record, rungs
from search import trial as engine_neutral
from search.budget import DIVERGED
from search.data import Dataset, Split
from search.embeddings import VectorSettings, pretrained_source
from search.params import ModelParams
from search.record import MONITOR, Failure, Record
from spaces import OptunaSuggester, Space, draw

log = logging.getLogger(__name__)


def pruning_callback(
    trial: optuna.Trial,
    epochs: int,
    *,
    train_size: int = 0,
    subset: Split | None = None,
    padding: str = "pre",
    passed: list | None = None,
):
    """Report the best val_loss so far at every rung step (``search.rungs``: several times an
    epoch, steps counted in reviews trained on; ``subset=None``: once an epoch, steps in
    epochs) and prune when the pruner says so (``fit`` has already refused epoch logs without
    val_loss, and ``search.trial.train`` has stored the curves so far, which the chance-level
    pruner reads). The best so far, not the step's value: the trial's value is its best epoch
    (early stopping restores it), so a trial with one noisy report at a rung is not pruned for
    it (one that reached 0.2499 on its rerun was pruned on 0.341 after 0.279). Never within the
    last of ``epochs``: the trial has trained nearly all it would, so it completes with what it
    reached, not as pruned. ``passed`` gets the step of each rung (from half an epoch) the
    trial passed unpruned: the wall-clock guard stands aside then."""
    per_epoch = rungs.epoch_step(rungs.REVIEWS if subset is not None else rungs.EPOCHS, train_size)
    first = rungs.first_rung(per_epoch)

    def report(best: float, step: int, last: bool) -> None:
        trial.report(best, step=step)
        if not last and trial.should_prune():
            where = f"epoch {step / per_epoch:.4g}"
            if subset is not None:
                where += f" ({step:,} reviews)"
            raise optuna.TrialPruned(f"pruned at {where}, best {MONITOR} {best:.4f}")
        if step >= first and passed is not None:
            passed.append(step)

    return rungs.callback(
        report, epochs=epochs, train_size=train_size, subset=subset, padding=padding
    )


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
    steps: str = rungs.REVIEWS,
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
        guarded: prune a trial still short of its first rung past ``search.guard``'s bound.
        extra: the user's Keras callbacks for trial number n (``search.trial.user_callbacks``),
            run before the pruning and stopping ones so they see every epoch a trial ends.
        steps: what the reports' steps count (``search.rungs``): reviews trained on, several
            reports an epoch; or epochs, one report an epoch (studies made before).
    """
    import keras
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # retracing notices for every new architecture
    # the sub-epoch reports' validation rows, the same for every trial (each cuts its own width)
    chosen = rungs.subset_indices(data.val.y, seed=data.settings.seed)

    def objective(trial: optuna.Trial) -> float:
        keras.backend.clear_session()  # or memory grows over a long study
        write = lambda **fields: record.write(trial, **fields)  # noqa: E731
        trial_seed = seed + trial.number if seed is not None else random.randrange(2**31)
        write(seed=trial_seed)
        cut_by_timeout, guarded_at, passed = [], [], []

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
            if pretrained_source(params.embedding) == "lm" and isinstance(trial, optuna.Trial):
                from search import pretrain  # the study's language model, once

                why = pretrain.prepare_for_study(trial.study, data, vectors, deadline)
                if why:  # recorded as the trial's fail_reason below
                    raise optuna.TrialPruned(why)
            cut, model = engine_neutral.assemble(
                params, data, seed=trial_seed, vectors=vectors, write=write
            )
            bound = guard.limit(trial.study, deadline) if guarded else None
            callbacks = [
                *(extra(trial.number) if extra else []),
                guard.callback(bound, guarded_at, passed),
                pruning_callback(
                    trial,
                    epochs,
                    train_size=len(cut.train.y),
                    subset=Split(cut.val.x[chosen], cut.val.y[chosen])
                    if steps == rungs.REVIEWS
                    else None,
                    padding=cut.settings.padding,
                    passed=passed,
                ),
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
        except optuna.TrialPruned as exc:
            if guarded_at:  # the pruner, asked at the guard's cut epoch, pruned first
                pruned_by_guard(bound)
            elif str(exc):  # where and on what, for the trial's line and the dashboard
                write(fail_reason=str(exc))
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
