"""``--trials-per-process K``: the CLI goes on in a fresh process after every K trials.

TensorFlow keeps native memory that a finished trial no longer uses, and nothing in Python hands it
back: ``clear_session``, gc and glibc's ``malloc_trim`` run after every trial, yet a long study's
RSS climbs with every new architecture (``bench/memory.py``). About half of it is oneDNN's (it
halved with oneDNN off), which fits how TensorFlow caches the primitives of its oneDNN ops per
thread, keyed by the tensors' shapes, up to 1,024 a thread (``MklPrimitiveFactory``,
tensorflow/core/util/mkl_util.h), with no setting to bound or clear it. Like Celery's
``max_tasks_per_child`` and Gunicorn's ``max_requests``, the CLI therefore replaces its process
between trials: it execs the same command, which resumes the study like any rerun (its stored
settings, its exact total), with the run's start, deadline and failure count carried in one
environment variable. The PID, terminal and pipes stay, so Ctrl-C, a scheduler's SIGTERM and a
``--workers`` parent reach the new process as they reached the old one.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass
from typing import NoReturn

from search import interrupt

log = logging.getLogger(__name__)

ENV = "LSTM_SEARCH_CARRIED"


@dataclass(frozen=True)
class Carried:
    """What one process of a run hands the next: its settings (not a command line to parse
    again), wall-clock times, since a monotonic clock does not survive exec, and the run's
    failure counts (``search.budget.Budget``)."""

    settings: dict  # the run's complete settings (search.settings.RunSettings as a dict)
    started: float  # time.time() when the command started
    deadline: float | None = None  # time.time() at which --timeout ends
    failures: int = 0  # failed trials in a row
    finished: int = 0  # finished trials in this run, all processes
    failed: int = 0


class FreshProcess(Exception):
    """This process ran its trials; the run goes on in a fresh one (``Carried`` as ``.state``)."""

    def __init__(self, state: Carried) -> None:
        super().__init__("continuing in a fresh process")
        self.state = state


def take() -> Carried | None:
    """The state the previous process of this run carried over (None: the run's first process),
    removed from the environment so that nothing this process starts inherits it."""
    raw = os.environ.pop(ENV, None)
    if not raw:
        return None
    try:
        return Carried(**json.loads(raw))
    except (TypeError, ValueError):  # not ours, or from another version: start afresh
        return None


def monotonic_deadline(state: Carried | None, timeout: float | None) -> float | None:
    """This process's ``time.monotonic()`` deadline for the run's ``--timeout``."""
    if state is not None:
        return None if state.deadline is None else time.monotonic() + state.deadline - time.time()
    return None if timeout is None else time.monotonic() + timeout


def exec_again(state: Carried, message: str) -> NoReturn:
    """Print ``message`` and replace this process with the same command (``sys.orig_argv``: the
    CLI, or a ``--workers`` child), carrying ``state``. SIGINT and SIGTERM stay blocked across
    exec (a signal mask is inherited, and a pending signal survives exec) until the new process
    can answer them (``answer_signals``): a Ctrl-C while it imports would otherwise end it with a
    traceback, or be lost. Blocking holds for this thread only: a signal that TensorFlow's
    threads take before the exec raises KeyboardInterrupt here (the caller answers it), except
    in the microseconds inside ``os.execve`` itself."""
    env = {**os.environ, ENV: json.dumps(dataclasses.asdict(state))}
    signal.pthread_sigmask(signal.SIG_BLOCK, interrupt.HANDLED)
    try:
        log.info(message)
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)
    finally:  # only if exec failed, or a signal came first
        answer_signals()


def answer_signals() -> None:
    """Let SIGINT and SIGTERM in: one that came while a fresh process started arrives now."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, interrupt.HANDLED)
