from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from search import optimize
from search.optimize import main
from search.record import Record
from tests.conftest import tiny_data_args

TINY = str(Path(__file__).parent / "tiny_space.py")
ROOT = Path(__file__).parent.parent
Pruned = optuna.trial.TrialState.PRUNED


@pytest.fixture
def run(imdb_dir, tmp_path):
    """The CLI on tiny data into a tmp_path SQLite storage; returns (exit code, storage URL)."""
    storage = f"sqlite:///{tmp_path / 'study.db'}"

    def _run(*extra: str, space: str = f"{TINY}:space", study: str = "t") -> int:
        return main(
            [
                "--study",
                study,
                "--storage",
                storage,
                "--space",
                space,
                "--epochs",
                "2",
                *tiny_data_args(imdb_dir),
                *extra,
            ]
        )

    _run.storage = storage
    return _run


def load(storage: str, name: str = "t") -> optuna.Study:
    return optuna.load_study(study_name=name, storage=storage)


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


def test_resume_adds_trials_to_the_same_study_up_to_the_total(run, capsys):
    assert run("--trials", "2") == 0
    assert run("--trials", "4") == 0
    assert len(load(run.storage).trials) == 4
    assert run("--trials", "4") == 0
    assert "already has 4 >= 4 finished trials" in capsys.readouterr().out


def test_resume_takes_the_studys_settings_and_data_without_retyping(
    run, imdb_dir, monkeypatch, capsys
):
    """``--study NAME`` alone resumes with what the study stored, its data path included;
    an option given again overrides (a search setting, recorded) or is refused (identity)."""
    assert run("--trials", "1", "--seed", "3", "--val-split", "0.25", "--pruner", "median") == 0
    monkeypatch.delenv("IMDB_DATA", raising=False)  # no other way to the data than the study
    capsys.readouterr()
    assert main(["--study", "t", "--storage", run.storage, "--trials", "2"]) == 0
    out = capsys.readouterr().out
    assert f"data={imdb_dir}" in out and "epochs=2" in out and "maxlen=16" in out
    assert "pruner=median" in out and "seed=3" in out and "val-split=0.25" in out
    study = load(run.storage)
    assert len(study.trials) == 2 and "settings_changes" not in study.user_attrs
    assert main(["--study", "t", "--storage", run.storage, "--trials", "3", "--maxlen", "20"]) == 2
    assert "maxlen" in capsys.readouterr().err and len(load(run.storage).trials) == 2


def test_a_study_that_stored_the_old_data_checksum_resumes_and_is_upgraded(run, imdb_dir):
    """Studies identified their data by file times (folders) before content digests."""
    from search.data import legacy_checksum

    assert run("--trials", "1") == 0
    study = load(run.storage)
    settings = study.user_attrs["settings"]
    new = settings["data"]["checksum"]
    old = {**settings, "data": {**settings["data"], "checksum": legacy_checksum(imdb_dir)}}
    study.set_user_attr("settings", old)
    assert run("--trials", "2") == 0
    assert load(run.storage).user_attrs["settings"]["data"]["checksum"] == new


def test_default_space_runs(run):
    """Tokenised once at the space's largest cut (its TOKENIZE, when no --maxlen is given)."""
    tokenize = ["--maxlen", "800", "--vocab-size", "80000", "--no-enqueue-presets"]
    assert run("--trials", "2", "--seed", "0", "--epochs", "1", *tokenize, space="default") == 0
    study = load(run.storage)
    assert {t.state for t in study.trials} <= {optuna.trial.TrialState.COMPLETE, Pruned}
    assert study.user_attrs["settings"]["data"]["maxlen"] == 800


