"""KerasTuner as a second engine over the same space, data, model family and training.

``python -m search.optimize --engine kerastuner --tuner hyperband`` runs the space function
through ``keras_tuner.HyperParameters`` (``spaces.KerasTunerSuggester``); ``SpaceHyperModel`` is
a thin adapter over ``search.trial`` (``build(hp)`` assembles, ``fit(hp, model, ...)`` trains),
as the Optuna objective is. KerasTuner keeps its own state under ``studies/<study>-kerastuner``
(an interrupted search resumes), and every finished trial is also written into the Optuna study,
with the params as Optuna would have sampled them and the same trial record, so the dashboard,
analysis, rerun and export work unchanged on KerasTuner results.
"""

from __future__ import annotations

import datetime
import logging
import math
import random
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from search import interrupt, record, trial
from search.budget import DIVERGED
from search.data import Dataset
from search.embeddings import VectorSettings, pretrained_source
from search.errors import RunInterrupted, SearchBroken
from search.params import ModelParams
from spaces import KerasTunerSuggester, Space, draw

log = logging.getLogger(__name__)


class RecordingSuggester:
    """Forwards to KerasTuner and notes each param with the distribution Optuna would have
    sampled it from, so a KerasTuner trial lands in an Optuna study as an Optuna trial would."""

    def __init__(self, inner: KerasTunerSuggester) -> None:
        self.inner = inner
        self.params: dict[str, Any] = {}
        self.distributions: dict[str, BaseDistribution] = {}

    def _note(self, name: str, value: Any, distribution: BaseDistribution) -> Any:
        self.params[name], self.distributions[name] = value, distribution
        return value

    def int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        value = self.inner.int(name, low, high, step=step, log=log)
        return self._note(name, value, IntDistribution(low, high, log=log, step=1 if log else step))

    def float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        value = self.inner.float(name, low, high, step=step, log=log)
        return self._note(name, value, FloatDistribution(low, high, log=log, step=step))

    def categorical(self, name: str, choices: Sequence[Any]) -> Any:
        value = self.inner.categorical(name, choices)
        return self._note(name, value, CategoricalDistribution(list(choices)))


def _hypermodel_class():
    import keras_tuner

    class SpaceHyperModel(keras_tuner.HyperModel):
        """``build(hp)`` and ``fit(hp, model, ...)`` over ``search.trial``; the last trial's
        record is kept in ``self.trial`` until the tuner writes it into the Optuna study."""

        def __init__(
            self,
            space: Space,
            data: Dataset,
            *,
            epochs: int,
            seed: int | None,
            vectors: VectorSettings,
            callbacks: Callable[[int, dict[str, Any]], list],
            prepare: Callable[[], str | None] = lambda: None,
        ) -> None:
            super().__init__(name="lstm_search")
            self.space, self.data, self.epochs = space, data, epochs
            self.seed, self.vectors, self.callbacks = seed, vectors, callbacks
            self.prepare = prepare  # the study's language model, before a trial needs it
            # KerasTuner builds once per conditional branch as it is made, only to learn the
            # space: those builds draw params, and neither pretrain nor assemble a model
            self.populating = True
            self.number = 0  # the Optuna trial number this trial will get
            self.trial: dict[str, Any] = {}

        def build(self, hp):
            import keras

            keras.backend.clear_session()
            suggester = RecordingSuggester(KerasTunerSuggester(hp))
            attrs: dict[str, Any] = {"engine": "kerastuner"}
            self.trial = {  # before the draw: a draw the params refuse fails with what it drew
                "params": suggester.params,
                "distributions": suggester.distributions,
                "attrs": attrs,
                "start": datetime.datetime.now(),
            }
            params = ModelParams.of(draw(self.space, suggester))
            if self.populating:
                self.trial = {}
                return None
            self.trial["model_params"] = params  # fit trains what build built
            seed = self.seed + self.number if self.seed is not None else random.randrange(2**31)
            if pretrained_source(params.embedding) == "lm" and (why := self.prepare()):
                # KerasTuner has no pruned state: a failed trial, as Optuna's engine prunes it
                attrs.update(fail_reason=why, failure=record.Failure.ERROR)
                raise keras_tuner.errors.FailedTrialError(why)
            self.cut, model = trial.assemble(
                params,
                self.data,
                seed=seed,
                vectors=self.vectors,
                write=lambda **fields: attrs.update(record.checked(fields)),
            )
            return model

        def fit(self, hp, model, *args, epochs=None, initial_epoch=0, callbacks=(), **kwargs):
            params, attrs = self.trial["model_params"], self.trial["attrs"]
            result = trial.train(
                model,
                params,
                self.cut,
                epochs=epochs or self.epochs,
                initial_epoch=initial_epoch,
                callbacks=[*callbacks, *self.callbacks(self.number, attrs)],
                write=lambda **fields: attrs.update(record.checked(fields)),
                note=lambda body: self.trial.update(note=body),
            )
            if record.diverged(result.history):
                attrs.update(fail_reason=DIVERGED, failure=record.Failure.DIVERGED)
                raise keras_tuner.errors.FailedTrialError(DIVERGED)
            return {"val_loss": attrs["val_loss"], "val_accuracy": attrs["val_accuracy"]}

    return SpaceHyperModel


