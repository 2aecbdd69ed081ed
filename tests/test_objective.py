from __future__ import annotations

import optuna
import pytest
from optuna_dashboard import get_note

from search import rungs
from search.objective import make_objective
from search.record import Failure, Record
from tests import tiny_space


def test_completed_trial_records_everything_analysis_needs(tiny_data):
    study = optuna.create_study()
    study.optimize(make_objective(tiny_space.space, tiny_data, epochs=2, seed=0), n_trials=1)
    trial = study.trials[0]
    a = trial.user_attrs
    curves = Record.of(trial).curves  # stored one short attr per metric: curve_val_loss, ...
    assert trial.state == optuna.trial.TrialState.COMPLETE
    assert trial.value == pytest.approx(min(a["curve_val_loss"]), abs=1e-5)
    assert set(curves) >= {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}
    # reports several times an epoch (search.rungs), its full val_loss at every epoch's end
    assert len(trial.intermediate_values) == rungs.PER_EPOCH * a["epochs_run"]
    assert a["epochs_run"] == len(curves["val_loss"])
    # optuna-dashboard's note of the trial: its curves as a table, the best epoch in bold
    note = get_note(optuna.Trial(study, trial._trial_id))
    assert note.startswith(f"**Learning curves** (best epoch {a['best_epoch']} of 2)")
    assert note.count("\n| ") == 1 + 2 and f"| **{a['best_epoch']}** |" in note
    for key in (
        "best_epoch",
        "val_accuracy",
        "train_accuracy",
        "gap_accuracy",
        "gap_loss",
        "param_count",
        "fit_seconds",
        "samples_per_second",
        "seconds_per_review",
        "reviews_trained",
        "seed",
    ):
        assert key in a
    assert a["seed"] == 0  # and what build_model got, defaults filled in, is in the note:
    assert f"lstm_units=[{trial.params['units']}], bidirectional=False" in note


def test_missing_val_loss_is_an_error_not_a_warning():
    """Unlike optuna_integration's KerasPruningCallback, which only warns: a trial that reports
    nothing could never be pruned and would waste its budget."""
    import keras
    import numpy as np

    from search.fitting import _curves_callback

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(KeyError, match="fit monitors 'val_loss'.*validation data is missing"):
        model.fit(np.zeros((8, 3)), np.zeros(8), verbose=0, callbacks=[_curves_callback({})])