def test_presets_are_the_first_trials_and_are_not_enqueued_twice(run, capsys):
    """The configurations measured here come first, then the seed study's."""
    from search.presets import MEASURED, PRESETS, SEED_DATA, get_preset
    from spaces.default import point

    tokenize = ["--maxlen", "800", "--vocab-size", "80000", "--epochs", "1"]
    assert run("--trials", "2", *tokenize, space="default") == 0
    assert "enqueued presets as the first trials" in capsys.readouterr().out
    study = load(run.storage)
    names, points = [], []
    for name in [*MEASURED, *PRESETS]:  # a preset that is another's point is queued once
        if point(get_preset(name).params, **SEED_DATA) not in points:
            names.append(name)
            points.append(point(get_preset(name).params, **SEED_DATA))
    assert names[0] == "domain_pooled"
    assert len(study.trials) == len(names)  # 2 run, the others wait their turn
    assert [t.user_attrs["preset"] for t in study.trials] == names
    for trial, name in zip(study.trials[:2], names, strict=False):
        assert trial.state.is_finished()
        assert trial.params == point(get_preset(name).params, **SEED_DATA)
    assert study.trials[0].params["embedding"] == "domain_tuned"
    assert {t.state.name for t in study.trials[2:]} == {"WAITING"}
    assert run("--trials", "3", *tokenize, space="default") == 0
    assert "enqueued" not in capsys.readouterr().out
    study = load(run.storage)
    assert len(study.trials) == len(names) and study.trials[2].state.is_finished()


def test_the_seed_space_queues_only_the_seed_presets():
    import pytest

    from search.presets import MEASURED, PRESETS, SEED_DATA
    from spaces.seed import point

    for preset in PRESETS.values():
        point(preset.params, **SEED_DATA)
    for preset in MEASURED.values():
        with pytest.raises(ValueError, match="cannot express"):
            point(preset.params, **SEED_DATA)


def test_pruning_prunes_and_pruned_trials_keep_their_curves(run):
    assert (
        run("--trials", "8", "--seed", "3", "--pruner", "successive-halving", "--epochs", "3") == 0
    )
    pruned = [t for t in load(run.storage).trials if t.state == Pruned]
    assert pruned, "a successive-halving pruner over 8 trials must prune some"
    for trial in pruned:
        curves = Record.of(trial).curves
        assert len(curves["val_loss"]) == len(trial.intermediate_values) >= 1
        assert curves["val_loss"] == pytest.approx(
            [trial.intermediate_values[s] for s in sorted(trial.intermediate_values)], abs=1e-5
        )


def test_a_failing_trial_does_not_stop_the_study(run, capsys):
    assert run("--trials", "3", space=f"{TINY}:flaky") == 0
    trials = load(run.storage).trials
    # a failed trial does not count towards the total: the run goes on to 3 finished
    assert [t.state.name == "FAIL" for t in trials] == [False, True, False, False]
    assert "lstm_units=[0]" in trials[1].user_attrs["fail_reason"]
    assert "FAIL" in capsys.readouterr().out
    assert run("--trials", "3", space=f"{TINY}:flaky") == 0
    assert len(load(run.storage).trials) == 4


def test_seeded_runs_propose_equal_params(run):
    assert run("--trials", "3", "--seed", "11", study="a") == 0
    assert run("--trials", "3", "--seed", "11", study="b") == 0
    a, b = load(run.storage, "a"), load(run.storage, "b")
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    assert [t.user_attrs["seed"] for t in a.trials] == [11, 12, 13]


@pytest.mark.parametrize("sampler", ["random", "qmc", "cmaes"])
def test_other_samplers(run, sampler):
    assert run("--trials", "2", "--epochs", "1", "--sampler", sampler, "--seed", "0") == 0


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
    assert run("--trials", "1", space="default") == 2  # tiny data is cut at 16 tokens
    assert "--maxlen 16: space 'default' asks for up to 800" in capsys.readouterr().err
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
    assert "--trials 0: expected a positive number" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--trials", "1", "--trials-per-process", "-1"])
    assert "--trials-per-process -1: expected 0 (never)" in capsys.readouterr().err


def test_unknown_sampler_and_pruner_names():
    with pytest.raises(ValueError, match="Unknown sampler 'x'"):
        optimize.make_sampler("x", None)
    with pytest.raises(ValueError, match="Unknown pruner 'x'"):
        optimize.make_pruner("x", 3)


