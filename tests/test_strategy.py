"""Samplers and pruners (search/strategy.py): each name builds what it says, and seeds hold."""

from __future__ import annotations

import sys

import optuna
import pytest

from search import strategy
from tests.conftest import TINY, load

Pruned = optuna.trial.TrialState.PRUNED


@pytest.mark.parametrize("sampler", ["random", "qmc", "cmaes"])
def test_other_samplers(run, sampler):
    assert run("--trials", "2", "--epochs", "1", "--sampler", sampler, "--seed", "0") == 0
    assert load(run.storage).user_attrs["settings"]["sampler"] == sampler


@pytest.mark.parametrize(
    "name, kind",
    [
        ("tpe", optuna.samplers.TPESampler),
        ("random", optuna.samplers.RandomSampler),
        ("qmc", optuna.samplers.QMCSampler),
        ("cmaes", optuna.samplers.CmaEsSampler),
    ],
)
def test_each_sampler_name_builds_that_sampler(name, kind):
    assert type(strategy.make_sampler(name, 0)) is kind


@pytest.mark.parametrize(
    "name, inner",
    [
        ("successive-halving", optuna.pruners.SuccessiveHalvingPruner),
        ("hyperband", optuna.pruners.HyperbandPruner),
        ("median", optuna.pruners.MedianPruner),
    ],
)
def test_each_pruner_name_builds_that_pruner_behind_the_chance_level_check(name, inner):
    pruner = strategy.make_pruner(name, 9)
    assert isinstance(pruner, strategy.ChanceLevelPruner) and type(pruner.pruner) is inner


def test_the_hyperband_pruner_runs_a_study(run):
    assert run("--trials", "3", "--pruner", "hyperband", "--seed", "0", "--no-baseline") == 0
    assert load(run.storage).user_attrs["settings"]["pruner"] == "hyperband"


def test_unknown_sampler_and_pruner_names():
    with pytest.raises(ValueError, match="Unknown sampler 'x'"):
        strategy.make_sampler("x", None)
    with pytest.raises(ValueError, match="Unknown pruner 'x'"):
        strategy.make_pruner("x", 3)


def test_chance_level_trials_are_pruned_after_the_warmup():
    study = optuna.create_study(pruner=strategy.ChanceLevelPruner(optuna.pruners.NopPruner()))
    stuck, learning = study.ask(), study.ask()
    curves = {stuck: [0.50, 0.51], learning: [0.55, 0.74]}
    for step in (1, 2):
        for trial, accuracy in curves.items():
            # what the objective's pruning callback stores before it asks should_prune()
            trial.set_user_attr("curves", {"val_accuracy": accuracy[:step]})
            trial.report(2.0, step)  # a val_loss far above ln 2 (L2 penalty) prunes nothing
        assert stuck.should_prune() is (step >= 2)
        assert learning.should_prune() is False
    assert isinstance(strategy.make_pruner("median", 5), strategy.ChanceLevelPruner)
    assert isinstance(strategy.make_pruner("none", 5), optuna.pruners.NopPruner)


def test_the_gp_sampler_models_the_space_after_its_start_up_trials(run):
    """``--sampler gp`` (the ``[gp]`` extra, which the test extras install) runs Optuna's
    GPSampler: its random start-up trials, then trials its Gaussian process proposes."""
    assert type(strategy.make_sampler("gp", 0)) is optuna.samplers.GPSampler
    from spaces import OptunaSuggester
    from tests import tiny_space

    args = ("--trials", "6", "--epochs", "1", "--seed", "0", "--no-baseline")
    # a float among the params: a proposal of the model cannot equal a random draw by chance
    assert run(*args, "--sampler", "gp", study="gp", space=f"{TINY}:continuous") == 0
    gp = load(run.storage, "gp").trials
    assert all(t.state.is_finished() and t.state.name != "FAIL" for t in gp)
    # what the CLI's --sampler random --seed 0 draws from the same space (no training needed)
    drawn = optuna.create_study(sampler=strategy.make_sampler("random", 0))
    for _ in range(6):
        trial = drawn.ask()
        tiny_space.continuous(OptunaSuggester(trial))
        drawn.tell(trial, 0.5)
    random = drawn.trials
    # the same seeded random start-up (5 trials for this space), then the model's own proposals
    assert [t.params for t in gp[:5]] == [t.params for t in random[:5]]
    assert [t.params for t in gp[5:]] != [t.params for t in random[5:]]


def test_the_gp_sampler_without_its_extra_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    with pytest.raises(ValueError, match=r"pip install -e '.\[gp\]'"):
        strategy.make_sampler("gp", 0)


def test_seeded_runs_propose_equal_params(run):
    assert run("--trials", "3", "--seed", "11", study="a") == 0
    assert run("--trials", "3", "--seed", "11", study="b") == 0
    a, b = load(run.storage, "a"), load(run.storage, "b")
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    assert [t.user_attrs["seed"] for t in a.trials] == [11, 12, 13]


def test_a_resumed_seeded_study_does_not_draw_its_first_trials_again(run):
    """A seeded sampler restarts its random stream in every process: a resumed study (and
    each fresh process of --trials-per-process) seeds it with the trials already run."""
    for total in ("2", "4"):
        assert (
            run("--trials", total, "--sampler", "random", "--seed", "0", space=f"{TINY}:continuous")
            == 0
        )
    drawn = [t.params["dropout"] for t in load(run.storage).trials]
    assert len(set(drawn)) == 4, drawn
