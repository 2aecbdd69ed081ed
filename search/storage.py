"""Where studies live: Optuna storages from a URL (no Keras here, so analysis can use it)."""

from __future__ import annotations

import warnings
from pathlib import Path

import optuna


def default_storage(study: str) -> str:
    return f"sqlite:///studies/{study}.db"


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """An Optuna storage from a URL: any SQLAlchemy URL (SQLite, PostgreSQL, MySQL), or a journal
    for many workers without a database: ``redis://host:port`` or ``journal:path/to/file.log``."""
    try:
        if url.startswith("redis://"):
            from optuna.storages.journal import JournalRedisBackend

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.JournalStorage(JournalRedisBackend(url))
        if url.startswith("journal:"):
            from optuna.storages.journal import JournalFileBackend

            return optuna.storages.JournalStorage(JournalFileBackend(url.removeprefix("journal:")))
        if url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///")).expanduser()
            path.parent.mkdir(parents=True, exist_ok=True)
        # the heartbeat lets any worker mark a trial whose process died as FAIL
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(url, heartbeat_interval=60, grace_period=180)
    except Exception as exc:
        raise ValueError(
            f"Cannot open storage {url!r}: {exc}. Expected an Optuna storage URL such as "
            f"{default_storage('imdb')!r}, 'postgresql://user@127.0.0.1:5432/db', "
            "'redis://127.0.0.1:6379' or 'journal:studies/imdb.log'"
        ) from exc


def load_study(name: str, storage: str | None = None) -> optuna.Study:
    """An existing study, or a ValueError that lists the studies the storage does have."""
    url = storage or default_storage(name)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        raise ValueError(f"No study {name!r}: {url!r} does not exist; pass --storage")
    opened = open_storage(url)
    names = [s.study_name for s in optuna.get_all_study_summaries(opened)]
    if name not in names:
        raise ValueError(f"No study {name!r} in {url!r}; it has {sorted(names)}")
    return optuna.load_study(study_name=name, storage=opened)