@pytest.mark.parametrize(
    "sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=lambda v: str(v)
)
def test_a_signal_ends_the_trial_cleanly_and_the_same_command_resumes(
    imdb_dir, tmp_path, sig, code
):
    """SIGINT (Ctrl-C) and SIGTERM (a scheduler's preemption) mid-trial: the trial is FAIL with
    its reason, the process exits 128 + signal with the resume hint and no traceback, and the
    same command finishes the study. The signal is sent while trial 1 is certainly running."""
    storage = f"sqlite:///{tmp_path / 'c.db'}"
    marker = tmp_path / "trial-started"
    command = [
        sys.executable,
        "-m",
        "search.optimize",
        "--study",
        "c",
        "--storage",
        storage,
        "--space",
        f"{TINY}:announced",
        "--epochs",
        "30",
        "--trials",
        "2",
        *tiny_data_args(imdb_dir),
        "--pruner",
        "none",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "LSTM_SEARCH_TEST_MARKER": str(marker)}
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + 300
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(sig)
    output = proc.communicate(timeout=120)[0]
    assert proc.returncode == code, output
    assert "run the same command to resume" in output
    assert "Traceback" not in output, output
    trials = load(storage, "c").trials
    assert [t.state.name for t in trials] == ["COMPLETE", "FAIL"], output
    assert trials[1].user_attrs["fail_reason"] == f"interrupted by {sig.name}"
    # its record as the fit ended: the curves of the epochs it finished (none, if the signal came
    # in the first), their count and the fit time
    attrs = trials[1].user_attrs
    assert attrs["epochs_run"] == len(Record.of(trials[1]).curves.get("val_loss", []))
    assert "fit_seconds" in attrs
    finished = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    trials = load(storage, "c").trials
    assert sum(t.state.name == "COMPLETE" for t in trials) == 2


