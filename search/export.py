"""A trained model as one self-contained ``.keras`` file that classifies raw review text.

The exported model is ``string -> TextVectorization (the study's vocabulary) -> the trained
network``, built only from Keras' own layers, so ``keras.models.load_model(path)`` works in any
Python with Keras, without this project::

    model = keras.models.load_model("models/imdb-trial12.keras")
    model.predict(tf.constant(["a wonderful, moving film"]))   # [[0.97]] = P(positive)

Tokenisation matches training (lower-case, punctuation stripped, the same vocabulary). The
exported network masks padding and reads the whole review; Keras' built-in layers cannot cut a
sequence to its last ``maxlen`` tokens or pad it at the front. With end padding (``--padding
post``, masked in training) it is therefore exact for every review of up to ``maxlen`` tokens. With
the default front padding, which trains best unmasked, it starts from a zero state instead of the
state after the padding steps, and an HTML ``<br />`` becomes the unknown token instead of being
dropped. The model card records both the trained model's test accuracy and the exported model's
own accuracy on the raw test reviews, so the cost of that difference is measured, not assumed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from search.data import Dataset
from search.files import writable_folder
from search.params import ModelParams


def text_model(model, params: ModelParams | Mapping[str, Any], data: Dataset):
    """Wrap a trained int-sequence model into a raw-text model with the same weights.

    ``data`` is the dataset the model trained on (the trial's cut): its vocabulary goes inside.
    The embedding's shape comes from the trained model, so pretrained sources need no reloading.
    """
    import keras

    from search.model import network

    vectorize = keras.layers.TextVectorization(
        standardize="lower_and_strip_punctuation",
        vocabulary=data.vocabulary,
        output_mode="int",
        name="vectorize",
    )
    vocab_size, dim = model.get_layer("embedding").get_weights()[0].shape
    text = keras.Input(shape=(), dtype="string", name="review")
    # the same layers over sequences of any length, padding masked; flat and uncompiled: the
    # file holds weights, not an optimizer state
    p = ModelParams.of(params)
    output = network(vectorize(text), p, vocab_size=vocab_size, dim=dim, mask_zero=True)
    exported = keras.Model(text, output, name="imdb_sentiment")
    for layer in model.layers:
        if layer.weights:
            exported.get_layer(layer.name).set_weights(layer.get_weights())
    return exported


def predict_texts(model, texts: list[str], batch_size: int = 256) -> np.ndarray:
    """P(positive) for each raw text, as a flat float array.

    Texts are batched by length, so a batch pads little (the export masks padding anyway).
    """
    import tensorflow as tf

    order = np.argsort([len(text) for text in texts], kind="stable")
    out = np.empty(len(texts), dtype=np.float32)
    for start in range(0, len(texts), batch_size):
        index = order[start : start + batch_size]
        batch = tf.constant([texts[i] for i in index])
        out[index] = model.predict_on_batch(batch).reshape(-1)
    return out


def versions() -> dict[str, str]:
    import keras
    import optuna
    import tensorflow as tf

    return {"keras": keras.__version__, "tensorflow": tf.__version__, "optuna": optuna.__version__}


def save(exported, path: Path, card: dict[str, Any], *, overwrite: bool = False) -> Path:
    """Write ``path`` and its model card ``path.with_suffix('.json')``; never overwrite an
    existing model unless asked."""
    if path.exists() and not overwrite:
        raise FileExistsError(f"{str(path)!r} exists; pass --overwrite to replace it")
    writable_folder(path.parent)
    exported.save(path)
    card = {
        **card,
        "file": path.name,
        "saved": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "versions": versions(),
        "usage": ("keras.models.load_model(path).predict(tf.constant([text])) -> P(positive)"),
    }
    path.with_suffix(".json").write_text(json.dumps(card, indent=2, default=_plain) + "\n")
    return path


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {value!r}")
