"""Only what the original hand-tuned study tried: its presets are points of this space.

LSTM(64), Embedding 128, learning rate 1e-3, batch 64; the knobs it turned one at a time were the
optimizer (RMSprop, Adam), the final dropout, recurrent dropout, L2, bidirectional,
SpatialDropout1D, stacking, GloVe and a Conv1D front-end. It read 200 tokens of a 20k vocabulary.
"""

from __future__ import annotations

from typing import Any

from spaces import Suggester

TOKENIZE = {"maxlen": 200, "vocab_size": 20000}


def space(s: Suggester) -> dict[str, Any]:
    params: dict[str, Any] = {
        "embedding": s.categorical("embedding", ["learned", "glove_frozen", "glove_tuned"])
    }
    params["spatial_dropout"] = s.categorical("spatial_dropout", [0.0, 0.3])
    if s.categorical("conv", [False, True]):
        params.update(conv_filters=64, conv_kernel=5, conv_pool=4, dense_units=[32])
    params["lstm_units"] = [64] * s.int("lstm_layers", 1, 2)
    params["bidirectional"] = s.categorical("bidirectional", [False, True])
    params["recurrent_dropout"] = s.categorical("recurrent_dropout", [0.0, 0.3])
    params["dropout"] = s.categorical("dropout", [0.0, 0.3, 0.5])
    params["l2"] = s.categorical("l2", [0.0, 1e-4])
    params["optimizer"] = s.categorical("optimizer", ["rmsprop", "adam"])
    return params


# what the seed space never changes from the model family's defaults
FIXED = {"maxlen": None, "vocab_size": None, "pooling": "last", "embedding_dropout": 0.0}


def point(params: dict[str, Any], **_: int) -> dict[str, Any]:
    """This space's values for a preset's complete params (``ModelParams.as_dict()``);
    ValueError for params outside the space."""
    p = params
    outside = {key: p[key] for key, fixed in FIXED.items() if p[key] != fixed}
    if p["embedding"] not in ("learned", "glove_frozen", "glove_tuned"):
        outside["embedding"] = p["embedding"]
    if outside:
        raise ValueError(f"the seed space cannot express {outside}")
    return {
        "embedding": p["embedding"],
        "spatial_dropout": p["spatial_dropout"],
        "conv": p["conv_filters"] > 0,
        "lstm_layers": len(p["lstm_units"]),
        "bidirectional": p["bidirectional"],
        "recurrent_dropout": p["recurrent_dropout"],
        "dropout": p["dropout"],
        "l2": p["l2"],
        "optimizer": p["optimizer"],
    }
