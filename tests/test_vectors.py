from __future__ import annotations

import numpy as np
import pytest

from search import vectors as vec
from search.data import DataSettings, load_imdb, read_splits
from search.embeddings import VectorSettings
from search.trial import model_for
from tests.conftest import UNSUP_ONLY

SMALL = VectorSettings(dim=8, window=3, epochs=2)


@pytest.fixture
def data(imdb_dir):
    return load_imdb(imdb_dir, DataSettings(vocab_size=100, maxlen=24))


def test_the_vectors_learn_from_training_and_unlabeled_reviews_only(data, imdb_dir):
    train, unlabeled = vec.corpus(data, SMALL)
    splits = read_splits(imdb_dir, data.settings)
    assert train == splits["train"].texts
    held_out = set(splits["val"].texts) | set(splits["test"].texts)
    assert held_out and not held_out & set(train + unlabeled)
    assert len(unlabeled) == 30 and all(UNSUP_ONLY in text for text in unlabeled)


def test_unlabeled_text_never_reaches_the_classifier(data):
    assert UNSUP_ONLY not in data.vocabulary
    assert len(data.train.y) + len(data.val.y) == 80  # the labeled reviews, nothing more


def test_trained_once_then_read_from_the_cache(data, monkeypatch):
    first = vec.domain_vectors(data, SMALL, verbose=False)
    assert first.matrix.shape == (len(first.words), 8) and UNSUP_ONLY in first.words

    def no_training(*args, **kwargs):
        raise AssertionError("the cached vectors must be read back, not retrained")

    monkeypatch.setattr(vec, "train_word2vec", no_training)
    again = vec.domain_vectors(data, SMALL, verbose=False)
    assert again.words == first.words
    np.testing.assert_array_equal(again.matrix, first.matrix)


def test_other_unlabeled_reviews_are_other_cached_vectors(data, imdb_dir, tmp_path):
    """The cache is keyed by the unlabeled reviews' content, in a folder of their own too."""
    import shutil

    only = shutil.copytree(imdb_dir / "train" / "unsup", tmp_path / "a" / "aclImdb/train/unsup")
    same = vec.cache_path(data, SMALL, vec.unsup_checksum(only))
    assert same == vec.cache_path(data, SMALL, vec.unsup_checksum(imdb_dir))
    (only / "0_0.txt").write_text("another review", encoding="utf-8")
    assert vec.cache_path(data, SMALL, vec.unsup_checksum(only)) != same


@pytest.mark.parametrize("embedding", ["domain_frozen", "domain_tuned"])
def test_they_feed_the_builder_with_the_right_shape(data, embedding):
    model = model_for({"embedding": embedding, "lstm_units": [4]}, data, vectors=SMALL)
    weights = model.get_layer("embedding").get_weights()[0]
    assert weights.shape == (len(data.vocabulary), 8)
    assert model.get_layer("embedding").trainable is (embedding == "domain_tuned")
    model.fit(data.train.x[:32], data.train.y[:32], epochs=1, verbose=0)


def test_words_match_the_vocabulary_standardisation():
    assert vec.words("A <br />great, GREAT film!It's") == ["a", "great", "great", "filmits"]


def test_missing_unlabeled_reviews_are_a_clear_error(tmp_path, imdb_tar, capsys):
    settings = VectorSettings(unsup=str(tmp_path / "nowhere"))
    data = load_imdb(imdb_tar, DataSettings(vocab_size=100, maxlen=24))
    with pytest.raises(FileNotFoundError, match="Unlabeled reviews not found"):
        vec.domain_vectors(data, settings)
    assert vec.main(["--data", str(imdb_tar), "--unsup", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err.startswith("error: Unlabeled reviews not found")


def test_cli_prints_coverage_and_neighbours(imdb_dir, capsys):
    args = ["--data", str(imdb_dir), "--maxlen", "24", "--vocab-size", "100"]
    assert vec.main([*args, "--vector-dim", "8", "--vector-epochs", "2"]) == 0
    out = capsys.readouterr().out
    assert "vocabulary coverage:" in out and "vectors: " in out and "boring" in out
