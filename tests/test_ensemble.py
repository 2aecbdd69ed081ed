from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import optuna
import pytest

import search
from search import export, kept, optimize, predict
from search.ensemble import main as ensemble_main
from search.ensembling import log_loss, select
from search.record import Record
from tests.conftest import tiny_data_args

TINY = str(Path(__file__).parent / "tiny_space.py")


def test_selection_picks_the_complementary_trials_with_equal_weights():
    y = np.array([1, 1, 0, 0])
    a = np.array([0.9, 0.5, 0.1, 0.5])  # sure of rows 0 and 2
    b = np.array([0.5, 0.9, 0.5, 0.1])  # sure of rows 1 and 3
    bad = np.array([0.2, 0.3, 0.8, 0.6])
    chosen = select({3: a, 7: b, 9: bad}, y, size=10)
    assert chosen.counts == {3: 1, 7: 1}  # a third pick (a or b again) scores worse
    assert chosen.weights == {3: 0.5, 7: 0.5}
    assert chosen.loss == pytest.approx(log_loss(y, (a + b) / 2))
    assert chosen.loss < min(log_loss(y, a), log_loss(y, b))


def test_selection_is_with_replacement_and_never_worse_than_the_best_trial():
    y = np.array([1, 0, 1, 0, 1])
    strong = np.array([0.8, 0.3, 0.7, 0.2, 0.6])
    weak = np.array([0.6, 0.6, 0.9, 0.4, 0.4])
    chosen = select({0: weak, 1: strong}, y, size=12)
    assert chosen.loss <= log_loss(y, strong) + 1e-12
    # the weights reproduce the ensemble's loss, and the stronger trial weighs more
    assert chosen.loss == pytest.approx(log_loss(y, chosen.mean({0: weak, 1: strong})))
    assert chosen.weights[1] > chosen.weights.get(0, 0)
    # a copy of the best adds nothing: one member, chosen once
    assert select({0: strong, 1: strong.copy()}, y, size=5).counts == {0: 1}


@pytest.fixture(scope="module")
def study(imdb_dir, tmp_path_factory):
    """A tiny study made by the CLI: 3 complete trials that kept their weights, and a study
    attr saying where."""
    folder = tmp_path_factory.mktemp("ens")
    storage = f"sqlite:///{folder / 'e.db'}"
    args = ["--study", "e", "--storage", storage, "--space", f"{TINY}:space", "--epochs", "2"]
    args += [*tiny_data_args(imdb_dir), "--seed", "3", "--pruner", "none", "--trials", "3"]
    assert optimize.main(args) == 0
    return storage


def test_complete_trials_keep_weights_and_validation_predictions(study, tiny_data):
    s = optuna.load_study(study_name="e", storage=study)
    store = kept.store(s.user_attrs["paths"]["artifacts"])
    assert Path(s.user_attrs["paths"]["artifacts"]) == Path(study[10:]).parent / "e-artifacts"
    for trial in s.trials:
        ids = Record.of(trial).kept
        preds = kept.load_predictions(store, ids)
        assert preds.shape == (len(tiny_data.val.y),) and ((preds > 0) & (preds < 1)).all()
        weights = kept.load_weights(store, ids)
        assert {"embedding", "lstm_0", "probability"} <= set(weights)
        assert weights["embedding"][0].shape[1] == 8  # the tiny space's embedding_dim
        # the dashboard's artifact list has them too
        names = {
            m.filename for m in optuna.artifacts.get_all_artifact_meta(trial, storage=s._storage)
        }
        assert names == {
            f"trial{trial.number}-weights.npz",
            f"trial{trial.number}-val_predictions.npy",
        }


def test_only_the_best_trials_keep_their_weights(imdb_dir, tmp_path):
    storage = f"sqlite:///{tmp_path / 'k.db'}"
    args = ["--study", "k", "--storage", storage, "--space", f"{TINY}:space", "--epochs", "1"]
    args += [*tiny_data_args(imdb_dir), "--seed", "1", "--pruner", "none", "--trials", "3"]
    assert optimize.main([*args, "--keep", "1", "--artifacts", str(tmp_path / "art")]) == 0
    s = optuna.load_study(study_name="k", storage=storage)
    store = kept.store(tmp_path / "art")
    having = [t.number for t in s.trials if kept.has_weights(store, Record.of(t).kept)]
    assert having == [s.best_trial.number]
    assert all(kept.load_predictions(store, Record.of(t).kept) is not None for t in s.trials)


