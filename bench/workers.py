"""Trials per hour for ``--workers 1`` against ``--workers 2`` on this machine.

Every trial is the same fixed model (``space`` below: LSTM(64) at maxlen 200, one epoch), so the
two runs differ only in how the cores are shared: one process with all its threads, or two
processes with half each. Runs ``python -m search.optimize`` as a user would, on a fresh journal
storage each, one after the other, on a quiet machine.

    python bench/workers.py --data ../shared/data/aclImdb_v1_labeled.tar.gz --trials 6
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def space(s):
    """The fixed trial: nothing to choose (a constant categorical, so Optuna records a param)."""
    return {
        "lstm_units": [s.categorical("units", [64])],
        "maxlen": 200,
        "vocab_size": 20000,
        "optimizer": "rmsprop",
        "learning_rate": 1e-3,
    }


def run(workers: int, args: argparse.Namespace, folder: Path) -> float:
    command = [
        sys.executable, "-m", "search.optimize", "--study", f"w{workers}",
        "--storage", f"journal:{folder / f'w{workers}.log'}", "--space", f"{__file__}:space",
        "--trials", str(args.trials), "--epochs", str(args.epochs), "--workers", str(workers),
        "--pruner", "none", "--no-baseline", "--no-enqueue-presets",
        "--maxlen", "200", "--vocab-size", "20000",
    ]  # fmt: skip
    if args.data:
        command += ["--data", args.data]
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        seconds = {w: run(w, args, Path(folder)) for w in (1, 2)}
    for w, s in seconds.items():
        print(
            f"--workers {w}: {args.trials} trials in {s:.0f}s = {3600 * args.trials / s:.1f} "
            "trials/hour (data loading included)"
        )
    print(f"ratio workers 2 / workers 1: {seconds[1] / seconds[2]:.2f}")


if __name__ == "__main__":
    main()
