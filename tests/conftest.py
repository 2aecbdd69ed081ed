"""Tiny IMDB-shaped data the tests make themselves, in the official layout."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

TINY = str(Path(__file__).parent / "tiny_space.py")
ROOT = Path(__file__).parent.parent

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # as search/__init__.py

POSITIVE = "wonderful great moving superb brilliant loved beautiful best".split()
NEGATIVE = "awful boring terrible waste worst dull poor hated".split()
NEUTRAL = "the movie film plot actor scene story director it was and a of".split()


def review(rng: random.Random, positive: bool, length: int = 30) -> str:
    words = [rng.choice(NEUTRAL) for _ in range(length)]
    cue = POSITIVE if positive else NEGATIVE
    for index in rng.sample(range(length), 4):
        words[index] = rng.choice(cue)
    return " ".join(words).capitalize() + ".<br /><br />" + rng.choice(cue) + "!"


UNSUP_ONLY = "unlabeledonly"  # a word only the unlabeled reviews hold


def make_imdb(
    root: Path, n_train: int = 40, n_test: int = 20, seed: int = 0, n_unsup: int = 30
) -> Path:
    """Write ``root/aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt`` and the unlabeled
    ``train/unsup/<id>_0.txt``, as the official archive has them; returns ``root/aclImdb``."""
    rng = random.Random(seed)
    base = root / "aclImdb"
    unsup = base / "train" / "unsup"
    unsup.mkdir(parents=True, exist_ok=True)
    for i in range(n_unsup):
        text = review(rng, rng.random() < 0.5) + f" {UNSUP_ONLY}"
        (unsup / f"{i}_0.txt").write_text(text, encoding="utf-8")
    for split, count in (("train", n_train), ("test", n_test)):
        for label in ("pos", "neg"):
            folder = base / split / label
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                rating = rng.choice([7, 8, 9, 10] if label == "pos" else [1, 2, 3, 4])
                (folder / f"{i}_{rating}.txt").write_text(
                    review(rng, label == "pos"), encoding="utf-8"
                )
    return base


def make_tarball(directory: Path, target: Path) -> Path:
    with tarfile.open(target, "w:gz") as archive:
        archive.add(directory, arcname="aclImdb")
    return target


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own tokenisation cache and no inherited data path."""
    monkeypatch.setenv("LSTM_SEARCH_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def imdb_dir(tmp_path_factory) -> Path:
    return make_imdb(tmp_path_factory.mktemp("imdb"))


@pytest.fixture(scope="session")
def imdb_tar(tmp_path_factory, imdb_dir) -> Path:
    return make_tarball(imdb_dir, tmp_path_factory.mktemp("tar") / "aclImdb_v1.tar.gz")


@pytest.fixture(scope="session")
def tiny_data(imdb_dir):
    """The tiny dataset tokenised with short sequences (no cache: session-wide fixture)."""
    from search.data import DataSettings, load_imdb

    return load_imdb(imdb_dir, DataSettings(vocab_size=200, maxlen=24), use_cache=False)


@pytest.fixture(scope="session")
def shared_imdb() -> Path:
    """The full shared archive, when ``IMDB_DATA`` points at it (CI sets it)."""
    path = os.environ.get("IMDB_DATA")
    if not path or not Path(path).exists():
        pytest.skip("IMDB_DATA is not set to the full dataset")
    return Path(path)


def tiny_data_args(imdb_dir: Path) -> list[str]:
    """CLI options that point a command at the tiny dataset with short sequences."""
    return ["--data", str(imdb_dir), "--maxlen", "16", "--vocab-size", "100"]


@pytest.fixture
def run(imdb_dir, tmp_path):
    """The CLI on tiny data into a tmp_path SQLite storage; returns (exit code, storage URL)."""
    storage = f"sqlite:///{tmp_path / 'study.db'}"

    def _run(*extra: str, space: str = f"{TINY}:space", study: str = "t") -> int:
        from search.optimize import main

        return main(
            [
                "--study",
                study,
                "--storage",
                storage,
                "--space",
                space,
                "--epochs",
                "2",
                *tiny_data_args(imdb_dir),
                *extra,
            ]
        )

    _run.storage = storage
    return _run


def load(storage: str, name: str = "t"):
    import optuna

    return optuna.load_study(study_name=name, storage=storage)


# The services the storage tests use for real. A laptop without them skips those tests with one
# line; CI (CI set, as .ci/run sets it) must run them, so there a missing service fails them.
SERVICES = {"postgres": ("PostgreSQL", 5432), "redis": ("Redis", 6379)}


def require(service: str) -> None:
    """Skip (fail under CI) the running test when ``service`` does not answer on 127.0.0.1."""
    import socket

    name, port = SERVICES[service]
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError as exc:
        reason = f"{name} is not running on 127.0.0.1:{port} ({exc.strerror or exc})"
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(f"{reason}; CI runs these tests, so it needs {name}", pytrace=False)
        pytest.skip(f"{reason}: these tests run in CI")


def pytest_xdist_auto_num_workers(config):
    """``-n auto``: one worker more than the cores. Part of the suite waits rather than computes
    (Optuna's heartbeat tests sleep, workers' subprocesses start), so a third worker on 2 cores
    took the suite from 10m10s to 8m35s here (pyproject's --maxprocesses caps it at 4)."""
    return (os.cpu_count() or 1) + 1


# The longest tests (minutes on a loaded 2-core machine), started first: a suite whose last test
# is one of these ends with the other workers idle while it runs. Node ids by prefix, longest
# first (pytest --durations=40 says which).
FIRST = (
    "tests/test_storage.py::test_a_lost_database_is_a_clear_exit",
    "tests/test_fresh.py::test_memory_does_not_grow_over_trials",
    "tests/test_storage.py::test_a_terminated_database_connection_loses_no_trial",
    "tests/test_kerastuner.py::test_hyperband_fills_the_total",
    "tests/test_api.py::test_the_notebook_example_runs_and_makes_a_cli_study",
    "tests/test_storage.py::test_a_full_disk_stops",
    "tests/test_pretrain.py::test_a_study_prepares_its_language_model_once",
    "tests/test_study.py::test_resume_adds_trials_to_the_same_study_up_to_the_total",
    "tests/test_optimize.py::test_cli_runs_a_study_and_prints_the_best_trial",
    "tests/test_storage.py::test_a_read_only_study_is_one_line",
    "tests/test_optimize.py::test_the_timeout_bounds_the_run",
    "tests/test_interrupt.py::",
    "tests/test_data.py::test_shared_archive_loads_the_full_benchmark_split",
    "tests/test_adversarial.py::test_vat_trains_on_batches",
    "tests/test_dashboard.py::",
)


def pytest_collection_modifyitems(config, items):
    """xdist's worksteal scheduler gives each of its k workers one contiguous slice of the
    collection to start with (the first len // k items, then half the rest, ...): each slice
    starts with its share of ``FIRST``, dealt round-robin, and keeps the rest in collection order
    (so a module's tests, and its module fixtures, mostly stay on one worker)."""
    ranks = {}
    for item in items:
        hits = [i for i, prefix in enumerate(FIRST) if item.nodeid.startswith(prefix)]
        if hits:
            ranks[item.nodeid] = hits[0]
    heavy = sorted((i for i in items if i.nodeid in ranks), key=lambda i: ranks[i.nodeid])
    rest = [i for i in items if i.nodeid not in ranks]
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    sizes, left = [], len(items)
    for remaining in range(workers, 0, -1):  # the sizes worksteal's first hand-out gives
        sizes.append(left // remaining)
        left -= sizes[-1]
    ordered = []
    for worker, size in enumerate(sizes):
        mine = heavy[worker::workers]
        ordered += mine + rest[: max(size - len(mine), 0)]
        rest = rest[max(size - len(mine), 0) :]
    items[:] = ordered + rest


def pytest_configure(config):
    for service, (name, port) in SERVICES.items():
        config.addinivalue_line("markers", f"{service}: needs {name} on 127.0.0.1:{port}")


def pytest_runtest_setup(item):
    for service in SERVICES:
        if item.get_closest_marker(service):
            require(service)


POSTGRES_URL = "postgresql://root@127.0.0.1:5432/test"
ON_POSTGRES = pytest.param(POSTGRES_URL, marks=pytest.mark.postgres)
ON_REDIS = pytest.param("redis", marks=pytest.mark.redis)


@pytest.fixture
def redis_url():
    """A Redis journal of this test's own (a key prefix), removed afterwards: tests never replay
    one another's logs, and nothing is left behind."""
    import uuid

    import redis

    prefix = f"lstm-search-test-{uuid.uuid4().hex[:12]}"
    yield f"redis://127.0.0.1:6379?prefix={prefix}"
    client = redis.Redis.from_url("redis://127.0.0.1:6379")
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture
def drawn(monkeypatch):
    """Every figure written during the test, by file name: the numbers it shows are checked,
    not the size of its file."""
    from matplotlib.figure import Figure

    figures = {}
    save = Figure.savefig

    def recording(self, fname, *args, **kwargs):
        figures[Path(fname).name] = self
        return save(self, fname, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", recording)
    return figures


def loads_without_the_project(path: Path) -> str:
    """What plain Keras prints for an exported raw-text model's output shape on one review, in
    a fresh interpreter outside the repository (nothing of the project importable there)."""
    code = (
        "import keras, tensorflow as tf, sys; m = keras.models.load_model(sys.argv[1]); "
        "print(m.predict(tf.constant(['a great film']), verbose=0).shape)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=path.parent
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()
