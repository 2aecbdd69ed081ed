"""Model params (search/params.py): checked once, defaults filled, bad values named."""

from __future__ import annotations

import numpy as np
import pytest

from search.model import build_model
from search.params import DEFAULTS, ModelParams


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"units": 64}, r"Unknown model param\(s\) \['units'\]"),
        ({"lstm_units": [0]}, r"lstm_units=\[0\]"),
        ({"lstm_units": [8, 8, 8, 8]}, r"lstm_units=\[8, 8, 8, 8\]; expected a list of 1..3"),
        ({"lstm_units": []}, r"lstm_units=\[\]"),
        ({"dropout": 1.0}, r"dropout=1.0; expected a fraction in \[0, 1\)"),
        ({"recurrent_dropout": -0.1}, r"recurrent_dropout=-0.1"),
        ({"optimizer": "adagrad"}, r"optimizer='adagrad'; expected one of"),
        ({"embedding": "word2vec"}, r"embedding='word2vec'"),
        ({"learning_rate": 0}, r"learning_rate=0"),
        ({"l2": float("nan")}, r"l2=nan"),
        ({"bidirectional": "yes"}, r"bidirectional='yes'"),
        ({"batch_size": 0}, r"batch_size=0"),
        ({"conv_filters": -1}, r"conv_filters=-1"),
        ({"pooling": "attention"}, r"pooling='attention'; expected one of"),
        ({"maxlen": 0}, r"maxlen=0"),
        ({"vocab_size": 2.5}, r"vocab_size=2.5"),
        ({"embedding_dropout": 1}, r"embedding_dropout=1"),
        # sizes beyond anything sensible are refused before TensorFlow runs out of memory
        ({"lstm_units": [100000000]}, r"lstm_units=\[100000000\]; expected integers in 1..4096"),
        ({"embedding_dim": 1000000000}, r"embedding_dim=1000000000; .*\(1..2048\)"),
        ({"batch_size": 10**22}, r"batch_size=10000000000000000000000; .*\(1..8192\)"),
        ({"dense_units": [10**6]}, r"dense_units=\[1000000\]"),
        ({"conv_filters": 10**6}, r"conv_filters=1000000"),
        ({"maxlen": 10**6}, r"maxlen=1000000"),
    ],
)
def test_invalid_params_name_key_and_value(params, message):
    with pytest.raises(ValueError, match=message):
        ModelParams.of(params)


def test_params_fill_defaults_and_normalise_units():
    p = ModelParams.of({"lstm_units": 32})
    assert p.lstm_units == (32,) and p.dense_units == ()
    assert set(p.as_dict()) == set(DEFAULTS) and p.as_dict()["lstm_units"] == [32]


def test_values_from_numpy_and_samplers_become_python_types():
    p = ModelParams.of({"lstm_units": [np.int64(8)], "dropout": np.float32(0.5), "batch_size": 32})
    assert type(p.lstm_units[0]) is int and type(p.dropout) is float
    assert ModelParams.of(p) is p  # checked once: passed along as it is


def test_a_model_is_built_from_params_or_from_a_plain_dict():
    made = build_model(ModelParams(lstm_units=(4,)), vocab_size=50, maxlen=8)
    plain = build_model({"lstm_units": [4]}, vocab_size=50, maxlen=8)
    assert made.count_params() == plain.count_params()


def test_out_of_memory_while_building_or_training_is_one_line_naming_the_sizes():
    import tensorflow as tf

    from search.trial import OutOfMemory, memory_bounded

    message = "OOM when allocating tensor with shape[100000000,4]\n" * 30
    p = ModelParams(lstm_units=(4000, 4000), batch_size=8192)
    with pytest.raises(OutOfMemory) as info:
        with memory_bounded(p):
            raise tf.errors.ResourceExhaustedError(None, None, message)
    text = str(info.value)
    assert "\n" not in text and "lstm_units=(4000, 4000)" in text and "batch_size=8192" in text
    with pytest.raises(ValueError, match="not memory"):  # other errors pass through as they are
        with memory_bounded(p):
            raise ValueError("not memory")