def test_the_cli_goes_on_in_a_fresh_process_every_k_trials(imdb_dir, tmp_path):
    """--trials-per-process 2: five trials in three interpreters, one study, the exact total,
    the run's failure count and start carried over, no random draw repeated."""
    storage = f"sqlite:///{tmp_path / 'fresh.db'}"
    marker = tmp_path / "tokens"
    command = [sys.executable, "-m", "search.optimize", "--study", "f", "--storage", storage]
    command += ["--space", f"{TINY}:tokened", "--epochs", "1", "--trials", "5", "--quiet"]
    command += [*tiny_data_args(imdb_dir), "--sampler", "random", "--seed", "0"]
    command += ["--trials-per-process", "2", "--no-baseline"]
    env = {**os.environ, "LSTM_SEARCH_TEST_MARKER": str(marker)}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("continuing in a fresh one") == 2, done.stdout
    tokens = marker.read_text().split()
    assert len(tokens) == 5 and len(set(tokens)) == 3  # trials 0-1, 2-3, 4
    assert tokens[0] == tokens[1] and tokens[2] == tokens[3] and tokens[1] != tokens[2] != tokens[4]
    trials = load(storage, "f").trials
    assert len(trials) == 5 and all(t.state.name in ("COMPLETE", "PRUNED") for t in trials)
    assert len({t.params["dropout"] for t in trials}) == 5
    assert "finished in" in done.stdout and "Traceback" not in done.stderr


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_a_signal_while_a_fresh_process_starts_gets_its_one_line(imdb_dir, tmp_path):
    """SIGINT right after the switch to a fresh process, while it imports TensorFlow: the signal
    waits, blocked across exec, until the new process can answer it (else: a traceback, or
    lost). The command starts with SIGINT ignored, as a shell's background job (and, seen in CI,
    a test runner's child) does: it is answered all the same, as during trials."""
    storage = f"sqlite:///{tmp_path / 'sig.db'}"
    command = ["sh", "-c", 'trap "" INT; exec "$@"', "sh"]  # exec: the same PID, INT ignored
    command += [sys.executable, "-m", "search.optimize", "--study", "s", "--storage", storage]
    command += ["--space", f"{TINY}:space", "--epochs", "1", "--trials", "3", "--quiet"]
    command += [*tiny_data_args(imdb_dir), "--trials-per-process", "1", "--no-baseline"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "continuing in a fresh one" in line:
            # the exec done: the new interpreter's RSS, before TensorFlow, is a fraction of the
            # old process's (which had TensorFlow and the data); a signal sent earlier could meet
            # the old process (its answer is the same line, but not what this test is about)
            deadline = time.monotonic() + 60
            while rss_mb(proc.pid) > 150 and time.monotonic() < deadline:
                time.sleep(0.001)
            proc.send_signal(signal.SIGINT)
            break
    output = "".join(lines) + proc.communicate(timeout=300)[0]
    assert proc.returncode == 130, output
    assert "interrupted by SIGINT: no trial was running; run the same command" in output, output
    assert "Traceback" not in output, output
    assert [t.state.name for t in load(storage, "s").trials] in (["COMPLETE"], ["PRUNED"])
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and len(load(storage, "s").trials) == 3, done.stdout


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


def test_carried_state_keeps_the_runs_deadline(monkeypatch):
    from search import fresh

    state = fresh.Carried(started=time.time() - 50, deadline=time.time() + 100, failures=2)
    monkeypatch.setenv(fresh.ENV, json.dumps(dataclasses.asdict(state)))
    taken = fresh.take()
    assert taken == state and fresh.ENV not in os.environ  # nothing started later inherits it
    left = fresh.monotonic_deadline(taken, timeout=7) - time.monotonic()
    assert 99 < left <= 100  # the run's deadline, not a new --timeout from now
    assert fresh.monotonic_deadline(None, 7) - time.monotonic() == pytest.approx(7, abs=1)
    monkeypatch.setenv(fresh.ENV, "not json")
    assert fresh.take() is None


def test_memory_does_not_grow_over_trials(tiny_data):
    from search.objective import make_objective
    from tests import tiny_space

    def rss_mb() -> float:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    rss = {}
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(
        make_objective(tiny_space.space, tiny_data, epochs=1, seed=0),
        n_trials=10,
        callbacks=[lambda s, t: rss.setdefault(t.number + 1, rss_mb())],
        gc_after_trial=True,
    )
    assert rss[10] - rss[3] < 60, rss


@pytest.mark.parametrize(
    "storage", ["postgresql://root@127.0.0.1:5432/test", "redis://127.0.0.1:6379"]
)
def test_two_workers_share_one_study(imdb_dir, storage, tmp_path):
    """Two processes on one PostgreSQL or Redis study stop at exactly the shared total (a
    journal file: test_workers_option_runs_processes_that_share_the_total)."""
    import uuid

    name = f"workers-{uuid.uuid4().hex[:8]}"
    optimize.open_storage(storage)  # on a fresh database, create the schema once, not racing
    command = [
        sys.executable,
        "-m",
        "search.optimize",
        "--study",
        name,
        "--storage",
        storage,
        "--space",
        f"{TINY}:space",
        "--epochs",
        "1",
        "--trials",
        "4",
        *tiny_data_args(imdb_dir),
    ]
    workers = [
        subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(2)
    ]
    outputs = [w.communicate(timeout=600)[0] for w in workers]
    try:
        assert [w.returncode for w in workers] == [0, 0], outputs
        study = optuna.load_study(study_name=name, storage=optimize.open_storage(storage))
        finished = [t for t in study.trials if t.state.is_finished()]
        assert len(finished) == 4  # exactly: a worker never starts a trial past the total
        assert all(Record.of(t).curves for t in finished)
        assert {"0", "1"} == {
            line.split()[1]
            for out in outputs
            for line in out.splitlines()
            if line.startswith("trial ")
        } & {"0", "1"}
    finally:
        optuna.delete_study(study_name=name, storage=optimize.open_storage(storage))


def test_chance_level_trials_are_pruned_after_the_warmup():
    study = optuna.create_study(pruner=optimize.ChanceLevelPruner(optuna.pruners.NopPruner()))
    stuck, learning = study.ask(), study.ask()
    curves = {stuck: [0.50, 0.51], learning: [0.55, 0.74]}
    for step in (1, 2):
        for trial, accuracy in curves.items():
            # what the objective's pruning callback stores before it asks should_prune()
            trial.set_user_attr("curves", {"val_accuracy": accuracy[:step]})
            trial.report(2.0, step)  # a val_loss far above ln 2 (L2 penalty) prunes nothing
        assert stuck.should_prune() is (step >= 2)
        assert learning.should_prune() is False
    assert isinstance(optimize.make_pruner("median", 5), optimize.ChanceLevelPruner)
    assert isinstance(optimize.make_pruner("none", 5), optuna.pruners.NopPruner)


def test_gp_sampler_runs_where_its_extra_is_installed(run):
    """``--sampler gp`` needs the ``[gp]`` extra (PyTorch, SciPy); without it, a clear error."""
    try:
        import torch  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match=r"pip install -e '.\[gp\]'"):
            optimize.make_sampler("gp", 0)
    else:
        assert run("--trials", "2", "--epochs", "1", "--sampler", "gp", "--seed", "0") == 0