def _ensemble(storage, imdb_dir, out, *extra):
    return ensemble_main(
        ["--study", "e", "--storage", storage, "--data", str(imdb_dir), "--out", str(out), *extra]
    )


def test_the_exported_ensemble_is_the_weighted_mean_of_its_members(
    study, imdb_dir, tmp_path, capsys
):
    assert _ensemble(study, imdb_dir, tmp_path, "--size", "6") == 0
    shown = capsys.readouterr().out
    assert "best single trial" in shown and "ensemble of" in shown and "tfidf" in shown
    path = tmp_path / "e-ensemble.keras"
    card = json.loads(path.with_suffix(".json").read_text())
    members = card["members"]
    assert members and sum(m["weight"] for m in members) == pytest.approx(1.0)
    # each member rebuilt from its kept weights as a raw-text model, weighted by hand
    s = optuna.load_study(study_name="e", storage=study)
    store = kept.store(s.user_attrs["paths"]["artifacts"])
    texts = ["a wonderful moving film", "awful boring waste<br />of time", "the plot"]
    from search import linear
    from search.data import read_splits
    from search.rerun import study_data, trial_params
    from search.trial import trial_data

    data, _ = study_data(s, str(imdb_dir), None)
    mean = np.zeros(len(texts))
    assert "nbsvm" in [m.get("member") for m in members]  # tiny LSTMs: the NBSVM helps
    for m in members:
        if m.get("member") == "nbsvm":  # fitted again on the study's split: the same model
            splits = read_splits(Path(data.source), data.settings)
            mean += m["weight"] * export.predict_texts(linear.to_keras(linear.fit(splits)), texts)
            continue
        trial = s.trials[m["trial"]]
        params = trial_params(
            trial, s.user_attrs["settings"]["space"], s.user_attrs["settings"]["data"]
        )
        cut = trial_data(params, data)
        model = export.rebuilt(
            params, kept.load_weights(store, Record.of(trial).kept), vocabulary=cut.vocabulary
        )
        mean += m["weight"] * export.predict_texts(model, texts)
    np.testing.assert_allclose(predict.probabilities(path, texts), mean, atol=1e-5)
    assert s.user_attrs["ensemble"]["model"] == str(path)


def test_refit_trains_each_member_on_train_and_val_as_rerun_all_data_does(
    study, imdb_dir, tmp_path, capsys
):
    assert _ensemble(study, imdb_dir, tmp_path, "--size", "1", "--refit", "--no-nbsvm") == 0
    shown = capsys.readouterr().out
    card = json.loads((tmp_path / "e-ensemble-alldata.json").read_text())
    (member,) = card["members"]
    number = member["trial"]
    assert f"refit of trial {number} on train+val epoch 1/" in shown
    assert f"best single trial ({number}), refit" in shown and "ensemble of 1, refit" in shown
    assert card["trained_on"] == "train+val (refit)"
    from search import rerun

    args = ["--study", "e", "--storage", study, "--data", str(imdb_dir), "--out", str(tmp_path)]
    assert rerun.main([*args, "--trial", str(number), "--all-data"]) == 0
    assert "rerun of trial" not in capsys.readouterr().out  # its record says how: one fit
    texts = ["a wonderful moving film", "awful boring waste<br />of time", "the plot"]
    np.testing.assert_allclose(
        predict.probabilities(tmp_path / "e-ensemble-alldata.keras", texts),
        predict.probabilities(tmp_path / f"e-trial{number}-alldata.keras", texts),
        atol=1e-5,
    )


