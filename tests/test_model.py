from __future__ import annotations

import keras
import numpy as np
import pytest

from search.model import build_model
from search.presets import PRESETS

VOCAB, MAXLEN = 50, 12
RNG = np.random.default_rng(0)
X = RNG.integers(0, VOCAB, size=(16, MAXLEN)).astype("int32")
Y = (RNG.random(16) > 0.5).astype("float32")
MATRIX = RNG.normal(size=(VOCAB, 8)).astype("float32")

VARIANTS = {
    **{f"preset_{name}": preset.params for name, preset in PRESETS.items()},
    "three_bidirectional_layers": {"lstm_units": [8, 6, 4], "bidirectional": True},
    "everything": {
        "embedding_dim": 8,
        "spatial_dropout": 0.2,
        "conv_filters": 4,
        "conv_kernel": 3,
        "conv_pool": 2,
        "lstm_units": [8, 8],
        "bidirectional": True,
        "lstm_dropout": 0.1,
        "recurrent_dropout": 0.1,
        "dense_units": [8, 4],
        "dropout": 0.3,
        "l2": 1e-3,
        "optimizer": "rmsprop",
        "learning_rate": 3e-3,
    },
    "sgd_momentum": {"optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.8},
    **{
        f"pool_{pooling}": {"pooling": pooling, "bidirectional": True, "embedding_dropout": 0.2}
        for pooling in ("max", "mean", "max_mean")
    },
    "domain_tuned_max_mean": {"embedding": "domain_tuned", "pooling": "max_mean"},
    "domain_frozen": {"embedding": "domain_frozen", "lstm_units": [8, 8]},
    "units_256": {"lstm_units": [256], "pooling": "max"},
}


def small(params):
    """Shrink a preset so a training step takes milliseconds."""
    p = dict(params)
    p["lstm_units"] = [min(u, 8) for u in p.get("lstm_units", [8])]
    p.setdefault("embedding_dim", 8)
    return p


CASES = [(name, False) for name in sorted(VARIANTS)] + [
    (name, True) for name in ("everything", "preset_bilstm", "preset_stacked", "pool_max_mean")
]


@pytest.mark.parametrize(("name", "mask_zero"), CASES)
def test_every_variant_builds_and_trains_a_step(name, mask_zero):
    model = build_model(
        small(VARIANTS[name]),
        vocab_size=VOCAB,
        maxlen=MAXLEN,
        embedding_matrix=MATRIX,
        mask_zero=mask_zero,
    )
    loss = model.train_on_batch(X, Y)
    assert np.isfinite(loss).all()
    prob = model.predict(X[:3], verbose=0)
    assert prob.shape == (3, 1) and ((prob > 0) & (prob < 1)).all()


def layer_types(model):
    return [type(layer).__name__ for layer in model.layers if type(layer).__name__ != "InputLayer"]


def test_structure_follows_the_params():
    model = build_model(small(VARIANTS["everything"]), vocab_size=VOCAB, maxlen=MAXLEN)
    assert layer_types(model) == [
        "Embedding",
        "SpatialDropout1D",
        "Conv1D",
        "MaxPooling1D",
        "Bidirectional",
        "Bidirectional",
        "Dense",
        "Dense",
        "Dropout",
        "Dense",
    ]
    first = model.get_layer("bilstm_0").forward_layer
    second = model.get_layer("bilstm_1").forward_layer
    assert first.return_sequences and not second.return_sequences
    assert first.recurrent_dropout == 0.1 and first.dropout == 0.1
    assert first.cell.kernel_regularizer is not None
    assert isinstance(model.optimizer, keras.optimizers.RMSprop)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(3e-3)
    plain = build_model({}, vocab_size=VOCAB, maxlen=MAXLEN)
    assert layer_types(plain) == ["Embedding", "LSTM", "Dense"]
    assert plain.get_layer("lstm_0").units == 64
    assert plain.get_layer("embedding").output_dim == 128


def test_pooling_reads_every_step_and_token_dropout_drops_whole_tokens():
    model = build_model(
        {"pooling": "max_mean", "embedding_dropout": 0.25, "lstm_units": [8, 8]},
        vocab_size=VOCAB,
        maxlen=MAXLEN,
    )
    assert layer_types(model) == [
        "Embedding",
        "Dropout",
        "LSTM",
        "LSTM",
        "ReLU",
        "GlobalMaxPooling1D",
        "GlobalAveragePooling1D",
        "Concatenate",
        "Dense",
    ]
    assert model.get_layer("lstm_1").return_sequences  # the pooled layer gives every step
    assert model.get_layer("pools").output.shape == (None, 16)
    assert model.get_layer("token_drop").noise_shape == (None, None, 1)
    assert model.get_layer("embedding").mask_zero  # pooling must skip the padding


def test_pooled_output_ignores_padding_on_either_side():
    """A pooled model gives one review the same probability however much padding surrounds it."""
    for pooling in ("max", "mean", "max_mean"):
        model = build_model(
            {"pooling": pooling, "embedding_dim": 8, "lstm_units": [4]},
            vocab_size=VOCAB,
            maxlen=None,
        )
        review = [5, 9, 3, 7]
        batch = np.array([review + [0, 0, 0], [0, 0, 0] + review, review + [0] * 3], "int32")
        bare = model.predict(np.array([review], "int32"), verbose=0)[0, 0]
        out = model.predict(batch, verbose=0)[:, 0]
        np.testing.assert_allclose(out[[0, 2]], bare, rtol=1e-5)
        # front padding: the LSTM skips masked steps too
        np.testing.assert_allclose(out[1], bare, rtol=1e-5)


def test_masking_only_for_post_padding_without_conv():
    masked = build_model({}, vocab_size=VOCAB, maxlen=MAXLEN, mask_zero=True)
    assert masked.get_layer("embedding").mask_zero
    assert not build_model({}, vocab_size=VOCAB, maxlen=MAXLEN).get_layer("embedding").mask_zero
    conv = build_model({"conv_filters": 4}, vocab_size=VOCAB, maxlen=MAXLEN, mask_zero=True)
    assert not conv.get_layer("embedding").mask_zero


@pytest.mark.parametrize(
    ("kind", "trains"),
    [
        ("glove_frozen", False),
        ("glove_tuned", True),
        ("domain_frozen", False),
        ("domain_tuned", True),
    ],
)
def test_glove_embedding_starts_from_the_matrix_and_is_frozen_or_tuned(kind, trains):
    model = build_model(
        {"embedding": kind, "lstm_units": [4], "learning_rate": 0.1},
        vocab_size=VOCAB,
        maxlen=MAXLEN,
        embedding_matrix=MATRIX,
    )
    embedding = model.get_layer("embedding")
    np.testing.assert_allclose(embedding.get_weights()[0], MATRIX)
    for _ in range(3):
        model.train_on_batch(X, Y)
    changed = not np.allclose(embedding.get_weights()[0], MATRIX)
    assert changed is trains


def test_glove_needs_a_matching_matrix():
    with pytest.raises(ValueError, match="embedding='glove_tuned' needs an embedding_matrix"):
        build_model({"embedding": "glove_tuned"}, vocab_size=VOCAB, maxlen=MAXLEN)
    with pytest.raises(ValueError, match="49 rows; expected vocab_size=50"):
        build_model(
            {"embedding": "glove_tuned"},
            vocab_size=VOCAB,
            maxlen=MAXLEN,
            embedding_matrix=MATRIX[:49],
        )
