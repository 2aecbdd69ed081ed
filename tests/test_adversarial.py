"""Adversarial training (search/adversarial.py): the perturbation pushes the loss up, has the
configured size, uses no label in VAT, and leaves an ordinary model to export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from search.model import build_model
from search.params import ModelParams
from tests.conftest import loads_without_the_project

VOCAB = 50


def batch(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, VOCAB, size=(32, 10)).astype("int32")
    return x, (x[:, -1] > VOCAB // 2).astype("float32")


def model_of(kind: str, **params):
    import keras

    keras.utils.set_random_seed(0)
    p = {"lstm_units": [8], "embedding_dim": 8, "adversarial": kind, **params}
    return build_model(p, vocab_size=VOCAB, maxlen=None)


def test_the_at_perturbation_has_the_configured_norm_and_raises_the_loss():
    model = model_of("at", adv_epsilon=5.0)
    x, y = map(tf.constant, batch())
    clean = model(x, training=False)
    r = model.perturbation(x, y, clean).numpy()
    table = model.get_layer("embedding").embeddings.numpy()
    rms = np.sqrt(np.mean(table**2))
    np.testing.assert_allclose(np.sqrt((r**2).sum(axis=(1, 2))), 5.0 * rms, rtol=1e-4)
    bce = model.bce
    clean_loss = float(bce(y, model.inner([x, model.zeros(x)], training=False)))
    pushed_loss = float(bce(y, model.inner([x, tf.constant(r)], training=False)))
    random = 5.0 * rms * np.random.default_rng(1).normal(size=r.shape)
    random /= np.sqrt((random**2).sum(axis=(1, 2), keepdims=True))
    random_loss = float(bce(y, model.inner([x, tf.constant(random, "float32")], training=False)))
    assert pushed_loss > clean_loss and pushed_loss > random_loss


def test_vat_finds_its_perturbation_without_the_labels():
    model = model_of("vat", adv_epsilon=2.0)
    x, y = map(tf.constant, batch())
    clean = model(x, training=False)
    tf.random.set_seed(0)
    with_labels = model.perturbation(x, y, clean).numpy()
    tf.random.set_seed(0)
    without = model.perturbation(x, None, clean).numpy()  # VAT is handed no label at all
    np.testing.assert_allclose(with_labels, without, rtol=1e-5, atol=1e-7)
    table = model.get_layer("embedding").embeddings.numpy()
    norms = np.sqrt((without**2).sum(axis=(1, 2)))
    np.testing.assert_allclose(norms, 2.0 * np.sqrt(np.mean(table**2)), rtol=1e-4)


@pytest.mark.parametrize("kind", ["at", "vat"])
@pytest.mark.parametrize("params", [{}, {"pooling": "max_mean"}, {"conv_filters": 4}])
def test_every_adversarial_choice_builds_and_trains(kind, params):
    model = model_of(kind, **params)
    plain = model_of("none", **params)
    assert model.count_params() == plain.count_params()  # before any call: what trials record
    x, y = batch()
    before = [w.copy() for w in model.get_weights()]
    logs = model.fit(x, y, epochs=1, batch_size=16, verbose=0).history
    assert np.isfinite(logs["loss"][0])
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights(), strict=True))
    assert model.predict(x[:3], verbose=0).shape == (3, 1)


def test_an_adversarially_trained_model_exports_as_an_ordinary_one(tiny_data, tmp_path):
    from search import export
    from search.trial import train_params, trial_data

    p = ModelParams.of({"lstm_units": [8], "embedding_dim": 8, "adversarial": "at"})
    cut = trial_data(p, tiny_data)
    model, _ = train_params(p, cut, epochs=1, seed=0)
    path = export.save(export.text_model(model, p, cut), tmp_path / "at.keras", {})
    assert loads_without_the_project(path).endswith("(1, 1)")
    assert "perturb" not in [layer.name for layer in export.text_model(model, p, cut).layers]


def test_adversarial_params_are_checked():
    with pytest.raises(ValueError, match=r"adversarial='fgsm'; expected one of"):
        ModelParams.of({"adversarial": "fgsm"})
    with pytest.raises(ValueError, match=r"adv_epsilon=0; expected a number in \(0, 100\]"):
        ModelParams.of({"adv_epsilon": 0})


def test_the_unlabeled_pool_is_tokenised_as_the_study_and_never_carries_a_label(tiny_data):
    from search.embeddings import VectorSettings
    from search.unlabeled import tokenize, with_unlabeled
    from search.vectors import read_unsup
    from tests.conftest import UNSUP_ONLY

    texts = [" ".join(tiny_data.vocabulary[2:12]), "a", ""]
    np.testing.assert_array_equal(tokenize(texts, tiny_data)[0][-10:], np.arange(2, 12))
    pooled = with_unlabeled(tiny_data, VectorSettings())
    unsup = read_unsup(Path(tiny_data.source))
    assert pooled.unlabeled.shape == (len(unsup), tiny_data.settings.maxlen)
    assert UNSUP_ONLY not in tiny_data.vocabulary  # out of the study's vocabulary: [UNK]
    assert (pooled.unlabeled == 1).any()
    cut = pooled.cut(maxlen=8, vocab_size=20)
    assert cut.unlabeled.shape == (len(unsup), 8) and cut.unlabeled.max() < 20


def test_vat_trains_on_batches_that_add_unlabeled_reviews_and_their_labels_do_not_exist(
    tiny_data, monkeypatch
):
    from search import adversarial
    from search.embeddings import VectorSettings
    from search.trial import train_params, trial_data

    seen = []
    step = adversarial.Adversarial.train_step

    def recorded(self, data):
        (x, unlabeled), y = data
        seen.append((tuple(x.shape), tuple(unlabeled.shape), tuple(y.shape)))
        return step(self, data)

    monkeypatch.setattr(adversarial.Adversarial, "train_step", recorded)
    p = ModelParams.of(
        {"lstm_units": [4], "embedding_dim": 4, "adversarial": "vat", "pooling": "max"}
    )
    cut = trial_data(p, tiny_data, VectorSettings())
    assert cut.unlabeled is not None
    train_params(p, cut, epochs=1, seed=0)
    assert seen  # every step got ((reviews, unlabeled reviews), labels of the reviews alone)
    assert all(len(x) == len(u) == 2 and len(y) == 1 for x, u, y in seen)


@pytest.mark.parametrize("kind", ["at", "vat"])
def test_an_adversarial_network_masks_padding_as_its_export_does(kind):
    """The perturbation joins the embeddings without dropping their padding mask: Keras' Add
    dropped it, so the trained network read its padding and its export (which masks) predicted
    otherwise (0.11 apart on a study's trial)."""
    from search import export
    from search.model import build_model

    p = ModelParams.of(
        {"embedding_dim": 8, "lstm_units": [8], "bidirectional": True, "adversarial": kind}
    )
    model = build_model(p, vocab_size=50, maxlen=None, mask_zero=True)
    rng = np.random.default_rng(0)
    tokens = np.zeros((16, 30), np.int32)
    for row in tokens:
        n = rng.integers(3, 30)
        row[-n:] = rng.integers(2, 50, n)
    plain = export.rebuilt(p, export.layer_weights(model), mask_zero=True)
    np.testing.assert_allclose(model(tokens), plain(tokens), atol=1e-6)