def test_refit_with_the_nbsvm_refits_it_on_train_and_val_too(study, imdb_dir, tmp_path, capsys):
    assert _ensemble(study, imdb_dir, tmp_path, "--size", "6", "--refit") == 0
    shown = capsys.readouterr().out
    assert "refitting the NBSVM member on train+val" in shown
    card = json.loads((tmp_path / "e-ensemble-alldata.json").read_text())
    (nbsvm,) = [m for m in card["members"] if m.get("member") == "nbsvm"]
    refit_rows = [r for r in card["metrics"] if r.endswith(", refit")]
    assert any("with the NBSVM, refit" in r for r in refit_rows)
    # the exported file holds the refit NBSVM: trained on train+val, it knows val's n-grams
    from search import linear
    from search.data import read_splits
    from search.rerun import study_data

    s = optuna.load_study(study_name="e", storage=study)
    data, _ = study_data(s, str(imdb_dir), None)
    splits = read_splits(Path(data.source), data.settings)
    first = linear.fit(splits)
    refit = linear.fit(splits, refit_c=first.C)
    assert len(refit.vocabulary) > len(first.vocabulary)
    assert nbsvm["params"] == f"NBSVM, {len(refit.vocabulary)} 1-3 grams, C={first.C:g}"


def test_the_exported_ensemble_loads_without_this_project(study, imdb_dir, tmp_path):
    assert _ensemble(study, imdb_dir, tmp_path, "--quiet") == 0
    path = tmp_path / "e-ensemble.keras"
    texts = ["a wonderful, moving film", "awful boring waste"]
    script = textwrap.dedent(f"""
        import json, sys, keras, tensorflow as tf
        model = keras.models.load_model({str(path)!r})
        p = model.predict(tf.constant({texts!r}), verbose=0).reshape(-1).tolist()
        assert not any(name == "search" or name.startswith(("search.", "spaces"))
                       for name in sys.modules), "the project was imported"
        print(json.dumps(p))
    """)
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": ""},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_allclose(
        json.loads(done.stdout.strip().splitlines()[-1]),
        predict.probabilities(path, texts),
        atol=1e-5,
    )


def test_the_api_call_works_after_the_command_module_is_imported(study, imdb_dir, tmp_path):
    result = search.ensemble(
        study="e", storage=study, data=str(imdb_dir), out=tmp_path, size=1, nbsvm=False
    )
    assert [row["model"] for row in result["rows"][:2]] == [
        f"best single trial ({result['members'][0]['trial']})",
        "ensemble of 1",
    ]
    assert result["rows"][0]["test_accuracy"] == result["rows"][1]["test_accuracy"]


def test_one_complete_trial_gives_a_one_member_ensemble_with_a_note(imdb_dir, tmp_path, capsys):
    storage = f"sqlite:///{tmp_path / 'one.db'}"
    args = ["--study", "e", "--storage", storage, "--space", f"{TINY}:space", "--epochs", "1"]
    assert optimize.main([*args, *tiny_data_args(imdb_dir), "--trials", "1", "--no-baseline"]) == 0
    capsys.readouterr()
    assert _ensemble(storage, imdb_dir, tmp_path, "--quiet", "--no-nbsvm") == 0
    out = capsys.readouterr()
    assert "only trial 0 kept its weights" in out.err
    assert "ensemble of 1" in out.out
    assert json.loads((tmp_path / "e-ensemble.json").read_text())["members"][0]["weight"] == 1.0


def test_a_size_below_one_is_one_line_and_exit_2(study, imdb_dir, tmp_path, capsys):
    assert _ensemble(study, imdb_dir, tmp_path, "--size", "0") == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: --size 0: expected a positive number of selection steps"
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("none", "has no complete trial"),
        ("keep0", "kept its weights (made before lstm-search kept them, or with --keep 0)"),
    ],
)
def test_a_study_without_kept_trials_is_one_line_and_exit_2(
    setup, message, imdb_dir, tmp_path, capsys
):
    storage = f"sqlite:///{tmp_path / 'b.db'}"
    args = ["--study", "e", "--storage", storage, "--space", f"{TINY}:space", "--epochs", "1"]
    args += [*tiny_data_args(imdb_dir), "--no-baseline", "--trials", "1"]
    if setup == "none":  # the study's attrs, but its one trial gone
        assert optimize.main(args) == 0
        attrs = optuna.load_study(study_name="e", storage=storage).user_attrs
        optuna.delete_study(study_name="e", storage=storage)
        fresh = optuna.create_study(study_name="e", storage=storage)
        for key, value in attrs.items():
            fresh.set_user_attr(key, value)
    else:
        assert optimize.main([*args, "--keep", "0"]) == 0
    capsys.readouterr()
    assert _ensemble(storage, imdb_dir, tmp_path, "--quiet") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1 and message in err
