"""The CLI (search/optimize.py): a study run end to end, its output and its exit codes."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import optuna
import pytest
from optuna_dashboard import get_note

from search import rungs
from search.optimize import main
from search.record import Record
from tests.conftest import TINY, load

Pruned = optuna.trial.TrialState.PRUNED


def test_cli_runs_a_study_and_prints_the_best_trial(run, capsys):
    """The run says which SQLite file it created, since a relative path depends on the folder."""
    assert run("--trials", "3", "--seed", "1") == 0
    out = capsys.readouterr().out
    study = load(run.storage)
    assert len(study.trials) == 3
    assert f"best trial {study.best_trial.number}: val_loss={study.best_value:.4f}" in out
    assert f"optuna-dashboard {run.storage}" in out and "python -m search.rerun" in out
    assert out.count("trial   ") >= 3  # one log line per trial
    assert f"created {run.storage.removeprefix('sqlite:///')} for study 't'" in out
    assert "trial   0 epoch 1/2 val_loss=" in out and "samples/s" in out  # progress per epoch
    settings = study.user_attrs["settings"]
    assert settings["space"].endswith("tiny_space.py:space") and settings["epochs"] == 2
    assert settings["data"]["maxlen"] == 16 and len(settings["data"]["checksum"]) == 64


def test_quiet_prints_no_epoch_lines(run, capsys):
    # seeded: unseeded, half the runs drew learning rate 1e-6, which the chance-level pruner
    # prunes at epoch 2 (the test then failed on "COMPLETE", once in a full run)
    assert run("--trials", "1", "--quiet", "--seed", "0") == 0
    out = capsys.readouterr().out
    assert "trial   0 COMPLETE" in out and " epoch " not in out


def test_pruning_prunes_and_pruned_trials_keep_their_curves(run):
    assert (
        run("--trials", "8", "--seed", "3", "--pruner", "successive-halving", "--epochs", "3") == 0
    )
    pruned = [t for t in load(run.storage).trials if t.state == Pruned]
    assert pruned, "a successive-halving pruner over 8 trials must prune some"
    for trial in pruned:
        curves = {"val_loss": [], **Record.of(trial).curves}
        values = [trial.intermediate_values[s] for s in sorted(trial.intermediate_values)]
        # several reports an epoch (search.rungs), each the best so far; pruned within an
        # epoch or at its end, the trial keeps the curves of the epochs it finished
        assert len(values) >= 1 and len(values) // rungs.PER_EPOCH == len(curves["val_loss"])
        assert values == list(itertools.accumulate(values, min))
        for epoch, loss in enumerate(curves["val_loss"], start=1):
            end = values[epoch * rungs.PER_EPOCH - 1]
            assert end == pytest.approx(min(values[epoch * rungs.PER_EPOCH - 2], loss), abs=1e-5)


def test_a_failing_trial_does_not_stop_the_study(run, capsys):
    assert run("--trials", "3", space=f"{TINY}:flaky") == 0
    trials = load(run.storage).trials
    # a failed trial does not count towards the total: the run goes on to 3 finished
    assert [t.state.name == "FAIL" for t in trials] == [False, True, False, False]
    assert "lstm_units=[0]" in trials[1].user_attrs["fail_reason"]
    assert "FAIL" in capsys.readouterr().out
    note = get_note(optuna.Trial(load(run.storage), trials[1]._trial_id))
    assert note.startswith("**Failed**: ValueError: Invalid model param lstm_units=[0]")
    assert run("--trials", "3", space=f"{TINY}:flaky") == 0
    assert len(load(run.storage).trials) == 4


def test_bad_inputs_are_clear_errors_and_lose_nothing(run, capsys, tmp_path):
    assert run("--trials", "1") == 0
    assert run("--trials", "2", space="nope") == 2
    assert "Unknown space 'nope'; choose one of ['default', 'seed']" in capsys.readouterr().err
    assert run("--trials", "2", space=f"{tmp_path / 'none.py'}:space") == 2
    assert "not found" in capsys.readouterr().err
    assert run("--trials", "2", "--maxlen", "20") == 2
    err = capsys.readouterr().err
    assert "created with other settings" in err and "--study NAME" in err and "maxlen" in err
    assert run("--trials", "2", "--epochs", "5") == 2
    assert "epochs: study has 2, this run 5" in capsys.readouterr().err
    assert len(load(run.storage).trials) == 1  # nothing stored was touched
    with pytest.raises(SystemExit):
        main(["--study", "", "--trials", "1"])
    assert "--study '': expected a name" in capsys.readouterr().err
    fresh = tmp_path / "fresh.db"
    assert main(["--storage", f"sqlite:///{fresh}", "--data", str(tmp_path / "no")]) == 2
    assert "IMDB data not found" in capsys.readouterr().err
    assert not fresh.exists()  # a failed first command leaves no empty study file
    assert main(["--storage", "nosuchdb://x", "--trials", "1"]) == 2
    assert "Cannot open storage 'nosuchdb://x'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["--trials", "0"])
    assert exit_info.value.code == 2
    assert "--trials 0: expected a positive whole number" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--trials", "1", "--trials-per-process", "-1"])
    assert "--trials-per-process -1: expected 0 (never)" in capsys.readouterr().err


def test_the_timeout_bounds_the_run_and_ends_the_trial_it_would_overrun(run, capsys):
    """No trial starts after --timeout; the one running when it passes ends at its epoch, with
    what it trained kept. Fifty tiny trials take minutes: the timeout must end the run well
    before."""
    start = time.monotonic()
    # the timeout counts the preparation too (a second or two here): 8s leaves a trial or more
    assert run("--trials", "50", "--timeout", "8", "--seed", "0", "--no-baseline") == 0
    took = time.monotonic() - start
    trials = load(run.storage).trials
    assert 1 <= len(trials) < 50 and took < 60, (len(trials), took)
    assert "finished in" in capsys.readouterr().out
    cut = [t for t in trials if Record.of(t).stopped_by == "timeout"]
    assert all(t.state.name == "FAIL" and Record.of(t).failure == "timeout" for t in cut)
    if cut:  # the same command with more time runs the cut params again, first
        assert run("--trials", str(len(trials) + 1), "--seed", "0", "--no-baseline") == 0
        again = load(run.storage).trials[len(trials)]
        assert Record.of(again).retry_of == cut[0].number and again.params == cut[0].params


def test_a_space_where_every_trial_diverges_stops_and_each_note_says_why(run, capsys, monkeypatch):
    """A diverged trial is a bad point, not a failure of the search, and does not count towards
    the total: in a space of nothing else the run ran without end. Some in a row stop it."""
    from search import budget

    monkeypatch.setattr(budget, "DIVERGED_IN_A_ROW", 2)  # 10 by default
    assert run("--trials", "1", "--no-baseline", space=f"{TINY}:diverging") == 1
    trials = load(run.storage).trials
    assert len(trials) == 2 and all(Record.of(t).failure == "diverged" for t in trials)
    assert "2 trials in a row diverged (last: trial 1: loss became NaN" in capsys.readouterr().err
    note = get_note(optuna.Trial(load(run.storage), trials[0]._trial_id))
    assert note.startswith(f"**Failed**: {trials[0].user_attrs['fail_reason']}")
    assert "**Learning curves**" in note and "| 1 |" in note.replace("**", "")


def test_the_run_says_how_far_it_is_and_when_it_will_end(run, capsys, monkeypatch):
    from search import trial

    monkeypatch.setattr(trial, "EVERY", 0.0)  # a line at every batch, not once a minute
    assert run("--trials", "2", "--timeout", "300", "--seed", "0", "--no-baseline") == 0
    out = capsys.readouterr().out
    assert "running up to 2 more in the " in out and "left of --timeout 300s (" in out
    assert "went to preparing)" in out
    assert "trial   0 epoch 1/2 50% (1/2 batches), about " in out  # 64 reviews, batches of 32
    assert "trial   0 epoch 1/2 val_loss=" in out and ", <=" in out  # the most it has left
    assert "run: 1/2 trials in " in out and "about " in out and "to go (done near " in out
    assert "run: 2/2 trials in " in out


def test_a_timeout_spent_preparing_starts_no_trial(run, capsys):
    assert run("--trials", "3", "--timeout", "0.01", "--no-baseline") == 0
    assert "the --timeout of 0.01s was spent preparing: no trial started" in capsys.readouterr().out
    assert load(run.storage).trials == []


def test_the_progress_line_counts_from_the_runs_own_trials():
    from search.display import RunProgress, duration

    assert [duration(s) for s in (45, 725, 7380)] == ["45s", "12m05s", "2h03m"]
    asked = RunProgress(left=10, deadline=None)
    asked.began, asked.done = 1000.0, 4
    assert asked.line(1000.0 + 480).startswith(
        "run: 4/10 trials in 8m00s, 2m00s a trial; about 12m00s to go (done near "
    )
    timed = RunProgress(left=None, deadline=2000.0)
    timed.began, timed.done = 1000.0, 2
    assert timed.line(1000.0 + 300).startswith(
        "run: 2 trials in 5m00s, 2m30s a trial; 11m40s of --timeout left: about 4 more fit; "
        "about 11m40s to go"
    )
    both = RunProgress(left=3, deadline=2000.0)  # the total ends the run first
    both.began, both.done = 1000.0, 2
    assert both.line(1300.0).startswith(
        "run: 2/3 trials in 5m00s, 2m30s a trial; about 2m30s to go (done near "
    )
    both.done = 3
    assert both.line(1300.0) == "run: 3/3 trials in 5m00s, 1m40s a trial"


def test_a_space_that_exits_fails_its_trials_and_the_search_stops_cleanly(run, capsys):
    """sys.exit inside a space is the space failing: FAIL with the reason, no trial left
    RUNNING, and the failures in a row stop the run with exit 1, not the space's 5."""
    assert run("--trials", "5", "--max-failures", "2", space=f"{TINY}:exits") == 1
    trials = load(run.storage).trials
    assert [t.state.name for t in trials] == ["FAIL", "FAIL"]
    assert (
        trials[0]
        .user_attrs["fail_reason"]
        .endswith("the space called sys.exit(5); return params instead")
    )
    assert "2 trials in a row failed" in capsys.readouterr().err


