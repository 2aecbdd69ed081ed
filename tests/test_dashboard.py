"""optuna-dashboard, started as a user would, shows a study the CLI made, with its curves."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from search import rungs
from search.optimize import main
from tests.conftest import tiny_data_args

TINY = str(Path(__file__).parent / "tiny_space.py")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str, deadline: float):
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.load(response)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_dashboard_serves_trials_and_recorded_curves(imdb_dir, tmp_path):
    storage = f"sqlite:///{tmp_path / 'dash.db'}"
    assert (
        main(
            [
                "--study",
                "dash",
                "--storage",
                storage,
                "--space",
                f"{TINY}:space",
                "--trials",
                "2",
                "--epochs",
                "2",
                *tiny_data_args(imdb_dir),
                "--seed",
                "0",
            ]
        )
        == 0
    )
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "optuna-dashboard"),
            storage,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        studies = get_json(f"http://127.0.0.1:{port}/api/studies", deadline)["study_summaries"]
        assert [s["study_name"] for s in studies] == ["dash"]
        detail = get_json(f"http://127.0.0.1:{port}/api/studies/{studies[0]['study_id']}", deadline)
    finally:
        server.terminate()
        server.wait(timeout=30)
    trials = detail["trials"]
    assert len(trials) == 2
    assert any(t["state"] == "Complete" for t in trials)
    for trial in trials:
        assert len(trial["intermediate_values"]) >= 1
        attrs = {a["key"]: a["value"] for a in trial["user_attrs"]}
        assert max(len(value) for value in attrs.values()) < 200  # no 3,600 px wide line
        # several reports an epoch (search.rungs); the note and curves hold whole epochs, so a
        # trial pruned within its first epoch has none
        epochs = len(trial["intermediate_values"]) // rungs.PER_EPOCH
        if trial["state"] != "Complete" and epochs == 0:
            assert "curve_val_loss" not in attrs
            continue
        val_loss = json.loads(attrs["curve_val_loss"])  # one short line per metric
        assert len(val_loss) == epochs
        assert "val_accuracy" in attrs and "gap_accuracy" in attrs
        # the train and val curves where a dashboard user looks: the trial's note
        body = trial["note"]["body"]
        assert body.startswith("**Learning curves**") and "| accuracy |" in body
        assert body.count("\n| ") == 1 + len(val_loss)
