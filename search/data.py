"""Load the Large Movie Review Dataset, split it, tokenise it once and cache the arrays.

The official layout is ``aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt``, read from a
directory or a ``.tar.gz``. The 25k training reviews are split into train/validation (stratified,
seeded); the 25k test reviews are returned separately, for the final evaluation only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import sys
import tarfile
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from search import backend
from search.files import existing_path

log = logging.getLogger(__name__)

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
ENV_VAR = "IMDB_DATA"
CACHE_ENV = "LSTM_SEARCH_CACHE"
CACHE_VERSION = 2  # bump when the tokenisation or the split changes: old caches are not read

RATINGS = {"pos": range(7, 11), "neg": range(1, 5)}  # the official layout's; 5 and 6 are left out
_MEMBER = re.compile(r"(?:^|/)aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


MAX_MAXLEN = 5000  # twice IMDB's longest review: beyond it only padding, and memory, grow


@dataclass(frozen=True)
class DataSettings:
    """How reviews become integer sequences; part of the cache key and of a study's identity.

    Padding and truncation default to the front ("pre"), as ``keras.utils.pad_sequences`` does:
    reviews tend to state their verdict at the end, so keeping the last ``maxlen`` tokens keeps it,
    and an LSTM that reads the padding first and the review last ends on the words that matter.
    Measured on the full data with the ``callbacks`` preset (LSTM(64), same seed, this machine):
    front padding and truncation, unmasked: test accuracy 0.8658; end padding and truncation
    (TextVectorization's own output) with the padding masked: 0.8274; end padding, front
    truncation, masked: 0.8263. Issue 2 reported 0.55 val accuracy for end padding unmasked.
    Front padding needs no mask, which also keeps the cuDNN LSTM kernel usable on GPU. With
    ``padding="post"`` the model masks the padding (``mask_zero``), and cuDNN accepts masks of
    right-padded input.
    """

    vocab_size: int = 20000
    maxlen: int = 200
    val_split: float = 0.2
    seed: int = 42
    padding: str = "pre"
    truncating: str = "pre"

    def __post_init__(self) -> None:
        if self.vocab_size < 3:
            raise ValueError(f"vocab_size={self.vocab_size!r}; expected an integer >= 3")
        if not 1 <= self.maxlen <= MAX_MAXLEN:
            raise ValueError(
                f"maxlen={self.maxlen!r}; expected 1..{MAX_MAXLEN} tokens (IMDB's longest "
                "review has about 2,500 words)"
            )
        if not 0.0 < self.val_split < 1.0:
            raise ValueError(f"val_split={self.val_split!r}; expected a fraction in (0, 1)")
        for name in ("padding", "truncating"):
            value = getattr(self, name)
            if value not in ("pre", "post"):
                raise ValueError(f"{name}={value!r}; expected 'pre' or 'post'")

    @property
    def mask_zero(self) -> bool:
        """End padding must be masked; front padding is read by the LSTM before the text."""
        return self.padding == "post"


class Split(NamedTuple):
    x: np.ndarray  # int32 (n, maxlen)
    y: np.ndarray  # float32 (n,), 1.0 = positive


class Dataset(NamedTuple):
    train: Split
    val: Split
    test: Split
    vocabulary: list[str]  # index i -> token; 0 is padding "", 1 is "[UNK]"
    settings: DataSettings
    source: str
    checksum: str
    # token ids of unlabeled reviews at this tokenisation, for VAT (search.unlabeled); no labels
    unlabeled: np.ndarray | None = None

    def cut(
        self, maxlen: int | None = None, vocab_size: int | None = None, padding: str | None = None
    ) -> Dataset:
        """This dataset as if tokenised with a shorter ``maxlen`` and a smaller vocabulary.

        A study tokenises once at its largest settings; each trial takes its cut. Keeping the
        last (``truncating="pre"``) or first ``maxlen`` tokens and re-padding gives the arrays a
        fresh tokenisation would, and so do ids at or beyond ``vocab_size`` mapped to ``[UNK]``:
        TextVectorization orders its vocabulary by frequency, so a smaller vocabulary is a prefix.
        ``padding`` moves the padding to the other side (a masked model reads the same tokens).
        """
        padding = self.settings.padding if padding is None else padding
        maxlen = self.settings.maxlen if maxlen is None else maxlen
        vocab_size = self.settings.vocab_size if vocab_size is None else vocab_size
        if not 1 <= maxlen <= self.settings.maxlen:
            raise ValueError(
                f"maxlen={maxlen!r} is beyond the data's maxlen={self.settings.maxlen}; "
                "tokenise with a larger --maxlen"
            )
        if not 3 <= vocab_size <= self.settings.vocab_size:
            raise ValueError(
                f"vocab_size={vocab_size!r} is beyond the data's vocab_size="
                f"{self.settings.vocab_size}; tokenise with a larger --vocab-size"
            )
        if (maxlen, vocab_size, padding) == (
            self.settings.maxlen,
            self.settings.vocab_size,
            self.settings.padding,
        ):
            return self
        settings = replace(self.settings, maxlen=maxlen, vocab_size=vocab_size, padding=padding)
        splits = {name: _cut(getattr(self, name), self.settings, settings) for name in _SPLITS}
        pool = self.unlabeled
        if pool is not None:  # the same cut, with no labels to carry
            pool = _cut(Split(pool, np.zeros(len(pool), np.float32)), self.settings, settings).x
        return self._replace(
            **splits, vocabulary=self.vocabulary[:vocab_size], settings=settings, unlabeled=pool
        )

    def describe(self) -> dict:
        """Plain, JSON-ready description, stored with studies and model cards."""
        return {
            **asdict(self.settings),
            "source": self.source,
            "checksum": self.checksum,
            "n_train": len(self.train.y),
            "n_val": len(self.val.y),
            "n_test": len(self.test.y),
        }


class Reviews(NamedTuple):
    texts: list[str]
    labels: np.ndarray
    ids: list[str]  # "<id>_<rating>", for stable ordering


# ---------------------------------------------------------------- locating and reading the source


def resolve_source(path: str | os.PathLike | None = None) -> Path:
    """The dataset location: ``path``, else ``$IMDB_DATA``, else the official archive downloaded
    into the Keras cache (``~/.keras/datasets``) as ``keras.datasets`` loaders do."""
    if path is not None and not os.fspath(path).strip():  # --data "" or an unset $VAR
        raise ValueError(
            "--data is empty; pass the aclImdb directory or the aclImdb_v1.tar.gz archive, or "
            f"leave --data out to use ${ENV_VAR} or the download"
        )
    chosen = path or os.environ.get(ENV_VAR)
    if chosen:
        return existing_path(
            chosen,
            "IMDB data",
            "--data" if path else f"${ENV_VAR}",
            "pass --data with the aclImdb directory or the aclImdb_v1.tar.gz archive",
        )
    return download()


def download(origin: str | None = None) -> Path:
    """Fetch ``aclImdb_v1.tar.gz`` into the Keras cache, or explain how to work offline."""
    import keras

    # KERAS_HOME is read now, not at Keras' import; get_file falls back to /tmp/.keras for a
    # folder that does not exist yet, so create it.
    keras_home = os.environ.get("KERAS_HOME")
    if keras_home:
        Path(keras_home).mkdir(parents=True, exist_ok=True)
    try:
        return Path(
            keras.utils.get_file("aclImdb_v1.tar.gz", origin or IMDB_URL, cache_dir=keras_home)
        )
    except Exception as exc:  # keras wraps URL and network errors in plain Exceptions
        raise RuntimeError(
            f"Could not download the IMDB dataset from {origin or IMDB_URL!r} ({exc}). "
            f"Offline, pass --data PATH (or set {ENV_VAR}) to an aclImdb directory or "
            "aclImdb_v1.tar.gz archive."
        ) from exc


def members(source: Path, pattern: re.Pattern = _MEMBER) -> Iterator[tuple[str, bytes]]:
    """``(official name, bytes)`` of every review of ``source`` (an aclImdb folder, one above it,
    or a .tar.gz) whose path ``pattern`` matches; the name is ``aclImdb/train/pos/0_9.txt``
    however the reviews are given. An archive is read to its end: tarfile takes a damaged header
    for the archive's end and stops quietly, while gzip checks its length and CRC at the end."""
    if source.is_dir():
        for file in source.rglob("*.txt"):
            match = pattern.search(file.as_posix())
            if match and file.is_file():
                yield match.group(0).lstrip("/"), file.read_bytes()
        return
    try:
        with tarfile.open(source, "r:*") as archive:
            for member in archive:
                match = pattern.search(member.name)
                if match and member.isfile():
                    yield match.group(0).lstrip("/"), archive.extractfile(member).read()
            while archive.fileobj.read(1 << 20):
                pass
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        reason = " ".join(str(exc).split())  # tarfile's reason spans lines: one line here
        raise ValueError(
            f"{str(source)!r} is corrupt or not a .tar.gz archive ({reason}); download "
            "aclImdb_v1.tar.gz again or pass the extracted aclImdb directory"
        ) from exc


_DIGESTS: dict[tuple, str] = {}  # an archive's checksum, per process (``checksum``)


def checksum(source: Path, pattern: re.Pattern = _MEMBER) -> str:
    """The data's identity, by content: a sha256 over its reviews' official names and bytes in
    name order. The same reviews given as the archive, the extracted folder or its parent are
    the same data; it reads every review, which takes seconds for IMDB, so an archive's is
    remembered while its size and modification time stay the same (a domain-vector study asks
    for the unlabeled reviews' once per vocabulary size)."""
    source = Path(source)
    key = None
    if source.is_file():
        stat = source.stat()
        key = (str(source.resolve()), pattern.pattern, stat.st_size, stat.st_mtime_ns)
        if key in _DIGESTS:
            return _DIGESTS[key]
    entries = sorted(
        (name, hashlib.sha256(raw).hexdigest()) for name, raw in members(source, pattern)
    )
    digest = hashlib.sha256()
    for name, content in entries:
        digest.update(f"{name}\0{content}\n".encode())
    if key is not None:
        _DIGESTS[key] = digest.hexdigest()
    return digest.hexdigest()


def legacy_checksum(source: Path) -> str:
    """The identity studies stored before content digests: the archive's bytes, or a folder's
    review names, sizes and modification times. Read only to accept such a study's own data."""
    digest = hashlib.sha256()
    if source.is_dir():
        for file in sorted(source.rglob("*.txt")):
            if _MEMBER.search(file.as_posix()):
                stat = file.stat()
                digest.update(
                    f"{file.relative_to(source)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode()
                )
    else:
        with open(source, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def same_data(digest: str, source: str | os.PathLike, content: str | None = None) -> bool:
    """Whether a study's stored ``digest`` names the reviews at ``source`` (``content``: their
    checksum, when known), also when the study stored it the old way."""
    source = Path(source)
    return digest == (content or checksum(source)) or digest == legacy_checksum(source)


def _decode(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{where} is not valid UTF-8 ({exc.reason} at byte {exc.start})") from exc


def read_reviews(source: Path) -> dict[str, Reviews]:
    """Read every labelled review, returned as ``{"train": Reviews, "test": Reviews}``."""
    found: dict[tuple[str, str], list[tuple[str, str]]] = {
        (s, c): [] for s in ("train", "test") for c in ("pos", "neg")
    }
    where = str(source) if source.is_dir() else f"archive {str(source)!r}"
    misrated = []
    for name, raw in members(source):
        split, label, rid, rating = _MEMBER.search(name).groups()
        if int(rating) not in RATINGS[label]:
            misrated.append(name)
        found[split, label].append((f"{rid}_{rating}", _decode(raw, f"{name} in {str(source)!r}")))
    if misrated:
        raise ValueError(
            f"{len(misrated)} review(s) in {where} rated outside their folder's range (first: "
            f"{misrated[0]}); the official layout has ratings 7-10 in pos/ and 1-4 in neg/: "
            "move or remove them"
        )
    if not any(found.values()):
        raise ValueError(
            "No reviews in the official layout "
            f"aclImdb/{{train,test}}/{{pos,neg}}/<id>_<rating>.txt found in {where}; "
            "point --data at the aclImdb directory or its .tar.gz"
        )
    empty = [f"aclImdb/{s}/{c}" for (s, c), items in found.items() if not items]
    if empty:
        raise ValueError(
            f"Empty class folder(s) {empty} in {where}; every one of "
            "train/pos, train/neg, test/pos, test/neg needs reviews"
        )

    labels: dict[str, tuple[str, str]] = {}
    for (split, label), items in found.items():
        for rid, text in (item for item in items if item[1].strip()):  # empty: nothing to copy
            first = labels.setdefault(text, (label, f"aclImdb/{split}/{label}/{rid}.txt"))
            if first[0] != label:
                raise ValueError(
                    f"The same review text is under both pos/ and neg/ in {where} ({first[1]} "
                    f"and aclImdb/{split}/{label}/{rid}.txt): remove the copy with the wrong label"
                )

    result = {}
    for split in ("train", "test"):
        items = [(rid, text, 1.0) for rid, text in found[split, "pos"]]
        items += [(rid, text, 0.0) for rid, text in found[split, "neg"]]
        items.sort(key=lambda item: (item[2], item[0]))  # independent of file-system order
        result[split] = Reviews(
            texts=[text for _, text, _ in items],
            labels=np.array([label for _, _, label in items], dtype=np.float32),
            ids=[rid for rid, _, _ in items],
        )
    return result


# ---------------------------------------------------------------- splitting and tokenising


def stratified_split(
    labels: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val) with ``fraction`` of each class in val, shuffled with ``seed``."""
    rng = np.random.default_rng(seed)
    train_idx, val_idx = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_val = int(round(len(members) * fraction))
        if n_val == 0 or n_val == len(members):
            side = "validation" if n_val == 0 else "training"
            raise ValueError(
                f"--val-split {fraction}: leaves no {side} review of the {len(members)} with "
                f"label {int(label)}; choose a fraction that leaves both splits reviews of each "
                "label (default 0.2)"
            )
        val_idx.append(members[:n_val])
        train_idx.append(members[n_val:])
    return rng.permutation(np.concatenate(train_idx)), rng.permutation(np.concatenate(val_idx))


def read_splits(source: Path, settings: DataSettings) -> dict[str, Reviews]:
    """The raw reviews of the train, val and test splits, exactly as ``load_imdb`` splits them
    (for the linear baseline and the word-vector trainer, which need text, not ids).

    Validation holds no copy of a training review, nor one twice; the official test split is
    kept whole (docs/decisions/duplicate-reviews.md)."""
    reviews = read_reviews(source)
    train = reviews["train"]
    train_idx, val_idx = stratified_split(train.labels, settings.val_split, settings.seed)

    seen = {train.texts[i] for i in train_idx}
    unseen = []
    for i in val_idx:  # a review also in train (or twice in val) would be scored as if unseen
        if train.texts[i] not in seen or not train.texts[i].strip():
            seen.add(train.texts[i])
            unseen.append(i)
    if len(unseen) < len(val_idx):
        log.debug(f"left {len(val_idx) - len(unseen)} duplicate review(s) out of validation")

    def take(index: np.ndarray) -> Reviews:
        return Reviews(
            [train.texts[i] for i in index], train.labels[index], [train.ids[i] for i in index]
        )

    val = take(np.array(unseen, dtype=int))
    return {"train": take(train_idx), "val": val, "test": reviews["test"]}


def clean(text: str) -> str:
    """Drop the HTML line breaks IMDB reviews carry; TextVectorization lower-cases and strips
    punctuation after this."""
    return _BREAK.sub(" ", text)


def pad(sequences: list[np.ndarray], maxlen: int, padding: str, truncating: str) -> np.ndarray:
    """Fixed-length int32 matrix, like ``keras.utils.pad_sequences`` but without its per-row
    Python overhead on ragged input."""
    out = np.zeros((len(sequences), maxlen), dtype=np.int32)
    for row, seq in enumerate(sequences):
        seq = seq[-maxlen:] if truncating == "pre" else seq[:maxlen]
        if len(seq):
            if padding == "pre":
                out[row, maxlen - len(seq) :] = seq
            else:
                out[row, : len(seq)] = seq
    return out


def tokenize(
    train_texts: list[str], other: list[list[str]], settings: DataSettings
) -> tuple[list[str], list[np.ndarray]]:
    """Learn the vocabulary on ``train_texts`` only; encode them and every list in ``other``."""
    import tensorflow as tf
    from keras.layers import TextVectorization

    vectorizer = TextVectorization(
        max_tokens=settings.vocab_size,
        standardize="lower_and_strip_punctuation",
        output_mode="int",
        ragged=True,
    )
    vectorizer.adapt(
        tf.data.Dataset.from_tensor_slices([clean(t) for t in train_texts]).batch(1024)
    )
    if len(vectorizer.get_vocabulary()) <= 2:  # only padding and [UNK]
        raise ValueError(
            f"the {len(train_texts)} training reviews hold no words to learn a vocabulary from "
            "(every review is empty); check the data"
        )
    encoded = [encode(vectorizer, texts, settings) for texts in [train_texts, *other]]
    return list(vectorizer.get_vocabulary()), encoded


def encode(vectorizer, texts: list[str], settings: DataSettings, chunk: int = 2048) -> np.ndarray:
    """``texts`` cleaned, turned into ids by a ragged ``TextVectorization`` and padded and
    truncated as ``settings`` say; ``chunk`` reviews at a time, so memory stays bounded."""
    import tensorflow as tf

    rows = []
    for start in range(0, len(texts), chunk):
        ragged = vectorizer(tf.constant([clean(t) for t in texts[start : start + chunk]]))
        flat, splits = ragged.flat_values.numpy().astype(np.int32), ragged.row_splits.numpy()
        rows += [flat[splits[i] : splits[i + 1]] for i in range(len(splits) - 1)]
    return pad(rows, settings.maxlen, settings.padding, settings.truncating)


def _cut(split: Split, old: DataSettings, new: DataSettings) -> Split:
    """``split`` (tokenised with ``old``) as ``new`` would tokenise it; the truncation side is
    the same in both."""
    x = split.x
    sides = {old.padding, new.padding, new.truncating}
    if sides == {"pre"}:  # padding and cut both at the front
        x = x[:, -new.maxlen :]
    elif sides == {"post"}:
        x = x[:, : new.maxlen]
    else:  # the tokens move: re-pad each row's tokens (id 0 is only ever padding)
        x = pad([row[row > 0] for row in x], new.maxlen, new.padding, new.truncating)
    if x.size and x.max() >= new.vocab_size:
        x = np.where(x >= new.vocab_size, 1, x)  # 1 is [UNK]
    return Split(np.ascontiguousarray(x, dtype=np.int32), split.y)


# ---------------------------------------------------------------- cache


def default_cache_dir() -> Path:
    """Next to the Keras dataset cache, overridable with ``LSTM_SEARCH_CACHE``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    keras_home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    return Path(keras_home) / "lstm_search_cache"


def cache_key(digest: str, settings: DataSettings) -> str:
    blob = json.dumps({"v": CACHE_VERSION, "data": digest, **asdict(settings)}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def save_cache(path: Path, arrays: dict[str, np.ndarray]) -> bool:
    """``_save_atomic``, or one warning when the cache folder cannot take it (read-only, full,
    a file in the way): a cache only saves time, so the work goes on without it."""
    try:
        _save_atomic(path, arrays)
        return True
    except OSError as exc:
        log.warning(
            f"warning: cannot write the cache file {str(path)!r} ({exc.strerror or exc}); "
            f"going on without it (set {CACHE_ENV} to a writable folder)"
        )
        return False


def _save_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write to a temporary file in the same folder and rename: a reader never sees half a cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_cache(path: Path, names: tuple[str, ...] = ()) -> dict[str, np.ndarray] | None:
    """The arrays of a cache file, or None (rebuild it) when it is missing, unreadable or lacks
    one of ``names``."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        missing = set(names) - set(arrays)
        if missing:
            raise KeyError(f"{str(path)!r} lacks {sorted(missing)}")
        return arrays
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return None
    except Exception:  # unreadable (truncated by a crash of an older writer, other arrays)
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass
        return None


# ---------------------------------------------------------------- the one entry point

_SPLITS = ("train", "val", "test")


def load_imdb(
    path: str | os.PathLike | None = None,
    settings: DataSettings | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
) -> Dataset:
    """Load IMDB as padded integer sequences, from the on-disk cache when the same source and
    settings were tokenised before.

    Args:
        path: aclImdb directory or ``.tar.gz``; defaults to ``$IMDB_DATA``, then the download.
        settings: vocabulary, length, split and padding settings.
        cache_dir: where tokenised arrays are kept (default: ``default_cache_dir()``).
        use_cache: read and write the cache.
    """
    settings = settings or DataSettings()
    source = resolve_source(path)
    digest = checksum(source)
    cache_file = Path(cache_dir or default_cache_dir()) / f"imdb-{cache_key(digest, settings)}.npz"

    names = (*(f"{xy}_{s}" for s in _SPLITS for xy in "xy"), "vocabulary")
    arrays = load_cache(cache_file, names) if use_cache else None
    if arrays is None:
        texts = read_splits(source, settings)
        vocabulary, (x_train, x_val, x_test) = tokenize(
            texts["train"].texts, [texts["val"].texts, texts["test"].texts], settings
        )
        arrays = {
            "x_train": x_train,
            "y_train": texts["train"].labels,
            "x_val": x_val,
            "y_val": texts["val"].labels,
            "x_test": x_test,
            "y_test": texts["test"].labels,
            "vocabulary": np.array(vocabulary, dtype=str),
        }
        if use_cache:
            save_cache(cache_file, arrays)

    splits = {name: Split(arrays[f"x_{name}"], arrays[f"y_{name}"]) for name in _SPLITS}
    return Dataset(
        **splits,
        vocabulary=[str(token) for token in arrays["vocabulary"]],
        settings=settings,
        source=str(source),
        checksum=digest,
    )


def main(argv: list[str] | None = None) -> int:
    """The command: the library's lines shown on the console while it runs."""
    from search import display

    with display.console():
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    """``python -m search.data``: load (and cache) the dataset and print its shape and timing."""
    from search.options import add_data_arguments, settings_from_args

    parser = argparse.ArgumentParser(description=_main.__doc__)
    add_data_arguments(parser)
    args = parser.parse_args(argv)
    backend.load()
    start = time.perf_counter()
    try:
        data = load_imdb(args.data, settings_from_args(args))
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        json.dumps({**data.describe(), "seconds": round(time.perf_counter() - start, 2)}, indent=2)
    )
    return 0


if __name__ == "__main__":
    # run as search.data, not as __main__, so its log lines come from the 'search' logger the
    # console shows
    from search.data import main as command

    sys.exit(command())
