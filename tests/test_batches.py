from __future__ import annotations

import numpy as np
import pytest

from search.batches import batch_indices, bucketed, lengths, trim
from search.data import pad


def reviews(padding: str, n: int = 203, maxlen: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    rows = [rng.integers(2, 99, size=rng.integers(0, maxlen + 1)) for _ in range(n)]
    x = pad(rows, maxlen, padding, "pre")
    return rows, x, np.arange(n, dtype=np.float32)  # label = row number, to trace every row


@pytest.mark.parametrize("padding", ["pre", "post"])
def test_every_review_once_per_epoch_with_its_label_padded_to_its_batch(padding):
    rows, x, y = reviews(padding)
    data = bucketed(x, y, 16, padding=padding, shuffle=True, seed=3)
    orders = []
    for _ in range(2):  # Keras iterates the dataset anew each epoch
        seen = []
        for xb, yb in data:
            xb, yb = xb.numpy(), yb.numpy()
            assert xb.shape[1] == max(lengths(xb).max(), 1)  # only as long as its longest review
            for row, label in zip(xb, yb, strict=True):
                tokens = rows[int(label)]
                expected = pad([tokens], xb.shape[1], padding, "pre")[0]
                np.testing.assert_array_equal(row, expected)  # same tokens, same side
                seen.append(int(label))
        assert sorted(seen) == list(range(len(rows)))
        orders.append(seen)
    assert orders[0] != orders[1]  # reshuffled between epochs


def test_batches_group_similar_lengths():
    _, x, _ = reviews("pre", n=2000, maxlen=400)
    n = lengths(x)
    spread = [n[b].max() - n[b].min() for b in batch_indices(n, 32, np.random.default_rng(0))]
    assert np.median(spread) < 0.1 * 400  # vs about the whole range for random batches
    evaluation = batch_indices(n, 32)
    assert np.array_equal(np.concatenate(evaluation), np.argsort(n, kind="stable"))


def test_trim_keeps_at_least_one_column():
    assert trim(np.zeros((3, 8), np.int32), "pre").shape == (3, 1)


@pytest.mark.parametrize("padding", ["pre", "post"])
def test_a_masked_model_gives_the_same_output_bucketed_or_fully_padded(padding):
    """Masked (post) and pooled models read only the tokens: trimming padding changes nothing."""
    from search.fitting import predict
    from search.model import build_model

    _, x, _ = reviews(padding, n=64)
    model = build_model(
        {"embedding_dim": 8, "lstm_units": [4], "pooling": "max_mean"},
        vocab_size=100,
        maxlen=None,
        mask_zero=padding == "post",
    )
    full = model.predict(x, verbose=0).reshape(-1)
    np.testing.assert_allclose(predict(model, x, padding=padding), full, rtol=1e-4, atol=1e-6)


def test_bucketed_and_fixed_padding_fits_reach_the_same_loss(tiny_data):
    import keras

    from search.fitting import evaluate, fit
    from search.model import build_model

    losses = {}
    for bucket in (False, True):
        keras.utils.set_random_seed(0)
        model = build_model(
            {"embedding_dim": 8, "lstm_units": [8], "learning_rate": 0.01, "batch_size": 16},
            vocab_size=len(tiny_data.vocabulary),
            maxlen=None,
        )
        fit(model, tiny_data, epochs=8, batch_size=16, bucket=bucket)
        losses[bucket] = evaluate(model, tiny_data.train, bucket=bucket)["loss"]
    assert losses[True] == pytest.approx(losses[False], abs=0.1), losses
    assert max(losses.values()) < 0.6  # both learned the cue words (chance: 0.69)


def test_bucketing_is_the_default_exactly_where_padding_is_masked():
    from search.fitting import bucketing
    from search.model import build_model

    def model(**params):
        return build_model(
            {"embedding_dim": 4, "lstm_units": [2], **params}, vocab_size=20, maxlen=None
        )

    assert bucketing(model(pooling="max"))  # pooled models mask
    assert bucketing(build_model({"lstm_units": [2]}, vocab_size=20, maxlen=None, mask_zero=True))
    assert not bucketing(model())  # front padding, read as a warm-up
    assert not bucketing(model(pooling="mean", conv_filters=2))  # Conv1D never masks
    assert bucketing(model(), True) and not bucketing(model(pooling="max"), False)
