"""Length bucketing: batches of reviews of similar length, each padded only to its longest review.

Padded to a fixed ``maxlen``, most LSTM steps read padding (at maxlen 400 about half of them on
IMDB's training split). Here each epoch shuffles the reviews, sorts them by length within pools
of ``POOL`` batches, cuts the pools into batches and shuffles the batches: a batch holds reviews
of about one length, and the order still changes every epoch. Every review's tokens sit
contiguously at one end of its row (front or end padding), so trimming the batch's columns to
its longest review keeps every token and only drops padding.
"""

from __future__ import annotations

import numpy as np

POOL = 50  # batches sorted together: large enough to group lengths, small enough to mix epochs


def lengths(x: np.ndarray) -> np.ndarray:
    """Tokens per row (id 0 is only ever padding)."""
    return (x != 0).sum(axis=1)


def batch_indices(
    n_tokens: np.ndarray, batch_size: int, rng: np.random.Generator | None = None
) -> list[np.ndarray]:
    """Row indices of each batch: reviews of similar length together; with ``rng`` shuffled
    (training), without it sorted by length (evaluation, deterministic)."""
    if rng is None:
        order = np.argsort(n_tokens, kind="stable")
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    order = rng.permutation(len(n_tokens))
    batches = []
    pool = POOL * batch_size
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort(n_tokens[chunk], kind="stable")]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def trim(x: np.ndarray, padding: str) -> np.ndarray:
    """``x`` cut to its longest row's tokens (at least one column), keeping the padding side."""
    width = max(int(lengths(x).max(initial=0)), 1)
    return x[:, -width:] if padding == "pre" else x[:, :width]


def bucketed(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    *,
    padding: str,
    shuffle: bool,
    seed: int | None = None,
    pool: np.ndarray | None = None,
    by_length: bool = True,
):
    """A ``tf.data.Dataset`` of length-bucketed ``(x, y)`` batches, reshuffled every epoch when
    ``shuffle``. The time axis is declared ``None``, so Keras traces one step for all lengths.

    With ``pool`` (unlabeled token ids), each batch is ``((x, u), y)``: ``u`` as many rows drawn
    at random from the pool (no labels: there are none). ``by_length=False`` batches in random
    order at the full width (a model that reads its padding)."""
    import tensorflow as tf

    n_tokens = lengths(x) if by_length else np.zeros(len(x), dtype=np.int64)
    rng = np.random.default_rng(seed) if shuffle else None
    draw = np.random.default_rng(None if seed is None else seed + 1)
    cut = (lambda rows: trim(rows, padding)) if by_length else (lambda rows: rows)

    def generate():
        for index in batch_indices(n_tokens, batch_size, rng):
            index = np.sort(index) if rng is None else index
            if pool is None:
                yield cut(x[index]), y[index]
            else:
                yield (
                    (cut(x[index]), cut(pool[draw.integers(len(pool), size=len(index))])),
                    y[index],
                )

    tokens = tf.TensorSpec(shape=(None, None), dtype=tf.int32)
    signature = (
        tokens if pool is None else (tokens, tokens),
        tf.TensorSpec(shape=(None,), dtype=tf.float32),
    )
    n_batches = len(batch_indices(n_tokens, batch_size))  # shuffling keeps the count
    return (
        tf.data.Dataset.from_generator(generate, output_signature=signature)
        .apply(tf.data.experimental.assert_cardinality(n_batches))  # Keras knows the epoch
        .prefetch(2)
    )
