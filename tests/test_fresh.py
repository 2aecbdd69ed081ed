"""Fresh processes (search/fresh.py) and the memory a long study keeps."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import optuna
import pytest

from tests.conftest import ROOT, TINY, load, tiny_data_args

Pruned = optuna.trial.TrialState.PRUNED


def test_the_cli_goes_on_in_a_fresh_process_every_k_trials(imdb_dir, tmp_path):
    """--trials-per-process 2: three trials in two interpreters, one study, the exact total,
    the run's failure count and start carried over, no random draw repeated."""
    storage = f"sqlite:///{tmp_path / 'fresh.db'}"
    marker = tmp_path / "tokens"
    command = [sys.executable, "-m", "search.optimize", "--study", "f", "--storage", storage]
    command += ["--space", f"{TINY}:tokened", "--epochs", "1", "--trials", "3", "--quiet"]
    command += [*tiny_data_args(imdb_dir), "--sampler", "random", "--seed", "0"]
    command += ["--trials-per-process", "2", "--no-baseline"]
    env = {**os.environ, "LSTM_SEARCH_TEST_MARKER": str(marker)}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("continuing in a fresh one") == 1, done.stdout
    tokens = marker.read_text().split()
    assert len(tokens) == 3 and len(set(tokens)) == 2  # trials 0-1, then 2
    assert tokens[0] == tokens[1] != tokens[2]
    trials = load(storage, "f").trials
    assert len(trials) == 3 and all(t.state.name in ("COMPLETE", "PRUNED") for t in trials)
    assert len({t.params["dropout"] for t in trials}) == 3
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
    command += ["--space", f"{TINY}:space", "--epochs", "1", "--trials", "2", "--quiet"]
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
    assert done.returncode == 0 and len(load(storage, "s").trials) == 2, done.stdout


def test_carried_state_keeps_the_runs_deadline(monkeypatch):
    from search import fresh

    settings = {"study": "s", "trials": 4}
    state = fresh.Carried(
        settings, started=time.time() - 50, deadline=time.time() + 100, failures=2
    )
    monkeypatch.setenv(fresh.ENV, json.dumps(dataclasses.asdict(state)))
    taken = fresh.take()
    assert taken == state and fresh.ENV not in os.environ  # nothing started later inherits it
    left = fresh.monotonic_deadline(taken, timeout=7) - time.monotonic()
    assert 99 < left <= 100  # the run's deadline, not a new --timeout from now
    assert fresh.monotonic_deadline(None, 7) - time.monotonic() == pytest.approx(7, abs=1)
    monkeypatch.setenv(fresh.ENV, "not json")
    assert fresh.take() is None


def test_memory_does_not_grow_over_trials(imdb_dir):
    """In a process of its own: a test worker that already ran other TensorFlow tests holds
    their caches, and its growth would say nothing about a study's."""
    code = f"""
import json, os, optuna
from search.data import DataSettings, load_imdb
from search.objective import make_objective
from tests import tiny_space

def rss_mb():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

data = load_imdb({str(imdb_dir)!r}, DataSettings(vocab_size=200, maxlen=24), use_cache=False)
rss = {{}}
study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
study.optimize(
    make_objective(tiny_space.space, data, epochs=1, seed=0),
    n_trials=8,
    callbacks=[lambda s, t: rss.setdefault(t.number + 1, rss_mb())],
    gc_after_trial=True,
)
print(json.dumps(rss))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rss = {int(k): v for k, v in json.loads(done.stdout.strip().splitlines()[-1]).items()}
    assert rss[8] - rss[3] < 60, rss  # bench/memory.py measures the growth over 50 trials