def test_a_pruned_trial_keeps_its_curves(tiny_data):
    epoch = rungs.epoch_step(rungs.REVIEWS, len(tiny_data.train.y))

    class PruneAtTwo(optuna.pruners.BasePruner):
        def prune(self, study, trial):
            return max(trial.intermediate_values, default=0) >= 2 * epoch

    study = optuna.create_study(pruner=PruneAtTwo())
    study.optimize(make_objective(tiny_space.space, tiny_data, epochs=5, seed=0), n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert len(Record.of(trial).curves["val_loss"]) == 2 == trial.user_attrs["epochs_run"]
    quarter = rungs.quarter(len(tiny_data.train.y))
    assert list(trial.intermediate_values) == [k * quarter for k in range(1, 9)]


def test_a_trial_is_pruned_within_its_first_epoch(tiny_data):
    """A rung inside the first epoch: a trial is judged after a quarter of its reviews, before
    its first full validation (so it has no epoch curves yet)."""

    class PruneAtOnce(optuna.pruners.BasePruner):
        def prune(self, study, trial):
            return True

    study = optuna.create_study(pruner=PruneAtOnce())
    study.optimize(make_objective(tiny_space.space, tiny_data, epochs=3, seed=0), n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert list(trial.intermediate_values) == [rungs.quarter(len(tiny_data.train.y))]
    assert Record.of(trial).curves.get("val_loss", []) == []


def test_a_pruned_trial_runs_again_unpruned_as_a_fixed_trial(tiny_data):
    """Optuna's way to re-evaluate params, ``objective(FixedTrial(params, number))``: the same
    seed, so the same first epochs, and no pruning (bench/study.py's would-be epochs)."""

    epoch = rungs.epoch_step(rungs.REVIEWS, len(tiny_data.train.y))

    class PruneAtOne(optuna.pruners.BasePruner):
        def prune(self, study, trial):
            return max(trial.intermediate_values, default=0) >= epoch

    objective = make_objective(tiny_space.space, tiny_data, epochs=3, seed=5)
    study = optuna.create_study(pruner=PruneAtOne())
    study.optimize(objective, n_trials=2)
    pruned = study.trials[1]
    assert pruned.state == optuna.trial.TrialState.PRUNED
    fixed = optuna.trial.FixedTrial(pruned.params, number=pruned.number)
    value = objective(fixed)
    again, before = Record.of(fixed), Record.of(pruned)
    assert again.seed == before.seed == 6
    assert before.epochs() == 1 and again.epochs() > 1
    assert value == pytest.approx(min(again.curves["val_loss"]), abs=1e-5)
    assert again.curves["val_loss"][0] == pytest.approx(before.curves["val_loss"][0], abs=1e-3)


def test_nan_loss_fails_the_trial_with_a_reason(tiny_data):
    study = optuna.create_study()
    study.optimize(make_objective(tiny_space.diverging, tiny_data, epochs=3, seed=0), n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.FAIL
    assert "NaN" in trial.user_attrs["fail_reason"]


def test_invalid_params_fail_the_trial_with_a_reason(tiny_data):
    tiny_space.calls = 1  # the next call is the flaky one
    study = optuna.create_study()
    study.optimize(
        make_objective(tiny_space.flaky, tiny_data, epochs=1), n_trials=1, catch=(ValueError,)
    )
    reason = study.trials[0].user_attrs["fail_reason"]
    assert study.trials[0].state == optuna.trial.TrialState.FAIL
    assert reason.startswith("ValueError: Invalid model param lstm_units=[0]")


def test_a_trial_the_deadline_cuts_is_a_timeout_failure_with_what_it_trained(tiny_data):
    """--timeout bounds the wall time: past the deadline, a trial stops after its current batch
    (Keras still validates that epoch). It is partial, so it is FAIL with the timeout as its
    kind (out of best_trial and the sampler), and its speed counts the batches it trained."""
    import time

    from search.budget import NOT_COUNTED

    study = optuna.create_study()
    objective = make_objective(
        tiny_space.space, tiny_data, epochs=5, seed=0, deadline=time.monotonic() - 1
    )
    study.optimize(objective, n_trials=1)
    trial = study.trials[0]
    r = Record.of(trial)
    assert trial.state == optuna.trial.TrialState.FAIL
    assert r.failure == Failure.TIMEOUT and Failure.TIMEOUT in NOT_COUNTED
    assert r.stopped_by == "timeout" and r.epochs_run == 1
    assert r.fail_reason.startswith("cut by the study's --timeout after 1 of up to 5 epochs")
    batch = trial.params.get("batch_size", 32)
    assert r.reviews_trained == batch  # one batch, not the epoch's len(train)
    assert r.reviews_trained < len(tiny_data.train.y)
    assert r.samples_per_second == pytest.approx(batch / r.fit_seconds, rel=0.02)


def test_a_resumed_study_runs_a_cut_trial_again_once(tiny_data):
    from search.study import requeue_cut

    study = optuna.create_study()
    cut = make_objective(tiny_space.space, tiny_data, epochs=3, seed=0, deadline=0.0)
    study.optimize(cut, n_trials=1)
    assert requeue_cut(study) == [0] and requeue_cut(study) == []  # once, however often
    study.optimize(make_objective(tiny_space.space, tiny_data, epochs=1, seed=0), n_trials=1)
    again = study.trials[1]
    assert again.params == study.trials[0].params and Record.of(again).retry_of == 0
    assert again.state == optuna.trial.TrialState.COMPLETE and study.best_trial.number == 1


def test_the_deadline_stops_within_the_epoch():
    import time

    import keras
    import numpy as np

    from search.trial import deadline_callback

    batches = []
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    stopped = []
    model.fit(
        np.zeros((40, 3)),
        np.zeros(40),
        batch_size=10,
        epochs=3,
        verbose=0,
        callbacks=[
            deadline_callback(time.monotonic() - 1, lambda: stopped.append(True)),
            keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: batches.append(b)),
        ],
    )
    assert batches == [0]  # 1 of the 4 batches of the first of 3 epochs
    assert stopped


def test_a_trial_is_never_pruned_at_its_last_epoch(tiny_data):
    """A pruned trial keeps nothing to rerun; at the last epoch it has trained all it would,
    so it completes with what it reached, whatever the pruner says."""
    import optuna

    from search.objective import make_objective
    from tests import tiny_space

    class Always(optuna.pruners.BasePruner):
        def prune(self, study, trial):
            return True

    for epochs, state in ((1, "COMPLETE"), (2, "PRUNED")):
        study = optuna.create_study(pruner=Always())
        objective = make_objective(tiny_space.space, tiny_data, epochs=epochs, seed=0)
        study.optimize(objective, n_trials=1)
        (trial,) = study.trials
        assert trial.state.name == state, epochs
        # pruned at its first report, or (one epoch: never pruned) done with all of them
        assert len(trial.intermediate_values) == (rungs.PER_EPOCH if epochs == 1 else 1)


def test_the_pruner_compares_the_best_val_loss_so_far():
    """A worse epoch after a good one reports the good one: the trial's value is its best
    epoch, and a rung should not prune it for one noisy epoch."""
    from search.objective import pruning_callback

    study = optuna.create_study(pruner=optuna.pruners.NopPruner())
    trial = study.ask()
    callback = pruning_callback(trial, epochs=5)
    for epoch, loss in enumerate([0.5, 0.7, 0.4, 0.45]):
        callback.on_epoch_end(epoch, {"val_loss": loss})
    stored = study.trials[0].intermediate_values
    assert stored == {1: 0.5, 2: 0.5, 3: 0.4, 4: 0.4}


def test_the_guard_prunes_a_trial_whose_first_epoch_runs_past_its_bound(tiny_data, monkeypatch):
    """Without --timeout the bound is 4x the median first epoch of the finished trials, once
    three have one: a study whose trials took a millisecond prunes one that takes longer, and
    says why; unguarded (--pruner none), the same trial completes."""
    from search import guard

    monkeypatch.setattr(guard, "FLOOR", 0.0)  # the floor (60 s) is tested below

    def study_of_fast_trials() -> optuna.Study:
        study = optuna.create_study()
        for value in (0.5, 0.6, 0.7):
            study.add_trial(
                optuna.trial.create_trial(value=value, user_attrs={"first_epoch_seconds": 0.001})
            )
        return study

    study = study_of_fast_trials()
    assert guard.limit(study, None) == pytest.approx(0.004)
    study.optimize(
        make_objective(tiny_space.space, tiny_data, epochs=3, seed=0, guarded=True), n_trials=1
    )
    trial = study.trials[-1]
    r = Record.of(trial)
    assert trial.state == optuna.trial.TrialState.PRUNED and r.stopped_by == "guard"
    assert r.fail_reason.startswith("pruned by the wall-clock guard after 0s of its first epoch")
    assert r.epochs_run == 1 and r.reviews_trained < len(tiny_data.train.y)

    study = study_of_fast_trials()
    study.optimize(make_objective(tiny_space.space, tiny_data, epochs=2, seed=0), n_trials=1)
    assert study.trials[-1].state == optuna.trial.TrialState.COMPLETE


def test_with_a_timeout_the_guard_bounds_a_share_of_the_time_left():
    import time

    from search import guard

    assert guard.limit(optuna.create_study(), time.monotonic() + 400) == pytest.approx(100, abs=1)
    assert guard.limit(optuna.create_study(), None) is None  # no trials yet: no bound


def test_without_a_timeout_the_guard_waits_at_least_its_floor():
    """Tiny first epochs (2 s, one of them 15 s on a loaded machine) give no bound under a
    minute: a 10-s first epoch there is load, not the space's cost tail."""
    from search import guard

    study = optuna.create_study()
    for seconds in (2.0, 2.0, 15.0):
        study.add_trial(
            optuna.trial.create_trial(value=0.5, user_attrs={"first_epoch_seconds": seconds})
        )
    assert guard.limit(study, None) == guard.FLOOR == 60.0
    for seconds in (30.0, 40.0):  # median 15 s: 4x is the floor itself
        study.add_trial(
            optuna.trial.create_trial(value=0.5, user_attrs={"first_epoch_seconds": seconds})
        )
    assert guard.limit(study, None) == pytest.approx(60.0)
    study.add_trial(optuna.trial.create_trial(value=0.5, user_attrs={"first_epoch_seconds": 50}))
    assert guard.limit(study, None) == pytest.approx(4 * 22.5)


def test_a_trial_that_ends_its_last_epoch_before_the_deadline_is_not_cut():
    """A last epoch that ends before the deadline leaves nothing to cut, even when another epoch
    of its length would overrun: the trial is complete, not a timeout failure."""
    import time

    import keras
    import numpy as np

    from search.trial import deadline_callback

    stopped = []
    slow = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: time.sleep(0.5))
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(np.zeros((40, 3)), np.zeros(40), verbose=0)  # traced now, not within the timing
    fit = lambda epochs, deadline: model.fit(  # noqa: E731
        np.zeros((40, 3)),
        np.zeros(40),
        epochs=epochs,
        verbose=0,
        callbacks=[slow, deadline_callback(deadline, lambda: stopped.append(True))],
    )
    # epochs take ~0.5 s; the deadline 0.8 s away: epoch 1 ends before it, a second would not
    history = fit(1, time.monotonic() + 0.8)
    assert len(history.history["loss"]) == 1 and not stopped
    history = fit(3, time.monotonic() + 0.8)  # the same first epoch, with epochs to come
    assert len(history.history["loss"]) == 1 and stopped


def test_no_trial_starts_in_less_time_than_the_fastest_first_epoch(tiny_data, caplog):
    """A trial started with seconds left could only be cut (or pruned by the guard) before its
    first result: the loop does not start it, and says why."""
    import logging
    import time

    from search.budget import Budget
    from search.loop import run_until_done

    study = optuna.create_study()
    study.add_trial(
        optuna.trial.create_trial(
            value=0.5, user_attrs={"first_epoch_seconds": 3.0}, params={}, distributions={}
        )
    )
    objective = make_objective(tiny_space.space, tiny_data, epochs=1, seed=0)
    with caplog.at_level(logging.INFO, logger="search"):
        run_until_done(study, objective, Budget(None), time.monotonic() + 10, heartbeat=60)
    assert len(study.trials) == 1
    assert (
        "no trial started in the 10s of --timeout left: a first epoch may take 25% of it, "
        "and the fastest so far took 3s" in caplog.text  # 2.5 s of 10 s: less than 3 s
    )


def test_the_guard_stands_aside_once_a_trial_passed_a_rung():
    """The guard bounds the time to a trial's first rung; a trial the pruner let through it is
    the pruner's to judge, however long its first epoch."""
    import time

    import keras

    from search import guard

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    for passed, cut in (([], True), ([20000], False)):
        stopped = []
        callback = guard.callback(0.0, stopped, passed)
        callback.set_model(model)
        model.stop_training = False
        callback.on_train_begin()
        time.sleep(0.01)
        callback.on_train_batch_end(0)
        assert bool(stopped) is cut and model.stop_training is cut


def test_a_rung_passed_unpruned_is_told_to_the_guard():
    from search.objective import pruning_callback

    class PruneAtThree(optuna.pruners.BasePruner):
        def prune(self, study, trial):
            return trial.last_step == 3

    study = optuna.create_study(pruner=PruneAtThree())
    passed = []
    callback = pruning_callback(study.ask(), epochs=5, passed=passed)
    callback.on_epoch_end(0, {"val_loss": 0.5})
    callback.on_epoch_end(1, {"val_loss": 0.4})
    assert passed == [1, 2]  # epoch steps: the first rung is epoch 1
    with pytest.raises(optuna.TrialPruned):
        callback.on_epoch_end(2, {"val_loss": 0.45})
    assert passed == [1, 2]
