"""The main job: an Optuna study over a search space, every trial a real model pruned on val_loss.

    python -m search.optimize --trials 50
    python -m search.optimize --study big --storage postgresql://127.0.0.1/test --trials 200

``--trials`` is the study's total of finished (complete or pruned) trials, like KerasTuner's
``max_trials``: rerunning an interrupted command resumes it and stops at the same total.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from search import backend, baseline, fresh, interrupt, record, workers
from search.budget import Budget
from search.data import (
    DataSettings,
    add_data_arguments,
    load_imdb,
    same_data,
    settings_from_args,
)
from search.embeddings import VectorSettings, add_vector_arguments, vector_settings_from_args
from search.kerastuner import TUNERS
from search.objective import make_objective
from search.presets import MEASURED, PRESETS, SEED_DATA
from search.record import Record
from search.storage import (
    HEARTBEAT,
    default_storage,
    fail_stale,
    lost_storage,
    open_storage,
    redact,
    sqlite_file,
    storage_failure,
)
from search.trial import release_memory
from spaces import SPACES, companion, load_space

SAMPLERS = ("tpe", "random", "qmc", "gp", "cmaes")
PRUNERS = ("successive-halving", "hyperband", "median", "none")
# settings that define what a trial's value means: a resumed study must not change them
IDENTITY = ("space", "data", "epochs", "vectors")
# how the search proceeds: a resumed study may change them, and records each change
SEARCH_SETTINGS = ("engine", "sampler", "pruner", "seed")
ENGINES = ("optuna", "kerastuner")
# what a new study gets for the options left out; a resumed one gets what it stored
DEFAULTS = {
    "space": "default",
    "engine": "optuna",
    "sampler": "tpe",
    "pruner": "successive-halving",
    "epochs": 10,
}


@dataclass(frozen=True)
class StudySettings:
    study: str
    storage: str
    space: str
    sampler: str
    pruner: str
    epochs: int
    seed: int | None
    vectors: dict[str, Any]
    data: dict[str, Any]
    engine: str = "optuna"  # kerastuner: sampler is its tuner, pruner "none"


def make_sampler(name: str, seed: int | None, startup: int = 10) -> optuna.samplers.BaseSampler:
    """``startup``: trials before TPE or GP model the space (random ones, once the queued
    presets have run)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if name == "tpe":
            # multivariate + group model the conditional (define-by-run) space jointly;
            # constant_liar keeps parallel workers from proposing the same point
            return optuna.samplers.TPESampler(
                seed=seed,
                n_startup_trials=startup,
                multivariate=True,
                group=True,
                constant_liar=True,
            )
        if name == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        if name == "qmc":
            return optuna.samplers.QMCSampler(seed=seed)
        if name == "cmaes":
            return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
        if name == "gp":
            try:
                import scipy  # noqa: F401
                import torch  # noqa: F401
            except ImportError as exc:
                raise ValueError(
                    "--sampler gp needs PyTorch and SciPy: pip install -e '.[gp]'"
                ) from exc
            return optuna.samplers.GPSampler(seed=seed, n_startup_trials=startup)
    raise ValueError(f"Unknown sampler {name!r}; choose one of {list(SAMPLERS)}")


def sampler_seed(study: optuna.Study, sampler: str, seed: int | None) -> int | None:
    """The sampler's seed in this process. A seeded sampler starts its random stream over in
    every process, so a resumed study (or the fresh process of ``--trials-per-process``) would
    draw its first random trials again, and workers started together would draw the same ones:
    past the first process of a new study, the seed also takes the trials already run and the
    worker's number. QMC keeps ``seed``: its place in the sequence is stored in the study."""
    ran = sum(t.state != TrialState.WAITING for t in study.get_trials(deepcopy=False))
    worker = workers.worker_id()
    if seed is None or sampler == "qmc" or (ran == 0 and worker is None):
        return seed
    return int(np.random.SeedSequence([seed, ran, worker or 0]).generate_state(1)[0])


