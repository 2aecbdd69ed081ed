"""A model's params: one frozen, typed description of a network and its training, validated
once (nanoGPT's ``GPTConfig`` is the model). A space returns a plain dict; ``ModelParams.of``
checks it, fills the defaults and is then passed along the trial's path as it is.

Embedding (learned or pretrained, frozen or fine-tuned) -> token dropout? -> SpatialDropout1D?
-> Conv1D + MaxPooling1D? -> 1..3 LSTM layers, each optionally Bidirectional -> pooling over time
(last state, max, mean or both) -> Dense hidden layers? -> Dropout? -> Dense(1).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from search.data import MAX_MAXLEN
from search.embeddings import EMBEDDINGS

POOLINGS = ("last", "max", "mean", "max_mean")
OPTIMIZERS = ("adam", "rmsprop", "sgd")
ADVERSARIAL = ("none", "at", "vat")  # search.adversarial
MAX_LSTM_LAYERS = 3
MAX_DENSE_LAYERS = 3
# beyond these nothing sensible lies for a review classifier, and a value past them is a typo
# that would end in an out-of-memory error after minutes
MAX_UNITS = 4096  # LSTM, Dense and Conv1D widths
MAX_EMBEDDING_DIM = 2048
MAX_BATCH_SIZE = 8192
MAX_KERNEL = 64  # Conv1D kernel and pool sizes
MAX_VOCAB_SIZE = 1_000_000


@dataclass(frozen=True)
class ModelParams:
    embedding: str = "learned"
    embedding_dim: int = 128  # learned embeddings only; pretrained vectors bring their own
    embedding_dropout: float = 0.0  # drops whole tokens' vectors
    spatial_dropout: float = 0.0
    conv_filters: int = 0  # 0: no Conv1D front-end
    conv_kernel: int = 5
    conv_pool: int = 4
    lstm_units: tuple[int, ...] = (64,)  # one entry per stacked LSTM layer
    bidirectional: bool = False
    lstm_dropout: float = 0.0  # dropout on each LSTM layer's inputs
    recurrent_dropout: float = 0.0  # > 0 rules out the cuDNN kernel on GPU (slower)
    pooling: str = "last"  # how the last LSTM layer's outputs become one vector
    dense_units: tuple[int, ...] = ()  # hidden Dense(relu) layers before the output
    dropout: float = 0.0  # final dropout before the output
    l2: float = 0.0  # on LSTM kernel and recurrent weights and on hidden Dense kernels
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.9  # sgd only
    batch_size: int = 64  # used by fit, kept here so one object describes a trial
    # adversarial training on the embeddings (search.adversarial): none, at or vat, and the
    # perturbation's size relative to the embeddings' RMS (Miyato et al.'s epsilon)
    adversarial: str = "none"
    adv_epsilon: float = 5.0
    # the trial's cut of the study's tokenisation (None: the data's own setting)
    maxlen: int | None = None
    vocab_size: int | None = None

    @classmethod
    def of(cls, params: ModelParams | Mapping[str, Any]) -> ModelParams:
        """``params`` checked and completed with the defaults; ValueError naming the bad key.
        ModelParams pass through as they are: they were checked when made."""
        if isinstance(params, ModelParams):
            return params
        unknown = sorted(set(params) - set(KEYS))
        if unknown:
            raise ValueError(f"Unknown model param(s) {unknown}; valid keys are {sorted(KEYS)}")
        return cls(**params)

    def __post_init__(self) -> None:
        for key, value in _checked(dict(self.items())).items():
            object.__setattr__(self, key, value)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values (tuples as lists), for user attrs and model cards."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.items()}

    def items(self):
        return ((f.name, getattr(self, f.name)) for f in dataclasses.fields(self))

    def uses_mask(self, mask_zero: bool) -> bool:
        """Whether the network masks padding: pooled outputs must not pool padding steps; a
        Conv1D front-end's pooled output no longer lines up with the padding, so it never
        masks."""
        return (mask_zero or self.pooling != "last") and self.conv_filters == 0


KEYS = tuple(f.name for f in dataclasses.fields(ModelParams))
DEFAULTS: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(ModelParams)}

_FRACTIONS = (
    "embedding_dropout",
    "spatial_dropout",
    "lstm_dropout",
    "recurrent_dropout",
    "dropout",
)


def _bad(key: str, value: Any, expected: str) -> ValueError:
    return ValueError(f"Invalid model param {key}={value!r}; expected {expected}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _int(p: dict[str, Any], key: str, low: int, high: int, expected: str) -> None:
    if not _is_int(p[key]) or not low <= p[key] <= high:
        raise _bad(key, p[key], f"{expected} ({low}..{high})")
    p[key] = int(p[key])


def _units(key: str, value: Any, low: int, high: int) -> tuple[int, ...]:
    if _is_int(value):
        value = (value,)
    if not isinstance(value, list | tuple) or not low <= len(value) <= high:
        raise _bad(key, value, f"a list of {low}..{high} positive integers")
    for units in value:
        if not _is_int(units) or not 0 < units <= MAX_UNITS:
            raise _bad(key, value, f"integers in 1..{MAX_UNITS} (units per layer)")
    return tuple(int(u) for u in value)


def _checked(p: dict[str, Any]) -> dict[str, Any]:
    """The values as Python types, or ValueError naming the first bad one."""
    if p["embedding"] not in EMBEDDINGS:
        raise _bad("embedding", p["embedding"], f"one of {list(EMBEDDINGS)}")
    if p["pooling"] not in POOLINGS:
        raise _bad("pooling", p["pooling"], f"one of {list(POOLINGS)}")
    for key, low, high in (("maxlen", 1, MAX_MAXLEN), ("vocab_size", 3, MAX_VOCAB_SIZE)):
        if p[key] is not None:
            _int(p, key, low, high, "an integer, or None for the data's own")
    if p["adversarial"] not in ADVERSARIAL:
        raise _bad("adversarial", p["adversarial"], f"one of {list(ADVERSARIAL)}")
    if not _is_number(p["adv_epsilon"]) or not 0.0 < p["adv_epsilon"] <= 100.0:
        raise _bad("adv_epsilon", p["adv_epsilon"], "a number in (0, 100]")
    p["adv_epsilon"] = float(p["adv_epsilon"])
    if p["optimizer"] not in OPTIMIZERS:
        raise _bad("optimizer", p["optimizer"], f"one of {list(OPTIMIZERS)}")
    if not isinstance(p["bidirectional"], bool | np.bool_):
        raise _bad("bidirectional", p["bidirectional"], "True or False")
    p["bidirectional"] = bool(p["bidirectional"])
    for key in _FRACTIONS:
        if not _is_number(p[key]) or not 0.0 <= p[key] < 1.0:
            raise _bad(key, p[key], "a fraction in [0, 1)")
        p[key] = float(p[key])
    _int(p, "embedding_dim", 1, MAX_EMBEDDING_DIM, "a positive integer")
    _int(p, "conv_kernel", 1, MAX_KERNEL, "a positive integer")
    _int(p, "conv_pool", 1, MAX_KERNEL, "a positive integer")
    _int(p, "batch_size", 1, MAX_BATCH_SIZE, "a positive integer")
    _int(p, "conv_filters", 0, MAX_UNITS, "a positive integer, or 0 for no Conv1D")
    for key in ("l2", "momentum"):
        if not _is_number(p[key]) or not math.isfinite(p[key]) or p[key] < 0.0:
            raise _bad(key, p[key], "a finite number >= 0")
        p[key] = float(p[key])
    if not _is_number(p["learning_rate"]) or not 0.0 < p["learning_rate"] < 10.0:
        raise _bad("learning_rate", p["learning_rate"], "a number in (0, 10)")
    p["learning_rate"] = float(p["learning_rate"])
    p["lstm_units"] = _units("lstm_units", p["lstm_units"], 1, MAX_LSTM_LAYERS)
    p["dense_units"] = _units("dense_units", p["dense_units"], 0, MAX_DENSE_LAYERS)
    return p
