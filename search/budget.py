"""How many trials a run still starts: the study's exact total of finished trials over every
worker on the storage, and when failures in a row mean the search itself is broken.

Optuna's ``n_trials`` counts this process's attempts, failed ones included, and
``MaxTrialsCallback`` lets workers that start together overshoot. Here a failed trial does not
count, a trial that finds the total already taken by lower-numbered trials steps aside before it
trains, and, like KerasTuner's ``max_consecutive_failed_trials``, a few failures in a row stop
the run with an error instead of burning the budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial, TrialState

from search import record
from search.record import Failure, Record

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
NOT_NEEDED = "not run: the study's total was reached by other workers' trials"
DIVERGED = "loss became NaN/inf (TerminateOnNaN stopped training)"  # a bad point, not a bug


# failures that say nothing about the search: a diverged point, a trial another worker made moot
NOT_COUNTED = (Failure.NOT_NEEDED, Failure.DIVERGED, Failure.TIMEOUT)
# a diverged trial is a bad point, not a broken search, but a space where every point diverges
# would run without end: this many in a row stop the run as broken
DIVERGED_IN_A_ROW = 10


class NotNeeded(Exception):
    """This trial would go past the study's total."""


@dataclass
class Budget:
    """The ``total`` finished trials a study should reach (None: no limit), shared by workers.
    Also an Optuna callback: it stops this worker once the total is finished or running
    elsewhere, or after ``max_failures`` failed trials in a row."""

    total: int | None
    max_failures: int = 3
    failures: int = 0  # in a row, this worker
    diverged: int = 0  # in a row, this worker
    finished_here: int = 0  # in this run (all its processes: search.fresh)
    failed_here: int = 0
    last_failure: str = ""
    per_process: int | None = None  # trials before the run goes on in a fresh process
    ran_in_process: int = 0

    def finished(self, study: optuna.Study) -> int:
        return len(study.get_trials(deepcopy=False, states=FINISHED))

    def left(self, study: optuna.Study) -> int | None:
        """Trials still to start: the total less the finished and running ones (None: no total)."""
        if self.total is None:
            return None
        running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        return self.total - self.finished(study) - len(running)

    def claim(self, trial: optuna.Trial) -> None:
        """Called as a trial starts: step aside if the finished trials and the running ones
        numbered up to this one already make the total (workers that asked at the same moment)."""
        if self.total is None:
            return
        study = trial.study
        ahead = [
            t
            for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if t.number <= trial.number
        ]
        if self.finished(study) + len(ahead) > self.total:
            record.write(trial, fail_reason=NOT_NEEDED, failure=Failure.NOT_NEEDED)
            raise NotNeeded(NOT_NEEDED)

    @property
    def broken(self) -> bool:
        return self.failures >= self.max_failures or self.diverged >= DIVERGED_IN_A_ROW

    @property
    def process_done(self) -> bool:
        """This process has run its ``per_process`` trials (``search.fresh``)."""
        return self.per_process is not None and self.ran_in_process >= self.per_process

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        r = Record.of(trial)
        self.ran_in_process += 1
        if trial.state in FINISHED:
            self.failures, self.diverged, self.finished_here = 0, 0, self.finished_here + 1
        elif r.failure == Failure.DIVERGED:
            self.diverged += 1
            self.last_failure = f"trial {trial.number}: {r.fail_reason}"
        elif trial.state == TrialState.FAIL and r.failure not in NOT_COUNTED:
            self.failures, self.failed_here = self.failures + 1, self.failed_here + 1
            self.last_failure = f"trial {trial.number}: {r.fail_reason or 'no reason recorded'}"
        left = self.left(study)
        if self.broken or self.process_done or (left is not None and left <= 0):
            study.stop()

    def error(self) -> str | None:
        """Why this run should exit non-zero: the search is broken rather than a trial unlucky."""
        if self.diverged >= DIVERGED_IN_A_ROW:
            return (
                f"{self.diverged} trials in a row diverged (last: {self.last_failure}); every "
                "point of the space may be unstable: lower its learning rates or L2, then run "
                "the same command to resume"
            )
        if self.broken:
            return (
                f"{self.failures} trials in a row failed (last: {self.last_failure}); the search "
                "itself looks broken: fix the cause and run the same command to resume"
            )
        if self.failed_here and not self.finished_here:
            return (
                f"all {self.failed_here} trials of this run failed (last: {self.last_failure}); "
                "fix the cause and run the same command to resume"
            )
        return None
