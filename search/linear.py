"""The NBSVM as an ensemble member: the linear model of ``search.baseline``, fitted on the tokens
Keras' own ``TextVectorization`` makes, so it exports as a plain Keras model (a multi-hot n-gram
layer and one Dense unit) that the ensemble's raw-text file can hold beside the LSTMs.

Mesnil et al. (2014) reached their IMDB figure with an ensemble of an NBSVM, paragraph vectors
and a recurrent language model: models that err on different reviews. The baseline's own tokens
(words plus ``!`` and ``?``) cannot be made by a built-in Keras layer, so the member's tokens are
``TextVectorization``'s: lower-cased, punctuation removed, split on whitespace, 1-3 grams; and its
vocabulary is the ``max_features`` most frequent n-grams of the training split, so the file stays
small. The member is scored on validation like a trial, and the selection decides its weight.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import numpy as np

from search.baseline import NBSVM_C, nb_ratios
from search.data import Reviews, clean

NAME = "nbsvm"  # its key among the ensemble's members (trials are numbers)
MAX_FEATURES = 500_000
NGRAMS = 3
# what TextVectorization's "lower_and_strip_punctuation" removes, and how it splits
_STRIP = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
_SPACE = re.compile(r"[ \t\n\r\v\f]+")


def tokens(text: str) -> list[str]:
    """A review's 1-3 grams as ``TextVectorization(standardize="lower_and_strip_punctuation",
    ngrams=3)`` makes them, after ``search.data.clean`` (which ``export.predict_texts`` applies)."""
    lower = clean(text).encode().lower().decode()  # tf.strings.lower: ASCII letters only
    words = [w for w in _SPACE.split(_STRIP.sub("", lower)) if w]
    grams = []
    for n in range(1, NGRAMS + 1):
        grams += [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
    return grams


@dataclass(frozen=True)
class LinearMember:
    """A fitted member: its vocabulary, one weight per n-gram (log-count ratio times the
    logistic regression's coefficient), its bias, and its probabilities on val and test."""

    vocabulary: list[str]
    weights: np.ndarray
    bias: float
    C: float
    val: np.ndarray | None
    test: np.ndarray
    seconds: float


def fit(
    splits: dict[str, Reviews],
    max_features: int = MAX_FEATURES,
    grid=NBSVM_C,
    *,
    refit_c: float | None = None,
) -> LinearMember:
    """Binary n-gram counts of the training split (its ``max_features`` most frequent), NB
    ratios from the training labels only, logistic regression with C picked on validation.
    ``refit_c``: the same model fitted on train+val with that C (as the LSTM members refit);
    its ``val`` is then None, since validation trained it."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    start = time.perf_counter()
    texts, labels = splits["train"].texts, splits["train"].labels
    if refit_c is not None:
        texts, labels = texts + splits["val"].texts, np.concatenate([labels, splits["val"].labels])
    vectorizer = CountVectorizer(analyzer=tokens, binary=True, max_features=max_features)
    x_train = vectorizer.fit_transform(texts)
    ratios = nb_ratios(x_train, labels)  # the labels of what it trains on, never test's
    x_train = x_train.multiply(ratios).tocsr()
    x_val = None
    if refit_c is not None:  # C is known; validation is in the training data
        c = refit_c
        model = LogisticRegression(C=c, max_iter=2000, solver="liblinear", dual=True)
        model.fit(x_train, labels)
    else:
        x_val = vectorizer.transform(splits["val"].texts).multiply(ratios).tocsr()
        best = None
        for c in grid:
            model = LogisticRegression(C=c, max_iter=2000, solver="liblinear", dual=True)
            model.fit(x_train, labels)
            score = model.score(x_val, splits["val"].labels)
            if best is None or score > best[0]:
                best = (score, c, model)
        _, c, model = best
    x_test = vectorizer.transform(splits["test"].texts).multiply(ratios).tocsr()
    return LinearMember(
        vocabulary=[str(v) for v in vectorizer.get_feature_names_out()],
        weights=(ratios * model.coef_.ravel()).astype(np.float32),
        bias=float(model.intercept_[0]),
        C=c,
        val=None if x_val is None else model.predict_proba(x_val)[:, 1].astype(np.float32),
        test=model.predict_proba(x_test)[:, 1].astype(np.float32),
        seconds=time.perf_counter() - start,
    )


def to_keras(member: LinearMember, name: str = NAME):
    """The member as a raw-text Keras model of built-in layers only (it loads without this
    project): multi-hot 1-3 grams over its vocabulary (sparse: a batch of reviews is a few
    hundred n-grams each, not the vocabulary's width), then one sigmoid unit."""
    import keras

    text = keras.Input(shape=(), dtype="string", name="review")
    vectorize = keras.layers.TextVectorization(
        standardize="lower_and_strip_punctuation",
        ngrams=NGRAMS,
        output_mode="multi_hot",
        sparse=True,
        vocabulary=member.vocabulary,
        name=f"{name}_ngrams",
    )
    dense = keras.layers.Dense(1, activation="sigmoid", name=f"{name}_weights")
    output = dense(vectorize(text))
    kernel = np.concatenate([[0.0], member.weights]).astype(np.float32)[:, None]  # 0: unknown
    dense.set_weights([kernel, np.array([member.bias], dtype=np.float32)])
    return keras.Model(text, output, name=name)
