"""Where studies live: Optuna storages from a URL (no Keras here, so analysis can use it)."""

from __future__ import annotations

import functools
import logging
import os
import random
import re
import time
import warnings
from pathlib import Path

import optuna
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.storages._heartbeat import BaseHeartbeat  # what RDBStorage implements, too
from optuna.trial import FrozenTrial, TrialState

log = logging.getLogger(__name__)

HEARTBEAT = 60  # seconds between a running trial's heartbeats; stale after twice that
RETRIES = 2  # a trial whose worker died twice in a row (out of memory, say) is not queued again
HEARTBEAT_ATTR = "heartbeat"


def redact(text: str, url: str | None = None) -> str:
    """``text`` (a URL, or a message about ``url``) with every storage password shown as ***."""
    hidden = re.sub(r"(\w+://[^:/@\s]*:)[^@/\s]+@", r"\1***@", text)
    match = re.search(r"\w+://[^:/@\s]*:([^@/\s]+)@", url or "")
    return hidden.replace(match.group(1), "***") if match else hidden


def default_storage(study: str) -> str:
    return f"sqlite:///studies/{study}.db"


class RetryStale(RetryHeartbeatStaleTrialCallback):
    """Queue a dead worker's trial again with the same params, and say so."""

    def __init__(self, grace: int) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            super().__init__(max_retry=RETRIES)
        self.grace = grace

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        history = trial.system_attrs.get("retry_history", [])
        again = len(history) < RETRIES
        log.warning(
            f"trial {trial.number} FAIL: its worker sent no heartbeat for {self.grace}s "
            f"(killed or lost); "
            + ("its params are queued again" if again else f"not retried ({RETRIES} retries)")
        )
        super().__call__(study, trial)


class JournalHeartbeatStorage(optuna.storages.JournalStorage, BaseHeartbeat):
    """A journal storage (file or Redis) with the heartbeat Optuna gives only RDBStorage: each
    running trial stamps a system attr every ``heartbeat_interval`` seconds (the worker's wall
    clock, so workers on several machines need synchronised clocks); a RUNNING trial whose last
    stamp, or start, is older than ``grace_period`` belongs to a dead worker. As for RDBStorage,
    each is None or positive, and a ``grace_period`` of None is twice the interval."""

    def __init__(
        self, backend, *, heartbeat_interval: int | None, grace_period: int | None, callback
    ) -> None:
        given = {"heartbeat_interval": heartbeat_interval, "grace_period": grace_period}
        for name, value in given.items():  # None or positive, as RDBStorage checks them
            if value is not None and value <= 0:
                raise ValueError(
                    f"The value of `{name}` is {value}, but must be a positive integer."
                )
        super().__init__(backend)
        self.heartbeat_interval, self.grace_period, self.callback = (
            heartbeat_interval,
            grace_period,
            callback,
        )

    def record_heartbeat(self, trial_id: int) -> None:
        try:
            self.set_trial_system_attr(trial_id, HEARTBEAT_ATTR, time.time())
        except optuna.exceptions.UpdateFinishedTrialError:
            pass  # another worker judged it stale meanwhile

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        now = time.time()
        grace = self.grace_period if self.grace_period is not None else 2 * self.heartbeat_interval
        stale = []
        for trial in self.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,)):
            start = trial.datetime_start.timestamp() if trial.datetime_start else now
            if now - trial.system_attrs.get(HEARTBEAT_ATTR, start) > grace:
                stale.append(trial._trial_id)
        return stale

    def get_heartbeat_interval(self) -> int | None:
        return self.heartbeat_interval

    def get_heartbeat_stale_trial_callback(self):
        return self.callback


def sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL (relative paths are relative to the current folder)."""
    return (
        Path(url.removeprefix("sqlite:///")).expanduser() if url.startswith("sqlite:///") else None
    )


def storage_file(url: str) -> Path | None:
    """The file a SQLite or journal-file storage lives in; None for a server."""
    if url.startswith("journal:"):
        return Path(url.removeprefix("journal:")).expanduser()
    return sqlite_file(url)


def open_storage(url: str, heartbeat: int = HEARTBEAT) -> optuna.storages.BaseStorage:
    """An Optuna storage from a URL: any SQLAlchemy URL (SQLite, PostgreSQL, MySQL), or a journal
    for many workers without a database: ``redis://host:port`` or ``journal:path/to/file.log``.
    ``redis://host:port?prefix=NAME`` keeps the journal under keys ``NAME:*`` (Optuna's
    ``JournalRedisBackend`` prefix): a project's studies apart from others', and removable with
    their keys.

    Every kind gets a heartbeat every ``heartbeat`` seconds: a trial whose worker died (kill -9, a
    lost machine) is marked FAIL by any worker after twice that, and its params run again."""
    grace = 2 * heartbeat
    retry = RetryStale(grace)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            if url.startswith("redis://") or url.startswith("journal:"):
                from optuna.storages.journal import JournalFileBackend, JournalRedisBackend

                if url.startswith("redis://"):
                    address, prefix = redis_prefix(url)
                    backend = JournalRedisBackend(address, prefix=prefix)
                else:
                    backend = JournalFileBackend(url.removeprefix("journal:"))
                return JournalHeartbeatStorage(
                    backend, heartbeat_interval=heartbeat, grace_period=grace, callback=retry
                )
            if sqlite_file(url) is not None:
                sqlite_file(url).parent.mkdir(parents=True, exist_ok=True)
            return _rdb_storage(url, heartbeat=heartbeat, grace=grace, retry=retry)
    except Exception as exc:
        raise ValueError(
            f"Cannot open storage {redact(url)!r}: {redact(str(exc), url)}. "
            "Expected an Optuna storage URL such as "
            f"{default_storage('imdb')!r}, 'postgresql://user@127.0.0.1:5432/db', "
            "'redis://127.0.0.1:6379' or 'journal:studies/imdb.log'"
        ) from exc


def redis_prefix(url: str) -> tuple[str, str]:
    """``redis://host:port/db?prefix=NAME`` as the Redis URL without the prefix, and the prefix
    ("" when none is given, Optuna's default)."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    prefix = query.pop("prefix", "")
    return urlunsplit(parts._replace(query=urlencode(query))), prefix


class RDBHeartbeatStorage(optuna.storages.RDBStorage):
    """RDBStorage whose heartbeat thread survives a lost database: a missed beat is harmless
    (the trial goes stale only after the grace period), a traceback from a thread is not."""

    def record_heartbeat(self, trial_id: int) -> None:
        try:
            super().record_heartbeat(trial_id)
        except storage_errors():
            pass


# how long a storage call is retried through an outage before the worker exits with its reason
RETRY_SECONDS = float(os.environ.get("LSTM_SEARCH_STORAGE_RETRY", "30"))
# the storage calls a worker makes; each is safe to repeat after a failed one (a failed commit
# is rolled back; a failed Redis append appended nothing)
RETRIED = (
    "create_new_trial",
    "set_trial_param",
    "set_trial_state_values",
    "set_trial_intermediate_value",
    "set_trial_user_attr",
    "set_trial_system_attr",
    "set_study_user_attr",
    "set_study_system_attr",
    "get_trial",
    "get_all_trials",
    "get_study_id_from_name",
    "get_study_user_attrs",
    "get_study_system_attrs",
    "get_trial_id_from_study_id_trial_number",
    "get_best_trial",
)


def transient(exc: BaseException) -> bool:
    """A storage error that may pass: a dropped connection, a database restarting, a locked
    SQLite file. Not a full disk or a read-only file, which waiting does not fix."""
    import redis.exceptions
    import sqlalchemy.exc

    cause = storage_failure(exc)
    if cause is None or lasting_fault(str(cause)):
        return False
    return isinstance(
        cause,
        (
            sqlalchemy.exc.OperationalError,
            sqlalchemy.exc.InterfaceError,
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
        ),
    )


def _retrying(method):
    """``method``, repeated with backoff (0.25 s doubling to 4 s) while it fails transiently,
    for up to ``RETRY_SECONDS``; then the error goes up and the worker exits with its reason."""

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        delay, deadline = 0.25, time.monotonic() + RETRY_SECONDS
        while True:
            try:
                return method(self, *args, **kwargs)
            except Exception as exc:
                if not transient(exc) or time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(2 * delay, 4.0)

    return call


def _retry_calls(cls: type) -> type:
    for name in RETRIED:
        setattr(cls, name, _retrying(getattr(cls, name)))
    return cls


_retry_calls(RDBHeartbeatStorage)
_retry_calls(JournalHeartbeatStorage)


def _rdb_storage(url: str, *, heartbeat: int, grace: int, retry, attempts: int = 6):
    """RDBStorage, created again when workers starting together on a fresh database race to
    create its tables (``table studies already exists``, a duplicate ``alembic_version`` or
    ``studydirection`` type): the loser finds the winner's schema on the next try."""
    from sqlalchemy.exc import SQLAlchemyError

    for attempt in range(attempts):
        try:
            return RDBHeartbeatStorage(
                url,
                heartbeat_interval=heartbeat,
                grace_period=grace,
                heartbeat_stale_trial_callback=retry,
                engine_kwargs=_engine_kwargs(url),
            )
        except SQLAlchemyError as exc:
            message = str(exc).lower()
            racing = any(w in message for w in ("already exists", "duplicate", "unique", "locked"))
            if not racing or attempt == attempts - 1:
                raise
            time.sleep(random.uniform(0.1, 0.5) * (attempt + 1))


def _engine_kwargs(url: str) -> dict:
    """A server database drops idle connections (restarts, ``pg_terminate_backend``): test each
    pooled connection before use rather than fail a trial's write on a dead one."""
    return {} if url.startswith("sqlite") else {"pool_pre_ping": True}


def fail_stale(study: optuna.Study) -> None:
    """Mark this study's trials of dead workers FAIL and queue their params again (Optuna does it
    before each trial; a run does it at start-up and at its end, too)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def storage_errors() -> tuple[type[BaseException], ...]:
    """What a lost storage raises: a database or Redis that went away mid-run."""
    import redis.exceptions
    import sqlalchemy.exc

    return (
        optuna.exceptions.StorageInternalError,
        sqlalchemy.exc.OperationalError,
        sqlalchemy.exc.InterfaceError,
        redis.exceptions.ConnectionError,
        redis.exceptions.TimeoutError,
    )


def storage_failure(exc: BaseException) -> BaseException | None:
    """The lost-storage error behind ``exc``, if any: the deepest one in its chain of causes,
    which names the real reason ("database or disk is full"), where Optuna's own wrapper says
    "invalid data in the commit" and may itself be replaced by an internal assertion."""
    seen, found = set(), None
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, storage_errors()):
            found = exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return found


def lasting_fault(reason: str) -> str | None:
    """``"full"`` or ``"read-only"`` when a storage error's text says the disk under it is full
    or its file cannot be written: faults waiting does not fix. None otherwise."""
    text = reason.lower()
    if "disk is full" in text or "no space left" in text:
        return "full"
    if "readonly database" in text or "read-only" in text:
        return "read-only"
    return None


def lost_storage(lost: BaseException, url: str) -> str:
    """One line for a storage error met mid-run (``storage_failure``): what happened, that
    finished trials are kept, and what to do. Passwords in ``url`` or the reason are hidden."""
    reason = redact(str(lost).splitlines()[0] if str(lost) else type(lost).__name__, url)
    fault = lasting_fault(reason)
    if fault == "full":
        return (
            f"the disk holding the storage {redact(url)} is full ({reason}). Finished trials "
            "are kept there; free some space and run the same command: the trial in flight "
            "runs again"
        )
    if fault == "read-only":
        return (
            f"the storage {redact(url)} is read-only ({reason}); nothing was changed. Make "
            "it writable, or copy it and pass the copy with --storage"
        )
    return (
        f"lost the storage {redact(url)} ({reason}). Finished trials are kept there; the "
        "trial in flight is marked FAIL and run again by the next run (heartbeat); run the "
        "same command once the storage is back"
    )


def load_study(name: str, storage: str | None = None) -> optuna.Study:
    """An existing study, or a ValueError that lists the studies the storage does have."""
    url = storage or default_storage(name)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        raise ValueError(f"No study {name!r}: {url!r} does not exist; pass --storage")
    opened = open_storage(url)
    names = [s.study_name for s in optuna.get_all_study_summaries(opened)]
    if name not in names:
        raise ValueError(f"No study {name!r} in {redact(url)!r}; it has {sorted(names)}")
    return optuna.load_study(study_name=name, storage=opened)