def study_settings(tmp_path, **changes) -> optimize.StudySettings:
    """Settings of a study that no test trains: for create_or_resume alone."""
    from search.embeddings import VectorSettings

    base = optimize.StudySettings(
        study="s",
        storage=f"sqlite:///{tmp_path / 's.db'}",
        space="seed",
        sampler="tpe",
        pruner="median",
        epochs=2,
        seed=1,
        vectors=VectorSettings().identity(),
        data={"maxlen": 200, "checksum": "abc"},
    )
    return dataclasses.replace(base, **changes)


def test_a_study_made_before_the_vector_settings_still_resumes(tmp_path):
    """Studies stored only ``glove``; the same GloVe source must resume, another must not."""
    from search.embeddings import VectorSettings

    settings = study_settings(tmp_path)
    old = {**dataclasses.asdict(settings), "glove": "glove.6B.50d"}
    del old["vectors"]
    optuna.create_study(study_name="s", storage=settings.storage).set_user_attr("settings", old)
    assert optimize.create_or_resume(settings).study_name == "s"
    other = VectorSettings(glove="glove.6B.100d.txt").identity()
    with pytest.raises(ValueError, match="vectors: study has"):
        optimize.create_or_resume(dataclasses.replace(settings, vectors=other))


def test_resuming_with_another_sampler_is_recorded_not_hidden(tmp_path, capsys):
    optimize.create_or_resume(study_settings(tmp_path))
    study = optimize.create_or_resume(study_settings(tmp_path, sampler="random", seed=None))
    assert "sampler='random' (was 'tpe'), seed=None (was 1)" in capsys.readouterr().out
    assert study.user_attrs["settings"]["sampler"] == "random"
    assert study.user_attrs["settings_changes"] == [
        {"from_trial": 0, "sampler": "random", "seed": None}
    ]


def test_a_broken_search_stops_with_an_error_instead_of_failing_every_trial(run, capsys):
    assert run("--trials", "10", space=f"{TINY}:broken") == 1
    assert len(load(run.storage).trials) == 3  # --max-failures default
    err = capsys.readouterr().err
    assert "3 trials in a row failed (last: trial 2: ValueError: Invalid model param" in err
    assert run("--trials", "10", "--max-failures", "1", space=f"{TINY}:broken") == 1
    assert len(load(run.storage).trials) == 4


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