class ChanceLevelPruner(optuna.pruners.BasePruner):
    """Prune a trial whose val accuracy is still at chance level after ``warmup`` epochs, then
    ask ``pruner``. IMDB's labels are balanced, so 0.5 is a coin; a trial still there has learned
    nothing (an SGD learning rate far too small, say), and rung-based pruners cannot cut the first
    trials they see, for want of peers. Accuracy, not val_loss, because Keras' val_loss includes
    the L2 penalty: a strongly regularised model can sit above ln 2 while it learns."""

    def __init__(
        self, pruner: optuna.pruners.BasePruner, warmup: int = 2, margin: float = 0.02
    ) -> None:
        self.pruner, self.warmup, self.margin = pruner, warmup, margin

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        accuracy = Record.of(trial).curves.get("val_accuracy", [])
        if len(accuracy) >= self.warmup and accuracy[-1] <= 0.5 + self.margin:
            return True
        return self.pruner.prune(study, trial)


def make_pruner(name: str, epochs: int) -> optuna.pruners.BasePruner:
    """Successive halving (ASHA) by default: after epochs 1, 3 and 9 only the best third of the
    trials that reached that epoch go on. IMDB LSTMs with learned embeddings reach their best
    val_loss within 1-4 epochs (the presets' best epochs; GloVe ones train longer), so early ranks
    are reliable and most epochs go to the leaders.
    Every pruner but ``none`` also cuts trials stuck at chance level."""
    if name == "hyperband":
        rungs = optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=epochs, reduction_factor=3
        )
    elif name == "successive-halving":
        rungs = optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    elif name == "median":
        rungs = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    elif name == "none":
        return optuna.pruners.NopPruner()
    else:
        raise ValueError(f"Unknown pruner {name!r}; choose one of {list(PRUNERS)}")
    return ChanceLevelPruner(rungs)


