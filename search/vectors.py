"""Domain word vectors: word2vec on the training reviews plus IMDB's 50k unlabeled reviews.

    python -m search.vectors --data aclImdb_v1.tar.gz --unsup aclImdb_v1_unsup.tar.gz

General vectors (GloVe) place words by their use in Wikipedia and news; these place them by their
use in movie reviews, where "excellent" sits beside "superb", not beside "exceptional service".
They learn from the training split and the unlabeled reviews only: never from the validation or
test reviews, and the unlabeled reviews never reach the classifier. Trained once per data,
split and settings, then read back from the on-disk cache. ``load_source`` gives any
pretrained source's vectors by name (``search.embeddings`` defines the sources).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from search import backend
from search.data import (
    Dataset,
    DataSettings,
    checksum,
    clean,
    default_cache_dir,
    load_cache,
    load_imdb,
    members,
    read_splits,
    save_cache,
)
from search.embeddings import (
    PRETRAINED,
    Vectors,
    VectorSettings,
    embedding_matrix,
    load_vectors,
)
from search.files import existing_path
from search.options import (
    add_data_arguments,
    add_vector_arguments,
    settings_from_args,
    vector_settings_from_args,
)

log = logging.getLogger(__name__)

UNSUP_ENV = "IMDB_UNSUP"
CACHE_VERSION = 1
_UNSUP = re.compile(r"(?:^|/)aclImdb/train/unsup/\d+_\d+\.txt$")
# TextVectorization's "lower_and_strip_punctuation", so the words match the vocabulary's
_PUNCTUATION = re.compile(r"[!\"#$%&()\*\+,\-\./:;<=>?@\[\\\]\^_`{|}~']")
NEIGHBOURS = ("excellent", "boring", "awful", "masterpiece")


def load_source(source: str, data, settings: VectorSettings, *, verbose: bool = True) -> Vectors:
    """The vectors of pretrained ``source`` for ``data`` (a ``search.data.Dataset``)."""
    if source == "glove":
        return load_vectors(settings.glove, set(data.vocabulary))
    if source == "domain":
        return domain_vectors(data, settings, verbose=verbose)
    if source == "lm":  # the language model's input embedding, as vectors of its words
        from search import pretrain

        lm = pretrain.language_model(data, settings)
        return Vectors(data.vocabulary[: len(lm.embedding)], lm.embedding, "lm")
    raise ValueError(f"Unknown embedding source {source!r}; choose one of {list(PRETRAINED)}")


def words(text: str) -> list[str]:
    return _PUNCTUATION.sub("", clean(text).lower()).split()


def resolve_unsup(unsup: str | None, data_source: str) -> Path:
    """``unsup``, else ``$IMDB_UNSUP``, else the labeled data itself (the official full archive
    holds ``aclImdb/train/unsup``)."""
    chosen = unsup or os.environ.get(UNSUP_ENV)
    return existing_path(
        chosen or data_source,
        "Unlabeled reviews",
        "--unsup" if unsup else f"${UNSUP_ENV}" if chosen else "--data",
        "pass --unsup with the aclImdb directory or archive that holds aclImdb/train/unsup",
    )


def read_unsup(path: Path) -> list[str]:
    """The unlabeled reviews (``aclImdb/train/unsup/<id>_0.txt``), sorted by file name."""
    found = [(name, raw.decode("utf-8", errors="replace")) for name, raw in members(path, _UNSUP)]
    if not found:
        raise ValueError(
            f"No unlabeled reviews (aclImdb/train/unsup/<id>_0.txt) in {str(path)!r}; pass "
            f"--unsup (or set {UNSUP_ENV}) to the archive or directory that holds them"
        )
    return [text for _, text in sorted(found)]


def check_unlabeled(settings: VectorSettings, data_source: str, space: str) -> None:
    """Refuse, before any work, a run of a space whose trials need the unlabeled reviews (domain
    vectors, VAT) when there are none: otherwise those trials fail one by one mid-study."""
    path = resolve_unsup(settings.unsup, data_source)
    if next(members(path, _UNSUP), None) is None:
        raise ValueError(
            f"space {space!r} trains on IMDB's unlabeled reviews (domain vectors, VAT) and "
            f"{str(path)!r} has none (aclImdb/train/unsup): pass --unsup with "
            "aclImdb_v1_unsup.tar.gz (or the official full archive), or choose another --space"
        )


def corpus(data: Dataset, settings: VectorSettings) -> tuple[list[str], list[str]]:
    """The texts the vectors learn from: the training split's reviews (the same split as
    ``data``) and the unlabeled reviews."""
    unsup = resolve_unsup(settings.unsup, data.source)
    train = read_splits(Path(data.source), data.settings)["train"].texts
    return train, read_unsup(unsup)


def train_word2vec(
    sentences: list[list[str]], settings: VectorSettings, *, seed: int = 0, verbose: bool = True
) -> Vectors:
    """Skip-gram word2vec (gensim) with negative sampling; every core, a progress line a pass."""
    from gensim.models import Word2Vec
    from gensim.models.callbacks import CallbackAny2Vec

    class Progress(CallbackAny2Vec):
        def __init__(self) -> None:
            self.epoch, self.start = 0, time.perf_counter()

        def on_epoch_end(self, model) -> None:
            self.epoch += 1
            if verbose:
                log.info(
                    f"  word2vec pass {self.epoch}/{settings.epochs} "
                    f"({time.perf_counter() - self.start:.0f}s)"
                )

    model = Word2Vec(
        sentences,
        vector_size=settings.dim,
        window=settings.window,
        epochs=settings.epochs,
        min_count=2,
        sg=1,
        negative=5,
        sample=1e-4,
        workers=os.cpu_count() or 1,
        seed=seed,
        callbacks=[Progress()],
    )
    keyed = model.wv
    return Vectors(list(keyed.index_to_key), np.asarray(keyed.vectors, np.float32), "word2vec")


def unsup_checksum(path: Path) -> str:
    """The unlabeled reviews' identity by content (only ``aclImdb/train/unsup``, wherever they
    are given), for the cache key."""
    return checksum(path, _UNSUP)


def cache_path(data: Dataset, settings: VectorSettings, unsup_digest: str) -> Path:
    split = {k: v for k, v in asdict(data.settings).items() if k in ("val_split", "seed")}
    blob = json.dumps(
        {
            "v": CACHE_VERSION,
            "data": data.checksum,
            "unsup": unsup_digest,
            **split,
            # word2vec's own settings: the language model's do not change these vectors
            **{k: v for k, v in settings.identity().items() if not k.startswith("lm_")},
        },
        sort_keys=True,
    )
    key = hashlib.sha256(blob.encode()).hexdigest()[:24]
    return default_cache_dir() / f"word2vec-{key}.npz"


def domain_vectors(data: Dataset, settings: VectorSettings, *, verbose: bool = True) -> Vectors:
    """The domain vectors for ``data``'s training split, from the cache or trained now."""
    unsup = resolve_unsup(settings.unsup, data.source)
    path = cache_path(data, settings, unsup_checksum(unsup))
    cached = load_cache(path, ("words", "matrix"))  # None: train them (again)
    if cached is not None:
        return Vectors([str(w) for w in cached["words"]], cached["matrix"], "word2vec")
    start = time.perf_counter()
    train, unlabeled = corpus(data, settings)
    if verbose:
        log.info(
            f"training word2vec {settings.dim}d on {len(train)} training + {len(unlabeled)} "
            "unlabeled reviews (once; cached)"
        )
    vectors = train_word2vec([words(t) for t in train + unlabeled], settings, verbose=verbose)
    saved = save_cache(
        path, {"words": np.array(vectors.words, dtype=str), "matrix": vectors.matrix}
    )
    if verbose:
        log.info(
            f"word2vec: {len(vectors.words)} words in {time.perf_counter() - start:.0f}s"
            + (f" -> {path}" if saved else " (not cached)")
        )
    return vectors


