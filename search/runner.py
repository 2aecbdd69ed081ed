"""A run, from settings to a study run to its total: prepare (storage, settings completed from
a resumed study, data, the study, presets, baseline), then hand the trials to the loop, the
workers or the KerasTuner engine. The CLI (``search.optimize``) and the Python API
(``search.run_study``) both call ``run``."""

from __future__ import annotations

import dataclasses
import logging
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import optuna

from search import (
    baseline,
    display,
    fresh,
    interrupt,
    kept,
    record,
    study_attrs,
    tracking,
    workers,
)
from search.budget import Budget
from search.data import Dataset, load_imdb, same_data
from search.display import short, show_epoch, show_trial
from search.embeddings import VectorSettings
from search.errors import RunInterrupted, SearchBroken
from search.files import writable_folder
from search.loop import run_until_done
from search.objective import make_objective
from search.rungs import epoch_step
from search.settings import RunSettings
from search.storage import fail_stale, open_storage, redact, sqlite_file
from search.strategy import make_pruner, make_sampler, sampler_seed
from search.study import (
    StudySettings,
    create_or_resume,
    enqueue_presets,
    queue_next_preset,
    requeue_cut,
)
from search.trial import user_callbacks
from search.vectors import check_unlabeled, resolve_unsup
from spaces import Space, capped, caps_for, companion, load_space

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prepared:
    """What a run's trials need, made once: the study, the complete settings, the space, the
    tokenised data and where the pretrained vectors come from."""

    study: optuna.Study
    settings: RunSettings
    space: Space
    data: Dataset
    vectors: VectorSettings


def run(
    settings: RunSettings,
    *,
    carried: fresh.Carried | None = None,
    fresh_every: int | None = None,
    callbacks: Sequence = (),
) -> optuna.Study:
    """Create or resume the study ``settings`` describe and run it to its total or timeout.

    Raises ValueError (and FileNotFoundError) for bad settings before any trial runs,
    ``SearchBroken`` when the search cannot go on, and ``RunInterrupted`` after SIGINT/SIGTERM.
    With ``fresh_every``, raises ``fresh.FreshProcess`` after that many trials while trials are
    left; ``carried`` is what the run's previous process handed over (``search.fresh``).
    ``callbacks``: Keras callbacks every trial's fit gets (this process's trials only).
    ``--timeout`` counts from here: preparing the data, vectors and baseline spends it too."""
    started = carried.started if carried else time.time()
    start = time.perf_counter() - (time.time() - started)  # the run's, over all its processes
    preparing = time.perf_counter()  # this process's: a fresh one prepares again
    deadline = fresh.monotonic_deadline(carried, settings.timeout)
    if callbacks and (settings.workers > 1 or fresh_every):
        raise ValueError(
            "callbacks run in this process only: pass workers=1 (or use --tensorboard, which "
            "every worker writes)"
        )
    if settings.tensorboard:  # before minutes of data loading, not after
        writable_folder(Path(settings.tensorboard), "--tensorboard")
    if settings.mlflow:
        tracking.check(settings.mlflow)
    workers.limit_threads()  # a worker of --workers N: its share of the cores
    ready = _prepare_or_clean_up(settings)
    study, settings = ready.study, ready.settings
    if baseline.stored(study) is not None:
        log.info(baseline.describe_all(study))
    fail_stale(study)  # trials of workers that died since the last run: FAIL, queued again
    if settings.engine == "optuna":
        requeue_cut(study)
    budget = Budget(settings.total, settings.max_failures, per_process=fresh_every)
    if carried is not None:
        budget.failures, budget.finished_here = carried.failures, carried.finished
        budget.failed_here = carried.failed
    done, left = budget.finished(study), budget.left(study)
    log.info(_header(ready, done, left, deadline, time.perf_counter() - preparing))
    if settings.total is not None and done >= settings.total:
        log.info(
            f"the study already has {done} >= {settings.total} finished trials; "
            "pass a larger --trials to add more"
        )
        return study
    if deadline is not None and time.monotonic() >= deadline:
        log.info(
            f"the --timeout of {settings.timeout:g}s was spent preparing: no trial started; "
            "the data, vectors and baseline are kept, so the next run starts its trials sooner"
        )
        return study
    if settings.workers > 1:
        _run_workers(settings, study, budget, deadline)
        return study
    if settings.engine == "kerastuner":
        from search import kerastuner

        after = [*_logged(settings), *_shown_progress(settings, left, deadline)]

        def on_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            show_trial(study, trial)
            for callback in after:
                callback(study, trial)

        kerastuner.run(
            ready,
            deadline=deadline,
            on_trial=on_trial,
            progress=_progress(settings),
            extra=_extra(settings, callbacks),
        )
    else:
        _run_trials(ready, budget, deadline, start, _extra(settings, callbacks))
        if _goes_on_fresh(budget, study, deadline):
            raise fresh.FreshProcess(_carried(settings, budget, started, deadline))
    log.info(f"\nfinished in {time.perf_counter() - start:.0f}s")
    return study