def create_or_resume(
    settings: StudySettings, storage: optuna.storages.BaseStorage | None = None
) -> optuna.Study:
    """Create the study, or load it and refuse settings that contradict how it was created.
    ``storage`` is the already opened ``settings.storage``, when the caller has it."""
    storage = storage or open_storage(settings.storage)
    study = optuna.create_study(
        study_name=settings.study,
        storage=storage,
        sampler=make_sampler(settings.sampler, settings.seed)
        if settings.engine == "optuna"
        else None,
        pruner=make_pruner(settings.pruner, settings.epochs),
        direction="minimize",
        load_if_exists=True,
    )
    # where the study lives is not what it is, and its URL may hold a password: not stored
    current = {k: v for k, v in dataclasses.asdict(settings).items() if k != "storage"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(["val_loss"])  # the dashboard's name for the objective
    stored = study.user_attrs.get("settings")
    if stored is not None and "storage" in stored:  # stored by an earlier version: drop it
        stored = {k: v for k, v in stored.items() if k != "storage"}
        study.set_user_attr("settings", stored)
    if stored is None:
        study.set_user_attr("settings", current)
        study.set_user_attr("objective", "best val_loss (lower is better)")
        return study
    stored = {**stored, "vectors": VectorSettings.from_study(stored).identity()}
    clashes = {
        key: (stored.get(key), current[key]) for key in IDENTITY if stored.get(key) != current[key]
    }
    if clashes:
        lines = "; ".join(
            f"{key}: study has {old!r}, this run {new!r}" for key, (old, new) in clashes.items()
        )
        raise ValueError(
            f"Study {settings.study!r} in {redact(settings.storage)!r} was created with other "
            f"settings ({lines}). Mixing them would make its trials incomparable: rerun with the "
            "study's settings, or start a new study with --study NAME."
        )
    stored.setdefault("engine", "optuna")  # studies from before KerasTuner was an engine
    changed = {k: current[k] for k in SEARCH_SETTINGS if stored.get(k) != current[k]}
    if changed:  # allowed (the trials stay comparable), but the study must say what ran
        note = {"from_trial": len(study.get_trials(deepcopy=False)), **changed}
        study.set_user_attr(
            "settings_changes", [*study.user_attrs.get("settings_changes", []), note]
        )
        study.set_user_attr("settings", {**study.user_attrs["settings"], **changed})
        print(
            "resuming with "
            + ", ".join(f"{k}={v!r} (was {stored.get(k)!r})" for k, v in changed.items())
            + "; recorded in the study's settings"
        )
    return study


def enqueue_presets(study: optuna.Study, space: str) -> list[str]:
    """Queue the presets the space can express as the first trials of a new study: the
    configurations measured here first, then the seed study's, so the search starts from the
    best known and the pruner has a strong first trial to rank the others against. A resumed
    study, or a worker that starts beside another, queues nothing twice."""
    point = companion(space, "point")
    if point is None or study.user_attrs.get("presets_enqueued"):
        return []
    names, queued = [], []
    for name, preset in {**MEASURED, **PRESETS}.items():
        try:
            values = point(preset.params, **SEED_DATA)
        except ValueError:  # e.g. domain vectors in the seed space
            continue
        if values in queued:  # "searched" may be a point queued already under another name
            continue
        study.enqueue_trial(values, user_attrs={"preset": name}, skip_if_exists=True)
        names.append(name)
        queued.append(values)
    study.set_user_attr("presets_enqueued", names)
    return names


def _short(value: Any) -> str:
    """A param as a person reads it: 0.3 not 0.30000000000000004, 9.3e-06 not 0.0000."""
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def trial_line(trial: FrozenTrial) -> str:
    r = Record.of(trial)
    value = f"{trial.value:.4f}" if trial.value is not None else "-"
    acc = r.val_accuracy
    line = (
        f"trial {trial.number:>3} {trial.state.name:<8} val_loss={value} val_acc={acc:.4f} "
        if acc is not None
        else f"trial {trial.number:>3} {trial.state.name:<8} val_loss={value} val_acc=- "
    )
    line += f"epochs={r.epochs_run} fit {r.fit_seconds:.0f}s"
    if trial.duration is not None:  # building, vectors and evaluation too
        line += f", wall {trial.duration.total_seconds():.0f}s"
    if trial.state == TrialState.FAIL and r.fail_reason:
        line += f"  ({r.fail_reason})"
    return line


def _write_line(line: str) -> None:
    from tqdm import tqdm

    tqdm.write(line)  # above a progress bar when there is one
    sys.stdout.flush()


def _log_trial(study: optuna.Study, trial: FrozenTrial) -> None:
    from tqdm import tqdm

    try:
        best = f"  (best {study.best_value:.4f}, trial {study.best_trial.number})"
    except ValueError:
        best = ""
    tqdm.write(trial_line(trial) + best)


def counts(study: optuna.Study) -> dict[str, int]:
    states = [t.state for t in study.get_trials(deepcopy=False)]
    return {state.name.lower(): states.count(state) for state in TrialState}


def summary(study: optuna.Study, storage: str) -> str:
    storage = redact(storage)
    c = counts(study)
    lines = [
        f"study {study.study_name!r}: {c['complete']} complete, {c['pruned']} pruned, "
        f"{c['fail']} failed"
    ]
    try:
        best = study.best_trial
    except ValueError:
        lines.append("no completed trial yet")
        return "\n".join(lines)
    attrs = best.user_attrs
    lines += [
        f"best trial {best.number}: val_loss={best.value:.4f} "
        f"val_acc={attrs.get('val_accuracy', float('nan')):.4f} "
        f"best_epoch={attrs.get('best_epoch')} "
        f"gap_acc={attrs.get('gap_accuracy', float('nan')):+.4f}",
        "params: " + ", ".join(f"{k}={_short(v)}" for k, v in best.params.items()),
        f"dashboard: optuna-dashboard {storage.removeprefix('journal:')}",
        f"rerun and export: python -m search.rerun --study {study.study_name} "
        f"--storage {storage} --trial {best.number}",
    ]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m search.optimize",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--trials",
        type=int,
        default=None,
        help="total finished trials the study should reach (default 50, or "
        "unlimited when only --timeout is given)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="wall budget in seconds: no trial starts after it, and a running trial ends at the "
        "epoch that would overrun it (keeping its best epoch)",
    )
    parser.add_argument(
        "--heartbeat",
        type=int,
        default=HEARTBEAT,
        metavar="SECONDS",
        help=f"a running trial's heartbeat interval (default {HEARTBEAT}); a trial silent for "
        "twice that belongs to a dead worker: it is marked FAIL and its params run again "
        "(every storage: SQLite, PostgreSQL/MySQL, Redis, journal file)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="run N worker processes on this machine, each with its share of the cores "
        "(default 1; see README, 'Many workers')",
    )
    parser.add_argument(
        "--trials-per-process",
        type=int,
        default=fresh.DEFAULT,
        metavar="K",
        help=f"go on in a fresh process after every K trials (default {fresh.DEFAULT}; 0: "
        "never), so memory TensorFlow keeps after a trial goes back to the system; the engine "
        "optuna only",
    )
    parser.add_argument(
        "--max-failures",
        type=int,
        default=3,
        metavar="N",
        help="stop with an error after N failed trials in a row (default 3; a diverged loss "
        "does not count)",
    )
    parser.add_argument("--study", default="imdb", help="study name (default: imdb)")
    parser.add_argument(
        "--storage", default=None, help="Optuna storage URL (default: sqlite:///studies/<study>.db)"
    )
    parser.add_argument(
        "--space",
        default=None,
        help=f"one of {sorted(SPACES)} or path/to/file.py:function (default: default)",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default=None,
        help="optuna (default), or kerastuner: the same space, data and training through "
        "KerasTuner, its trials written into the same Optuna study",
    )
    parser.add_argument(
        "--tuner",
        choices=TUNERS,
        default=None,
        help="with --engine kerastuner: hyperband (default), bayesian or random",
    )
    parser.add_argument("--sampler", choices=SAMPLERS, default=None, help="default: tpe")
    parser.add_argument(
        "--pruner", choices=PRUNERS, default=None, help="default: successive-halving"
    )
    parser.add_argument("--epochs", type=int, default=None, help="most epochs per trial (10)")
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed the sampler and each trial (seed + trial number)",
    )
    parser.add_argument(
        "--enqueue-presets",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="start a new study with the seed study's presets as its first trials (default: on "
        "for the default and seed spaces)",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="one line per trial, none per epoch",
    )
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the TF-IDF + logistic regression baseline computed once per study (~1 min)",
    )
    add_data_arguments(parser)
    add_vector_arguments(parser)
    return parser


