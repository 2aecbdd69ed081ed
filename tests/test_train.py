from __future__ import annotations

import json

import keras
import numpy as np
import pandas as pd
import pytest

from search import train as train_mod
from search.data import Split
from search.fitting import fit
from search.trial import model_for, train_params
from tests.conftest import tiny_data_args

SMALL = {"embedding_dim": 8, "lstm_units": [8], "learning_rate": 0.01, "batch_size": 16}


def test_fit_records_curves_best_epoch_and_restores_best_weights(tiny_data):
    model, result = train_params(SMALL, tiny_data, epochs=4, seed=3)
    h = result.history
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"} <= set(h)
    assert result.epochs_run == len(h["val_loss"]) <= 4
    assert result.best_epoch == int(np.argmin(h["val_loss"])) + 1
    assert result.seconds > 0 and result.samples_per_second > 0
    val_loss, _ = model.evaluate(tiny_data.val.x, tiny_data.val.y, verbose=0)
    assert val_loss == pytest.approx(min(h["val_loss"]), rel=1e-3)  # best weights restored


def test_fit_is_seeded(tiny_data):
    a = train_params(SMALL, tiny_data, epochs=2, seed=7)[1].history["val_loss"]
    b = train_params(SMALL, tiny_data, epochs=2, seed=7)[1].history["val_loss"]
    assert a == pytest.approx(b, rel=1e-5)


def test_early_stopping_and_lr_reduction_act_on_val_loss(tiny_data):
    # validation labels flipped: the better the model learns, the worse val_loss gets
    flipped = tiny_data._replace(val=Split(tiny_data.val.x, 1.0 - tiny_data.val.y))
    _, result = train_params(SMALL, flipped, epochs=30, seed=0)
    assert result.epochs_run < 30 and result.best_epoch == result.epochs_run - 3  # patience 3
    rates = result.history["learning_rate"]
    assert rates[0] == pytest.approx(0.01) and rates[-1] < rates[0]


def test_callbacks_hook_runs_and_curves_survive_an_exception(tiny_data):
    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("pruned")

    keras.utils.set_random_seed(0)
    model = model_for(SMALL, tiny_data)
    history: dict = {}
    with pytest.raises(RuntimeError, match="pruned"):
        fit(model, tiny_data, epochs=5, batch_size=16, callbacks=[Stop()], history=history)
    assert len(history["val_loss"]) == 2 and len(history["loss"]) == 2


def test_glove_model_uses_the_packaged_vectors(tiny_data):
    model = model_for({"embedding": "glove_frozen", "lstm_units": [4]}, tiny_data)
    weights = model.get_layer("embedding").get_weights()[0]
    assert weights.shape == (len(tiny_data.vocabulary), 50) and not weights[0].any()


def test_epochs_must_be_positive(tiny_data):
    with pytest.raises(ValueError, match="epochs=0"):
        fit(model_for(SMALL, tiny_data), tiny_data, epochs=0)


def test_cli_one_preset_saves_a_model(imdb_dir, tmp_path, capsys):
    out = tmp_path / "m.keras"
    train_mod.main(
        [
            "--preset",
            "bilstm",
            "--epochs",
            "1",
            *tiny_data_args(imdb_dir),
            "--out",
            str(out),
        ]
    )
    printed = capsys.readouterr().out
    assert "bilstm: val_acc=" in printed and "test_acc=" in printed and "reported 0.8766" in printed
    assert "bilstm epoch 1/1 val_loss=" in printed and "samples/s" in printed  # not silent
    # a raw-text model with its card, like search.rerun's: search.predict reads it
    from search import predict

    assert predict.main([str(out), "a wonderful film"]) == 0
    assert capsys.readouterr().out.split("\t")[0] in ("positive", "negative")
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["preset"] == "bilstm" and card["params"]["bidirectional"] is True
    assert keras.models.load_model(out).inputs[0].dtype == "string"


def test_cli_all_presets_writes_the_comparison_table(imdb_dir, tmp_path, capsys, monkeypatch):
    # three presets (one stacked, one with a Conv1D front), shrunk so the table trains in
    # seconds; the CLI path stays the real one
    small_presets = {
        name: preset._replace(
            params={
                **preset.params,
                "embedding_dim": 4,
                "lstm_units": [4] * len(preset.params["lstm_units"]),
            }
        )
        for name, preset in train_mod.PRESETS.items()
        if name in ("bilstm", "stacked", "cnn_lstm")
    }
    monkeypatch.setattr(train_mod, "PRESETS", small_presets)
    monkeypatch.setattr("search.presets.PRESETS", small_presets)
    out = tmp_path / "results.csv"
    train_mod.main(
        [
            "--all-presets",
            "--epochs",
            "1",
            "--data",
            str(imdb_dir),
            "--maxlen",
            "12",
            "--vocab-size",
            "100",
            "--out",
            str(out),
        ]
    )
    table = pd.read_csv(out)
    assert list(table["preset"]) == list(small_presets)
    assert table.loc[table.preset == "bilstm", "reported_test_acc"].item() == 0.8766
    assert table["test_acc"].between(0, 1).all() and table["epochs"].eq(1).all()
    assert "reported_test_acc" in capsys.readouterr().out