def _prepare_or_clean_up(settings: RunSettings) -> Prepared:
    """``prepare``; a failed first command leaves no empty SQLite file behind."""
    storage = settings.storage_url
    new_file = sqlite_file(storage)
    new_file = new_file if new_file and not new_file.exists() else None
    try:
        return prepare(settings, new_file)
    except Exception:
        if new_file is not None and new_file.exists() and not optuna.get_all_study_names(storage):
            new_file.unlink()
        raise


def _shown_progress(settings: RunSettings, left: int | None, deadline: float | None) -> list:
    """The run's progress line after each trial; not with --quiet, nor in a worker (its
    parent shows the trials of all of them)."""
    if settings.quiet or workers.worker_id() is not None:
        return []
    return [display.RunProgress(left, deadline)]


def _logged(settings: RunSettings) -> list:
    """Study callbacks that report finished trials elsewhere: MLflow with ``--mlflow``."""
    return [tracking.MLflowTrials(settings.mlflow, settings.study)] if settings.mlflow else []


def _extra(settings: RunSettings, callbacks: Sequence) -> Callable[[int], list] | None:
    """The user's callbacks for trial number n, or None when there are none."""
    if not callbacks and not settings.tensorboard:
        return None
    return lambda number: user_callbacks(number, settings.study, callbacks, settings.tensorboard)


def _run_trials(
    ready: Prepared,
    budget: Budget,
    deadline: float | None,
    start: float,
    extra: Callable[[int], list] | None = None,
) -> None:
    """The Optuna engine in this process: the loop over the objective, signals answered
    between batches; raises ``RunInterrupted`` or ``SearchBroken``."""
    settings, study = ready.settings, ready.study
    artifacts = kept.store(settings.artifact_path) if settings.keep else None
    objective = make_objective(
        ready.space,
        ready.data,
        epochs=settings.epochs,
        seed=settings.seed,
        vectors=ready.vectors,
        deadline=deadline,
        progress=_progress(settings),
        artifacts=artifacts,
        guarded=settings.pruner != "none",
        extra=extra,
        steps=study_attrs.StudyAttrs.of(study).steps,
    )

    def claimed(trial: optuna.Trial) -> float:
        if workers.worker_id() is not None:
            record.write(trial, worker=workers.worker_id())
        budget.claim(trial)
        return objective(trial)

    try:
        with warnings.catch_warnings(), interrupt.handling():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            run_until_done(
                study,
                claimed,
                budget,
                deadline,
                settings.heartbeat,
                callbacks=[
                    *([kept.bound(artifacts, settings.keep)] if artifacts else []),
                    *_logged(settings),
                    *_shown_progress(settings, budget.left(study), deadline),
                ],
                queue_next=queue_next_preset,
            )
            interrupt.check()  # a signal that came between trials
        fail_stale(study)
    except KeyboardInterrupt as exc:
        log.warning(f"stopped after {time.perf_counter() - start:.0f}s")
        raise RunInterrupted(exc, study) from None
    if budget.error():
        raise SearchBroken(budget.error(), study)


def _goes_on_fresh(budget: Budget, study: optuna.Study, deadline: float | None) -> bool:
    """This process ran its trials, and the run has trials and time left."""
    left = budget.left(study)
    time_left = deadline is None or deadline > time.monotonic()
    return budget.process_done and (left is None or left > 0) and time_left