def check(args: argparse.Namespace) -> argparse.Namespace:
    """Refuse impossible settings (ValueError naming the option) and fill in the default total."""
    if args.trials is not None and args.trials < 1:
        raise ValueError(f"--trials {args.trials}: expected a positive number of trials")
    if args.timeout is not None and args.timeout <= 0:
        raise ValueError(f"--timeout {args.timeout}: expected a positive number of seconds")
    if not args.study.strip() or "/" in args.study:
        raise ValueError(f"--study {args.study!r}: expected a name such as imdb (no slashes)")
    for name, what in (
        ("heartbeat", "seconds"),
        ("workers", "processes"),
        ("max_failures", "trials"),
        ("epochs", "epochs"),
    ):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            flag = "--" + name.replace("_", "-")
            raise ValueError(f"{flag} {getattr(args, name)}: expected a positive number of {what}")
    if args.trials_per_process < 0:
        raise ValueError(
            f"--trials-per-process {args.trials_per_process}: expected 0 (never) or a positive "
            "number of trials"
        )
    if args.trials is None and args.timeout is None:
        args.trials = 50
    return args


def complete(args: argparse.Namespace, stored: dict[str, Any] | None, paths: dict) -> list[str]:
    """Fill the options the command left out: from the resumed study's stored ``settings`` and
    ``paths`` (where its data was) when there is one, else the defaults; then refuse the engine
    options that do not go together. Returns the options taken from the study, to print."""
    taken = {}
    if stored is not None:
        engine = stored.get("engine", "optuna")
        data, vectors = stored.get("data", {}), stored.get("vectors") or {}
        found = {
            "space": stored.get("space"),
            "engine": engine,
            "epochs": stored.get("epochs"),
            "seed": stored.get("seed"),
            **({"tuner": stored.get("sampler")} if engine == "kerastuner" else {}),
            **(
                {"sampler": stored.get("sampler"), "pruner": stored.get("pruner")}
                if engine == "optuna"
                else {}
            ),
            **{key: data.get(key) for key in ("vocab_size", "maxlen", "val_split")},
            **{key: data.get(key) for key in ("padding", "truncating")},
            "glove": vectors.get("glove"),
            **{f"vector_{key}": vectors.get(key) for key in ("dim", "window", "epochs")},
            # where this machine kept the data, when it is still there
            **{
                key: path
                for key, path in paths.items()
                if key in ("data", "unsup") and path and Path(path).exists()
            },
        }
        if args.engine not in (None, engine):  # another engine: its own sampler options
            found = {k: v for k, v in found.items() if k not in ("sampler", "pruner", "tuner")}
        for key, value in found.items():
            if getattr(args, key) is None and value is not None:
                setattr(args, key, value)
                taken[key] = value
        # say what differs from what a new study would get: the rest is as usual
        usual = {
            **DEFAULTS,
            **{k: getattr(DataSettings, k) for k in ("val_split", "padding", "truncating")},
            "glove": VectorSettings.glove,
            **{f"vector_{k}": getattr(VectorSettings, k) for k in ("dim", "window", "epochs")},
        }
        taken = {k: v for k, v in taken.items() if k not in usual or usual[k] != v}
    for key, value in DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.engine == "kerastuner":
        args.tuner = args.tuner or "hyperband"
        if args.workers > 1:
            raise ValueError(
                f"--workers {args.workers} with --engine kerastuner: KerasTuner's parallel "
                "search needs its own chief process; run one worker, or --engine optuna"
            )
        if args.enqueue_presets:
            raise ValueError(
                "--enqueue-presets with --engine kerastuner: KerasTuner has no trial queue; "
                "leave it out"
            )
    elif args.tuner is not None:
        raise ValueError(f"--tuner {args.tuner}: only with --engine kerastuner")
    return [f"{key.replace('_', '-')}={_short(value)}" for key, value in taken.items()]