@pytest.mark.parametrize(
    "storage", ["postgresql://root@127.0.0.1:5432/test", "redis://127.0.0.1:6379", "journal"]
)
def test_a_killed_worker_trial_is_failed_and_its_params_run_again(imdb_dir, tmp_path, storage):
    """kill -9 mid-trial leaves the trial RUNNING; with a 1 s heartbeat the next run finds it
    stale at start-up, marks it FAIL, runs its params again and reaches the exact total."""
    import uuid

    if storage == "journal":
        storage = f"journal:{tmp_path / 'j.log'}"
    name = f"killed-{uuid.uuid4().hex[:8]}"
    marker = tmp_path / "trial-started"
    command = [
        sys.executable, "-m", "search.optimize", "--study", name, "--storage", storage,
        "--space", f"{TINY}:announced", "--epochs", "30", "--trials", "2", "--pruner", "none",
        "--heartbeat", "1", "--no-baseline", *tiny_data_args(imdb_dir),
    ]  # fmt: skip
    env = {**os.environ, "LSTM_SEARCH_TEST_MARKER": str(marker)}
    optimize.open_storage(storage)  # the schema, once
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.kill()
        proc.communicate(timeout=60)
        opened = optimize.open_storage(storage)
        trials = optuna.load_study(study_name=name, storage=opened).trials
        assert [t.state.name for t in trials] == ["COMPLETE", "RUNNING"]
        time.sleep(2.5)  # the grace period: twice the heartbeat
        env["LSTM_SEARCH_TEST_MARKER"] = str(tmp_path / "second-run")
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "trial 1 FAIL: its worker sent no heartbeat for 2s" in done.stderr
        trials = optuna.load_study(study_name=name, storage=opened).trials
        assert [t.state.name for t in trials] == ["COMPLETE", "FAIL", "COMPLETE"]
        assert trials[2].params == trials[1].params
        assert trials[2].system_attrs["failed_trial"] == 1
    finally:
        optuna.delete_study(study_name=name, storage=optimize.open_storage(storage))


def test_a_storage_password_is_never_shown_nor_stored(run, imdb_dir, tmp_path, capsys):
    """PostgreSQL here trusts local connections, so any password connects: the study runs, and
    the password is in no output, no study attr and no report page."""
    import json
    import uuid

    from analysis import report

    name = f"secret-{uuid.uuid4().hex[:8]}"
    url = "postgresql://root:hunter2secret@127.0.0.1:5432/test"
    args = ["--study", name, "--storage", url, "--space", f"{TINY}:space", "--epochs", "1"]
    try:
        assert main([*args, "--trials", "1", *tiny_data_args(imdb_dir)]) == 0
        assert main([*args, "--trials", "1", *tiny_data_args(imdb_dir), "--maxlen", "7"]) == 2
        assert report.main(["--study", name, "--storage", url, "--out", str(tmp_path / "r")]) == 0
        out = capsys.readouterr()
        study = optuna.load_study(study_name=name, storage=url)
        stored = json.dumps([study.user_attrs, [t.user_attrs for t in study.trials]])
        pages = "".join(p.read_text(errors="ignore") for p in (tmp_path / "r").rglob("*.*"))
        assert "root:***@127.0.0.1" in out.out
        for text in (out.out, out.err, stored, pages):
            assert "hunter2secret" not in text
    finally:
        optuna.delete_study(study_name=name, storage=url)
    assert main(["--study", name, "--storage", "postgresql://root:hunter2secret@nohost/x"]) == 2
    err = capsys.readouterr().err
    assert "hunter2secret" not in err and "root:***@nohost" in err


def _open_and_create(url: str, name: str, barrier) -> None:
    barrier.wait()
    optuna.create_study(study_name=name, storage=optimize.open_storage(url), load_if_exists=True)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_workers_starting_together_on_a_fresh_database_all_start(tmp_path, backend):
    """The schema-creation race: four processes open one fresh database at the same moment."""
    import multiprocessing
    import uuid

    import psycopg

    database = f"race_{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        with psycopg.connect("postgresql://root@127.0.0.1:5432/test", autocommit=True) as db:
            db.execute(f"CREATE DATABASE {database}")
        url = f"postgresql://root@127.0.0.1:5432/{database}"
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    workers = [
        context.Process(target=_open_and_create, args=(url, "race", barrier)) for _ in range(4)
    ]
    try:
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=120)
        assert [w.exitcode for w in workers] == [0, 0, 0, 0]
        assert [s.study_name for s in optuna.get_all_study_summaries(url)] == ["race"]
    finally:
        if backend == "postgresql":
            import sqlalchemy

            sqlalchemy.create_engine(url).dispose()
            with psycopg.connect("postgresql://root@127.0.0.1:5432/test", autocommit=True) as db:
                db.execute(f"DROP DATABASE {database} WITH (FORCE)")