def _carried(
    settings: RunSettings, budget: Budget, started: float, deadline: float | None
) -> fresh.Carried:
    """What the next process of this run needs: wall-clock times, since a monotonic clock
    does not survive exec."""
    return fresh.Carried(
        settings=dataclasses.asdict(settings),
        started=started,
        deadline=None if deadline is None else time.time() + deadline - time.monotonic(),
        failures=budget.failures,
        finished=budget.finished_here,
        failed=budget.failed_here,
    )


def _progress(settings: RunSettings):
    return None if settings.quiet else show_epoch


def _header(
    ready: Prepared, done: int, left: int | None, deadline: float | None, prepared: float
) -> str:
    """What the run is about to do: the study, how many trials it asks for and what the
    budget leaves after preparing, how many the study's own trials say will fit, the setup."""
    s = ready.settings
    how = (
        f"sampler={s.sampler}, pruner={s.pruner}, "
        if s.engine == "optuna"
        else f"engine=kerastuner, tuner={s.tuner}, "
    )
    plan = f", running {max(left, 0)} more" if left is not None else ""
    if deadline is not None:
        seconds = max(deadline - time.monotonic(), 0)
        plan = f", running up to {max(left, 0)} more" if left is not None else ", running trials"
        plan += (
            f" in the {display.duration(seconds)} left of --timeout {s.timeout:g}s "
            f"({display.duration(prepared)} went to preparing)"
        )
        each = display.median_trial_seconds(ready.study)
        if each:
            plan += (
                f"; at the study's median {display.duration(each)} a trial, about "
                f"{int(seconds // each)} fit"
            )
    return (
        f"study {s.study!r} in {redact(s.storage_url)}: {done} finished trials{plan}"
        + f" (space={s.space}, {how}epochs<={s.epochs}, "
        + f"train={len(ready.data.train.y)}, val={len(ready.data.val.y)})"
    )


def prepare(settings: RunSettings, new_file: Path | None = None) -> Prepared:
    """The study (created or resumed, presets queued, baseline stored), the settings completed
    from it, the space, the data and the vectors. ``new_file``: the SQLite file this run
    creates, to say where it is."""
    # a bad URL fails before minutes of data loading; a resumed study lends its settings
    opened = open_storage(settings.storage_url, settings.heartbeat)
    attrs = study_attrs.stored(opened, settings.study) or study_attrs.StudyAttrs()
    stored = attrs.settings
    resumed = settings.resumed(stored, attrs.paths)
    for key in ("data", "unsup"):  # where the study's files were is gone: say what is used
        path = attrs.paths.get(key)
        if path and getattr(settings, key) is None and not Path(path).exists():
            log.warning(
                f"warning: the study's {key} path {path!r} is gone; using --{key}'s default "
                f"instead (pass --{key} PATH to choose; the data's checksum is checked)"
            )
    settings, taken = resumed.settings, resumed.taken
    if taken:
        log.info(
            f"resuming study {settings.study!r} with its stored "
            + ", ".join(f"{k.replace('_', '-')}={short(v)}" for k, v in taken.items())
        )
    largest = companion(settings.space, "TOKENIZE") or {}
    data_settings = settings.data_settings(**largest)
    caps = caps_for(settings.space, dataclasses.asdict(data_settings))
    if caps:  # a cheaper search, as asked: the space keeps to the shorter tokenisation
        log.info(
            f"space {settings.space!r} capped at "
            + ", ".join(f"{k}={v} (it asks for up to {largest[k]})" for k, v in caps.items())
        )
    space = capped(load_space(settings.space), caps)
    vectors = settings.vector_settings()
    if vectors.unsup:  # a wrong path is told now, not after minutes of loading
        resolve_unsup(vectors.unsup, "")
    data = load_imdb(settings.data, data_settings)
    if companion(settings.space, "UNLABELED"):  # before any trial or preparation
        check_unlabeled(vectors, data.source, settings.space)
    old = attrs.data.get("checksum")
    if old not in (None, data.checksum) and same_data(old, data.source, data.checksum):
        # a study from before data was identified by content: its own data, named anew
        upgraded = {**stored, "data": {**stored["data"], "checksum": data.checksum}}
        study_id = opened.get_study_id_from_name(settings.study)
        opened.set_study_user_attr(study_id, study_attrs.SETTINGS, upgraded)
    optuna_engine = settings.engine == "optuna"
    study = create_or_resume(
        StudySettings(
            study=settings.study,
            storage=settings.storage_url,
            space=settings.space,
            sampler=settings.sampler if optuna_engine else settings.tuner,
            pruner=settings.pruner if optuna_engine else "none",
            epochs=settings.epochs,
            seed=settings.seed,
            engine=settings.engine,
            vectors=vectors.identity(),
            # the dataset's identity: settings and checksum, not where this machine keeps it
            data={**dataclasses.asdict(data_settings), "checksum": data.checksum},
        ),
        opened,
    )
    _fill(study, settings, data, data_settings, vectors, new_file, caps)
    return Prepared(study, settings, space, data, vectors)