def stored_settings(storage: optuna.storages.BaseStorage, name: str) -> tuple[dict | None, dict]:
    """The ``settings`` and ``paths`` study ``name`` stored, or (None, {}) for a new study."""
    try:
        study_id = storage.get_study_id_from_name(name)
    except KeyError:
        return None, {}
    attrs = storage.get_study_user_attrs(study_id)
    return attrs.get("settings"), attrs.get("paths") or {}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return check(args)
    except ValueError as exc:
        parser.error(str(exc))


def options(**settings: Any) -> argparse.Namespace:
    """The CLI's options from keyword arguments named like its flags (``max_failures=5`` for
    ``--max-failures 5``), with the CLI's defaults and checks: the Python API's way in."""
    args = build_parser().parse_args([])
    unknown = sorted(set(settings) - set(vars(args)))
    if unknown:
        raise TypeError(f"unknown setting(s) {unknown}; expected some of {sorted(vars(args))}")
    vars(args).update(settings)
    return check(args)


class SearchBroken(RuntimeError):
    """The search cannot make progress (failures in a row): not one unlucky trial."""


def main(argv: list[str] | None = None) -> int:
    """The CLI. Only the command itself (``argv`` None) goes on in fresh processes: a caller
    that passes ``argv`` keeps its process."""
    carried = fresh.take() if argv is None else None
    args = parse_args(argv)
    storage = args.storage or default_storage(args.study)
    with interrupt.raising():
        try:
            fresh.answer_signals()  # one that came while this fresh process started: now
            backend.load()  # a Ctrl-C while TensorFlow loads gets the same one line
            study = run(
                args,
                sys.argv[1:] if argv is None else argv,
                carried=carried,
                fresh_every=(args.trials_per_process or None) if argv is None else None,
            )
        except fresh.FreshProcess as exc:
            k = args.trials_per_process
            try:
                fresh.exec_again(
                    exc.state,
                    sys.argv[1:],
                    f"{k} trial{'s' if k > 1 else ''} in this process: continuing in a fresh one, "
                    "which hands TensorFlow's memory back (--trials-per-process)",
                )
            except KeyboardInterrupt as stop:  # a signal just before the switch
                return _interrupted(stop, storage)
        except KeyboardInterrupt as exc:
            return _interrupted(exc, storage)
        except SearchBroken as exc:
            print(summary(exc.study, storage))
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except (ValueError, FileNotFoundError, RuntimeError) as exc:
            print(f"error: {redact(str(exc), storage)}", file=sys.stderr)
            return 2
        except Exception as exc:
            lost = storage_failure(exc)
            if lost is None:
                raise
            print(f"error: {lost_storage(lost, storage)}", file=sys.stderr)
            return 3
        print(summary(study, storage))
        return 0


def _interrupted(exc: KeyboardInterrupt, storage: str) -> int:
    """The one line after SIGINT/SIGTERM (and the summary when trials ran); the exit status."""
    study = getattr(exc, "study", None)
    what = (
        "finished trials are stored and the interrupted one is marked FAIL"
        if study is not None
        else "no trial was running"
    )
    print(
        f"\n{str(exc) or 'interrupted'}: {what}; run the same command to resume.", file=sys.stderr
    )
    if study is not None:
        print(summary(study, storage))
    return exc.exit_code if isinstance(exc, interrupt.Interrupted) else 130


