from __future__ import annotations

import gzip

import numpy as np
import pytest

from search import data as data_mod
from search.data import DataSettings, load_imdb, read_reviews, read_splits
from tests.conftest import make_imdb, make_tarball


def test_directory_load_splits_stratified_and_keeps_test_apart(imdb_dir):
    data = load_imdb(imdb_dir, DataSettings(vocab_size=100, maxlen=16))
    assert data.train.x.shape == (64, 16) and data.val.x.shape == (16, 16)
    assert data.test.x.shape == (40, 16)
    assert data.train.x.dtype == np.int32
    # 20% of each class in validation, the test split untouched and balanced
    assert data.val.y.sum() == 8 and data.train.y.sum() == 32 and data.test.y.sum() == 20
    assert data.vocabulary[:2] == ["", "[UNK]"] and len(data.vocabulary) <= 100
    assert "br" not in data.vocabulary  # <br /> is stripped before tokenising
    assert data.describe()["n_test"] == 40


def test_tarball_gives_the_same_arrays_as_the_directory(imdb_dir, imdb_tar):
    settings = DataSettings(vocab_size=100, maxlen=16)
    a, b = load_imdb(imdb_dir, settings), load_imdb(imdb_tar, settings)
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(a, split).x, getattr(b, split).x)
        np.testing.assert_array_equal(getattr(a, split).y, getattr(b, split).y)
    assert a.vocabulary == b.vocabulary


def test_split_is_seeded(imdb_dir):
    one = load_imdb(imdb_dir, DataSettings(seed=1), use_cache=False)
    same = load_imdb(imdb_dir, DataSettings(seed=1), use_cache=False)
    other = load_imdb(imdb_dir, DataSettings(seed=2), use_cache=False)
    np.testing.assert_array_equal(one.val.x, same.val.x)
    assert not np.array_equal(one.val.x, other.val.x)


def test_vocabulary_is_learned_on_the_training_split_only(tmp_path):
    base = make_imdb(tmp_path, n_train=10, n_test=5)
    (base / "test" / "pos" / "99_9.txt").write_text("zebrafish " * 50, encoding="utf-8")
    data = load_imdb(base, DataSettings(maxlen=8))
    assert "zebrafish" not in data.vocabulary


def test_pad_and_truncate_on_either_side():
    seqs = [np.array([9, 8, 3, 4, 5]), np.array([1, 2, 3])]
    assert data_mod.pad(seqs, 4, "pre", "pre").tolist() == [[8, 3, 4, 5], [0, 1, 2, 3]]
    assert data_mod.pad(seqs, 4, "post", "post").tolist() == [[9, 8, 3, 4], [1, 2, 3, 0]]
    assert data_mod.pad(seqs, 4, "pre", "post").tolist() == [[9, 8, 3, 4], [0, 1, 2, 3]]


def test_default_keeps_the_end_of_long_reviews(tmp_path):
    base = make_imdb(tmp_path, n_train=10, n_test=5)
    (base / "train" / "pos" / "77_10.txt").write_text(
        "boring " * 40 + "masterpiece", encoding="utf-8"
    )
    data = load_imdb(base, DataSettings(maxlen=10))
    ids = [data.vocabulary.index(w) for w in ("masterpiece", "boring")]
    rows = np.concatenate([data.train.x, data.val.x])
    row = rows[(rows == ids[0]).any(axis=1)][0]
    assert row[-1] == ids[0] and (row[:-1] == ids[1]).all()
    assert DataSettings().mask_zero is False and DataSettings(padding="post").mask_zero is True


def test_environment_variable_is_the_default_source(imdb_dir, monkeypatch):
    monkeypatch.setenv("IMDB_DATA", str(imdb_dir))
    assert load_imdb(settings=DataSettings(maxlen=8)).source == str(imdb_dir)


def test_second_load_reads_the_cache_without_tokenising(imdb_tar, monkeypatch):
    settings = DataSettings(vocab_size=100, maxlen=12)
    first = load_imdb(imdb_tar, settings)

    def fail(*args, **kwargs):
        raise AssertionError("re-read or re-tokenised despite a cache entry")

    monkeypatch.setattr(data_mod, "read_reviews", fail)
    monkeypatch.setattr(data_mod, "tokenize", fail)
    second = load_imdb(imdb_tar, settings)
    np.testing.assert_array_equal(first.train.x, second.train.x)
    assert first.vocabulary == second.vocabulary
    with pytest.raises(AssertionError):  # other settings are another cache entry
        load_imdb(imdb_tar, DataSettings(vocab_size=100, maxlen=13))


