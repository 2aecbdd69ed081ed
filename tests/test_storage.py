"""Storage faults (search/storage.py): outages, full disks, read-only files, passwords."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from search.optimize import main
from search.storage import open_storage
from tests.conftest import ROOT, TINY, load, tiny_data_args

Pruned = optuna.trial.TrialState.PRUNED


@pytest.mark.postgres
def test_a_storage_password_is_never_shown_nor_stored(run, imdb_dir, tmp_path, capsys):
    """PostgreSQL here trusts local connections, so any password connects: the study runs, and
    the password is in no output, no study attr and no report page."""
    import uuid

    from analysis import report

    name = f"secret-{uuid.uuid4().hex[:8]}"
    url = "postgresql://root:hunter2secret@127.0.0.1:5432/test"
    args = ["--study", name, "--storage", url, "--space", f"{TINY}:space", "--epochs", "1"]
    args += ["--artifacts", str(tmp_path / "kept")]  # not studies/ of the checkout
    try:
        assert main([*args, "--trials", "1", *tiny_data_args(imdb_dir)]) == 0
        assert main([*args, "--trials", "1", *tiny_data_args(imdb_dir), "--maxlen", "7"]) == 2
        assert report.main(["--study", name, "--storage", url, "--out", str(tmp_path / "r")]) == 0
        out = capsys.readouterr()
        study = optuna.load_study(study_name=name, storage=url)
        stored = json.dumps([study.user_attrs, [t.user_attrs for t in study.trials]])
        pages = "".join(p.read_text(errors="ignore") for p in (tmp_path / "r").rglob("*.*"))
        assert "root:***@127.0.0.1" in out.out
        for text in (out.out, out.err, stored, pages):
            assert "hunter2secret" not in text
    finally:
        optuna.delete_study(study_name=name, storage=url)
    assert main(["--study", name, "--storage", "postgresql://root:hunter2secret@nohost/x"]) == 2
    err = capsys.readouterr().err
    assert "hunter2secret" not in err and "root:***@nohost" in err


@pytest.mark.postgres
def test_a_terminated_database_connection_loses_no_trial(imdb_dir, tmp_path):
    """pg_terminate_backend on every connection of a worker, mid-trial: pooled connections are
    pinged before use and replaced, and a call caught mid-transaction is retried, so the trial
    and the study finish (the retry is what made this deterministic under load)."""
    import uuid

    import psycopg

    name = f"outage-{uuid.uuid4().hex[:8]}"
    storage = f"postgresql://root@127.0.0.1:5432/test?application_name={name}"
    marker = tmp_path / "trial-started"
    command = [
        sys.executable, "-m", "search.optimize", "--study", name, "--storage", storage,
        "--space", f"{TINY}:announced", "--epochs", "2", "--trials", "2", "--pruner", "none",
        "--no-baseline", "--artifacts", str(tmp_path / "kept"), *tiny_data_args(imdb_dir),
    ]  # fmt: skip
    env = {**os.environ, "LSTM_SEARCH_TEST_MARKER": str(marker)}
    open_storage(storage)
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 300
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        with psycopg.connect("postgresql://root@127.0.0.1:5432/test", autocommit=True) as db:
            killed = db.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (name,),
            ).fetchone()[0]
        assert killed >= 1
        output = proc.communicate(timeout=600)[0]
        assert proc.returncode == 0, output
        study = optuna.load_study(study_name=name, storage=storage)
        assert [t.state.name for t in study.trials] == ["COMPLETE"] * 2, output
    finally:
        proc.kill()
        optuna.delete_study(study_name=name, storage=storage)


class Proxy:
    """A TCP forwarder to PostgreSQL that a test can cut: a database outage for one worker,
    without stopping the server the other tests use."""

    def __init__(self, target=("127.0.0.1", 5432)) -> None:
        import socket
        import threading

        self.target, self.sockets, self.closed = target, [], False
        self.lock = threading.Lock()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:  # a connection accepted as the cut happens is cut too
                if self.closed:
                    client.close()
                    upstream.close()
                    return
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass

    def cut(self) -> None:
        """Every connection, open or being opened, and every later one fails."""
        import socket

        with self.lock:
            self.closed = True
        self.server.close()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


@pytest.mark.postgres
def test_a_lost_database_is_a_clear_exit_and_the_next_run_recovers(imdb_dir, tmp_path):
    """The database goes away mid-trial: the worker exits 3 with one line, no traceback; once
    it is back, the same command fails the stale trial, runs its params again and finishes."""
    import uuid

    name = f"lost-{uuid.uuid4().hex[:8]}"
    proxy = Proxy()
    through_proxy = f"postgresql://root@127.0.0.1:{proxy.port}/test"
    direct = "postgresql://root@127.0.0.1:5432/test"
    marker = tmp_path / "trial-started"
    common = [
        sys.executable, "-m", "search.optimize", "--study", name, "--space", f"{TINY}:announced",
        "--epochs", "2", "--trials", "2", "--pruner", "none", "--heartbeat", "1",
        "--no-baseline", "--artifacts", str(tmp_path / "kept"), *tiny_data_args(imdb_dir),
    ]  # fmt: skip
    # storage calls retry through an outage for 30 s by default; this one lasts
    env = {**os.environ, "LSTM_SEARCH_TEST_MARKER": str(marker), "LSTM_SEARCH_STORAGE_RETRY": "3"}
    open_storage(direct)
    proc = subprocess.Popen(
        [*common, "--storage", through_proxy],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        proxy.cut()
        output = proc.communicate(timeout=300)[0]
        assert proc.returncode == 3, output
        assert "error: lost the storage" in output and "Traceback" not in output, output
        time.sleep(2.5)  # stale: twice the heartbeat
        env["LSTM_SEARCH_TEST_MARKER"] = str(tmp_path / "second-run")
        done = subprocess.run(
            [*common, "--storage", direct], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
        trials = optuna.load_study(study_name=name, storage=direct).trials
        assert [t.state.name for t in trials] == ["COMPLETE", "FAIL", "COMPLETE"]
        assert trials[2].params == trials[1].params, (
            [(t.number, t.params, t.system_attrs, t.datetime_start) for t in trials],
            output,
            done.stdout + done.stderr,
        )
    finally:
        proc.kill()
        optuna.delete_study(study_name=name, storage=direct)


def test_a_full_disk_stops_with_one_line_and_the_same_command_resumes(imdb_dir, tmp_path, capsys):
    """A study on a 1 MB tmpfs, filled up after its first trial: the run stops at once with a
    one-line reason (not 'invalid data in the commit', Optuna's wrapper), keeps what finished,
    and once space is freed the same command reaches the exact total."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)])
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        storage = f"sqlite:///{disk / 's.db'}"
        argv = ["--study", "s", "--storage", storage, "--space", f"{TINY}:space"]
        argv += ["--epochs", "1", "--seed", "0", *tiny_data_args(imdb_dir)]
        assert main([*argv, "--trials", "1"]) == 0
        filler = disk / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=4k"], capture_output=True)
        assert shutil.disk_usage(disk).free < 8192  # every free byte taken
        capsys.readouterr()
        assert main([*argv, "--trials", "3"]) == 3
        err = capsys.readouterr().err
        assert "error: the disk holding the storage" in err and "is full" in err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1
        filler.unlink()
        assert main([*argv, "--trials", "3"]) == 0
        trials = load(storage, "s").trials
        finished = [t for t in trials if t.state.is_finished() and t.state.name != "FAIL"]
        assert len(finished) == 3
    finally:
        subprocess.run(["umount", "--lazy", str(disk)])  # the storage may hold the file open


def test_a_read_only_study_is_one_line_and_rerun_refuses_before_training(run, imdb_dir, capsys):
    """chattr +i: read-only even for root, who ignores file modes."""
    from search import rerun

    assert run("--trials", "3", "--seed", "1") == 0  # a completed trial to rerun
    file = run.storage.removeprefix("sqlite:///")
    if subprocess.run(["chattr", "+i", file], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available on this file system")
    try:
        capsys.readouterr()
        assert run("--trials", "4", "--seed", "1") == 3
        err = capsys.readouterr().err
        assert "is read-only (" in err and "Traceback" not in err and len(err.splitlines()) == 1
        out = Path(file).parent / "models"
        argv = ["--study", "t", "--storage", run.storage, "--data", str(imdb_dir)]
        assert rerun.main([*argv, "--out", str(out)]) == 2
        assert "attempt to write a readonly database" in capsys.readouterr().err
        assert not list(out.glob("*.keras"))  # refused before training and export
    finally:
        subprocess.run(["chattr", "-i", file])
    assert len(load(run.storage).trials) == 3


@pytest.mark.redis
def test_a_redis_prefix_keeps_a_journal_apart_and_its_keys_removable(redis_url):
    """Studies under ``?prefix=`` live in their own journal: another prefix does not see them,
    and deleting the prefix's keys removes them (how to clean a study's records off Redis)."""
    import redis

    from search.storage import redis_prefix

    optuna.create_study(study_name="apart", storage=open_storage(redis_url)).optimize(
        lambda t: t.suggest_float("x", 0, 1), n_trials=2
    )
    _, prefix = redis_prefix(redis_url)
    other = redis_url.replace(prefix, prefix + "-other")
    assert optuna.get_all_study_names(open_storage(other)) == []
    assert optuna.get_all_study_names(open_storage(redis_url)) == ["apart"]
    client = redis.Redis.from_url("redis://127.0.0.1:6379")
    keys = list(client.scan_iter(f"{prefix}:*"))
    assert keys and all(k.decode().startswith(f"{prefix}:") for k in keys)
    client.delete(*keys)
    assert optuna.get_all_study_names(open_storage(redis_url)) == []
