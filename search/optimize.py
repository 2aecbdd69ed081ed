"""The main job: an Optuna study over a search space, every trial a real model pruned on val_loss.

    python -m search.optimize --trials 50
    python -m search.optimize --study big --storage postgresql://127.0.0.1/test --trials 200

``--trials`` is the study's total of finished (complete or pruned) trials, like KerasTuner's
``max_trials``: rerunning an interrupted command resumes it and stops at the same total.
"""

from __future__ import annotations

import argparse
import sys

from search import backend, display, fresh, guard, interrupt, workers
from search.errors import RunInterrupted, SearchBroken
from search.kept import KEEP
from search.options import add_data_arguments, add_vector_arguments
from search.runner import run
from search.settings import (
    ENGINES,
    PRUNERS,
    SAMPLERS,
    TRIALS_PER_PROCESS,
    TUNERS,
    RunSettings,
    SettingError,
)
from search.storage import HEARTBEAT, lost_storage, redact, storage_failure
from spaces import SPACES

__all__ = ["SearchBroken", "build_parser", "main", "parse_args", "serve"]


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
        default=TRIALS_PER_PROCESS,
        metavar="K",
        help=f"go on in a fresh process after every K trials (default {TRIALS_PER_PROCESS}; 0: "
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
        "--pruner",
        choices=PRUNERS,
        default=None,
        help="default: successive-halving (rungs at half an epoch, 1.5 and 4.5 epochs of "
        "reviews; a trial reports its best val_loss so far four times an epoch). Besides the "
        f"pruner, {guard.HELP} (not with none)",
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
        help="start a new study with the presets as its first trials (default: on for the "
        "default and seed spaces); off, a cold start, it still begins with the space's cheap "
        "start-up trials",
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
    parser.add_argument(
        "--keep",
        type=int,
        default=KEEP,
        metavar="K",
        help=f"keep the best-epoch weights of the K best complete trials (default {KEEP}; 0: "
        "none) and every complete trial's validation predictions, for python -m search.ensemble",
    )
    parser.add_argument(
        "--artifacts",
        default=None,
        metavar="DIR",
        help="where the kept weights and predictions go (default: beside the study, "
        "studies/<study>-artifacts); optuna-dashboard --artifact-dir DIR lists them",
    )
    parser.add_argument(
        "--tensorboard",
        default=None,
        metavar="DIR",
        help="write each trial's TensorBoard logs to DIR/<study>/trial-N; then: tensorboard "
        "--logdir DIR",
    )
    parser.add_argument(
        "--mlflow",
        default=None,
        metavar="URI",
        help="log every trial as a run of the MLflow experiment named after the study (params, "
        "per-epoch curves, state), e.g. sqlite:///mlflow.db; needs pip install -e '.[mlflow]'",
    )
    add_data_arguments(parser)
    add_vector_arguments(parser, lm=True)
    return parser


def parse_args(argv: list[str] | None) -> RunSettings:
    """The settings of a command line; bad values end the command as argparse does (exit 2)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return RunSettings(**vars(args))
    except SettingError as exc:
        parser.error(exc.flag())


def main(argv: list[str] | None = None) -> int:
    """The CLI. Only the command itself (``argv`` None) goes on in fresh processes: a caller
    that passes ``argv`` keeps its process."""
    carried = fresh.take() if argv is None else None
    given = workers.take_settings() if argv is None else None  # a worker of --workers N
    if carried is not None:
        settings = RunSettings(**carried.settings)
    else:
        settings = given or parse_args(argv)
    events = argv is None and workers.worker_id() is not None
    return serve(settings, carried, fresh_processes=argv is None, events=events)


def serve(
    settings: RunSettings,
    carried: fresh.Carried | None = None,
    *,
    fresh_processes: bool = True,
    events: bool = False,
) -> int:
    """Run ``settings`` as a command does: the library's lines on the console (or, with
    ``events``, as a worker's JSON events), errors as one line and an exit status: 0 done,
    1 the search is broken, 2 bad settings, 3 the storage was lost, 130/143 a signal."""
    storage = settings.storage_url
    every = (settings.trials_per_process or None) if fresh_processes else None
    with interrupt.raising(), display.console(events=events):
        try:
            fresh.answer_signals()  # one that came while this fresh process started: now
            backend.load()  # a Ctrl-C while TensorFlow loads gets the same one line
            study = run(settings, carried=carried, fresh_every=every)
        except fresh.FreshProcess as exc:
            k = settings.trials_per_process
            try:
                fresh.exec_again(
                    exc.state,
                    f"{k} trial{'s' if k > 1 else ''} in this process: continuing in a fresh one, "
                    "which hands TensorFlow's memory back (--trials-per-process)",
                )
            except KeyboardInterrupt as stop:  # a signal just before the switch
                return _interrupted(stop, storage)
        except KeyboardInterrupt as exc:
            return _interrupted(exc, storage)
        except SearchBroken as exc:
            if exc.study is not None:
                print(display.summary(exc.study, storage))
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except SettingError as exc:
            print(f"error: {exc.flag()}", file=sys.stderr)
            return 2
        except (ValueError, FileNotFoundError, RuntimeError) as exc:
            print(f"error: {redact(str(exc), storage)}", file=sys.stderr)
            return 2
        except Exception as exc:
            lost = storage_failure(exc)
            if lost is None:
                raise
            print(f"error: {lost_storage(lost, storage)}", file=sys.stderr)
            return 3
        print(display.summary(study, storage))
        return 0


def _interrupted(exc: KeyboardInterrupt, storage: str) -> int:
    """The one line after SIGINT/SIGTERM (and the summary when trials ran); the exit status."""
    study = exc.study if isinstance(exc, RunInterrupted) else None
    what = (
        "finished trials are stored and the interrupted one is marked FAIL"
        if study is not None
        else "no trial was running"
    )
    print(
        f"\n{str(exc) or 'interrupted'}: {what}; run the same command to resume.", file=sys.stderr
    )
    if study is not None:
        print(display.summary(study, storage))
    return getattr(exc, "exit_code", 130)


if __name__ == "__main__":
    sys.exit(main())