def make_tuner(
    name: str,
    hypermodel,
    *,
    study: optuna.Study,
    directory: Path,
    epochs: int,
    trials: int | None,
    seed: int | None,
    max_failures: int,
    deadline: float | None,
    on_trial: Callable[[optuna.Study, optuna.trial.FrozenTrial], None],
):
    """A KerasTuner tuner of kind ``name`` (``search.settings.TUNERS``) that also writes each
    finished trial into ``study``. ``trials`` is its ``max_trials`` (Hyperband's too: it stops
    there)."""
    import keras_tuner

    base = {
        "hyperband": keras_tuner.Hyperband,
        "bayesian": keras_tuner.BayesianOptimization,
        "random": keras_tuner.RandomSearch,
    }[name]

    class Recording(base):
        def on_trial_end(self, kt_trial):
            # before KerasTuner's end_trial, which raises after max_failures failures in a row
            frozen = to_optuna(kt_trial, hypermodel.trial)
            if frozen is not None:
                study.add_trial(frozen)
                added = study.get_trials(deepcopy=False)[-1]
                note = hypermodel.trial.get("note")
                if added.state == optuna.trial.TrialState.FAIL:  # why, and the curves so far
                    r = record.Record.of(added)
                    note = record.failure_note(r.fail_reason or "failed", r.curves)
                if note:  # a live handle on the added trial
                    record.save_note(optuna.Trial(study, added._trial_id), note)
                on_trial(study, added)
            hypermodel.trial = {}
            hypermodel.number = len(study.get_trials(deepcopy=False))
            if deadline is not None and time.monotonic() > deadline:
                self.oracle.max_trials = len(self.oracle.trials)  # start no other
            super().on_trial_end(kt_trial)
            trial.release_memory()
            interrupt.check()  # Ctrl-C between trials: KerasTuner would start another

    kwargs: dict[str, Any] = {
        "objective": keras_tuner.Objective("val_loss", direction="min"),
        "seed": seed,
        "directory": str(directory),
        "project_name": study.study_name,
        "overwrite": False,  # an interrupted search resumes
        "max_consecutive_failed_trials": max_failures,
    }
    if name == "hyperband":
        # Hyperband's brackets for max_epochs=2 hold 2 trials: iterate them again (None: without
        # end) until the study's total or deadline, as --trials asks
        tuner = Recording(
            hypermodel, max_epochs=epochs, factor=3, hyperband_iterations=None, **kwargs
        )
        tuner.oracle.max_trials = trials
    else:
        tuner = Recording(hypermodel, max_trials=trials, **kwargs)
    hypermodel.number = len(study.get_trials(deepcopy=False))
    return tuner


def to_optuna(kt_trial, run: dict[str, Any]) -> optuna.trial.FrozenTrial | None:
    """The Optuna trial for a finished KerasTuner trial: params as Optuna would have sampled
    them, value = best val_loss, per-epoch val_loss as intermediate values, the trial record.
    Hyperband's continued trials start at ``tuner/initial_epoch``: their epochs are numbered
    from there, and ``epochs_run`` counts the epochs this trial actually trained."""
    if not run:  # it failed before build (KerasTuner found no new values)
        return None
    hp = kt_trial.hyperparameters.values
    attrs = dict(run["attrs"])
    first = int(hp.get("tuner/initial_epoch", 0))
    attrs["kerastuner"] = {
        "trial_id": kt_trial.trial_id,
        **{k.split("/")[1]: v for k, v in hp.items() if k.startswith("tuner/")},
    }
    if attrs.get("best_epoch") is not None:  # numbered like the intermediate values
        attrs["best_epoch"] += first
    curves = attrs.get("curves", {})
    losses = curves.get(record.MONITOR, [])
    intermediate = {first + i + 1: v for i, v in enumerate(losses) if math.isfinite(v)}
    status = str(kt_trial.status)
    complete = status.endswith("COMPLETED") and intermediate
    if not complete:
        message = (getattr(kt_trial, "message", None) or "").strip().splitlines()
        attrs.setdefault("fail_reason", message[-1] if message else f"KerasTuner {status}")
        attrs.setdefault("failure", record.Failure.ERROR)
    frozen = optuna.trial.create_trial(
        state=optuna.trial.TrialState.COMPLETE if complete else optuna.trial.TrialState.FAIL,
        value=min(intermediate.values()) if complete else None,
        params=run["params"],
        distributions=run["distributions"],
        user_attrs=record.stored(attrs),
        intermediate_values=intermediate,
    )
    frozen.datetime_start = run["start"]
    return frozen


