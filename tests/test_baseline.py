from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna

from search import baseline, optimize
from search.data import DataSettings, Reviews, read_splits
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
    assert "baselines: tfidf, nbsvm on the same split" in first
    stored = optuna.load_study(study_name="b", storage=storage).user_attrs["baselines"]
    assert set(stored) == {"tfidf", "nbsvm"}
    assert all(baseline.describe(result) in first for result in stored.values())
    assert optimize.main([*common, "--trials", "2"]) == 0
    second = capsys.readouterr().out
    assert "baselines:" not in second and baseline.describe(stored["nbsvm"]) in second

    assert baseline.main(["--study", "b", "--storage", storage, "--data", str(imdb_dir)]) == 0
    assert "stored with study 'b' (tfidf, nbsvm)" in capsys.readouterr().out


def test_no_baseline_skips_it(imdb_dir, tmp_path):
    storage = f"sqlite:///{tmp_path / 'n.db'}"
    args = ["--study", "n", "--storage", storage, "--space", TINY, "--epochs", "1"]
    args += [*tiny_data_args(imdb_dir), "--trials", "1", "--no-baseline", "--no-enqueue-presets"]
    assert optimize.main(args) == 0
    assert "baseline" not in optuna.load_study(study_name="n", storage=storage).user_attrs


def test_baseline_cli_errors_are_one_line(tmp_path, capsys):
    assert baseline.main(["--data", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.startswith("error: IMDB data not found")


def test_nbsvm_separates_a_separable_corpus_and_its_ratios_see_only_training_text(
    imdb_dir, monkeypatch
):
    seen = []
    ratios = baseline.nb_ratios

    def recorded(x, y, alpha=1.0):
        seen.append((x.shape[0], len(y)))
        return ratios(x, y, alpha)

    monkeypatch.setattr(baseline, "nb_ratios", recorded)
    settings = DataSettings()
    result = baseline.run_baselines(imdb_dir, settings, only=("nbsvm",))["nbsvm"]
    assert result["C"] in baseline.NBSVM_C and result["model"].startswith("NB-weighted")
    assert result["val_accuracy"] >= 0.8 and result["test_accuracy"] >= 0.8
    train = len(read_splits(imdb_dir, settings)["train"].labels)
    assert seen == [(train, train)]  # once, on the training split: no val or test review


def test_nb_ratios_weigh_the_words_of_each_class():
    import numpy as np
    from scipy.sparse import csr_matrix

    x = csr_matrix(np.array([[1, 0, 1], [1, 0, 1], [0, 1, 1], [0, 1, 1]]))
    r = baseline.nb_ratios(x, np.array([1, 1, 0, 0]))
    assert r[0] > 0 > r[1] and abs(r[2]) < 1e-12  # positive cue, negative cue, neutral word


def test_c_is_picked_on_validation_and_the_test_split_scored_once(monkeypatch):
    """Scores made up per (C, split): validation prefers C=4, test C=1; the test split must not
    choose, and is scored once, with the chosen C."""
    from sklearn import linear_model

    val_scores = {1.0: 0.70, 2.0: 0.80, 4.0: 0.90, 8.0: 0.85, 16.0: 0.60, 32.0: 0.50}
    test_scores = {1.0: 0.99, 2.0: 0.70, 4.0: 0.75, 8.0: 0.70, 16.0: 0.60, 32.0: 0.50}
    scored = []

    class Made(linear_model.LogisticRegression):
        def fit(self, x, y):
            return self

        def score(self, x, y):
            scored.append((self.C, x))
            return (val_scores if x == "val" else test_scores)[self.C]

    monkeypatch.setattr(linear_model, "LogisticRegression", Made)

    class Split(str):
        shape = (1, 1)  # what the result reports as its features

    splits = {name: Reviews([name], np.array([1]), [name]) for name in ("train", "val", "test")}
    features = lambda texts: Split(texts[0])  # noqa: E731
    result = baseline._fit("tfidf", splits, features, features, baseline.TFIDF_C, False)
    assert result["C"] == 4.0 and result["val_accuracy"] == 0.9 and result["test_accuracy"] == 0.75
    assert [x for _, x in scored].count("test") == 1 and (4.0, "test") in scored


def test_the_baseline_command_shows_its_progress_lines(imdb_dir):
    """Run as ``python -m search.baseline``, the module logs under its own name, which the
    console shows (as __main__ its lines were lost)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "search.baseline", "--data", str(imdb_dir), "--model", "nbsvm"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "  nbsvm C=0.1: val_acc=" in done.stdout and "baseline (NB-weighted" in done.stdout
