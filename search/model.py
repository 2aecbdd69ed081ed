"""The LSTM model family, built from a plain params dict (no Optuna here).

Embedding (learned or pretrained, frozen or fine-tuned) -> token dropout? -> SpatialDropout1D?
-> Conv1D + MaxPooling1D? -> 1..3 LSTM layers, each optionally Bidirectional -> pooling over time
(last state, max, mean or both) -> Dense hidden layers? -> Dropout? -> Dense(1).
Every key the builder accepts is listed in ``DEFAULTS`` and checked in ``validate_params``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from search.embeddings import EMBEDDINGS, pretrained_source

POOLINGS = ("last", "max", "mean", "max_mean")
# the max pool "destroys the mask" at every call: no later layer needs it (see ``network``)
warnings.filterwarnings("ignore", "Layer 'max_pool' .* does not support masking", UserWarning)
OPTIMIZERS = ("adam", "rmsprop", "sgd")
MAX_LSTM_LAYERS = 3

DEFAULTS: dict[str, Any] = {
    "embedding": "learned",
    "embedding_dim": 128,  # learned embeddings only; pretrained vectors bring their own
    "embedding_dropout": 0.0,  # drops whole tokens' vectors
    "spatial_dropout": 0.0,
    "conv_filters": 0,  # 0: no Conv1D front-end
    "conv_kernel": 5,
    "conv_pool": 4,
    "lstm_units": (64,),  # one entry per stacked LSTM layer
    "bidirectional": False,
    "lstm_dropout": 0.0,  # dropout on each LSTM layer's inputs
    "recurrent_dropout": 0.0,  # > 0 rules out the cuDNN kernel on GPU (slower)
    "pooling": "last",  # how the last LSTM layer's outputs become one vector
    "dense_units": (),  # hidden Dense(relu) layers before the output
    "dropout": 0.0,  # final dropout before the output
    "l2": 0.0,  # on LSTM kernel and recurrent weights and on hidden Dense kernels
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "momentum": 0.9,  # sgd only
    "batch_size": 64,  # used by fit, kept here so one dict describes a trial
    # the trial's cut of the study's tokenisation (None: the data's own setting)
    "maxlen": None,
    "vocab_size": None,
}

_FRACTIONS = (
    "embedding_dropout",
    "spatial_dropout",
    "lstm_dropout",
    "recurrent_dropout",
    "dropout",
)
_POSITIVE_INTS = ("embedding_dim", "conv_kernel", "conv_pool", "batch_size")


def _bad(key: str, value: Any, expected: str) -> ValueError:
    return ValueError(f"Invalid model param {key}={value!r}; expected {expected}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _units(key: str, value: Any, low: int, high: int) -> tuple[int, ...]:
    if _is_int(value):
        value = (value,)
    if not isinstance(value, list | tuple) or not low <= len(value) <= high:
        raise _bad(key, value, f"a list of {low}..{high} positive integers")
    for units in value:
        if not _is_int(units) or units <= 0:
            raise _bad(key, value, "positive integers (units per layer)")
    return tuple(int(u) for u in value)


def validate_params(params: dict[str, Any]) -> dict[str, Any]:
    """Return ``params`` completed with ``DEFAULTS``; raise ``ValueError`` naming the bad key."""
    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"Unknown model param(s) {unknown}; valid keys are {sorted(DEFAULTS)}")
    p = {**DEFAULTS, **params}
    if p["embedding"] not in EMBEDDINGS:
        raise _bad("embedding", p["embedding"], f"one of {list(EMBEDDINGS)}")
    if p["pooling"] not in POOLINGS:
        raise _bad("pooling", p["pooling"], f"one of {list(POOLINGS)}")
    for key, low in (("maxlen", 1), ("vocab_size", 3)):
        if p[key] is not None and (not _is_int(p[key]) or p[key] < low):
            raise _bad(key, p[key], f"an integer >= {low}, or None for the data's own")
    if p["optimizer"] not in OPTIMIZERS:
        raise _bad("optimizer", p["optimizer"], f"one of {list(OPTIMIZERS)}")
    if not isinstance(p["bidirectional"], bool | np.bool_):
        raise _bad("bidirectional", p["bidirectional"], "True or False")
    for key in _FRACTIONS:
        if not _is_number(p[key]) or not 0.0 <= p[key] < 1.0:
            raise _bad(key, p[key], "a fraction in [0, 1)")
    for key in _POSITIVE_INTS:
        if not _is_int(p[key]) or p[key] <= 0:
            raise _bad(key, p[key], "a positive integer")
    if not _is_int(p["conv_filters"]) or p["conv_filters"] < 0:
        raise _bad("conv_filters", p["conv_filters"], "a positive integer, or 0 for no Conv1D")
    for key, low in (("l2", 0.0), ("momentum", 0.0)):
        if not _is_number(p[key]) or not math.isfinite(p[key]) or p[key] < low:
            raise _bad(key, p[key], "a finite number >= 0")
    if not _is_number(p["learning_rate"]) or not 0.0 < p["learning_rate"] < 10.0:
        raise _bad("learning_rate", p["learning_rate"], "a number in (0, 10)")
    p["lstm_units"] = _units("lstm_units", p["lstm_units"], 1, MAX_LSTM_LAYERS)
    p["dense_units"] = _units("dense_units", p["dense_units"], 0, 3)
    p["bidirectional"] = bool(p["bidirectional"])
    return p


def plain_params(params: dict[str, Any]) -> dict[str, Any]:
    """Validated params as JSON-ready values (tuples as lists), for user attrs and model cards."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in validate_params(params).items()}


