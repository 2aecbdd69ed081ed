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

import contextlib
import json
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from search.data import Dataset
from search.files import writable_folder
from search.params import ModelParams

Weights = dict[str, list[np.ndarray]]  # by layer name, as Keras' get_weights gives them


def text_model(model, params: ModelParams | Mapping[str, Any], data: Dataset):
    """Wrap a trained int-sequence model into a raw-text model with the same weights.

    ``data`` is the dataset the model trained on (the trial's cut): its vocabulary goes inside.
    The embedding's shape comes from the trained model, so pretrained sources need no reloading.
    """
    return rebuilt(params, layer_weights(model), vocabulary=data.vocabulary)


def layer_weights(model) -> Weights:
    """A trained network's weights by layer name (an adversarial model's inner network: the
    perturbation has no weights), the names ``search.model.network`` gives its layers."""
    layers = getattr(model, "inner", model).layers
    return {layer.name: layer.get_weights() for layer in layers if layer.weights}


def rebuilt(
    params: ModelParams | Mapping[str, Any],
    weights: Weights,
    *,
    vocabulary: list[str] | None = None,
    mask_zero: bool = True,
    name: str = "imdb_sentiment",
):
    """The network of ``params`` with ``weights`` (``layer_weights``), flat and uncompiled (the
    file holds weights, not an optimizer state), over sequences of any length. With a
    ``vocabulary`` it reads raw text (a TextVectorization first, padding masked); without, it
    reads token ids as the trial's cut of the data does (``mask_zero`` as the data's)."""
    import keras

    from search.model import network

    vocab_size, dim = weights["embedding"][0].shape
    if vocabulary is None:
        inputs = keras.Input(shape=(None,), dtype="int32", name="tokens")
        tokens = inputs
    else:
        inputs = keras.Input(shape=(), dtype="string", name="review")
        tokens = keras.layers.TextVectorization(
            standardize="lower_and_strip_punctuation",
            vocabulary=vocabulary,
            output_mode="int",
            name="vectorize",
        )(inputs)
    p = ModelParams.of(params)
    output = network(tokens, p, vocab_size=vocab_size, dim=dim, mask_zero=mask_zero)
    model = keras.Model(inputs, output, name=name)
    for layer, values in weights.items():
        model.get_layer(layer).set_weights(values)
    return model


def predict_texts(
    model, texts: list[str], batch_size: int = 256, max_chars: int = 400_000
) -> np.ndarray:
    """P(positive) for each raw text, as a flat float array. The text is cleaned as the
    training reviews were (``search.data.clean``: HTML line breaks to spaces), which a Keras
    layer cannot do inside the model file.

    Texts are batched by length, so a batch pads little (the export masks padding anyway), and a
    batch holds at most ``max_chars`` characters of its longest text per row, so memory stays
    bounded however long the reviews are.
    """
    import tensorflow as tf

    from search.data import clean

    texts = [clean(text) for text in texts]
    lengths = [len(text) for text in texts]
    out = np.empty(len(texts), dtype=np.float32)
    for index in length_batches(lengths, batch_size, max_chars):
        batch = tf.constant([texts[i] for i in index])
        out[index] = model.predict_on_batch(batch).reshape(-1)
    return out


def length_batches(lengths: list[int], batch_size: int, max_chars: int) -> list[np.ndarray]:
    """Indices of texts, shortest first, in batches of at most ``batch_size`` whose rows, each
    padded to the batch's longest, hold at most ``max_chars`` characters (one text at least)."""
    order = np.argsort(lengths, kind="stable")
    batches, start = [], 0
    while start < len(order):
        end = start + 1
        while end < len(order) and end - start < batch_size:
            if (end - start + 1) * lengths[order[end]] > max_chars:
                break
            end += 1
        batches.append(order[start:end])
        start = end
    return batches


def check_output(model, where: str) -> None:
    """A raw-text model of this project gives one probability per review."""
    shape = tuple(model.outputs[0].shape)[1:]
    if len(model.outputs) != 1 or shape not in ((), (1,)):
        raise ValueError(
            f"{where} gives {len(model.outputs)} output(s) of shape {shape}, not one probability "
            "per review; use a model exported by python -m search.rerun"
        )


def versions() -> dict[str, str]:
    import keras
    import optuna
    import tensorflow as tf

    return {"keras": keras.__version__, "tensorflow": tf.__version__, "optuna": optuna.__version__}


def save(exported, path: Path, card: dict[str, Any], *, overwrite: bool = False) -> Path:
    """Write ``path`` and its model card ``path.with_suffix('.json')``; never overwrite an
    existing model unless asked. Both are written to temporary files and renamed into place,
    so a kill during the export leaves the previous model (or none), never half of one."""
    if path.exists() and not overwrite:
        raise FileExistsError(f"{str(path)!r} exists; pass --overwrite to replace it")
    writable_folder(path.parent)
    partial = path.with_name(f".{path.stem}.{os.getpid()}.partial.keras")  # Keras wants .keras
    try:
        exported.save(partial)
        _write_card(partial.with_suffix(".json"), path, card)
        os.replace(partial, path)
        os.replace(partial.with_suffix(".json"), path.with_suffix(".json"))
    finally:
        for leftover in (partial, partial.with_suffix(".json")):
            leftover.unlink(missing_ok=True)
    return path


@contextlib.contextmanager
def claimed(paths: list[Path]) -> Iterator[None]:
    """Hold ``paths`` for one writer: a second command that would write one of them (two
    reruns of one study, say) is refused at its start, not after minutes of training. The claim
    is a lock on a hidden file beside each model (``.<name>.lock``), which the system releases
    when its process ends, however it ends."""
    import fcntl

    held = []
    try:
        for path in paths:
            lock = path.with_name(f".{path.name}.lock")
            handle = open(lock, "a+")  # noqa: SIM115 (held open for as long as the claim)
            held.append(handle)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                owner = handle.read().strip() or "?"
                raise ValueError(
                    f"{str(path)!r} is being written by another command (PID {owner}); wait "
                    "for it to finish, or write elsewhere (--out)"
                ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
        yield
    finally:
        for handle in held:
            handle.close()  # releases the lock; the empty file stays (removing it would race)


def _write_card(target: Path, path: Path, card: dict[str, Any]) -> None:
    card = {
        **card,
        "file": path.name,
        "saved": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "versions": versions(),
        "usage": (
            "keras.models.load_model(path).predict(tf.constant([text])) -> P(positive); "
            "replace HTML line breaks (<br />) with spaces first, as training did"
        ),
    }
    target.write_text(json.dumps(card, indent=2, default=_plain) + "\n")


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {value!r}")