def test_cli_rejects_a_wrong_out_suffix(imdb_dir, tmp_path, capsys):
    with pytest.raises(SystemExit):
        train_mod.main(
            ["--all-presets", "--data", str(imdb_dir), "--out", str(tmp_path / "x.keras")]
        )
    assert "expected a .csv path" in capsys.readouterr().err


@pytest.mark.parametrize(
    "bad, message",
    [
        (["--epochs", "0"], "--epochs 0: expected a positive number"),
        (["--batch-size", "0"], "--batch-size 0: expected a positive number"),
        (["--batch-size", "-5"], "--batch-size -5: expected a positive number"),
        (["--out", "/etc/hostname/m.keras"], "/etc/hostname is a file, not a folder"),
    ],
)
def test_cli_bad_options_are_one_line_errors_before_any_work(imdb_dir, capsys, bad, message):
    with pytest.raises(SystemExit) as exit_info:
        train_mod.main(["--preset", "bilstm", *tiny_data_args(imdb_dir), *bad])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize(
    "bad, message",
    [
        (["--vocab-size", "2"], "vocab_size=2; expected an integer >= 3"),
        (["--maxlen", "100000000"], "maxlen=100000000; expected 1..5000 tokens"),
        (["--val-split", "0.001"], "--val-split 0.001: leaves no validation review"),
        (["--val-split", "0.999"], "--val-split 0.999: leaves no training review"),
    ],
)
def test_cli_bad_data_settings_are_one_line_errors(imdb_dir, capsys, bad, message):
    assert train_mod.main(["--preset", "bilstm", "--data", str(imdb_dir), *bad]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cli_trains_any_params_given_as_json(imdb_dir, capsys):
    params = '{"embedding_dim": 8, "lstm_units": [4], "pooling": "max_mean", "maxlen": 12}'
    train_mod.main(["--params", params, "--epochs", "1", *tiny_data_args(imdb_dir)])
    assert "params: val_acc=" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        train_mod.main(["--params", '{"pooling": "attention"}', *tiny_data_args(imdb_dir)])
    assert exit_info.value.code == 2
    assert "pooling='attention'; expected one of" in capsys.readouterr().err


def test_cli_params_given_as_an_empty_object_train_the_family_defaults(imdb_dir, tmp_path, capsys):
    """``--params {}`` asks for every default: it trains, it is not taken for no params."""
    out = tmp_path / "defaults.keras"
    argv = ["--params", "{}", "--epochs", "1", "--out", str(out), *tiny_data_args(imdb_dir)]
    assert train_mod.main(argv) == 0
    assert "params: val_acc=" in capsys.readouterr().out and out.is_file()


def test_a_pretrained_matrix_is_built_once_for_every_cut_of_one_vocabulary(tiny_data, monkeypatch):
    from search import trial
    from search.embeddings import Vectors, VectorSettings

    calls = []

    def fake_source(source, data, settings, verbose=True):
        calls.append(len(data.vocabulary))
        return Vectors(list(data.vocabulary[2:]), np.ones((len(data.vocabulary) - 2, 3), "f4"), "x")

    monkeypatch.setattr(trial, "load_source", fake_source)
    vectors = VectorSettings(dim=7)  # a key no other test builds
    params = {"embedding": "domain_tuned", "lstm_units": [2]}
    for cut in (tiny_data.cut(maxlen=20), tiny_data.cut(maxlen=16, padding="post"), tiny_data):
        model = model_for(params, cut, vectors=vectors)
        assert model.get_layer("embedding").get_weights()[0].shape == (len(cut.vocabulary), 3)
    model_for(params, tiny_data.cut(vocab_size=20), vectors=vectors)
    assert calls == [len(tiny_data.vocabulary), 20]  # a smaller vocabulary is another matrix


def test_a_missing_data_path_is_a_one_line_error(tmp_path, capsys):
    missing = str(tmp_path / "nowhere.tar.gz")
    assert train_mod.main(["--preset", "bilstm", "--data", missing]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: IMDB data not found") and missing in err
    assert "Traceback" not in err


@pytest.mark.parametrize("flag", ["--data", "--unsup"])
@pytest.mark.parametrize("bad, reason", [("x" * 5000, "File name too long"), ("a\0b", "null byte")])
def test_a_path_the_file_system_cannot_even_look_up_is_a_one_line_error(
    flag, bad, reason, imdb_dir, capsys
):
    args = ["--preset", "bilstm", flag, bad]
    assert train_mod.main(args if flag == "--data" else [*args, "--data", str(imdb_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert flag in err and reason in err