def _fill(
    study: optuna.Study,
    settings: RunSettings,
    data: Dataset,
    data_settings,
    vectors: VectorSettings,
    new_file: Path | None,
    caps: dict[str, int],
) -> None:
    """What a study needs besides its settings before trials run: where this machine keeps its
    data, the presets (within the space's ``caps``) as its first trials, this process's
    sampler, the baselines."""
    # where this machine keeps the data (not its identity): search.rerun finds it here
    study_attrs.write_paths(
        study,
        data=str(Path(data.source).resolve()),
        unsup=str(Path(vectors.unsup).resolve()) if vectors.unsup else None,
        artifacts=str(settings.artifact_path.resolve()) if settings.keep else None,
    )
    if new_file is not None:  # a relative default path depends on the current folder
        log.info(f"created {new_file.resolve()} for study {settings.study!r}")
    if settings.engine == "optuna":  # --no-enqueue-presets: a cold start, cheap trials first
        presets = settings.enqueue_presets is not False
        enqueued = enqueue_presets(study, settings.space, caps, presets=presets)
        if enqueued:
            log.info(f"first trials, queued one at a time: {enqueued}")
        elif settings.enqueue_presets:
            raise ValueError(
                f"--enqueue-presets: space {settings.space!r} has no point() for the presets"
            )
    # the presets are not the sampler's random start: 5 random trials still follow them (a TPE
    # fit on the seed presets alone kept to their learned embeddings and last-state outputs);
    # 5, not Optuna's 10, because a 2-hour budget on 2 cores buys about 25 trials in all. A
    # space with a cheap part plans them there (cheap_start_*: in the plan already)
    plan = study_attrs.StudyAttrs.of(study).presets_enqueued
    cheap = sum(name.startswith("cheap_start_") for name in plan)
    seed = sampler_seed(study, settings.sampler, settings.seed)
    study.sampler = make_sampler(settings.sampler, seed, startup=len(plan) + 5 - cheap)
    # the pruner's rungs in the study's steps: reviews trained on (search.rungs), or epochs
    steps = study_attrs.StudyAttrs.of(study).steps
    study.pruner = make_pruner(
        settings.pruner, settings.epochs, epoch_step(steps, len(data.train.y))
    )
    missing = baseline.missing(study)
    if not settings.no_baseline and missing:
        log.info(f"baselines: {', '.join(missing)} on the same split (once per study)")
        baseline.store(study, baseline.run_baselines(data.source, data_settings, only=missing))


def _run_workers(
    settings: RunSettings, study: optuna.Study, budget: Budget, deadline: float | None
) -> None:
    """``--workers N``: the study is ready (presets queued, baseline stored); N processes run it,
    each with these settings, but one worker each, no baseline and no presets to queue, and
    what the run's ``--timeout`` has left."""
    if settings.storage_url.startswith("sqlite"):
        log.warning(
            f"warning: {settings.workers} workers on SQLite take turns writing and may fail "
            "with 'database is locked'; a journal file (--storage journal:studies/"
            f"{settings.study}.log) or PostgreSQL suits several workers"
        )
    total = f"/{settings.total}" if settings.total else ""
    each = settings.replace(workers=1, no_baseline=True, enqueue_presets=False)
    if deadline is not None:
        each = each.replace(timeout=max(deadline - time.monotonic(), 1.0))
    with interrupt.handling():
        code = workers.run(
            each, settings.workers, lambda: f"{budget.finished(study)}{total} finished"
        )
    fail_stale(study)
    if code in (130, 143):
        raise RunInterrupted(interrupt.Interrupted(code - 128), study)
    if code:
        raise SearchBroken(f"a worker exited with status {code}", study)
