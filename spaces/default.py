"""The product's space: every knob of the model family, ranges that contain the seed study."""

from __future__ import annotations

from typing import Any

from spaces import Suggester


def space(s: Suggester) -> dict[str, Any]:
    params: dict[str, Any] = {}
    params["embedding"] = s.categorical("embedding", ["learned", "glove_frozen", "glove_tuned"])
    if params["embedding"] == "learned":
        params["embedding_dim"] = s.int("embedding_dim", 32, 256, log=True)
    params["spatial_dropout"] = s.float("spatial_dropout", 0.0, 0.5, step=0.1)
    if s.categorical("conv", [False, True]):
        params["conv_filters"] = s.int("conv_filters", 32, 128, log=True)
        params["conv_kernel"] = s.int("conv_kernel", 3, 7, step=2)
        params["conv_pool"] = s.int("conv_pool", 2, 4)
    layers = s.int("lstm_layers", 1, 3)
    params["lstm_units"] = [s.int(f"lstm_units_{i}", 16, 128, log=True) for i in range(layers)]
    params["bidirectional"] = s.categorical("bidirectional", [False, True])
    params["recurrent_dropout"] = s.float("recurrent_dropout", 0.0, 0.4, step=0.1)
    if s.categorical("dense_head", [False, True]):
        params["dense_units"] = [s.int("dense_units", 16, 128, log=True)]
    params["dropout"] = s.float("dropout", 0.0, 0.6, step=0.1)
    if s.categorical("use_l2", [False, True]):
        params["l2"] = s.float("l2", 1e-6, 1e-2, log=True)
    params["optimizer"] = s.categorical("optimizer", ["adam", "rmsprop", "sgd"])
    params["learning_rate"] = s.float("learning_rate", 1e-4, 3e-2, log=True)
    params["batch_size"] = s.categorical("batch_size", [32, 64, 128])
    return params
