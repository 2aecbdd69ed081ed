"""What a run shows: one line per trial, a header, the closing summary, and the console that
carries the library's log records to a person (or, in a worker, to its parent as events).

The library logs (``logging.getLogger(__name__)``); ``console()`` decides where the records go
for the length of a run: the terminal (tqdm-aware, so a progress bar stays below the lines),
a notebook's cell, or a worker's pipe as JSON events (``search.workers`` shows them).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
from collections.abc import Iterator
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from search.record import Record
from search.storage import redact

LOGGER = "search"  # the library's root logger: every module's logger is below it
log = logging.getLogger(__name__)


def short(value: Any) -> str:
    """A param as a person reads it: 0.3 not 0.30000000000000004, 9.3e-06 not 0.0000."""
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def trial_line(trial: FrozenTrial) -> str:
    r = Record.of(trial)
    value = f"{trial.value:.4f}" if trial.value is not None else "-"
    acc = f"{r.val_accuracy:.4f}" if r.val_accuracy is not None else "-"
    line = f"trial {trial.number:>3} {trial.state.name:<8} val_loss={value} val_acc={acc} "
    line += f"epochs={r.epochs_run} fit {r.fit_seconds:.0f}s"
    if trial.duration is not None:  # building, vectors and evaluation too
        line += f", wall {trial.duration.total_seconds():.0f}s"
    if trial.state != TrialState.COMPLETE and r.fail_reason:
        line += f"  ({r.fail_reason})"
    return line


def show_trial(study: optuna.Study, trial: FrozenTrial) -> None:
    """An Optuna callback: the trial's line, with the study's best so far."""
    try:
        best = f"  (best {study.best_value:.4f}, trial {study.best_trial.number})"
    except ValueError:
        best = ""
    finished = trial.state in (TrialState.COMPLETE, TrialState.PRUNED)
    log.info(trial_line(trial) + best, extra={"event": "trial", "finished": finished})


def duration(seconds: float) -> str:
    """45s, 12m05s, 2h03m: as a person reads a time span."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def median_trial_seconds(study: optuna.Study) -> float | None:
    """The median wall time of the study's finished trials (None before any)."""
    import statistics

    spans = [
        t.duration.total_seconds()
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
        if t.duration is not None
    ]
    return statistics.median(spans) if spans else None


