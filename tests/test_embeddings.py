from __future__ import annotations

import gzip
import zipfile

import numpy as np
import pytest

from search.embeddings import PACKAGED, embedding_matrix, load_packaged, load_text

GLOVE = "good 0.5 0.25 -1.0\nbad -0.5 0.125 1.0\nfilm 0.0 1.0 0.0\n"


@pytest.fixture
def glove_txt(tmp_path):
    path = tmp_path / "glove.test.3d.txt"
    path.write_text(GLOVE, encoding="utf-8")
    return path


def test_text_reader_plain_gz_and_zip(tmp_path, glove_txt):
    gz = tmp_path / "glove.3d.txt.gz"
    gz.write_bytes(gzip.compress(GLOVE.encode()))
    zipped = tmp_path / "glove.3d.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("glove.3d.txt", GLOVE)
    for path in (glove_txt, gz, zipped):
        vectors = load_text(path)
        assert vectors.words == ["good", "bad", "film"]
        np.testing.assert_array_equal(vectors.matrix[1], np.float32([-0.5, 0.125, 1.0]))


def test_text_reader_keeps_only_the_vocabulary(glove_txt):
    vectors = load_text(glove_txt, {"film", "absent"})
    assert vectors.words == ["film"] and vectors.matrix.shape == (1, 3)


def test_text_reader_errors_name_the_file_and_line(tmp_path):
    ragged = tmp_path / "ragged.txt"
    ragged.write_text("a 1 2 3\nb 1 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="ragged.txt' line 2 has 2 values; expected 3"):
        load_text(ragged)
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        load_text(tmp_path / "missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty.txt' is empty"):
        load_text(empty)
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00 1 2")
    with pytest.raises(ValueError, match="Cannot read GloVe file.*binary.txt"):
        load_text(binary)


def test_packaged_glove_is_the_real_50d_vectors():
    vectors = load_packaged({"the", "movie", "wonderful", "qqqzzzx"})
    assert sorted(vectors.words) == ["movie", "the", "wonderful"]
    assert vectors.matrix.shape == (3, 50) and vectors.name == PACKAGED
    v = dict(zip(vectors.words, vectors.matrix, strict=True))
    # real GloVe: "the" is the first row of glove.6B, whose vector starts 0.418 0.24968
    np.testing.assert_allclose(v["the"][:2], [0.418, 0.24968], atol=1e-5)


def test_embedding_matrix_rows_and_coverage(glove_txt):
    vocabulary = ["", "[UNK]", "good", "film", "unseen"]
    emb = embedding_matrix(vocabulary, str(glove_txt), seed=1)
    assert emb.matrix.shape == (5, 3) and emb.found == 2
    assert emb.coverage == pytest.approx(2 / 3)
    assert not emb.matrix[0].any()  # padding row is zero
    np.testing.assert_array_equal(emb.matrix[2], np.float32([0.5, 0.25, -1.0]))
    assert emb.matrix[4].any()  # missing words get small random vectors, not zeros


def test_packaged_matrix_covers_a_movie_vocabulary(tiny_data):
    emb = embedding_matrix(tiny_data.vocabulary)
    assert emb.matrix.shape == (len(tiny_data.vocabulary), 50)
    assert emb.coverage > 0.95  # every word of the tiny reviews is ordinary English