def test_workers_option_runs_processes_that_share_the_total(imdb_dir, tmp_path):
    """Each worker also goes on in a fresh process after 2 trials (the parent reads it through
    the same pipe), and the seeded workers draw apart."""
    storage = f"journal:{tmp_path / 'w.log'}"
    command = [
        sys.executable, "-m", "search.optimize", "--study", "w", "--storage", storage,
        "--space", f"{TINY}:continuous", "--epochs", "1", "--trials", "6", "--workers", "2",
        "--trials-per-process", "2", "--seed", "3", *tiny_data_args(imdb_dir),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "started 2 workers, 1 CPU thread(s) each" in done.stdout
    study = optuna.load_study(study_name="w", storage=optimize.open_storage(storage))
    finished = [t for t in study.trials if t.state.is_finished()]
    assert len(finished) == 6 and len(study.trials) == 6
    shown = [
        s
        for s in done.stdout.splitlines()
        if s.startswith("[worker ") and " trial " in s and " epoch " not in s
    ]
    assert len(shown) == 6 and all("finished]" in line for line in shown), done.stdout
    assert {t.user_attrs["worker"] for t in study.trials} <= {1, 2}
    assert "/6 finished]" in shown[-1]
    assert len({t.params["dropout"] for t in study.trials}) == 6


def test_workers_on_sqlite_warn_and_suggest_a_journal(imdb_dir, tmp_path, capsys):
    args = ["--study", "s", "--storage", f"sqlite:///{tmp_path / 's.db'}", "--trials", "1"]
    args += ["--space", f"{TINY}:space", "--epochs", "1", "--workers", "2", "--no-baseline"]
    assert main([*args, *tiny_data_args(imdb_dir)]) == 0
    assert "journal:studies/s.log" in capsys.readouterr().err


def test_a_terminated_database_connection_loses_no_trial(imdb_dir, tmp_path):
    """pg_terminate_backend on every connection of a worker, mid-trial: pooled connections are
    pinged before use and replaced, and a call caught mid-transaction is retried, so the trial
    and the study finish (the retry is what made this deterministic under load)."""
    import uuid

    import psycopg

    name = f"outage-{uuid.uuid4().hex[:8]}"
    storage = f"postgresql://root@127.0.0.1:5432/test?application_name={name}"
    marker = tmp_path / "trial-started"
    command = [
        sys.executable, "-m", "search.optimize", "--study", name, "--storage", storage,
        "--space", f"{TINY}:announced", "--epochs", "4", "--trials", "3", "--pruner", "none",
        "--no-baseline", *tiny_data_args(imdb_dir),
    ]  # fmt: skip
    env = {**os.environ, "LSTM_SEARCH_TEST_MARKER": str(marker)}
    optimize.open_storage(storage)
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 300
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        with psycopg.connect("postgresql://root@127.0.0.1:5432/test", autocommit=True) as db:
            killed = db.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (name,),
            ).fetchone()[0]
        assert killed >= 1
        output = proc.communicate(timeout=600)[0]
        assert proc.returncode == 0, output
        study = optuna.load_study(study_name=name, storage=storage)
        assert [t.state.name for t in study.trials] == ["COMPLETE"] * 3, output
    finally:
        proc.kill()
        optuna.delete_study(study_name=name, storage=storage)


