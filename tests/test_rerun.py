from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from search import optimize, predict, rerun
from tests.conftest import tiny_data_args

TINY = str(Path(__file__).parent / "tiny_space.py")


@pytest.fixture(scope="module")
def study(imdb_dir, tmp_path_factory):
    """A tiny study made by the CLI: 3 complete trials and one pruned one."""
    folder = tmp_path_factory.mktemp("study")
    storage = f"sqlite:///{folder / 'r.db'}"
    common = [
        "--study",
        "r",
        "--storage",
        storage,
        "--space",
        f"{TINY}:space",
        "--epochs",
        "2",
        *tiny_data_args(imdb_dir),
        "--seed",
        "4",
        "--pruner",
        "none",
    ]
    assert optimize.main([*common, "--trials", "3"]) == 0
    s = optuna.load_study(study_name="r", storage=storage)
    s.add_trial(pruned_like(s.trials[0], val_loss=5.0))  # worse than every complete trial
    return storage


def pruned_like(trial, val_loss: float):
    """A PRUNED copy of ``trial``'s params that reached ``val_loss`` after one epoch."""
    return optuna.trial.create_trial(
        state=optuna.trial.TrialState.PRUNED,
        params=trial.params,
        distributions=trial.distributions,
        intermediate_values={1: val_loss},
        user_attrs={
            "seed": trial.user_attrs["seed"],
            "curve_val_loss": [val_loss],
            "val_loss": val_loss,
            "epochs_run": 1,
            "best_epoch": 1,
        },
    )


def cli(study, imdb_dir, out, *extra):
    return rerun.main(
        ["--study", "r", "--storage", study, "--data", str(imdb_dir), "--out", str(out), *extra]
    )


def test_rerun_reproduces_the_trial_tests_it_and_exports(study, imdb_dir, tmp_path, capsys):
    s = optuna.load_study(study_name="r", storage=study)
    baseline = s.user_attrs["baseline"]  # search.optimize computed it for the study
    best = s.best_trial
    assert cli(study, imdb_dir, tmp_path, "--trial", str(best.number), "--retrain") == 0
    out = capsys.readouterr().out
    assert f"val_acc rerun {best.user_attrs['val_accuracy']:.4f} vs stored" in out
    assert "confusion (test)" in out and "actual pos" in out
    assert f"rerun of trial {best.number} epoch 1/" in out  # a line per epoch, not silence
    assert f"baseline ({baseline['model']}) test_acc {baseline['test_accuracy']:.4f}" in out
    model_file = tmp_path / f"r-trial{best.number}.keras"
    card = json.loads(model_file.with_suffix(".json").read_text())
    assert card["trial"] == best.number and card["study"] == "r"
    assert card["data"]["maxlen"] == 16 and len(card["data"]["checksum"]) == 64
    assert set(card["versions"]) == {"keras", "tensorflow", "optuna"}
    m = card["metrics"]
    assert m["val_accuracy_rerun"] == pytest.approx(best.user_attrs["val_accuracy"], abs=0.05)
    assert sum(m["test_confusion"].values()) == 40 and 0 <= m["test_accuracy"] <= 1
    stored = optuna.load_study(study_name="r", storage=study).user_attrs[f"rerun:{best.number}"]
    assert stored["test_accuracy"] == m["test_accuracy"]


def test_a_trial_that_kept_its_weights_is_rebuilt_without_training(
    study, imdb_dir, tmp_path, capsys
):
    """The best model without retraining: the kept best-epoch weights give the stored val
    accuracy exactly, and no epoch is trained."""
    s = optuna.load_study(study_name="r", storage=study)
    best = s.best_trial
    assert best.user_attrs.get("kept")  # the study kept its best trials' weights
    assert cli(study, imdb_dir, tmp_path, "--trial", str(best.number)) == 0
    out = capsys.readouterr().out
    assert "rebuilt from its kept weights, no training" in out and "epoch 1/" not in out
    card = json.loads((tmp_path / f"r-trial{best.number}.json").read_text())
    m = card["metrics"]
    assert m["from_kept_weights"] is True and m["epochs"] == best.user_attrs["epochs_run"]
    assert m["val_accuracy_rerun"] == pytest.approx(best.user_attrs["val_accuracy"], abs=1e-6)
    assert m["val_loss_rerun"] == pytest.approx(best.value, abs=1e-3)


