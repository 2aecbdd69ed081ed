"""The LSTM model family, built from ``search.params.ModelParams`` (no Optuna, no data here).

Embedding (learned or pretrained, frozen or fine-tuned) -> token dropout? -> SpatialDropout1D?
-> Conv1D + MaxPooling1D? -> 1..3 LSTM layers, each optionally Bidirectional -> pooling over time
(last state, max, mean or both) -> Dense hidden layers? -> Dropout? -> Dense(1).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from search.embeddings import pretrained_source
from search.params import OPTIMIZERS, ModelParams

# the max pool "destroys the mask" at every call: no later layer needs it (see ``network``)
warnings.filterwarnings("ignore", "Layer 'max_pool' .* does not support masking", UserWarning)


def make_optimizer(name: str, learning_rate: float, momentum: float = 0.9):
    import keras

    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=momentum)
    raise ValueError(f"Invalid model param optimizer={name!r}; expected one of {list(OPTIMIZERS)}")


def _perturb_layer():
    """Embeddings plus a perturbation, the embeddings' padding mask kept: Keras 3's ``Add``
    returns no mask when one input has none, and an adversarial model then trained on its
    padding while its export (the plain network) masks it."""
    from keras import layers

    class Perturb(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs):
            return inputs[0] + inputs[1]

        def compute_mask(self, inputs, mask=None):
            return None if mask is None else mask[0]

    return Perturb


def network(
    tokens, p: ModelParams, *, vocab_size: int, dim: int, mask_zero: bool, perturbation=None
):
    """The classifier's layers applied to the symbolic int tensor ``tokens``; returns P(positive).
    ``perturbation``: a symbolic tensor added to the embeddings (adversarial training).

    Layers carry fixed names, so the raw-text export can rebuild the network over a
    TextVectorization and copy the trained weights layer by layer.
    """
    from keras import layers

    reg = keras_l2(p.l2)
    x = layers.Embedding(
        vocab_size,
        dim,
        mask_zero=p.uses_mask(mask_zero),
        trainable=not p.embedding.endswith("_frozen"),
        name="embedding",
    )(tokens)
    if perturbation is not None:  # the embedding's mask goes on (Keras' Add drops it)
        x = _perturb_layer()(name="perturb")([x, perturbation])
    if p.embedding_dropout > 0:  # the same tokens dropped in every channel
        x = layers.Dropout(p.embedding_dropout, noise_shape=(None, None, 1), name="token_drop")(x)
    if p.spatial_dropout > 0:
        x = layers.SpatialDropout1D(p.spatial_dropout, name="spatial_drop")(x)
    if p.conv_filters > 0:
        x = layers.Conv1D(
            p.conv_filters, p.conv_kernel, padding="same", activation="relu", name="conv"
        )(x)
        x = layers.MaxPooling1D(p.conv_pool, name="conv_pool")(x)
    units = p.lstm_units
    for index, n in enumerate(units):
        lstm = layers.LSTM(
            n,
            return_sequences=index < len(units) - 1 or p.pooling != "last",
            dropout=p.lstm_dropout,
            recurrent_dropout=p.recurrent_dropout,
            kernel_regularizer=reg,
            recurrent_regularizer=reg,
            name=f"lstm_{index}",
        )
        x = layers.Bidirectional(lstm, name=f"bilstm_{index}")(x) if p.bidirectional else lstm(x)
    pooled = []
    if p.pooling in ("max", "max_mean"):
        # masked steps output 0; ReLU first makes the max the same with or without padding
        pooled.append(layers.GlobalMaxPooling1D(name="max_pool")(layers.ReLU(name="relu")(x)))
    if p.pooling in ("mean", "max_mean"):
        pooled.append(layers.GlobalAveragePooling1D(name="mean_pool")(x))  # mask-aware
    if pooled:
        x = pooled[0] if len(pooled) == 1 else layers.Concatenate(name="pools")(pooled)
    for index, n in enumerate(p.dense_units):
        x = layers.Dense(n, activation="relu", kernel_regularizer=reg, name=f"dense_{index}")(x)
    if p.dropout > 0:
        x = layers.Dropout(p.dropout, name="final_drop")(x)
    return layers.Dense(1, activation="sigmoid", name="probability")(x)


def keras_l2(factor: float):
    import keras

    return keras.regularizers.L2(factor) if factor > 0 else None


def build_model(
    params: ModelParams | Mapping[str, Any],
    *,
    vocab_size: int,
    maxlen: int | None,
    embedding_matrix: np.ndarray | None = None,
    mask_zero: bool = False,
):
    """A compiled binary classifier over int sequences of length ``maxlen``.

    Args:
        params: model params (a plain dict is checked into ``ModelParams`` first).
        vocab_size: rows of the embedding (the vocabulary's length).
        maxlen: sequence length (None: any length).
        embedding_matrix: (vocab_size, dim) pretrained vectors, required for pretrained
            embeddings.
        mask_zero: mask padding id 0; needed for end ("post") padding. Pooled models always
            mask; a Conv1D front-end never does (``uses_mask``).
    """
    import keras

    p = ModelParams.of(params)
    source = pretrained_source(p.embedding)
    if source:
        if embedding_matrix is None:
            raise ValueError(f"embedding={p.embedding!r} needs an embedding_matrix ({source})")
        if embedding_matrix.shape[0] != vocab_size:
            raise ValueError(
                f"embedding_matrix has {embedding_matrix.shape[0]} rows; "
                f"expected vocab_size={vocab_size}"
            )
    dim = embedding_matrix.shape[1] if source else p.embedding_dim
    tokens = keras.Input(shape=(maxlen,), dtype="int32", name="tokens")
    if p.adversarial == "none":
        output = network(tokens, p, vocab_size=vocab_size, dim=dim, mask_zero=mask_zero)
        model = keras.Model(tokens, output, name="lstm_classifier")
    else:
        from search.adversarial import Adversarial

        push = keras.Input(shape=(maxlen, dim), name="perturbation")
        output = network(
            tokens, p, vocab_size=vocab_size, dim=dim, mask_zero=mask_zero, perturbation=push
        )
        inner = keras.Model([tokens, push], output, name="lstm_classifier")
        model = Adversarial(inner, kind=p.adversarial, epsilon=p.adv_epsilon)
    if source:
        model.get_layer("embedding").set_weights([embedding_matrix.astype(np.float32)])
    model.compile(
        optimizer=make_optimizer(p.optimizer, p.learning_rate, p.momentum),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model
