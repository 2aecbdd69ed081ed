"""The run loop: ask Optuna for trials until the study has its total, the deadline passes, a
signal comes, or the search is broken. It only loops; what a trial does is the objective's
(``search.objective``), how many to run is the budget's (``search.budget``)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Sequence

import optuna
from optuna.trial import FrozenTrial

from search import guard, interrupt
from search.budget import Budget
from search.display import show_trial
from search.storage import fail_stale
from search.trial import release_memory

log = logging.getLogger(__name__)


def run_until_done(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    budget: Budget,
    deadline: float | None,
    heartbeat: int,
    callbacks: Sequence[Callable[[optuna.Study, FrozenTrial], None]] = (),
    queue_next: Callable[[optuna.Study], object] | None = None,
) -> None:
    """Run trials until the study has its total of finished trials, the deadline passes, or the
    search is broken. When the rest of the total is running in other workers, wait for them:
    one may fail, or die and be queued again (its heartbeat stops), and then this worker runs
    it, so the total is reached exactly and no dead worker's trial is lost. ``callbacks`` run
    after each trial, after the loop's own. ``queue_next(study)`` queues a planned trial
    (``search.study.queue_next_preset``) whenever another trial is about to start here, and only
    then, so a run that ends leaves nothing WAITING."""

    said = []

    def out_of_time(study: optuna.Study) -> bool:
        """The deadline passed, or too little is left for any trial's first epoch."""
        if deadline is None:
            return False
        why = guard.no_time_for_an_epoch(study, deadline)
        if why and not said:
            log.info(why)
            said.append(why)
        return time.monotonic() >= deadline or why is not None

    def going_on(study: optuna.Study, trial: FrozenTrial) -> None:
        left = budget.left(study)
        ended = out_of_time(study)
        if ended:
            study.stop()
        if queue_next and not (budget.broken or budget.process_done or ended):
            if interrupt.requested() is None and (left is None or left > 0):
                queue_next(study)

    waiting = False
    while not budget.broken and not interrupt.requested():
        timeout = None if deadline is None else deadline - time.monotonic()
        if out_of_time(study):
            return
        left = budget.left(study)
        if left is not None and left <= 0:
            if budget.finished(study) >= budget.total:
                return
            if not waiting:
                log.info(
                    f"waiting for {-left + budget.total - budget.finished(study)} trial(s) "
                    "running in other workers, to run again any that fail",
                    extra={"event": "waiting"},
                )
                waiting = True
            time.sleep(min(5.0, heartbeat))
            fail_stale(study)
            continue
        waiting = False
        if budget.process_done:  # the rest in a fresh process (search.fresh)
            return
        if queue_next:
            queue_next(study)
        study.optimize(
            objective,
            n_trials=left,  # failed ones count here but not in the total: the loop runs more
            timeout=timeout,
            catch=(Exception,),
            callbacks=[show_trial, _stop_on_signal, budget, going_on, *callbacks, release_memory],
            show_progress_bar=sys.stderr.isatty(),  # no bar in log files
        )
        if budget.total is None:
            return


def _stop_on_signal(study: optuna.Study, trial: FrozenTrial) -> None:
    if interrupt.requested() is not None:
        study.stop()