def run(
    args: argparse.Namespace,
    argv: list[str] | None = None,
    *,
    carried: fresh.Carried | None = None,
    fresh_every: int | None = None,
) -> optuna.Study:
    """Create or resume the study ``args`` describe and run it to its total or timeout.

    Raises ValueError (and FileNotFoundError) for bad settings before any trial runs,
    ``SearchBroken`` after ``max_failures`` failures in a row, and ``interrupt.Interrupted`` after
    SIGINT/SIGTERM; the last two carry the study as ``.study``. ``argv`` is the command line the
    ``--workers`` processes repeat (built from ``args`` when None). With ``fresh_every``, raises
    ``fresh.FreshProcess`` after that many trials while trials are left; ``carried`` is what
    the run's previous process handed over (``search.fresh``)."""
    workers.limit_threads()  # a worker of --workers N: its share of the cores
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial is ours
    _one_line_failures()
    storage = args.storage or default_storage(args.study)
    new_file = sqlite_file(storage)
    new_file = new_file if new_file and not new_file.exists() else None
    try:
        study, space, data, vectors = _prepare(args, storage, new_file)
    except Exception:
        if new_file is not None and new_file.exists() and not optuna.get_all_study_names(storage):
            new_file.unlink()  # a failed first command leaves no empty study file behind
        raise
    if baseline.stored(study) is not None:
        print(baseline.describe(baseline.stored(study)))
    fail_stale(study)  # trials of workers that died since the last run: FAIL, queued again
    budget = Budget(args.trials, args.max_failures, per_process=fresh_every)
    if carried is not None:
        budget.failures, budget.finished_here = carried.failures, carried.finished
        budget.failed_here = carried.failed
    done = budget.finished(study)
    left = budget.left(study)
    print(
        f"study {args.study!r} in {redact(storage)}: {done} finished trials"
        + (f", running {max(left, 0)} more" if left is not None else "")
        + f" (space={args.space}, "
        + (
            f"sampler={args.sampler}, pruner={args.pruner}, "
            if args.engine == "optuna"
            else f"engine=kerastuner, tuner={args.tuner}, "
        )
        + f"epochs<={args.epochs}, train={len(data.train.y)}, val={len(data.val.y)})"
    )
    if args.trials is not None and done >= args.trials:
        print(
            f"the study already has {done} >= {args.trials} finished trials; "
            "pass a larger --trials to add more"
        )
        return study

    started = carried.started if carried else time.time()
    start = time.perf_counter() - (time.time() - started)  # the run's, over all its processes
    if args.workers > 1:
        code = run_workers(args, _argv(args) if argv is None else argv, study, budget, storage)
        if code in (130, 143):
            raise _with_study(interrupt.Interrupted(code - 128), study)
        if code:
            raise _with_study(SearchBroken(f"a worker exited with status {code}"), study)
        return study

    deadline = fresh.monotonic_deadline(carried, args.timeout)
    if args.engine == "kerastuner":
        _run_kerastuner(args, study, space, data, vectors, deadline, storage)
        print(f"\nfinished in {time.perf_counter() - start:.0f}s")
        return study
    objective = make_objective(
        space,
        data,
        epochs=args.epochs,
        seed=args.seed,
        vectors=vectors,
        deadline=deadline,
        progress=None if args.quiet else _write_line,
    )

    def claimed(trial: optuna.Trial) -> float:
        if workers.worker_id() is not None:
            record.write(trial, worker=workers.worker_id())
        budget.claim(trial)
        return objective(trial)

    try:
        with warnings.catch_warnings(), interrupt.handling():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            run_until_done(study, claimed, budget, deadline, args.heartbeat)
            interrupt.check()  # a signal that came between trials
        fail_stale(study)
    except KeyboardInterrupt as exc:
        print(f"stopped after {time.perf_counter() - start:.0f}s", file=sys.stderr)
        raise _with_study(exc, study) from None
    if budget.error():
        raise _with_study(SearchBroken(budget.error()), study)
    left = budget.left(study)
    if (
        budget.process_done
        and (left is None or left > 0)
        and (deadline is None or deadline > time.monotonic())
    ):
        raise fresh.FreshProcess(
            fresh.Carried(
                started=started,
                deadline=None if deadline is None else time.time() + deadline - time.monotonic(),
                failures=budget.failures,
                finished=budget.finished_here,
                failed=budget.failed_here,
            )
        )
    print(f"\nfinished in {time.perf_counter() - start:.0f}s")
    return study


