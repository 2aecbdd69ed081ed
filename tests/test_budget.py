"""The budget (search/budget.py): an exact total over workers, and failures in a row."""

from __future__ import annotations

import optuna
import pytest

from tests.conftest import TINY, load

Pruned = optuna.trial.TrialState.PRUNED


def test_workers_that_ask_together_do_not_overshoot_the_total():
    from search.budget import Budget, NotNeeded

    study = optuna.create_study()
    study.tell(study.ask(), 0.5)
    first, second, third = study.ask(), study.ask(), study.ask()
    budget = Budget(total=3)
    budget.claim(first)
    budget.claim(second)
    with pytest.raises(NotNeeded):
        budget.claim(third)  # finished 1 + running 0..2 make the total
    study.tell(third, state=optuna.trial.TrialState.FAIL)
    study.tell(first, state=optuna.trial.TrialState.FAIL)
    assert budget.left(study) == 1  # the failed one is run again


def test_a_broken_search_stops_with_an_error_instead_of_failing_every_trial(run, capsys):
    assert run("--trials", "10", space=f"{TINY}:broken") == 1
    assert len(load(run.storage).trials) == 3  # --max-failures default
    err = capsys.readouterr().err
    assert "3 trials in a row failed (last: trial 2: ValueError: Invalid model param" in err
    assert run("--trials", "10", "--max-failures", "1", space=f"{TINY}:broken") == 1
    assert len(load(run.storage).trials) == 4


def test_only_failures_that_say_something_about_the_search_count_in_a_row():
    """A diverged trial (a bad point) and a trial another worker made moot do not count towards
    --max-failures; an error does, and a finished trial resets the count."""
    from search import record
    from search.budget import Budget
    from search.record import Failure

    plan = [Failure.DIVERGED, Failure.NOT_NEEDED, Failure.DIVERGED, Failure.ERROR, None]
    plan += [Failure.ERROR, Failure.ERROR, None]  # the search stops before the last one
    seen = []

    def objective(trial: optuna.Trial) -> float:
        failure = plan[trial.number]
        if failure is None:
            return 0.3
        record.write(trial, fail_reason=f"{failure} happened", failure=failure)
        if failure == Failure.DIVERGED:
            return float("nan")  # Optuna records a NaN value as FAIL
        raise RuntimeError(failure)

    budget = Budget(total=None, max_failures=2)
    study = optuna.create_study()
    study.optimize(
        objective,
        n_trials=len(plan),
        catch=(RuntimeError,),
        callbacks=[budget, lambda s, t: seen.append(budget.failures)],
    )
    assert seen == [0, 0, 0, 1, 0, 1, 2]
    assert budget.broken and "trial 6: error happened" in budget.error()
