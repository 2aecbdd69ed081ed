"""Every command's ``--help`` prints its usage and exits 0 (a ``%`` in a help text once made
argparse raise instead)."""

from __future__ import annotations

import importlib
import sys

import pytest

COMMANDS = [
    "search.optimize",
    "search.rerun",
    "search.train",
    "search.predict",
    "search.baseline",
    "search.ensemble",
    "search.data",
    "search.vectors",
    "search.pretrain",
    "analysis.summary",
    "analysis.report",
    "analysis.compare",
    "analysis.costs",
    "analysis.curves",
    "analysis.gaps",
    "analysis.history",
    "analysis.importance",
    "analysis.trials",
    "bench.engines",
    "bench.adversarial",
    "bench.pretrain",
    "bench.study",
    "bench.throughput",
    "bench.workers",
    "bench.memory",
    "bench.fit_overhead",
]


@pytest.mark.parametrize("name", COMMANDS)
def test_help_prints_usage_and_exits_0(name, capsys, monkeypatch):
    module = importlib.import_module(name)
    monkeypatch.setattr(sys, "argv", [name, "--help"])  # as `python -m NAME --help` gives it
    with pytest.raises(SystemExit) as stop:
        module.main()
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: ") and "--help" in out
