from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from search import export, predict
from search.trial import train_params

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def model_file(tiny_data, tmp_path_factory) -> Path:
    params = {"embedding_dim": 8, "lstm_units": [8], "learning_rate": 0.02, "batch_size": 16}
    model, _ = train_params(params, tiny_data, epochs=3, seed=0)
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    return export.save(export.text_model(model, params, tiny_data), path, {"test": True})


def test_arguments_give_label_and_probability(model_file, capsys):
    assert predict.main([str(model_file), "wonderful superb great film", "awful boring waste"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    (good, p_good, text), (bad, p_bad, _) = (line.split("\t") for line in lines)
    # the tiny reviews carry their label in cue words: the model must have learned which way
    assert (good, bad) == ("positive", "negative") and float(p_good) > 0.5 > float(p_bad)
    assert text == "wonderful superb great film"
    # --threshold moves the line between the labels, not the probabilities
    argv = [str(model_file), "wonderful superb great film", "awful boring waste"]
    assert predict.main([*argv, "--threshold", "0"]) == 0
    assert [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()] == [
        "positive",
        "positive",
    ]
    assert predict.main([*argv, "--threshold", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in out] == ["negative", "negative"]
    assert [line.split("\t")[1] for line in out] == [p_good, p_bad]


def test_file_and_json(model_file, tmp_path, capsys):
    reviews = tmp_path / "reviews.txt"
    reviews.write_text("a wonderful, moving film\n\nthe worst, most boring plot\n")
    assert predict.main([str(model_file), "--file", str(reviews), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in rows] == ["a wonderful, moving film", "the worst, most boring plot"]
    assert all(r["label"] in ("positive", "negative") and 0 < r["probability"] < 1 for r in rows)
    expected = predict.probabilities(model_file, [r["text"] for r in rows])
    assert [r["probability"] for r in rows] == pytest.approx(expected.tolist(), abs=1e-5)


def test_stdin(model_file):
    done = subprocess.run(
        [sys.executable, "-m", "search.predict", str(model_file), "--json"],
        input="great film\nterrible film\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(done.stdout.strip().splitlines()) == 2
    assert done.stderr == ""  # no TensorFlow/absl/CUDA start-up chatter


def test_help_is_instant_and_quiet():
    done = subprocess.run(
        [sys.executable, "-m", "search.predict", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0 and "--threshold" in done.stdout
    assert done.stderr == ""


def test_empty_input_and_bad_paths_are_clear_errors(model_file, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n  \n"))
    assert predict.main([str(model_file)]) == 2
    assert "no review to classify" in capsys.readouterr().err
    assert predict.main([str(tmp_path / "none.keras"), "text"]) == 2
    assert "not found" in capsys.readouterr().err
    junk = tmp_path / "junk.keras"
    junk.write_text("this is not a model")
    assert predict.main([str(junk), "text"]) == 2
    assert "is not a Keras model file" in capsys.readouterr().err
    assert predict.main([str(model_file), "--file", str(tmp_path / "missing.txt")]) == 2
    assert "--file" in capsys.readouterr().err


def test_options_and_texts_mix_in_any_order(model_file, capsys):
    assert predict.main([str(model_file), "--json", "great film", "--threshold", "0.3"]) == 0
    assert json.loads(capsys.readouterr().out)["text"] == "great film"


def test_bad_threshold_and_non_utf8_text_are_one_line_errors(model_file, tmp_path, capsys):
    for threshold in ("7", "-1"):
        with pytest.raises(SystemExit) as exit_info:
            predict.main([str(model_file), "text", "--threshold", threshold])
        assert exit_info.value.code == 2
        assert "expected a probability between 0 and 1" in capsys.readouterr().err
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("caf\xe9 au lait\n".encode("latin-1"))
    assert predict.main([str(model_file), "--file", str(latin1)]) == 2
    assert "is not UTF-8 text (byte 3)" in capsys.readouterr().err
    done = subprocess.run(
        [sys.executable, "-m", "search.predict", str(model_file)],
        input=latin1.read_bytes(),
        capture_output=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 2
    assert b"standard input is not UTF-8 text" in done.stderr and b"Traceback" not in done.stderr