def make_optimizer(name: str, learning_rate: float, momentum: float = 0.9):
    import keras

    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=momentum)
    raise _bad("optimizer", name, f"one of {list(OPTIMIZERS)}")


def uses_mask(params: dict[str, Any], mask_zero: bool) -> bool:
    """Whether the network masks padding: pooled outputs must not pool padding steps; a Conv1D
    front-end's pooled output no longer lines up with the padding, so it never masks."""
    p = validate_params(params)
    return (mask_zero or p["pooling"] != "last") and p["conv_filters"] == 0


def network(tokens, params: dict[str, Any], *, vocab_size: int, dim: int, mask_zero: bool):
    """The classifier's layers applied to the symbolic int tensor ``tokens``; returns P(positive).

    Layers carry fixed names, so the raw-text export can rebuild the network over a
    TextVectorization and copy the trained weights layer by layer.
    """
    from keras import layers

    p = validate_params(params)
    reg = keras_l2(p["l2"])
    x = layers.Embedding(
        vocab_size,
        dim,
        mask_zero=uses_mask(p, mask_zero),
        trainable=not p["embedding"].endswith("_frozen"),
        name="embedding",
    )(tokens)
    if p["embedding_dropout"] > 0:  # the same tokens dropped in every channel
        x = layers.Dropout(p["embedding_dropout"], noise_shape=(None, None, 1), name="token_drop")(
            x
        )
    if p["spatial_dropout"] > 0:
        x = layers.SpatialDropout1D(p["spatial_dropout"], name="spatial_drop")(x)
    if p["conv_filters"] > 0:
        x = layers.Conv1D(
            p["conv_filters"], p["conv_kernel"], padding="same", activation="relu", name="conv"
        )(x)
        x = layers.MaxPooling1D(p["conv_pool"], name="conv_pool")(x)
    units = p["lstm_units"]
    for index, n in enumerate(units):
        lstm = layers.LSTM(
            n,
            return_sequences=index < len(units) - 1 or p["pooling"] != "last",
            dropout=p["lstm_dropout"],
            recurrent_dropout=p["recurrent_dropout"],
            kernel_regularizer=reg,
            recurrent_regularizer=reg,
            name=f"lstm_{index}",
        )
        x = layers.Bidirectional(lstm, name=f"bilstm_{index}")(x) if p["bidirectional"] else lstm(x)
    pooled = []
    if p["pooling"] in ("max", "max_mean"):
        # masked steps output 0; ReLU first makes the max the same with or without padding
        pooled.append(layers.GlobalMaxPooling1D(name="max_pool")(layers.ReLU(name="relu")(x)))
    if p["pooling"] in ("mean", "max_mean"):
        pooled.append(layers.GlobalAveragePooling1D(name="mean_pool")(x))  # mask-aware
    if pooled:
        x = pooled[0] if len(pooled) == 1 else layers.Concatenate(name="pools")(pooled)
    for index, n in enumerate(p["dense_units"]):
        x = layers.Dense(n, activation="relu", kernel_regularizer=reg, name=f"dense_{index}")(x)
    if p["dropout"] > 0:
        x = layers.Dropout(p["dropout"], name="final_drop")(x)
    return layers.Dense(1, activation="sigmoid", name="probability")(x)


def keras_l2(factor: float):
    import keras

    return keras.regularizers.L2(factor) if factor > 0 else None


def build_model(
    params: dict[str, Any],
    *,
    vocab_size: int,
    maxlen: int | None,
    embedding_matrix: np.ndarray | None = None,
    mask_zero: bool = False,
):
    """A compiled binary classifier over int sequences of length ``maxlen``.

    Args:
        params: model params (see ``DEFAULTS``); validated first.
        vocab_size: rows of the embedding (the vocabulary's length).
        maxlen: sequence length (None: any length).
        embedding_matrix: (vocab_size, dim) pretrained vectors, required for pretrained
            embeddings.
        mask_zero: mask padding id 0; needed for end ("post") padding. Pooled models always
            mask; a Conv1D front-end never does (``uses_mask``).
    """
    import keras

    p = validate_params(params)
    source = pretrained_source(p["embedding"])
    if source:
        if embedding_matrix is None:
            raise ValueError(f"embedding={p['embedding']!r} needs an embedding_matrix ({source})")
        if embedding_matrix.shape[0] != vocab_size:
            raise ValueError(
                f"embedding_matrix has {embedding_matrix.shape[0]} rows; "
                f"expected vocab_size={vocab_size}"
            )
    dim = embedding_matrix.shape[1] if source else p["embedding_dim"]
    tokens = keras.Input(shape=(maxlen,), dtype="int32", name="tokens")
    output = network(tokens, p, vocab_size=vocab_size, dim=dim, mask_zero=mask_zero)
    model = keras.Model(tokens, output, name="lstm_classifier")
    if source:
        model.get_layer("embedding").set_weights([embedding_matrix.astype(np.float32)])
    model.compile(
        optimizer=make_optimizer(p["optimizer"], p["learning_rate"], p["momentum"]),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model