def test_the_printed_rerun_command_is_shell_quoted():
    import shlex

    from search.display import summary

    study = optuna.create_study(study_name="my study")
    study.tell(study.ask({"x": optuna.distributions.FloatDistribution(0, 1)}), 0.4)
    text = summary(study, "sqlite:///studies/my study.db")
    command = next(line for line in text.splitlines() if line.startswith("rerun and export: "))
    argv = shlex.split(command.removeprefix("rerun and export: "))
    assert argv[argv.index("--study") + 1] == "my study"
    assert argv[argv.index("--storage") + 1] == "sqlite:///studies/my study.db"


def test_a_shorter_tokenisation_caps_the_space_instead_of_failing(run, capsys):
    """--maxlen 16 --vocab-size 100 (tiny_data_args) under the default space, which asks for
    up to 800 tokens and 80k words: its trials keep to 16 and 100, and the run says so."""
    argv = ["--trials", "1", "--epochs", "1", "--no-enqueue-presets", "--no-baseline"]
    assert run(*argv, "--seed", "0", space="default", study="capped") == 0
    out = capsys.readouterr().out
    assert "space 'default' capped at maxlen=16 (it asks for up to 800), vocab_size=100" in out
    (trial,) = load(run.storage, "capped").trials
    assert (trial.params["maxlen"], trial.params["vocab_size"]) == (16, 100)
    assert trial.state.name == "COMPLETE"
    from search import rerun  # the rerun rebuilds the trial through the same capped space

    out_dir = Path(run.storage.removeprefix("sqlite:///")).parent / "models"
    argv = ["--study", "capped", "--storage", run.storage, "--out", str(out_dir)]
    assert rerun.main(argv) == 0
    assert list(out_dir.glob("capped-trial0.keras"))


def test_the_default_space_without_unlabeled_reviews_is_refused_before_any_trial(tmp_path, capsys):
    """Its domain vectors and VAT need train/unsup: one line with the way out, exit 2, no
    trial run (they used to fail one by one, interleaved so --max-failures never fired)."""
    import shutil

    from tests.conftest import make_imdb

    data = make_imdb(tmp_path / "labeled", n_train=10, n_test=4)
    shutil.rmtree(data / "train" / "unsup")
    storage = f"sqlite:///{tmp_path / 's.db'}"
    argv = ["--study", "u", "--storage", storage, "--data", str(data), "--trials", "1"]
    assert main([*argv, "--maxlen", "16", "--vocab-size", "100", "--no-baseline"]) == 2
    err = capsys.readouterr().err
    assert "space 'default' trains on IMDB's unlabeled reviews" in err and "--unsup" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not optuna.get_all_study_names(storage) or not load(storage).trials