def neighbours(vectors: Vectors, word: str, k: int = 6) -> list[str]:
    index = {w: i for i, w in enumerate(vectors.words)}
    if word not in index:
        return []
    unit = vectors.matrix / np.maximum(np.linalg.norm(vectors.matrix, axis=1, keepdims=True), 1e-9)
    scores = unit @ unit[index[word]]
    return [vectors.words[i] for i in np.argsort(-scores)[1 : k + 1]]


def main(argv: list[str] | None = None) -> int:
    """The command: the library's lines shown on the console while it runs."""
    from search import display

    with display.console():
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    """Train (or load) the domain vectors and show what they learned."""
    parser = argparse.ArgumentParser(prog="python -m search.vectors", description=__doc__)
    add_data_arguments(parser)
    add_vector_arguments(parser)
    args = parser.parse_args(argv)
    backend.load()
    try:
        settings = vector_settings_from_args(args)
        data_settings: DataSettings = settings_from_args(args)
        data = load_imdb(args.data, data_settings)
        start = time.perf_counter()
        vectors = domain_vectors(data, settings)
        seconds = time.perf_counter() - start
        unsup = resolve_unsup(settings.unsup, data.source)
        path = cache_path(data, settings, unsup_checksum(unsup))
    except (ValueError, FileNotFoundError, RuntimeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    matrix = embedding_matrix(data.vocabulary, vectors)
    print(f"vectors: {path}")
    print(f"{len(vectors.words)} words, dim {vectors.matrix.shape[1]}, {seconds:.1f}s")
    print(
        f"vocabulary coverage: {matrix.found} of {len(data.vocabulary) - 2} words "
        f"({matrix.coverage:.1%})"
    )
    for word in NEIGHBOURS:
        print(f"  {word:<12} {', '.join(neighbours(vectors, word)) or '(not in the vectors)'}")
    return 0


if __name__ == "__main__":
    # run as search.vectors, not as __main__, so its log lines come from the 'search' logger the
    # console shows
    from search.vectors import main as command

    sys.exit(command())