def _run_kerastuner(
    args, study, space, data, vectors, deadline: float | None, storage: str
) -> None:
    """``--engine kerastuner``: the same trial through KerasTuner (``search.kerastuner``)."""
    from search import kerastuner
    from search import trial as engine_neutral

    def callbacks(number: int, attrs: dict[str, Any]) -> list:
        return engine_neutral.engine_callbacks(
            f"trial {number:>3}",
            args.epochs,
            len(data.train.y),
            deadline=deadline,
            stopped=lambda: attrs.update(stopped_by="timeout"),
            progress=None if args.quiet else _write_line,
        )

    try:
        with warnings.catch_warnings(), interrupt.handling():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            kerastuner.search(
                args.tuner,
                study,
                space,
                data,
                epochs=args.epochs,
                trials=args.trials,
                seed=args.seed,
                vectors=vectors,
                max_failures=args.max_failures,
                deadline=deadline,
                directory=kerastuner.directory_for(study.study_name, storage),
                callbacks=callbacks,
                on_trial=_log_trial,
            )
    except KeyboardInterrupt as exc:
        raise _with_study(exc, study) from None
    except RuntimeError as exc:  # KerasTuner's max_consecutive_failed_trials
        if "consecutive failures" not in str(exc):
            raise
        raise _with_study(SearchBroken(str(exc).splitlines()[0]), study) from None


def _with_study(exc: BaseException, study: optuna.Study) -> BaseException:
    exc.study = study
    return exc


def _argv(args: argparse.Namespace) -> list[str]:
    """A command line for ``args`` (the API's ``workers=N`` starts processes with it)."""
    defaults = vars(build_parser().parse_args([]))
    argv = []
    for key, value in vars(args).items():
        if value == defaults.get(key) or value is None:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif value is False:
            argv.append("--no-" + key.replace("_", "-"))
        else:
            argv += [flag, str(value)]
    return argv


def _prepare(args: argparse.Namespace, storage: str, new_file):
    """The study (created or resumed, presets queued, baseline stored), space, data, vectors."""
    # a bad URL fails before minutes of data loading; a resumed study lends its settings
    opened = open_storage(storage, args.heartbeat)
    stored, paths = stored_settings(opened, args.study)
    taken = complete(args, stored, paths)
    if taken:
        print(f"resuming study {args.study!r} with its stored " + ", ".join(taken))
    space = load_space(args.space)
    largest = companion(args.space, "TOKENIZE") or {}
    data_settings: DataSettings = settings_from_args(args, **largest)
    for key, need in largest.items():
        if getattr(data_settings, key) < need:
            raise ValueError(
                f"--{key.replace('_', '-')} {getattr(data_settings, key)}: space "
                f"{args.space!r} asks for up to {need}, so its trials would fail; leave "
                "the option out (the space's default) or pass at least that"
            )
    vectors = vector_settings_from_args(args)
    data = load_imdb(args.data, data_settings)
    old = (stored or {}).get("data", {}).get("checksum")
    if old not in (None, data.checksum) and same_data(old, data.source, data.checksum):
        # a study from before data was identified by content: its own data, named anew
        upgraded = {**stored, "data": {**stored["data"], "checksum": data.checksum}}
        opened.set_study_user_attr(opened.get_study_id_from_name(args.study), "settings", upgraded)
    settings = StudySettings(
        study=args.study,
        storage=storage,
        space=args.space,
        sampler=args.sampler if args.engine == "optuna" else args.tuner,
        pruner=args.pruner if args.engine == "optuna" else "none",
        epochs=args.epochs,
        seed=args.seed,
        engine=args.engine,
        vectors=vectors.identity(),
        # the dataset's identity: settings and checksum, not where this machine keeps it
        data={**dataclasses.asdict(data_settings), "checksum": data.checksum},
    )
    study = create_or_resume(settings, opened)
    # where this machine keeps the data (not its identity): search.rerun finds it here
    study.set_user_attr(
        "paths",
        {
            "data": str(Path(data.source).resolve()),
            "unsup": str(Path(vectors.unsup).resolve()) if vectors.unsup else None,
        },
    )
    if new_file is not None:  # a relative default path depends on the current folder
        print(f"created {new_file.resolve()} for study {args.study!r}")
    if args.enqueue_presets is not False and args.engine == "optuna":
        enqueued = enqueue_presets(study, args.space)
        if enqueued:
            print(f"enqueued presets as the first trials: {enqueued}")
        elif args.enqueue_presets:
            raise ValueError(
                f"--enqueue-presets: space {args.space!r} has no point() for the presets"
            )
    # the presets are not the sampler's random start: 5 random trials still follow them (a TPE
    # fit on the seed presets alone kept to their learned embeddings and last-state outputs);
    # 5, not Optuna's 10, because a 2-hour budget on 2 cores buys about 25 trials in all
    warm = len(study.user_attrs.get("presets_enqueued", []))
    seed = sampler_seed(study, args.sampler, args.seed)
    study.sampler = make_sampler(args.sampler, seed, startup=5 + warm)
    if not args.no_baseline and baseline.stored(study) is None:
        print("baseline: TF-IDF + logistic regression on the same split (once per study)")
        baseline.store(study, baseline.run_baseline(data.source, data_settings))
    return study, space, data, vectors


