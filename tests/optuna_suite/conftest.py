"""The harness around Optuna's vendored storage tests (see README.md in this folder): the
expected failures, each with its reason, and the clean-up of this process's PostgreSQL template."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.register_assert_rewrite("optuna.testing.pytest_storages")

HERE = Path(__file__).parent

# (test file, test name, storage modes): why the test fails against search.storage's classes.
# strict: a test that starts passing fails the run, so this list and README.md stay true.
EXPECTED_FAILURES = {
    ("test_heartbeat.py", "test_heartbeat_experimental_warnings", ("journal", "journal_redis")): (
        "JournalHeartbeatStorage emits no ExperimentalWarning for `heartbeat_interval`: that "
        "warning is Optuna's notice that RDBStorage's argument is experimental; the journal "
        "heartbeat is the project's own, and open_storage silences ExperimentalWarning anyway"
    ),
}


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if item.path.parent != HERE:
            continue
        mode = item.callspec.params.get("storage_mode") if hasattr(item, "callspec") else None
        service = {"postgresql": "postgres", "journal_redis": "redis"}.get(mode)
        if service:  # tests/conftest.py skips it off CI when the service is not running
            item.add_marker(getattr(pytest.mark, service))
        for (file, name, modes), reason in EXPECTED_FAILURES.items():
            if item.path.name == file and item.originalname == name and mode in modes:
                item.add_marker(pytest.mark.xfail(reason=reason, strict=True))


@pytest.fixture(scope="session", autouse=True)
def _drop_postgres_template():
    """Each xdist worker clones its PostgreSQL databases from its own template: drop it."""
    yield
    from .supplier import drop_template

    drop_template()