def test_an_unwritable_cache_folder_warns_and_the_data_still_loads(imdb_dir, tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    data = load_imdb(imdb_dir, DataSettings(maxlen=16, vocab_size=100), cache_dir=blocker)
    assert len(data.train.y) > 0
    warned = [r for r in caplog.records if r.levelname == "WARNING" and r.name == "search.data"]
    err = warned[0].getMessage()
    assert "warning: cannot write the cache file" in err and "LSTM_SEARCH_CACHE" in err


def test_a_half_written_cache_is_never_read_back(imdb_dir, tmp_path, monkeypatch):
    settings = DataSettings(maxlen=8)
    cache = tmp_path / "c"

    def crash(handle, **arrays):
        handle.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(data_mod.np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        load_imdb(imdb_dir, settings, cache_dir=cache)
    assert list(cache.iterdir()) == []  # nothing left at the final name, no temp file either
    monkeypatch.undo()
    monkeypatch.setenv("LSTM_SEARCH_CACHE", str(tmp_path / "unused"))
    # a corrupt file at the final name (an older crash) is discarded and rebuilt
    target = cache / f"imdb-{data_mod.cache_key(data_mod.checksum(imdb_dir), settings)}.npz"
    target.write_bytes(b"garbage")
    data = load_imdb(imdb_dir, settings, cache_dir=cache)
    assert data.train.x.shape[1] == 8 and np.load(target)["x_train"].shape[1] == 8


# ---------------------------------------------------------------- bad input


def test_missing_path_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.*--data"):
        load_imdb(tmp_path / "nowhere")


def test_folder_without_the_layout(tmp_path):
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff" / "a.txt").write_text("hello")
    with pytest.raises(ValueError, match="official layout.*stuff"):
        load_imdb(tmp_path / "stuff")


def test_empty_class_folder_is_named(tmp_path):
    base = make_imdb(tmp_path, n_train=4, n_test=2)
    for file in (base / "test" / "neg").iterdir():
        file.unlink()
    with pytest.raises(ValueError, match="aclImdb/test/neg"):
        read_reviews(base)


def test_corrupt_archive_is_named(tmp_path, imdb_tar):
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(imdb_tar.read_bytes()[:2000])
    with pytest.raises(ValueError, match="broken.tar.gz.*is corrupt"):
        load_imdb(broken)
    notgz = tmp_path / "plain.tar.gz"
    notgz.write_bytes(gzip.compress(b"this is not a tar archive" * 100))
    with pytest.raises(ValueError, match="plain.tar.gz"):
        load_imdb(notgz)


@pytest.mark.parametrize("damage", ["truncated near its end", "bytes changed mid-archive"])
def test_a_damaged_archive_is_refused_not_read_in_part(tmp_path, imdb_tar, damage):
    """tarfile stops quietly at a damaged header: the whole gzip stream must be checked."""
    from search.vectors import read_unsup

    data = bytearray(imdb_tar.read_bytes())
    if damage == "truncated near its end":
        data = data[:-40]
    else:
        middle = len(data) // 2
        data[middle : middle + 64] = bytes(64)
    broken = tmp_path / "damaged.tar.gz"
    broken.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="damaged.tar.gz.*is corrupt"):
        read_reviews(broken)
    with pytest.raises(ValueError, match="damaged.tar.gz.*is corrupt"):
        read_unsup(broken)


def test_non_utf8_review_is_named_in_a_folder_and_in_an_archive(tmp_path):
    base = make_imdb(tmp_path / "d", n_train=4, n_test=2)
    (base / "train" / "pos" / "5_9.txt").write_bytes(b"caf\xe9 latte")
    with pytest.raises(ValueError, match=r"pos/5_9\.txt in .*d/aclImdb. is not valid UTF-8"):
        load_imdb(base)
    tar = make_tarball(base, tmp_path / "bad.tar.gz")
    with pytest.raises(
        ValueError, match=r"aclImdb/train/pos/5_9\.txt in .*bad\.tar\.gz' is not valid UTF-8"
    ):
        load_imdb(tar)


def test_without_path_or_env_it_downloads_and_explains_offline_failure(tmp_path, monkeypatch):
    monkeypatch.delenv("IMDB_DATA", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(data_mod, "IMDB_URL", "http://127.0.0.1:9/aclImdb_v1.tar.gz")
    with pytest.raises(RuntimeError, match="Could not download.*--data"):
        load_imdb()


def test_download_uses_the_keras_cache(tmp_path, monkeypatch, imdb_tar):
    """Served from a local HTTP server, the archive lands in the Keras cache and loads."""
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=imdb_tar.parent)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.delenv("IMDB_DATA", raising=False)
        monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
        monkeypatch.setattr(
            data_mod, "IMDB_URL", f"http://127.0.0.1:{server.server_port}/aclImdb_v1.tar.gz"
        )
        data = load_imdb(settings=DataSettings(maxlen=8))
    finally:
        server.shutdown()
    assert data.source.endswith("aclImdb_v1.tar.gz") and str(tmp_path / "keras") in data.source
    assert len(data.test.y) == 40


def test_the_same_reviews_given_another_way_are_the_same_data(imdb_dir, imdb_tar, tmp_path):
    """Archive, extracted folder, its parent, a copy with new modification times: one digest;
    one changed byte or one more review: another. A digest stored the old way still matches."""
    import shutil

    from search.data import checksum, legacy_checksum, same_data

    digest = checksum(imdb_tar)
    copy = shutil.copytree(imdb_dir, tmp_path / "copy" / "aclImdb")  # new mtimes
    assert checksum(imdb_dir) == checksum(imdb_dir.parent) == checksum(copy) == digest
    review = next((copy / "train" / "pos").glob("*.txt"))
    review.write_bytes(review.read_bytes() + b" ")
    assert checksum(copy) != digest
    review.write_bytes(review.read_bytes()[:-1])
    (copy / "test" / "neg" / "999_1.txt").write_text("one more review", encoding="utf-8")
    assert checksum(copy) != digest
    assert same_data(legacy_checksum(imdb_tar), imdb_tar)
    assert same_data(legacy_checksum(imdb_dir), imdb_dir) and same_data(digest, imdb_dir)
    assert not same_data(legacy_checksum(imdb_tar), copy)


def test_an_archive_is_read_once_for_its_checksum_until_it_changes(imdb_dir, tmp_path, monkeypatch):
    import os
    import shutil

    archive = make_tarball(imdb_dir, tmp_path / "a.tar.gz")
    reads, members = [], data_mod.members
    monkeypatch.setattr(data_mod, "members", lambda *a: reads.append(a[0]) or members(*a))
    digest = data_mod.checksum(archive)
    assert data_mod.checksum(archive) == digest and len(reads) == 1
    changed = shutil.copytree(imdb_dir, tmp_path / "changed" / "aclImdb")
    next((changed / "train" / "pos").glob("*.txt")).write_text("another", encoding="utf-8")
    make_tarball(changed, archive)  # the same path, other reviews, a later modification time
    stat = archive.stat()
    os.utime(archive, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert data_mod.checksum(archive) != digest and len(reads) == 2


def test_bad_settings_name_the_value():
    with pytest.raises(ValueError, match="padding='middle'"):
        DataSettings(padding="middle")
    with pytest.raises(ValueError, match="val_split=1.5"):
        DataSettings(val_split=1.5)


def test_shared_archive_loads_the_full_benchmark_split(shared_imdb):
    data = load_imdb(shared_imdb)
    # 29 of the 5,000 validation reviews copy a training review (or each other): left out
    assert (len(data.train.y), len(data.val.y), len(data.test.y)) == (20000, 4971, 25000)
    assert data.train.y.mean() == 0.5 and data.test.y.mean() == 0.5
    assert len(data.vocabulary) == 20000 and data.train.x.shape[1] == 200
    # by content: the official reviews, however they are packed (the archive's sha256 was 76625...)
    assert data.checksum == "4a887802878b183a84b2409fb3403b9648ce849ba6c6f28b5ec092e590fbd8d5"
    assert (data.train.x[:, -1] != 0).mean() > 0.99  # front padding: every review ends the row


@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
def test_a_cut_matches_a_fresh_tokenisation_at_that_setting(imdb_dir, padding, truncating):
    """A study tokenises once at its largest settings; every trial's cut must equal what
    tokenising at the trial's own maxlen and vocabulary would give."""
    big = DataSettings(vocab_size=60, maxlen=40, padding=padding, truncating=truncating)
    small = DataSettings(vocab_size=25, maxlen=20, padding=padding, truncating=truncating)
    cut = load_imdb(imdb_dir, big, use_cache=False).cut(small.maxlen, small.vocab_size)
    fresh = load_imdb(imdb_dir, small, use_cache=False)
    assert cut.settings == fresh.settings and cut.vocabulary == fresh.vocabulary
    for name in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(cut, name).x, getattr(fresh, name).x)
        np.testing.assert_array_equal(getattr(cut, name).y, getattr(fresh, name).y)
    # moving the padding keeps every row's tokens in order
    moved = cut.cut(padding="post" if padding == "pre" else "pre")
    for row, other in zip(cut.train.x, moved.train.x, strict=True):
        np.testing.assert_array_equal(row[row > 0], other[other > 0])


def test_a_cut_beyond_the_tokenisation_is_refused(tiny_data):
    with pytest.raises(ValueError, match=r"maxlen=25 is beyond the data's maxlen=24"):
        tiny_data.cut(maxlen=25)
    with pytest.raises(ValueError, match=r"vocab_size=201 is beyond the data's vocab_size=200"):
        tiny_data.cut(vocab_size=201)
    assert tiny_data.cut() is tiny_data


def test_the_data_cli_reports_a_missing_path_in_one_line(tmp_path, capsys):
    missing = str(tmp_path / "nowhere")
    assert data_mod.main(["--data", missing]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: IMDB data not found") and missing in err


def test_a_folder_named_like_a_review_is_not_read_as_one(tmp_path):
    root = make_imdb(tmp_path, n_train=4, n_test=2)
    (root / "train" / "pos" / "96_9.txt").mkdir()  # a folder with a review's name
    names = [name for name, _ in data_mod.members(root)]
    assert "aclImdb/train/pos/96_9.txt" not in names and len(names) == 12


@pytest.mark.parametrize(
    "where, name", [("pos", "99_5.txt"), ("neg", "98_6.txt"), ("pos", "97_2.txt")]
)
def test_reviews_rated_outside_their_folders_range_are_refused(tmp_path, where, name):
    root = make_imdb(tmp_path, n_train=4, n_test=2)
    (root / "train" / where / name).write_text("a middling film", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"1 review\(s\) .*\(first: .*train/{where}/{name}\)"):
        read_reviews(root)


def test_an_archive_whose_reviews_are_all_empty_is_one_clear_error(tmp_path):
    root = make_imdb(tmp_path, n_train=4, n_test=2, n_unsup=0)
    for review in root.rglob("*.txt"):
        review.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="training reviews hold no words"):
        load_imdb(root, DataSettings(maxlen=8), use_cache=False)


def test_a_cache_file_with_other_arrays_is_rebuilt(imdb_dir, tmp_path):
    settings = DataSettings(maxlen=8, vocab_size=50)
    first = load_imdb(imdb_dir, settings, cache_dir=tmp_path)
    (cached,) = tmp_path.glob("imdb-*.npz")
    np.savez(cached, something=np.zeros(3))  # a valid npz, not ours
    again = load_imdb(imdb_dir, settings, cache_dir=tmp_path)
    np.testing.assert_array_equal(again.train.x, first.train.x)
    with np.load(cached) as npz:
        assert "x_train" in npz.files  # written anew


def test_validation_holds_no_copy_of_a_training_review(tmp_path):
    root = make_imdb(tmp_path, n_train=20, n_test=4, n_unsup=0)
    folder = root / "train" / "pos"
    for i, review in enumerate(sorted(folder.iterdir())):  # every positive review twice
        (folder / f"{100 + i}_{review.stem.split('_')[1]}.txt").write_text(review.read_text())
    splits = read_splits(root, DataSettings())
    train, val = set(splits["train"].texts), splits["val"].texts
    assert not train & set(val) and len(set(val)) == len(val)
    assert len(splits["train"].texts) == 48  # training keeps its copies: 80% of 40 + 20
    assert (splits["val"].labels == 1).sum() <= 4  # of the 8 positives, one per copied pair at most
    assert (splits["val"].labels == 0).sum() == 4  # the negatives, each once, all kept
    data = load_imdb(root, DataSettings(maxlen=8), use_cache=False)
    assert len(data.val.y) == len(val) and len(splits["test"].texts) == 8


def test_a_review_under_both_labels_is_refused(tmp_path):
    root = make_imdb(tmp_path, n_train=4, n_test=2, n_unsup=0)
    positive = sorted((root / "test" / "pos").iterdir())[0].read_text()
    (root / "train" / "neg" / "50_1.txt").write_text(positive)
    with pytest.raises(ValueError, match=r"under both pos/ and neg/ .*aclImdb/train/neg/50_1.txt"):
        read_reviews(root)


@pytest.mark.parametrize("given", ["", "  "])
def test_an_empty_data_path_is_refused_not_replaced(given, imdb_dir, monkeypatch, capsys):
    """``--data ""`` (an unset shell variable, say) is a mistake to name, not a reason to load
    $IMDB_DATA or download the archive instead."""
    monkeypatch.setenv("IMDB_DATA", str(imdb_dir))
    with pytest.raises(ValueError, match="--data is empty"):
        data_mod.resolve_source(given)
    assert data_mod.main(["--data", given]) == 2
    assert capsys.readouterr().err.startswith("error: --data is empty")
