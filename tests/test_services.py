"""The storage tests' services: off CI a missing PostgreSQL or Redis skips those tests with one
line; under CI it fails them (tests/conftest.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from tests.conftest import ROOT

INNER = """
import pytest
from tests.conftest import SERVICES, require

SERVICES["nothing"] = ("Nothing", {port})

def test_needs_a_service_that_is_not_running():
    require("nothing")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed when this returns: nothing listens there


def _pytest(folder, ci: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = str(ROOT)
    if ci is not None:
        env["CI"] = ci
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n0", "-rsf", "-q"]
    return subprocess.run(
        [*command, "-c", os.devnull, str(folder)], capture_output=True, text=True, env=env
    )


def test_a_missing_service_skips_off_ci_and_fails_in_ci(tmp_path):
    port = _free_port()
    (tmp_path / "test_inner.py").write_text(INNER.format(port=port))
    laptop = _pytest(tmp_path, ci=None)
    assert laptop.returncode == 0 and "1 skipped" in laptop.stdout, laptop.stdout
    assert f"Nothing is not running on 127.0.0.1:{port}" in laptop.stdout
    assert "these tests run in CI" in laptop.stdout
    ci = _pytest(tmp_path, ci="true")
    assert ci.returncode == 1 and "1 failed" in ci.stdout, ci.stdout
    assert "CI runs these tests, so it needs Nothing" in ci.stdout
    assert "Traceback" not in ci.stdout


def test_ci_runs_the_storage_tests_with_ci_set():
    assert 'export CI="${CI:-true}"' in (ROOT / ".ci" / "run").read_text()
