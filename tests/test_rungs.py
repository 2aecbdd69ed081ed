"""Rungs counted in reviews trained on (``search.rungs``): where a trial reports, on what, and
how the pruner compares trials there."""

from __future__ import annotations

import itertools

import numpy as np
import optuna
import pytest

from search import rungs, strategy
from search.data import Split
from search.objective import make_objective
from search.record import Record
from search.study_attrs import StudyAttrs
from tests.conftest import load


def by_batch(s):
    """Two trials that differ in batch size only: 8 batches an epoch, or 2."""
    return {
        "embedding_dim": 8,
        "lstm_units": [4],
        "learning_rate": 0.05,
        "batch_size": s.categorical("batch_size", [8, 32]),
    }


def test_reports_arrive_at_equal_counts_of_reviews_whatever_the_batch_size(tiny_data):
    study = optuna.create_study(pruner=optuna.pruners.NopPruner())
    for size in (8, 32):
        study.enqueue_trial({"batch_size": size})
    study.optimize(make_objective(by_batch, tiny_data, epochs=2, seed=0), n_trials=2)
    quarter = rungs.quarter(len(tiny_data.train.y))
    steps = [k * quarter for k in range(1, 2 * rungs.PER_EPOCH + 1)]
    for trial in study.trials:
        assert trial.state.name == "COMPLETE"
        assert list(trial.intermediate_values) == steps, trial.params
        values = [trial.intermediate_values[s] for s in steps]
        assert values == list(itertools.accumulate(values, min))  # the best so far
        # at each epoch's end: the full validation loss, when it is the best so far
        for epoch, loss in enumerate(Record.of(trial).curves["val_loss"], start=1):
            before = values[epoch * rungs.PER_EPOCH - 2]
            assert values[epoch * rungs.PER_EPOCH - 1] == pytest.approx(min(before, loss), abs=1e-5)


def test_the_sub_epoch_loss_is_kerass_validation_loss_with_its_l2_penalty(tiny_data):
    """On the same rows, ``subset_loss`` (predict + numpy) equals ``model.evaluate``'s loss,
    L2 penalty included: the reports of one trial are on one scale."""
    from search.trial import model_for

    model = model_for({"embedding_dim": 8, "lstm_units": [4], "l2": 0.01}, tiny_data)
    val = tiny_data.val
    keras_loss = model.evaluate(val.x, val.y, verbose=0)[0]
    ours = rungs.subset_loss(model, Split(val.x, val.y), tiny_data.settings.padding)
    assert sum(float(x) for x in model.losses) > 0.001
    assert ours == pytest.approx(keras_loss, rel=1e-4)


def test_the_subset_is_stratified_fixed_and_smaller_than_the_split():
    y = np.array([1.0] * 3000 + [0.0] * 1000)
    rows = rungs.subset_indices(y, size=400, seed=0)
    assert len(rows) == 400 and len(set(rows)) == 400 and list(rows) == sorted(rows)
    assert y[rows].mean() == pytest.approx(0.75)
    assert list(rows) == list(rungs.subset_indices(y, size=400, seed=0))
    assert list(rungs.subset_indices(y[:10], size=400)) == list(range(10))


def test_successive_halving_compares_trials_at_half_an_epoch_of_reviews():
    """The first rung is half an epoch of reviews: a worse trial goes on after a quarter,
    and is pruned at the half, against the trial that reached it before."""
    epoch = rungs.epoch_step(rungs.REVIEWS, 20000)
    study = optuna.create_study(pruner=strategy.make_pruner("successive-halving", 10, epoch))
    good, bad = study.ask(), study.ask()
    for trial, loss in ((good, 0.40), (bad, 0.60)):
        trial.report(loss, epoch // 4)
        assert not trial.should_prune()
    good.report(0.35, epoch // 2)
    assert not good.should_prune()
    bad.report(0.55, epoch // 2)
    assert bad.should_prune()
    # a study whose steps are epochs keeps its rungs at epochs 1, 3, 9
    old = optuna.create_study(pruner=strategy.make_pruner("successive-halving", 10, 1))
    first, second = old.ask(), old.ask()
    first.report(0.4, 1)
    second.report(0.6, 1)
    assert not first.should_prune() and second.should_prune()


def test_a_new_study_counts_reviews_and_an_old_one_keeps_epochs(run):
    """A study made before rungs in reviews (no ``steps`` attr) goes on reporting once an
    epoch: its stored rungs are in epochs, and mixing units would compare unequal training."""
    assert run("--trials", "1", "--seed", "0", "--no-baseline") == 0
    new = load(run.storage)
    assert StudyAttrs.of(new).steps == rungs.REVIEWS
    (trial,) = new.trials
    assert len(trial.intermediate_values) == rungs.PER_EPOCH * trial.user_attrs["epochs_run"]

    old = optuna.create_study(study_name="old", storage=run.storage, direction="minimize")
    for key, value in new.user_attrs.items():
        if key != "steps":
            old.set_user_attr(key, value)
    assert run("--trials", "1", "--seed", "0", "--no-baseline", study="old") == 0
    (trial,) = load(run.storage, "old").trials
    assert StudyAttrs.of(load(run.storage, "old")).steps == rungs.EPOCHS
    assert list(trial.intermediate_values) == list(range(1, trial.user_attrs["epochs_run"] + 1))