class Proxy:
    """A TCP forwarder to PostgreSQL that a test can cut: a database outage for one worker,
    without stopping the server the other tests use."""

    def __init__(self, target=("127.0.0.1", 5432)) -> None:
        import socket
        import threading

        self.target, self.sockets, self.closed = target, [], False
        self.lock = threading.Lock()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:  # a connection accepted as the cut happens is cut too
                if self.closed:
                    client.close()
                    upstream.close()
                    return
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass

    def cut(self) -> None:
        """Every connection, open or being opened, and every later one fails."""
        import socket

        with self.lock:
            self.closed = True
        self.server.close()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def test_a_lost_database_is_a_clear_exit_and_the_next_run_recovers(imdb_dir, tmp_path):
    """The database goes away mid-trial: the worker exits 3 with one line, no traceback; once
    it is back, the same command fails the stale trial, runs its params again and finishes."""
    import uuid

    name = f"lost-{uuid.uuid4().hex[:8]}"
    proxy = Proxy()
    through_proxy = f"postgresql://root@127.0.0.1:{proxy.port}/test"
    direct = "postgresql://root@127.0.0.1:5432/test"
    marker = tmp_path / "trial-started"
    common = [
        sys.executable, "-m", "search.optimize", "--study", name, "--space", f"{TINY}:announced",
        "--epochs", "30", "--trials", "2", "--pruner", "none", "--heartbeat", "1",
        "--no-baseline", *tiny_data_args(imdb_dir),
    ]  # fmt: skip
    # storage calls retry through an outage for 30 s by default; this one lasts
    env = {**os.environ, "LSTM_SEARCH_TEST_MARKER": str(marker), "LSTM_SEARCH_STORAGE_RETRY": "3"}
    optimize.open_storage(direct)
    proc = subprocess.Popen(
        [*common, "--storage", through_proxy],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        proxy.cut()
        output = proc.communicate(timeout=300)[0]
        assert proc.returncode == 3, output
        assert "error: lost the storage" in output and "Traceback" not in output, output
        time.sleep(2.5)  # stale: twice the heartbeat
        env["LSTM_SEARCH_TEST_MARKER"] = str(tmp_path / "second-run")
        done = subprocess.run(
            [*common, "--storage", direct], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
        trials = optuna.load_study(study_name=name, storage=direct).trials
        assert [t.state.name for t in trials] == ["COMPLETE", "FAIL", "COMPLETE"]
        assert trials[2].params == trials[1].params, (
            [(t.number, t.params, t.system_attrs, t.datetime_start) for t in trials],
            output,
            done.stdout + done.stderr,
        )
    finally:
        proc.kill()
        optuna.delete_study(study_name=name, storage=direct)


def test_a_full_disk_stops_with_one_line_and_the_same_command_resumes(imdb_dir, tmp_path, capsys):
    """A study on a 1 MB tmpfs, filled up after its first trial: the run stops at once with a
    one-line reason (not 'invalid data in the commit', Optuna's wrapper), keeps what finished,
    and once space is freed the same command reaches the exact total."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)])
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        storage = f"sqlite:///{disk / 's.db'}"
        argv = ["--study", "s", "--storage", storage, "--space", f"{TINY}:space"]
        argv += ["--epochs", "1", "--seed", "0", *tiny_data_args(imdb_dir)]
        assert main([*argv, "--trials", "1"]) == 0
        filler = disk / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=4k"], capture_output=True)
        assert shutil.disk_usage(disk).free < 8192  # every free byte taken
        capsys.readouterr()
        assert main([*argv, "--trials", "3"]) == 3
        err = capsys.readouterr().err
        assert "error: the disk holding the storage" in err and "is full" in err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1
        filler.unlink()
        assert main([*argv, "--trials", "3"]) == 0
        trials = load(storage, "s").trials
        finished = [t for t in trials if t.state.is_finished() and t.state.name != "FAIL"]
        assert len(finished) == 3
    finally:
        subprocess.run(["umount", "--lazy", str(disk)])  # the storage may hold the file open


def test_a_read_only_study_is_one_line_and_rerun_refuses_before_training(run, imdb_dir, capsys):
    """chattr +i: read-only even for root, who ignores file modes."""
    from search import rerun

    assert run("--trials", "3", "--seed", "1") == 0  # a completed trial to rerun
    file = run.storage.removeprefix("sqlite:///")
    if subprocess.run(["chattr", "+i", file], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available on this file system")
    try:
        capsys.readouterr()
        assert run("--trials", "4", "--seed", "1") == 3
        err = capsys.readouterr().err
        assert "is read-only (" in err and "Traceback" not in err and len(err.splitlines()) == 1
        out = Path(file).parent / "models"
        argv = ["--study", "t", "--storage", run.storage, "--data", str(imdb_dir)]
        assert rerun.main([*argv, "--out", str(out)]) == 2
        assert "attempt to write a readonly database" in capsys.readouterr().err
        assert not list(out.glob("*.keras"))  # refused before training and export
    finally:
        subprocess.run(["chattr", "-i", file])
    assert len(load(run.storage).trials) == 3
