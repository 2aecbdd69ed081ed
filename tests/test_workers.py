"""Many workers (search/workers.py and the storages they share): exact totals, dead workers."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import optuna
import pytest

from search.optimize import main
from search.record import Record
from search.storage import open_storage
from tests.conftest import ON_POSTGRES, ROOT, TINY, tiny_data_args

Pruned = optuna.trial.TrialState.PRUNED


@pytest.mark.parametrize("storage", [ON_POSTGRES])
def test_two_workers_share_one_study(imdb_dir, storage, tmp_path, redis_url):
    """Two processes on one PostgreSQL study stop at exactly the shared total (a journal file:
    test_workers_option_runs_processes_that_share_the_total; Redis, the journal's class on
    Redis: Optuna's own storage tests in tests/optuna_suite run it with concurrent trials)."""
    import uuid

    storage = redis_url if storage == "redis" else storage

    name = f"workers-{uuid.uuid4().hex[:8]}"
    open_storage(storage)  # on a fresh database, create the schema once, not racing
    command = [
        sys.executable,
        "-m",
        "search.optimize",
        "--study",
        name,
        "--storage",
        storage,
        "--space",
        f"{TINY}:space",
        "--epochs",
        "1",
        "--trials",
        "4",
        "--artifacts",
        str(tmp_path / "kept"),
        *tiny_data_args(imdb_dir),
    ]
    workers = [
        subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(2)
    ]
    outputs = [w.communicate(timeout=600)[0] for w in workers]
    try:
        assert [w.returncode for w in workers] == [0, 0], outputs
        study = optuna.load_study(study_name=name, storage=open_storage(storage))
        finished = [t for t in study.trials if t.state.is_finished()]
        assert len(finished) == 4  # exactly: a worker never starts a trial past the total
        assert all(Record.of(t).curves for t in finished)
        assert {"0", "1"} == {
            line.split()[1]
            for out in outputs
            for line in out.splitlines()
            if line.startswith("trial ")
        } & {"0", "1"}
    finally:
        optuna.delete_study(study_name=name, storage=open_storage(storage))


def test_workers_option_runs_processes_that_share_the_total(imdb_dir, tmp_path):
    """Each worker also goes on in a fresh process after 2 trials (the parent reads it through
    the same pipe), and the seeded workers draw apart."""
    storage = f"journal:{tmp_path / 'w.log'}"
    command = [
        sys.executable, "-m", "search.optimize", "--study", "w", "--storage", storage,
        "--space", f"{TINY}:continuous", "--epochs", "1", "--trials", "6", "--workers", "2",
        "--trials-per-process", "2", "--seed", "3", *tiny_data_args(imdb_dir),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "started 2 workers, 1 CPU thread(s) each" in done.stdout
    study = optuna.load_study(study_name="w", storage=open_storage(storage))
    finished = [t for t in study.trials if t.state.is_finished()]
    assert len(finished) == 6 and len(study.trials) == 6
    shown = [
        s
        for s in done.stdout.splitlines()
        if s.startswith("[worker ") and " trial " in s and " epoch " not in s
    ]
    assert len(shown) == 6 and all("finished]" in line for line in shown), done.stdout
    assert {t.user_attrs["worker"] for t in study.trials} <= {1, 2}
    assert "/6 finished]" in shown[-1]
    assert len({t.params["dropout"] for t in study.trials}) == 6


def test_workers_on_sqlite_warn_and_suggest_a_journal(imdb_dir, tmp_path, capsys):
    args = ["--study", "s", "--storage", f"sqlite:///{tmp_path / 's.db'}", "--trials", "1"]
    args += ["--space", f"{TINY}:space", "--epochs", "1", "--workers", "2", "--no-baseline"]
    assert main([*args, *tiny_data_args(imdb_dir)]) == 0
    assert "journal:studies/s.log" in capsys.readouterr().err


@pytest.mark.parametrize("storage", [ON_POSTGRES, "journal"])
def test_a_killed_worker_trial_is_failed_and_its_params_run_again(
    imdb_dir, tmp_path, storage, redis_url
):
    """kill -9 mid-trial leaves the trial RUNNING; with a 1 s heartbeat the next run finds it
    stale at start-up, marks it FAIL, runs its params again and reaches the exact total. Redis
    shares the journal's heartbeat class: Optuna's own heartbeat tests run it on Redis
    (tests/optuna_suite/test_heartbeat.py, journal_redis)."""
    import uuid

    if storage == "journal":
        storage = f"journal:{tmp_path / 'j.log'}"
    storage = redis_url if storage == "redis" else storage
    name = f"killed-{uuid.uuid4().hex[:8]}"
    marker = tmp_path / "trial-started"
    command = [
        sys.executable, "-m", "search.optimize", "--study", name, "--storage", storage,
        "--space", f"{TINY}:announced", "--epochs", "6", "--trials", "2", "--pruner", "none",
        "--heartbeat", "1", "--no-baseline", "--artifacts", str(tmp_path / "kept"),
        *tiny_data_args(imdb_dir),
    ]  # fmt: skip
    env = {**os.environ, "LSTM_SEARCH_TEST_MARKER": str(marker)}
    open_storage(storage)  # the schema, once
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.kill()
        proc.communicate(timeout=60)
        opened = open_storage(storage)
        trials = optuna.load_study(study_name=name, storage=opened).trials
        assert [t.state.name for t in trials] == ["COMPLETE", "RUNNING"]
        time.sleep(2.5)  # the grace period: twice the heartbeat
        env["LSTM_SEARCH_TEST_MARKER"] = str(tmp_path / "second-run")
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "trial 1 FAIL: its worker sent no heartbeat for 2s" in done.stderr
        trials = optuna.load_study(study_name=name, storage=opened).trials
        assert [t.state.name for t in trials] == ["COMPLETE", "FAIL", "COMPLETE"]
        assert trials[2].params == trials[1].params
        assert trials[2].system_attrs["failed_trial"] == 1
    finally:
        optuna.delete_study(study_name=name, storage=open_storage(storage))


def _open_and_create(url: str, name: str, barrier) -> None:
    barrier.wait()
    optuna.create_study(study_name=name, storage=open_storage(url), load_if_exists=True)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_workers_starting_together_on_a_fresh_database_all_start(tmp_path, backend):
    """The schema-creation race: four processes open one fresh database at the same moment."""
    import multiprocessing
    import uuid

    import psycopg

    database = f"race_{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        with psycopg.connect("postgresql://root@127.0.0.1:5432/test", autocommit=True) as db:
            db.execute(f"CREATE DATABASE {database}")
        url = f"postgresql://root@127.0.0.1:5432/{database}"
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    workers = [
        context.Process(target=_open_and_create, args=(url, "race", barrier)) for _ in range(4)
    ]
    try:
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=120)
        assert [w.exitcode for w in workers] == [0, 0, 0, 0]
        assert [s.study_name for s in optuna.get_all_study_summaries(url)] == ["race"]
    finally:
        if backend == "postgresql":
            import sqlalchemy

            sqlalchemy.create_engine(url).dispose()
            with psycopg.connect("postgresql://root@127.0.0.1:5432/test", autocommit=True) as db:
                db.execute(f"DROP DATABASE {database} WITH (FORCE)")


@pytest.mark.postgres
def test_a_dead_workers_retry_runs_before_the_next_planned_preset():
    """On PostgreSQL with the seed presets planned: a worker killed during a preset leaves it
    RUNNING; the next worker to start a trial marks it FAIL, and the trial it runs is that
    preset again, not the next one of the plan (the retry had waited behind five presets)."""
    import uuid

    from search.storage import fail_stale
    from search.study import enqueue_presets, queue_next_preset

    name = f"retry-first-{uuid.uuid4().hex[:8]}"
    url = "postgresql://root@127.0.0.1:5432/test"
    study = optuna.create_study(study_name=name, storage=open_storage(url, heartbeat=1))
    try:
        plan = enqueue_presets(study, "seed")
        assert len(plan) >= 5
        assert queue_next_preset(study) == plan[0]
        dead = study.ask()  # the first preset starts in a worker that is then killed
        study._storage.record_heartbeat(dead._trial_id)  # its one beat before the kill
        assert Record.of(study.trials[dead.number]).preset == plan[0]
        time.sleep(2.5)  # past the grace period (twice the 1 s heartbeat)

        fresh = optuna.load_study(study_name=name, storage=open_storage(url, heartbeat=1))
        fail_stale(fresh)  # what the loop does before each trial
        assert queue_next_preset(fresh) is None  # the retry is WAITING: nothing else queued
        retry = fresh.ask()
        trials = fresh.trials
        assert trials[dead.number].state.name == "FAIL"
        assert retry.params == dead.params and Record.of(trials[retry.number]).preset == plan[0]
        assert [t.state.name for t in trials] == ["FAIL", "RUNNING"]  # no other preset queued
    finally:
        optuna.delete_study(study_name=name, storage=open_storage(url))
