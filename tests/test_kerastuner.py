"""KerasTuner as the second engine: the same space and training, trials in the Optuna study."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna_dashboard import get_note

from search.kerastuner import RecordingSuggester
from search.record import Record
from spaces import KerasTunerSuggester
from tests.conftest import TINY, load

Complete = optuna.trial.TrialState.COMPLETE


def conditional(s):
    params = {
        "units": s.int("units", 16, 256, log=True),
        "rate": s.float("rate", 1e-4, 1e-1, log=True),
    }
    params["dropout"] = s.float("dropout", 0.0, 0.5, step=0.1)
    if s.categorical("conv", [False, True]):
        params["filters"] = s.int("filters", 32, 128, step=32)
    params["optimizer"] = s.categorical("optimizer", ["adam", "rmsprop"])
    return params


def test_the_suggester_maps_each_kind_and_only_the_branch_taken():
    import keras_tuner

    for conv in (False, True):
        hp = keras_tuner.HyperParameters()
        hp.values["conv"] = conv  # the branch KerasTuner's oracle would have chosen
        s = RecordingSuggester(KerasTunerSuggester(hp))
        params = conditional(s)
        assert set(s.params) == {"units", "rate", "dropout", "conv", "optimizer"} | (
            {"filters"} if conv else set()
        )
        assert ("filters" in params) is conv
        for name, value in s.params.items():
            assert value == hp.values[name]  # what KerasTuner holds is what Optuna will store
            assert s.distributions[name]._contains(s.distributions[name].to_internal_repr(value))
        d = s.distributions
        assert d["units"] == IntDistribution(16, 256, log=True)
        assert d["rate"] == FloatDistribution(1e-4, 1e-1, log=True)
        assert d["dropout"] == FloatDistribution(0.0, 0.5, step=0.1)
        assert d["conv"] == CategoricalDistribution([False, True])
        assert d["optimizer"] == CategoricalDistribution(["adam", "rmsprop"])
        assert isinstance(s.params["conv"], bool)
        space = hp.space
        kinds = {h.name: type(h).__name__ for h in space}
        assert kinds["units"] == "Int" and kinds["rate"] == "Float" and kinds["conv"] == "Boolean"
        assert [h.sampling for h in space if h.name == "units"] == ["log"]


@pytest.mark.parametrize("tuner", ["bayesian"])  # random: the other KerasTuner tests run it
def test_random_and_bayesian_trials_land_in_the_optuna_study(run, tuner, capsys):
    assert run("--engine", "kerastuner", "--tuner", tuner, "--trials", "2", "--seed", "0") == 0
    study = load(run.storage)
    assert [t.state for t in study.trials] == [Complete, Complete]
    assert study.user_attrs["settings"]["engine"] == "kerastuner"
    assert study.user_attrs["settings"]["sampler"] == tuner
    for number, t in enumerate(study.trials):
        r = Record.of(t)
        assert r.engine == "kerastuner" and r.seed == number  # seed + trial number
        assert t.value == pytest.approx(min(r.curves["val_loss"]), abs=1e-5)
        assert r.val_loss == t.value
        assert list(t.intermediate_values.values()) == pytest.approx(r.curves["val_loss"], abs=1e-5)
        # its dashboard note: curves and what build_model got
        note = get_note(optuna.Trial(study, t._trial_id))
        assert note.startswith("**Learning curves**")
        assert f"lstm_units=[{t.params['units']}]" in note
        assert set(t.params) == {"units", "learning_rate"}
    assert "trial   1 COMPLETE" in capsys.readouterr().out


def test_hyperband_continues_trials_and_rerun_and_export_work(run, imdb_dir, tmp_path):
    """--epochs 3: Hyperband's first bracket trains 3 trials for 1 epoch, then continues the best
    from its checkpoint to epoch 3; the continued trial records the 2 epochs it trained."""
    args = ("--engine", "kerastuner", "--epochs", "3", "--trials", "4", "--seed", "0")
    assert run(*args) == 0
    trials = load(run.storage).trials
    assert len(trials) == 4 and all(t.state == Complete for t in trials)
    continued = trials[3]
    tuned = continued.user_attrs["kerastuner"]
    assert (tuned["initial_epoch"], tuned["epochs"]) == (1, 3)
    assert list(continued.intermediate_values) == [2, 3]
    assert Record.of(continued).epochs_run == 2 and Record.of(continued).best_epoch in (2, 3)
    assert [Record.of(t).epochs_run for t in trials[:3]] == [1, 1, 1]
    assert continued.params == trials[int(tuned["trial_id"])].params
    assert (tmp_path / "t-kerastuner").is_dir()  # KerasTuner's state, beside the study file
    # resuming to the same total runs nothing more
    assert run(*args) == 0
    assert len(load(run.storage).trials) == 4

    from search import rerun

    out = tmp_path / "models"
    code = rerun.main(
        ["--study", "t", "--storage", run.storage, "--data", str(imdb_dir), "--out", str(out)]
    )
    assert code == 0
    assert list(out.glob("t-trial*.keras"))
    assert "rerun:" in " ".join(load(run.storage).user_attrs)


def test_hyperband_fills_the_total_and_a_stop_short_of_it_is_explained(run, capsys):
    """At --epochs 2 one Hyperband iteration holds 2 trials: its brackets run again up to the
    asked total. An oracle out of new values says why the study stopped short."""
    assert run("--engine", "kerastuner", "--epochs", "2", "--trials", "3", "--seed", "0") == 0
    assert len(load(run.storage).trials) == 3
    args = ("--engine", "kerastuner", "--tuner", "random", "--trials", "4", "--epochs", "1")
    assert run(*args, space=f"{TINY}:two", study="two") == 0
    assert len(load(run.storage, "two").trials) == 2
    assert (
        "KerasTuner's random oracle stopped after 2 of 4 trials: it found no new values"
        in capsys.readouterr().out
    )


def test_a_failed_kerastuner_trial_is_one_line(run, capsys):
    args = ("--engine", "kerastuner", "--tuner", "random", "--trials", "2", "--epochs", "1")
    assert run(*args, space=f"{TINY}:flaky") == 0
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    assert "FAIL     val_loss=- val_acc=- epochs=0" in out.out
    assert "(ValueError: Invalid model param lstm_units=[0]" in out.out
    study = load(run.storage)
    (failed,) = [t for t in study.trials if t.state.name == "FAIL"]
    note = get_note(optuna.Trial(study, failed._trial_id))
    assert note.startswith("**Failed**: ValueError: Invalid model param lstm_units=[0]")


def test_kerastuner_refuses_what_it_cannot_do(run, capsys):
    """Refused before any data is read (a resumed KerasTuner study lends --engine, so the
    check follows the stored settings), leaving no study file behind."""
    assert run("--engine", "kerastuner", "--workers", "2") == 2
    assert "KerasTuner's parallel search needs its own chief" in capsys.readouterr().err
    assert run("--tuner", "random") == 2
    assert "--tuner random: only with the kerastuner engine" in capsys.readouterr().err
    assert not Path(run.storage.removeprefix("sqlite:///")).exists()


def test_compare_and_report_on_studies_the_engines_really_produced(run, tmp_path, capsys, drawn):
    """Real records, not hand-made ones: renaming a record field breaks this test."""
    import pandas as pd

    from analysis import compare, report
    from analysis.trials import trials_frame
    from search.record import local_seconds

    assert run("--trials", "2", "--seed", "0", study="opt") == 0
    assert run("--engine", "kerastuner", "--tuner", "random", "--trials", "2", study="kt") == 0
    out = tmp_path / "cmp"
    assert (
        compare.main(["--studies", "opt", "kt", "--storage", run.storage, "--out", str(out)]) == 0
    )
    frame = pd.read_csv(out / "compare.csv")
    assert list(frame["study"]) == ["opt", "kt"] and list(frame["engine"]) == [
        "optuna",
        "kerastuner",
    ]
    for name, row in zip(("opt", "kt"), frame.itertuples(), strict=True):
        trials = load(run.storage, name).trials
        assert row.trials == 2
        assert row.epochs == sum(len(Record.of(t).curves.get("val_loss", [])) for t in trials)
        # every epoch of every trial counts (the default rule), at its recorded end
        best = max(max(Record.of(t).curves.get("val_accuracy", [0])) for t in trials)
        assert row.best_val_acc == pytest.approx(best)
        for t in trials:
            r = Record.of(t)
            assert len(r.epoch_ends) == r.epochs()
            began, ended = local_seconds(t.datetime_start), local_seconds(t.datetime_complete)
            assert all(began < e <= ended + 0.01 for e in r.epoch_ends) and r.epoch_ends == sorted(
                r.epoch_ends
            )
    by_time, by_epochs = drawn["compare.png"].axes
    lines = zip(("opt", "kt"), by_time.get_lines(), by_epochs.get_lines(), strict=True)
    for name, seconds, epochs in lines:
        shown = compare.progress(load(run.storage, name)).dropna(subset=["best_val_accuracy"])
        assert seconds.get_label() == name and list(seconds.get_ydata()) == list(
            shown["best_val_accuracy"]
        )
        assert list(seconds.get_xdata()) == list(shown["seconds"] / 60)
        assert list(epochs.get_xdata()) == list(shown["epochs"])
    for name in ("opt", "kt"):
        table = trials_frame(load(run.storage, name))
        columns = ["val_acc", "train_acc", "gap_acc", "best_epoch", "epochs", "seconds"]
        trained = table[table["epochs"] > 0]  # a trial pruned at half an epoch has no epoch
        assert len(trained) and trained[columns + ["param_count"]].notna().all().all()
        folder = tmp_path / f"report-{name}"
        assert report.main(["--study", name, "--storage", run.storage, "--out", str(folder)]) == 0
        assert (folder / "index.html").exists()
    capsys.readouterr()
    assert compare.main(["--studies", "opt", "nope", "--storage", run.storage]) == 2
    assert "No study 'nope'" in capsys.readouterr().err
