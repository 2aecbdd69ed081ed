"""The project's own checks beside Optuna's suite: JournalHeartbeatStorage takes its heartbeat
arguments as RDBStorage does (not vendored)."""

from __future__ import annotations

import time

import pytest
from optuna.storages.journal import JournalFileBackend
from optuna.study import StudyDirection

from search.storage import HEARTBEAT_ATTR, JournalHeartbeatStorage


def journal(tmp_path, **arguments) -> JournalHeartbeatStorage:
    arguments = {"heartbeat_interval": None, "grace_period": None, "callback": None} | arguments
    return JournalHeartbeatStorage(JournalFileBackend(str(tmp_path / "j.log")), **arguments)


@pytest.mark.parametrize("name", ["heartbeat_interval", "grace_period"])
@pytest.mark.parametrize("value", [0, -1])
def test_a_heartbeat_argument_must_be_positive(tmp_path, name, value):
    with pytest.raises(ValueError, match=rf"`{name}` is {value}, but must be a positive integer"):
        journal(tmp_path, **{name: value})


def test_no_grace_period_is_twice_the_interval(tmp_path):
    storage = journal(tmp_path, heartbeat_interval=1)
    study_id = storage.create_new_study([StudyDirection.MINIMIZE])
    recent, old = storage.create_new_trial(study_id), storage.create_new_trial(study_id)
    storage.set_trial_system_attr(recent, HEARTBEAT_ATTR, time.time() - 1)
    storage.set_trial_system_attr(old, HEARTBEAT_ATTR, time.time() - 3)
    assert storage._get_stale_trial_ids(study_id) == [old]