def test_exported_model_loads_without_this_project(study, imdb_dir, tmp_path):
    assert cli(study, imdb_dir, tmp_path) == 0
    model_file = next(tmp_path.glob("*.keras"))
    texts = ["a wonderful, moving film", "awful boring waste", "the plot"]
    expected = predict.probabilities(model_file, texts)
    script = textwrap.dedent(f"""
        import json, sys, keras, tensorflow as tf
        model = keras.models.load_model({str(model_file)!r})
        p = model.predict(tf.constant({texts!r}), verbose=0).reshape(-1).tolist()
        assert not any(name == "search" or name.startswith(("search.", "spaces"))
                       for name in sys.modules), "the project was imported"
        print(json.dumps(p))
    """)
    env = {**os.environ, "PYTHONPATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    probabilities = json.loads(done.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(probabilities, expected, rtol=1e-5, atol=1e-6)
    assert all(0 < p < 1 for p in probabilities)


def test_export_is_exact_for_masked_reviews_up_to_maxlen(imdb_dir):
    """With end padding (masked in training), the raw-text model gives the trained model's
    probabilities for every review no longer than maxlen: same vocabulary, same weights."""
    import tensorflow as tf

    from search.data import DataSettings, load_imdb, pad
    from search.export import predict_texts, text_model
    from search.trial import train_params

    data = load_imdb(imdb_dir, DataSettings(vocab_size=100, maxlen=40, padding="post"))
    params = {"embedding_dim": 8, "lstm_units": [6, 4], "bidirectional": True, "batch_size": 16}
    model, _ = train_params(params, data, epochs=1, seed=0)
    exported = text_model(model, params, data)
    texts = ["Wonderful, great film!", "the worst and most boring film", "plot"]
    vectorized = exported.get_layer("vectorize")(tf.constant(texts)).numpy()
    x = pad([row[row > 0] for row in vectorized], 40, "post", "pre")
    expected = model.predict(x, verbose=0).reshape(-1)
    np.testing.assert_allclose(predict_texts(exported, texts), expected, rtol=1e-4, atol=1e-5)


def test_top_k_writes_the_comparison_table(study, imdb_dir, tmp_path):
    assert cli(study, imdb_dir, tmp_path, "--top", "2") == 0
    table = pd.read_csv(tmp_path / "r-top2.csv")
    assert len(table) == 2 and list(table.columns) == [
        "trial",
        "params",
        "val_acc",
        "val_acc_rerun",
        "test_acc",
    ]
    s = optuna.load_study(study_name="r", storage=study)
    best_two = sorted((t for t in s.trials if t.value is not None), key=lambda t: t.value)[:2]
    assert list(table["trial"]) == [t.number for t in best_two]
    header = (tmp_path / "r-top2.md").read_text().splitlines()[0]
    assert "trial" in header and "test_acc" in header


def test_all_data_is_labelled_and_separate(study, imdb_dir, tmp_path, capsys):
    assert cli(study, imdb_dir, tmp_path, "--all-data") == 0
    out = capsys.readouterr().out
    assert "[train+val]" in out
    assert "on train+val epoch 1/" in out  # the fit is not silent
    assert "rerun of trial" not in out  # a complete trial's record has its epochs and rates
    card = json.loads(next(tmp_path.glob("*-alldata.json")).read_text())
    assert card["metrics"]["trained_on"] == "train+val" and card["data"]["n_train"] == 80


def test_a_pruned_trial_with_the_lowest_val_loss_is_the_one_exported(
    study, imdb_dir, tmp_path, capsys
):
    """The study's measure decides, whatever the state: a trial pruned after a better epoch
    than any complete trial is trained in full and exported by default."""
    copy = shutil.copy(study.removeprefix("sqlite:///"), tmp_path / "pruned.db")
    storage = f"sqlite:///{copy}"
    s = optuna.load_study(study_name="r", storage=storage)
    s.add_trial(pruned_like(s.trials[1], val_loss=0.01))
    assert cli(storage, imdb_dir, tmp_path) == 0
    out = capsys.readouterr().out
    assert "trial 4 was pruned after 1 epoch(s) at val_loss 0.0100: training it in full" in out
    assert "rerun of trial 4 epoch 1/" in out
    m = json.loads((tmp_path / "r-trial4.json").read_text())["metrics"]
    assert m["state"] == "PRUNED" and m["val_loss_stored"] == 0.01
    assert m["from_kept_weights"] is False and m["epochs"] >= 1
    # asked for by number, the pruned trial in the shared study reruns too
    assert cli(study, imdb_dir, tmp_path / "three", "--trial", "3") == 0
    assert (tmp_path / "three" / "r-trial3.keras").is_file()


def test_refusals(study, imdb_dir, tmp_path, capsys):
    assert cli(study, imdb_dir, tmp_path, "--trial", "99") == 2
    assert "--trial 99: no such trial" in capsys.readouterr().err
    failed = shutil.copy(study.removeprefix("sqlite:///"), tmp_path / "failed.db")
    optuna.load_study(study_name="r", storage=f"sqlite:///{failed}").add_trial(
        optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL)
    )
    assert cli(f"sqlite:///{failed}", imdb_dir, tmp_path, "--trial", "4") == 2
    assert "--trial 4 is FAIL with no val_loss" in capsys.readouterr().err
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    optuna.create_study(study_name="r", storage=empty)
    assert cli(empty, imdb_dir, tmp_path) == 2
    assert "has no completed or pruned trial" in capsys.readouterr().err
    foreign = f"sqlite:///{tmp_path / 'foreign.db'}"
    optuna.create_study(study_name="r", storage=foreign).optimize(lambda t: 1.0, n_trials=1)
    assert cli(foreign, imdb_dir, tmp_path) == 2
    assert "was not made by search.optimize" in capsys.readouterr().err
    assert cli(study.replace("r.db", "nothing.db"), imdb_dir, tmp_path) == 2
    assert "No study 'r'" in capsys.readouterr().err
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert cli(study, imdb_dir, blocked / "models") == 2
    assert f"--out {str(blocked / 'models')!r}: cannot write there (" in capsys.readouterr().err
    # an existing model is never overwritten without --overwrite
    best = optuna.load_study(study_name="r", storage=study).best_trial.number
    existing = tmp_path / f"r-trial{best}.keras"
    existing.write_text("keep me")
    assert cli(study, imdb_dir, tmp_path) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert existing.read_text() == "keep me"
    # other data would store test figures the study never ran on: refused unless forced
    from tests.conftest import make_imdb

    other = make_imdb(tmp_path / "other", seed=5)
    before = optuna.load_study(study_name="r", storage=study).user_attrs
    assert cli(study, other, tmp_path / "elsewhere") == 2
    err = capsys.readouterr().err
    assert "is not the study's (checksum" in err and "--force" in err
    assert optuna.load_study(study_name="r", storage=study).user_attrs == before


