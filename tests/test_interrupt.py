"""Signals (search/interrupt.py): a trial ends cleanly and the same command resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import optuna
import pytest

from search.record import Record
from tests.conftest import ROOT, TINY, load, tiny_data_args

Pruned = optuna.trial.TrialState.PRUNED


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
        "2",
        "--trials",
        "2",
        *tiny_data_args(imdb_dir),
        "--pruner",
        "none",
        "--no-baseline",
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
