from __future__ import annotations

from pathlib import Path

import optuna

from search import baseline, optimize
from search.data import DataSettings
from tests.conftest import tiny_data_args

TINY = str(Path(__file__).parent / "tiny_space.py") + ":space"


def test_baseline_fits_on_train_picks_c_on_val_and_scores_test(imdb_dir):
    result = baseline.run_baseline(imdb_dir, DataSettings())
    assert result["C"] in baseline.C_GRID
    # the tiny reviews carry their label in cue words: a linear model finds them
    assert result["val_accuracy"] >= 0.8 and result["test_accuracy"] >= 0.8
    assert result["features"] > 0 and result["seconds"] >= 0
    assert baseline.describe(result).startswith("baseline (TF-IDF")


def test_optimize_stores_it_once_per_study_and_the_cli_refreshes_it(imdb_dir, tmp_path, capsys):
    storage = f"sqlite:///{tmp_path / 'b.db'}"
    common = ["--study", "b", "--storage", storage, "--space", TINY, "--epochs", "1"]
    common += [*tiny_data_args(imdb_dir), "--no-enqueue-presets"]
    assert optimize.main([*common, "--trials", "1"]) == 0
    first = capsys.readouterr().out
    assert "baseline: TF-IDF + logistic regression" in first
    stored = optuna.load_study(study_name="b", storage=storage).user_attrs["baseline"]
    assert baseline.describe(stored) in first
    assert optimize.main([*common, "--trials", "2"]) == 0
    second = capsys.readouterr().out
    assert "baseline: TF-IDF" not in second and baseline.describe(stored) in second

    assert baseline.main(["--study", "b", "--storage", storage, "--data", str(imdb_dir)]) == 0
    assert "stored as user attr 'baseline'" in capsys.readouterr().out


def test_no_baseline_skips_it(imdb_dir, tmp_path):
    storage = f"sqlite:///{tmp_path / 'n.db'}"
    args = ["--study", "n", "--storage", storage, "--space", TINY, "--epochs", "1"]
    args += [*tiny_data_args(imdb_dir), "--trials", "1", "--no-baseline", "--no-enqueue-presets"]
    assert optimize.main(args) == 0
    assert "baseline" not in optuna.load_study(study_name="n", storage=storage).user_attrs


def test_baseline_cli_errors_are_one_line(tmp_path, capsys):
    assert baseline.main(["--data", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.startswith("error: IMDB data not found")
