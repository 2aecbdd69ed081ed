"""--mlflow: every trial a run in a real local MLflow store (SQLite), no mock."""

from __future__ import annotations

import sys

import pytest

from search.record import Record
from tests.conftest import load


def test_every_trial_is_an_mlflow_run_with_its_params_curves_and_state(run, tmp_path):
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert run("--trials", "4", "--seed", "0", "--no-baseline", "--mlflow", uri) == 0
    trials = {t.number: t for t in load(run.storage).trials}
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("t")  # the study's name
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    assert sorted(runs) == [f"trial-{n}" for n in sorted(trials)]
    status = {"COMPLETE": "FINISHED", "PRUNED": "KILLED", "FAIL": "FAILED"}
    for number, trial in trials.items():
        logged = runs[f"trial-{number}"]
        assert logged.data.tags["state"] == trial.state.name
        assert logged.info.status == status[trial.state.name]
        assert logged.data.params == {k: str(v) for k, v in trial.params.items()}
        history = client.get_metric_history(logged.info.run_id, "val_loss")
        curve = Record.of(trial).curves.get("val_loss", [])  # none if pruned mid-epoch
        assert [m.step for m in history] == list(range(1, len(curve) + 1))
        assert [m.value for m in history] == pytest.approx(curve)
    assert {t.state.name for t in trials.values()} >= {"COMPLETE"}


def test_mlflow_without_its_extra_or_with_a_bad_uri_is_one_line_before_any_work(
    run, tmp_path, monkeypatch, capsys
):
    bad = tmp_path / "a-file"
    bad.write_text("not a database")
    assert run("--trials", "1", "--mlflow", f"sqlite:///{bad}") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --mlflow") and "cannot be opened" in err
    assert len(err.strip().splitlines()) == 1
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow raises ImportError
    assert run("--trials", "1", "--mlflow", "sqlite:///m.db") == 2
    assert capsys.readouterr().err.strip() == (
        "error: --mlflow needs MLflow: pip install -e '.[mlflow]'"
    )
    assert not list(tmp_path.glob("study.db"))  # refused before the study was created