def test_export_is_exact_for_a_pooled_model_on_a_vocabulary_cut(imdb_dir):
    """A pooled model trained on a trial's cut (front-padded data, moved to the end and masked)
    gives the same probabilities as its raw-text export, for reviews up to maxlen."""
    import tensorflow as tf

    from search.data import DataSettings, load_imdb
    from search.export import predict_texts, text_model
    from search.fitting import predict
    from search.trial import train_params, trial_data

    data = load_imdb(imdb_dir, DataSettings(vocab_size=100, maxlen=40))
    params = {"embedding_dim": 8, "lstm_units": [6], "bidirectional": True, "batch_size": 16}
    params.update(pooling="max_mean", vocab_size=30)
    cut = trial_data(params, data)
    assert cut.settings.padding == "post" and len(cut.vocabulary) == 30
    model, _ = train_params(params, cut, epochs=1, seed=0)
    exported = text_model(model, params, cut)
    texts = ["Wonderful, great film!", "the worst and most boring film", "plot"]
    x = exported.get_layer("vectorize")(tf.constant(texts)).numpy()  # end-padded
    assert x.max() < 30  # the cut vocabulary is the one inside
    expected = predict(model, x, padding="post")
    np.testing.assert_allclose(predict_texts(exported, texts), expected, rtol=1e-4, atol=1e-5)