def run_workers(
    args: argparse.Namespace, argv: list[str], study: optuna.Study, budget: Budget, storage: str
) -> int:
    """``--workers N``: the study is ready (presets queued, baseline stored); N processes run it."""
    if storage.startswith("sqlite"):
        print(
            f"warning: {args.workers} workers on SQLite take turns writing and may fail with "
            "'database is locked'; a journal file (--storage journal:studies/"
            f"{args.study}.log) or PostgreSQL suits several workers",
            file=sys.stderr,
        )
    total = f"/{args.trials}" if args.trials else ""
    with interrupt.handling():
        code = workers.run(argv, args.workers, lambda: f"{budget.finished(study)}{total} finished")
    fail_stale(study)
    return code


def run_until_done(
    study: optuna.Study,
    objective,
    budget: Budget,
    deadline: float | None,
    heartbeat: int,
) -> None:
    """Run trials until the study has its total of finished trials, the deadline passes, or the
    search is broken. When the rest of the total is running in other workers, wait for them:
    one may fail, or die and be queued again (its heartbeat stops), and then this worker runs
    it, so the total is reached exactly and no dead worker's trial is lost."""
    waiting = False
    while not budget.broken and not interrupt.requested():
        timeout = None if deadline is None else deadline - time.monotonic()
        if timeout is not None and timeout <= 0:
            return
        left = budget.left(study)
        if left is not None and left <= 0:
            if budget.finished(study) >= budget.total:
                return
            if not waiting:
                print(
                    f"waiting for {-left + budget.total - budget.finished(study)} trial(s) "
                    "running in other workers, to run again any that fail"
                )
                waiting = True
            time.sleep(min(5.0, heartbeat))
            fail_stale(study)
            continue
        waiting = False
        if budget.process_done:  # the rest in a fresh process (search.fresh)
            return
        study.optimize(
            objective,
            n_trials=left,  # failed ones count here but not in the total: the loop runs more
            timeout=timeout,
            catch=(Exception,),
            callbacks=[_log_trial, _stop_on_signal, budget, release_memory],
            show_progress_bar=sys.stderr.isatty(),  # no bar in log files
        )
        if budget.total is None:
            return


def _strip_traceback(record: logging.LogRecord) -> bool:
    record.exc_info = record.exc_text = None
    return True


def _one_line_failures() -> None:
    """Optuna logs a failed trial's whole traceback (185 lines for a TensorFlow error); our
    trial line already gives the reason, so keep Optuna's message to its one line."""
    for handler in logging.getLogger("optuna").handlers:  # child loggers' records pass here
        if _strip_traceback not in handler.filters:
            handler.addFilter(_strip_traceback)


def _stop_on_signal(study: optuna.Study, trial: FrozenTrial) -> None:
    if interrupt.requested() is not None:
        study.stop()


if __name__ == "__main__":
    sys.exit(main())
