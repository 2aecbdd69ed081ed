from __future__ import annotations

import math

import optuna
import pytest

from search import record
from search.record import Record


def test_metrics_at_the_best_epoch():
    curves = {
        "loss": [0.6, 0.4, 0.2],
        "accuracy": [0.6, 0.8, 0.95],
        "val_loss": [0.55, 0.45, 0.5],
        "val_accuracy": [0.7, 0.78, 0.77],
    }
    s = record.at_best_epoch(curves)
    assert s["best_epoch"] == 2 and s["epochs_run"] == 3 and s["val_loss"] == 0.45
    assert s["gap_accuracy"] == pytest.approx(0.8 - 0.78)
    assert s["gap_loss"] == pytest.approx(0.45 - 0.4)
    assert record.at_best_epoch({"val_loss": [math.nan]}) == {"epochs_run": 1}
    assert record.diverged({"val_loss": [0.5], "loss": [math.inf]})
    assert not record.diverged(curves) and record.diverged({})


def test_written_fields_read_back_and_unknown_ones_are_refused():
    study = optuna.create_study()
    trial = study.ask()
    record.write(trial, seed=3, curves={"val_loss": [0.5]}, preset="bilstm")
    with pytest.raises(KeyError, match="not trial record fields: \\['val_los'\\]"):
        record.write(trial, val_los=0.5)
    study.tell(trial, 0.5)
    r = Record.of(study.trials[0])
    assert (r.seed, r.preset, r.epochs(), r.engine) == (3, "bilstm", 1, "optuna")
    assert r.val_accuracy is None  # never written: the default
    assert study.trials[0].user_attrs["curve_val_loss"] == [0.5]  # one short attr per metric


def test_a_long_fail_reason_is_cut_for_the_dashboards_one_line_table():
    from search.record import REASON_SHOWN, stored

    long = "ValueError: " + " ".join(f"word{i}" for i in range(100))
    kept = stored({"fail_reason": long})["fail_reason"]
    assert len(kept) == REASON_SHOWN == 100 and kept.endswith("…") and long.startswith(kept[:-1])
    assert stored({"fail_reason": "short"})["fail_reason"] == "short"