def test_a_study_with_a_glove_file_of_another_dimension_exports(imdb_dir, tmp_path):
    """The export rebuilt the network without the study's vectors source, so a --glove file of
    another dimension than the packaged 50d failed with a weight-shape mismatch."""
    from tests.conftest import NEGATIVE, NEUTRAL, POSITIVE

    rng = np.random.default_rng(0)
    glove = tmp_path / "glove.tiny.6d.txt"
    glove.write_text(
        "".join(
            f"{w} {' '.join(f'{v:.3f}' for v in rng.normal(size=6))}\n"
            for w in POSITIVE + NEGATIVE + NEUTRAL
        )
    )
    space = tmp_path / "glove_space.py"
    space.write_text(
        "def space(s):\n"
        "    return {'embedding': 'glove_tuned', 'lstm_units': [s.int('units', 3, 4)],\n"
        "            'pooling': 'max', 'batch_size': 16}\n"
    )
    storage = f"sqlite:///{tmp_path / 'g.db'}"
    common = ["--study", "g", "--storage", storage]
    args = [*common, "--space", f"{space}:space", "--glove", str(glove), "--epochs", "1"]
    assert optimize.main([*args, *tiny_data_args(imdb_dir), "--trials", "1"]) == 0
    out = tmp_path / "models"
    assert rerun.main([*common, "--data", str(imdb_dir), "--out", str(out)]) == 0
    card = json.loads((out / "g-trial0.json").read_text())
    assert card["params"]["embedding"] == "glove_tuned"
    import keras

    exported = keras.models.load_model(out / "g-trial0.keras")
    assert exported.get_layer("embedding").get_weights()[0].shape[1] == 6


def test_rerun_finds_the_study_data_without_data(study, tmp_path, capsys):
    """The study remembers where its data was: no --data, no $IMDB_DATA, no download."""
    assert rerun.main(["--study", "r", "--storage", study, "--out", str(tmp_path)]) == 0
    assert "test_acc" in capsys.readouterr().out


def test_the_export_reads_raw_text_as_the_study_tokenised_it(imdb_dir):
    """Against ids the data loader computed on its own (not the export's text layer): the
    export's token ids are the study's, its probabilities the trained model's, and its test
    accuracy within 0.005 of the tokenised evaluation, on every raw test review."""
    import tensorflow as tf

    from search.data import DataSettings, clean, load_imdb, read_reviews
    from search.export import predict_texts, text_model
    from search.fitting import predict
    from search.trial import train_params

    data = load_imdb(imdb_dir, DataSettings(vocab_size=100, maxlen=60, padding="post"))
    params = {"embedding_dim": 8, "lstm_units": [6], "pooling": "max_mean", "batch_size": 16}
    model, _ = train_params(params, data, epochs=2, seed=0)
    exported = text_model(model, params, data)
    test = read_reviews(imdb_dir)["test"]
    assert all("<br />" in text for text in test.texts)  # IMDB's line breaks, as in the archive
    ids = exported.get_layer("vectorize")(tf.constant([clean(t) for t in test.texts])).numpy()
    for mine, loaders in zip(ids, data.test.x, strict=True):
        np.testing.assert_array_equal(mine[mine > 0], loaders[loaders > 0])
    expected = predict(model, data.test.x, padding="post")
    got = predict_texts(exported, test.texts)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    accuracy = lambda p: float(((p >= 0.5) == (test.labels >= 0.5)).mean())  # noqa: E731
    assert abs(accuracy(got) - accuracy(expected)) <= 0.005
