"""Optuna's own storage suite against search.storage's classes: the StorageSupplier the vendored
tests import (Optuna's, in optuna/testing/storages.py, builds Optuna's classes on fakeredis).

Four modes, each one of the project's storage classes on a real store:

- ``sqlite``: RDBHeartbeatStorage on a fresh SQLite file
- ``postgresql``: RDBHeartbeatStorage on a fresh PostgreSQL database, dropped after the test
- ``journal``: JournalHeartbeatStorage on a fresh journal file
- ``journal_redis``: JournalHeartbeatStorage on Redis, under a key prefix unique to the test
  (its keys are deleted after the test)

Both databases are copies of a per-process template that has Optuna's schema already (writing
the schema takes longer than most tests).

Without arguments a storage is opened as the project opens it (``open_storage``: a heartbeat
every HEARTBEAT seconds, the RetryStale callback, pool_pre_ping on PostgreSQL). With Optuna's
heartbeat arguments (``heartbeat_interval``, ``grace_period``, ``heartbeat_stale_trial_callback``)
the class is built with them, as Optuna's supplier builds RDBStorage; JournalHeartbeatStorage
calls the callback argument ``callback``.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
import warnings
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from search.storage import (
    JournalHeartbeatStorage,
    RDBHeartbeatStorage,
    _engine_kwargs,
    open_storage,
)

POSTGRES = "postgresql://root@127.0.0.1:5432"  # as tests/test_optimize.py
POSTGRES_ADMIN = f"{POSTGRES}/test"  # CREATE/DROP DATABASE run from here
REDIS = "redis://127.0.0.1:6379"
NAME = "lstm_optuna_suite"  # databases, key prefixes and temporary folders start with it

STORAGE_MODES = ["sqlite", "postgresql", "journal", "journal_redis"]
STORAGE_MODES_HEARTBEAT = STORAGE_MODES  # the journal heartbeat is what the project adds
HEARTBEAT_ARGS = ("heartbeat_interval", "grace_period", "heartbeat_stale_trial_callback")

_template: str | None = None  # this process's PostgreSQL template database, made on first use
_sqlite_template: Path | None = None  # and its SQLite one


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as db:
        db.execute(sql)


def _postgres_template() -> str:
    """A database with Optuna's schema, cloned for each test (far quicker than a fresh schema)."""
    global _template
    if _template is None:
        name = f"{NAME}_tmpl_{uuid.uuid4().hex[:12]}"
        _admin(f"CREATE DATABASE {name}")
        _template = name  # dropped by drop_template even if the schema fails below
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            RDBHeartbeatStorage(f"{POSTGRES}/{name}").engine.dispose()
    return _template


def _sqlite_copy(path: Path) -> None:
    global _sqlite_template
    if _sqlite_template is None:
        folder = Path(tempfile.mkdtemp(prefix=f"{NAME}_tmpl_"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            RDBHeartbeatStorage(f"sqlite:///{folder / 'template.db'}").engine.dispose()
        _sqlite_template = folder / "template.db"
    shutil.copyfile(_sqlite_template, path)


def drop_template() -> None:
    """Drop this process's template databases (at the end of the session)."""
    global _template, _sqlite_template
    if _template is not None:
        _admin(f"DROP DATABASE IF EXISTS {_template} WITH (FORCE)")
        _template = None
    if _sqlite_template is not None:
        shutil.rmtree(_sqlite_template.parent, ignore_errors=True)
        _sqlite_template = None


class StorageSupplier(AbstractContextManager):
    def __init__(self, storage_specifier: str, **kwargs: Any) -> None:
        if storage_specifier not in STORAGE_MODES:
            raise ValueError(f"unknown storage mode {storage_specifier!r}")
        unknown = set(kwargs) - set(HEARTBEAT_ARGS)
        if unknown:
            raise TypeError(f"unsupported StorageSupplier arguments {sorted(unknown)}")
        self.storage_specifier = storage_specifier
        self.extra_args = kwargs
        self.storage: Any = None
        self._folder: Path | None = None
        self._database: str | None = None
        self._redis: Any = None
        self._prefix: str | None = None

    def __enter__(self) -> RDBHeartbeatStorage | JournalHeartbeatStorage:
        try:
            self.storage = self._open()
        except BaseException:
            self._clean()
            raise
        return self.storage

    def __exit__(self, *exc: object) -> None:
        self._clean()

    def _open(self) -> RDBHeartbeatStorage | JournalHeartbeatStorage:
        mode = self.storage_specifier
        if mode in ("sqlite", "journal"):
            self._folder = Path(tempfile.mkdtemp(prefix=f"{NAME}_"))
        if mode == "sqlite":
            _sqlite_copy(self._folder / "optuna.db")
            return self._rdb(f"sqlite:///{self._folder / 'optuna.db'}")
        if mode == "postgresql":
            template = _postgres_template()
            self._database = f"{NAME}_{uuid.uuid4().hex[:12]}"
            _admin(f"CREATE DATABASE {self._database} TEMPLATE {template}")
            return self._rdb(f"{POSTGRES}/{self._database}")
        if mode == "journal":
            from optuna.storages.journal import JournalFileBackend

            path = self._folder / "optuna.log"
            if not self.extra_args:
                return open_storage(f"journal:{path}")
            return self._journal(JournalFileBackend(str(path)))
        # journal_redis: open_storage takes no key prefix, so the class is built as it builds it
        from optuna.storages.journal import JournalRedisBackend

        from search.storage import HEARTBEAT, RetryStale

        self._prefix = f"{NAME}:{uuid.uuid4().hex}"
        backend = JournalRedisBackend(REDIS, prefix=self._prefix)
        self._redis = backend._redis
        if not self.extra_args:
            grace = 2 * HEARTBEAT
            return JournalHeartbeatStorage(
                backend,
                heartbeat_interval=HEARTBEAT,
                grace_period=grace,
                callback=RetryStale(grace),
            )
        return self._journal(backend)

    def _rdb(self, url: str) -> RDBHeartbeatStorage:
        if not self.extra_args:
            return open_storage(url)
        return RDBHeartbeatStorage(url, engine_kwargs=_engine_kwargs(url), **self.extra_args)

    def _journal(self, backend: Any) -> JournalHeartbeatStorage:
        return JournalHeartbeatStorage(
            backend,
            heartbeat_interval=self.extra_args.get("heartbeat_interval"),
            grace_period=self.extra_args.get("grace_period"),
            callback=self.extra_args.get("heartbeat_stale_trial_callback"),
        )

    def _clean(self) -> None:
        engine = getattr(self.storage, "engine", None)
        if engine is not None:
            engine.dispose()
        if self._database is not None:
            _admin(f"DROP DATABASE IF EXISTS {self._database} WITH (FORCE)")
            self._database = None
        if self._redis is not None:
            keys = list(self._redis.scan_iter(match=f"{self._prefix}:*", count=1000))
            if keys:
                self._redis.delete(*keys)
            self._redis.close()
            self._redis = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