def search(
    tuner_name: str,
    study: optuna.Study,
    space: Space,
    data: Dataset,
    *,
    epochs: int,
    trials: int | None,
    seed: int | None,
    vectors: VectorSettings,
    max_failures: int,
    deadline: float | None,
    directory: Path,
    callbacks: Callable[[int, dict[str, Any]], list],
    on_trial: Callable[[optuna.Study, optuna.trial.FrozenTrial], None],
) -> None:
    """Run the KerasTuner search to ``trials`` (KerasTuner's ``max_trials``: every trial it
    starts counts) or ``deadline``; raises RuntimeError after ``max_failures`` failures in a
    row (KerasTuner's ``max_consecutive_failed_trials``)."""
    from search import pretrain

    hypermodel = _hypermodel_class()(
        space,
        data,
        epochs=epochs,
        seed=seed,
        vectors=vectors,
        callbacks=callbacks,
        prepare=lambda: pretrain.prepare_for_study(study, data, vectors, deadline),
    )
    tuner = make_tuner(
        tuner_name,
        hypermodel,
        study=study,
        directory=directory,
        epochs=epochs,
        trials=trials,
        seed=seed,
        max_failures=max_failures,
        deadline=deadline,
        on_trial=on_trial,
    )
    hypermodel.populating = False  # the tuner knows its space: builds are trials from here
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # retracing notices for every new architecture
    from keras_tuner.src import config as kt_config

    debug, kt_config.DEBUG = kt_config.DEBUG, False  # True prints each failed trial's traceback
    try:
        with warnings.catch_warnings():
            # Hyperband continues a trial from its best weights; the optimizer starts afresh
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            tuner.search(verbose=0)
    finally:
        kt_config.DEBUG = debug


def run(ready, *, deadline: float | None, on_trial, progress, extra=None) -> None:
    """``--engine kerastuner``: the study ``ready`` (``search.runner.Prepared``) run by
    KerasTuner; raises ``SearchBroken`` after the failures in a row KerasTuner allows, and
    ``RunInterrupted`` after SIGINT/SIGTERM. ``extra``: the user's callbacks for trial n."""
    settings, study, data = ready.settings, ready.study, ready.data

    def callbacks(number: int, attrs: dict[str, Any]) -> list:
        own = extra(number) if extra else []
        return own + trial.engine_callbacks(
            f"trial {number:>3}",
            settings.epochs,
            len(data.train.y),
            deadline=deadline,
            stopped=lambda: attrs.update(stopped_by="timeout"),
            progress=progress,
        )

    try:
        with warnings.catch_warnings(), interrupt.handling():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            search(
                settings.tuner,
                study,
                ready.space,
                data,
                epochs=settings.epochs,
                trials=settings.total,
                seed=settings.seed,
                vectors=ready.vectors,
                max_failures=settings.max_failures,
                deadline=deadline,
                directory=directory_for(study.study_name, settings.storage_url),
                callbacks=callbacks,
                on_trial=on_trial,
            )
        ran = len(study.get_trials(deepcopy=False))
        time_left = deadline is None or time.monotonic() < deadline
        if settings.total is not None and ran < settings.total and time_left:
            log.info(
                f"KerasTuner's {settings.tuner} oracle stopped after {ran} of {settings.total} "
                "trials: it found no new values to try (every combination of a small discrete "
                "space was run); widen the space or ask for fewer --trials"
            )
    except KeyboardInterrupt as exc:
        raise RunInterrupted(exc, study) from None
    except RuntimeError as exc:  # KerasTuner's max_consecutive_failed_trials
        if "consecutive failures" not in str(exc):
            raise
        raise SearchBroken(str(exc).splitlines()[0], study) from None


def directory_for(study_name: str, storage: str) -> Path:
    """KerasTuner's project folder: beside the study's SQLite file, else under ``studies/``."""
    from search.storage import sqlite_file

    file = sqlite_file(storage)
    return (file.parent if file else Path("studies")) / f"{study_name}-kerastuner"