class RunProgress:
    """An Optuna callback after the trial's line: how far this run is, and when it should end
    (from its own trials' average wall time, preparation left out): a terminal, a log file and
    a notebook all show it, as plain lines."""

    def __init__(self, left: int | None, deadline: float | None) -> None:
        self.left, self.deadline = left, deadline
        self.began, self.done = time.monotonic(), 0

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if not trial.state.is_finished():
            return
        self.done += 1
        log.info(self.line(time.monotonic()), extra={"event": "progress"})

    def line(self, now: float) -> str:
        spent = now - self.began
        each = spent / self.done
        asked = f"/{self.left}" if self.left is not None else ""
        line = f"run: {self.done}{asked} trials in {duration(spent)}, {duration(each)} a trial"
        remaining = None if self.left is None else max(self.left - self.done, 0)
        if remaining == 0:
            return line
        to_go = None if remaining is None else remaining * each
        if self.deadline is not None:
            time_left = max(self.deadline - now, 0.0)
            fits = int(time_left // each)
            if remaining is None or fits < remaining:
                of = "" if remaining is None else f" of the {remaining} asked"
                line += f"; {duration(time_left)} of --timeout left: about {fits} more{of} fit"
                to_go = time_left
        if not to_go:
            return line
        end = time.strftime("%H:%M", time.localtime(time.time() + to_go))
        return line + f"; about {duration(to_go)} to go (done near {end})"


def show_epoch(line: str) -> None:
    """A trial's progress line (``search.trial.progress_callback``)."""
    log.info(line, extra={"event": "epoch"})


def counts(study: optuna.Study) -> dict[str, int]:
    states = [t.state for t in study.get_trials(deepcopy=False)]
    return {state.name.lower(): states.count(state) for state in TrialState}


def summary(study: optuna.Study, storage: str) -> str:
    """The closing lines: counts, the best trial, and the commands that come next."""
    import shlex

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
    r = Record.of(best)
    nan = float("nan")
    rerun = ["python", "-m", "search.rerun", "--study", study.study_name, "--storage", storage]
    lines += [
        f"best trial {best.number}: val_loss={best.value:.4f} "
        f"val_acc={r.val_accuracy if r.val_accuracy is not None else nan:.4f} "
        f"best_epoch={r.best_epoch} "
        f"gap_acc={r.gap_accuracy if r.gap_accuracy is not None else nan:+.4f}",
        "params: " + ", ".join(f"{k}={short(v)}" for k, v in best.params.items()),
        f"dashboard: optuna-dashboard {shlex.quote(storage.removeprefix('journal:'))}",
        f"rerun and export: {shlex.join([*rerun, '--trial', str(best.number)])}",
    ]
    return "\n".join(lines)


class _Console(logging.Handler):
    """Records as lines: info to stdout, warnings and errors to stderr, written through tqdm
    so a progress bar stays below them. The streams are looked up when a record comes, so a
    notebook's or a test's captured streams get them."""

    def emit(self, record: logging.LogRecord) -> None:
        from tqdm import tqdm

        try:
            stream = sys.stderr if record.levelno >= logging.WARNING else sys.stdout
            tqdm.write(self.format(record), file=stream)
            stream.flush()
        except Exception:  # a closed stream must not end the run
            self.handleError(record)


class _Events(logging.Handler):
    """Records as JSON lines on stdout, one per record: how a worker talks to its parent."""

    def emit(self, record: logging.LogRecord) -> None:
        event = {
            "event": getattr(record, "event", "log"),
            "level": record.levelname,
            "message": record.getMessage(),
        }
        if hasattr(record, "finished"):
            event["finished"] = record.finished
        try:
            sys.stdout.write(json.dumps(event) + "\n")
            sys.stdout.flush()
        except Exception:
            self.handleError(record)


def _strip_traceback(record: logging.LogRecord) -> bool:
    """Optuna's "Trial N failed with parameters: {...} because of ..." and "failed with value
    nan" say again, in two lines, what the trial line says in one: dropped; any other Optuna
    warning keeps its first line."""
    if record.name.startswith("optuna") and str(record.msg).startswith("Trial "):
        if " failed with " in record.getMessage():
            return False
    record.exc_info = record.exc_text = None
    return True


@contextlib.contextmanager
def console(*, events: bool = False) -> Iterator[None]:
    """For the block: the library's records reach the user (or, with ``events``, the parent
    process), unless the caller configured the ``search`` logger itself; Optuna says only
    warnings, and nothing for a failed trial (its whole traceback was 185 lines for a TensorFlow
    error, and the trial line gives the reason). Everything is as it was afterwards: a notebook
    that runs a study keeps its own logging."""
    logger = logging.getLogger(LOGGER)
    ours = None if logger.handlers else (_Events() if events else _Console())
    level, propagate = logger.level, logger.propagate
    if ours is not None:
        ours.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(ours)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    tensorflow = logging.getLogger("tensorflow")  # tf.get_logger(): trials quiet it
    tf_level = tensorflow.level
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial is ours
    handlers = logging.getLogger("optuna").handlers
    handlers = [h for h in handlers if _strip_traceback not in h.filters]
    for handler in handlers:  # child loggers' records pass here
        handler.addFilter(_strip_traceback)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(_strip_traceback)
        optuna.logging.set_verbosity(verbosity)
        tensorflow.setLevel(tf_level)
        if ours is not None:
            logger.removeHandler(ours)
            logger.setLevel(level)
            logger.propagate = propagate
