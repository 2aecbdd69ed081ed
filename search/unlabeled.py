"""IMDB's 50k unlabeled reviews as token ids at a study's vocabulary: the pool virtual
adversarial training (``search.adversarial``) draws extra reviews from. Their labels do not
exist, and nothing here could read one: only ``aclImdb/train/unsup`` is read. Tokenised once per
data, vocabulary and unlabeled reviews, then read back from the on-disk cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict

import numpy as np

from search.data import Dataset, default_cache_dir, encode, load_cache, save_cache
from search.embeddings import VectorSettings
from search.vectors import read_unsup, resolve_unsup, unsup_checksum

log = logging.getLogger(__name__)

CACHE_VERSION = 1


def with_unlabeled(data: Dataset, vectors: VectorSettings) -> Dataset:
    """``data`` with its ``unlabeled`` pool: the unlabeled reviews tokenised as ``data`` was
    (its vocabulary, maxlen, padding and truncation). A dataset that has one keeps it."""
    if data.unlabeled is not None:
        return data
    unsup = resolve_unsup(vectors.unsup, data.source)
    key = {"v": CACHE_VERSION, "data": data.checksum, "unsup": unsup_checksum(unsup)}
    key |= asdict(data.settings)
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    path = default_cache_dir() / f"unlabeled-{digest}.npz"
    cached = load_cache(path, ("x",))
    if cached is None:
        start = time.perf_counter()
        texts = read_unsup(unsup)
        cached = {"x": tokenize(texts, data)}
        save_cache(path, cached)
        log.info(
            f"unlabeled reviews: {len(texts)} tokenised at the study's vocabulary in "
            f"{time.perf_counter() - start:.0f}s (once; cached)"
        )
    return data._replace(unlabeled=cached["x"])


def tokenize(texts: list[str], data: Dataset) -> np.ndarray:
    """``texts`` as ``data``'s tokenisation would give them, padded and truncated the same way."""
    return encode(vectorizer(data.vocabulary), texts, data.settings)


def vectorizer(vocabulary: list[str]):
    """A ragged ``TextVectorization`` that maps words to ``vocabulary``'s ids."""
    from keras.layers import TextVectorization

    return TextVectorization(
        standardize="lower_and_strip_punctuation",
        output_mode="int",
        ragged=True,
        vocabulary=vocabulary[2:],  # without the padding and [UNK] it adds itself
    )
