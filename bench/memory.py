"""Memory over a long study: the RSS of ``python -m search.optimize`` after each of N trials.

Runs the product's command as a user would, once per ``--trials-per-process`` setting given (0:
every trial in one process, as before it existed; the default: a fresh process every K trials),
each on its own new study holding the same N queued trials: points of the default space drawn by
a seeded random sampler (so every trial builds another architecture, and every setting builds
the same ones in the same order), one epoch a trial, no pruning, on a subset of the real reviews
written in the official layout (the size of the data does not change what a trial leaves
behind). A thread reads the process's RSS from /proc every 0.1 s; the same PID holds across the
fresh processes (exec), so one curve covers the run. For each trial it prints the RSS as the
trial's line is printed and the peak since the previous one, and for each setting the
least-squares growth per trial after ``--warmup`` trials, and the run's wall time (which
includes the fresh processes' start-up). Goal: flat within noise.

    python bench/memory.py --data ../shared/data/aclImdb_v1_labeled.tar.gz \\
        --unsup ../shared/data/aclImdb_v1_unsup.tar.gz --trials 50
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import optuna

from search.data import members, resolve_source
from search.settings import TRIALS_PER_PROCESS
from spaces import OptunaSuggester, load_space

CLASSES = ("train/pos", "train/neg", "test/pos", "test/neg")
TRIAL_LINE = re.compile(r"^trial\s+(\d+) (COMPLETE|PRUNED|FAIL)")


def write_subset(source: Path, target: Path, train: int, test: int) -> Path:
    """The first ``train`` (``test``) reviews of each class, as ``target/aclImdb/...``."""
    want = {c: (train if c.startswith("train") else test) for c in CLASSES}
    for name, raw in members(source):
        folder = next((c for c in CLASSES if f"/{c}/" in name), None)
        if folder is None or want[folder] == 0:
            continue
        out = target / "aclImdb" / folder / name.rsplit("/", 1)[1]
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(raw)
        want[folder] -= 1
        if not any(want.values()):
            break
    return target / "aclImdb"


def queued(storage: str, name: str, trials: int, seed: int = 0) -> None:
    """A new study holding ``trials`` queued points of the default space, drawn at random."""
    space = load_space("default")
    draw = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    study = optuna.create_study(study_name=name, storage=storage, direction="minimize")
    for _ in range(trials):
        trial = draw.ask()
        space(OptunaSuggester(trial))
        study.enqueue_trial(trial.params)
        draw.tell(trial, 0.0)


def rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as handle:
            line = next(line for line in handle if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return None
    return int(line.split()[1]) / 1024


def run(command: list[str]) -> tuple[list[tuple[int, str, float, float]], float, int]:
    """Run ``command``; per trial line (number, state, RSS then, peak since the last line)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            value = rss_mb(proc.pid)
            if value is not None:
                peak[0] = max(peak[0], value)

    threading.Thread(target=sample, daemon=True).start()
    rows = []
    tail: list[str] = []
    for line in proc.stdout:
        tail = [*tail[-20:], line]
        match = TRIAL_LINE.match(line)
        if match:
            now = rss_mb(proc.pid) or 0.0
            rows.append((int(match[1]), match[2], now, max(peak[0], now)))
            peak[0] = 0.0
            print(
                f"  trial {rows[-1][0]:>3} {rows[-1][1]:<8} rss {now:7.1f} MB, peak "
                f"{rows[-1][3]:7.1f} MB",
                flush=True,
            )
        elif "fresh one" in line:
            print("  " + line.strip(), flush=True)
    done.set()
    code = proc.wait()
    if code:
        print("".join(tail), file=sys.stderr)
    return rows, time.perf_counter() - start, code


def growth(values: list[float], label: str) -> None:
    """The least-squares slope of ``values`` per trial with its standard error, and the scatter
    around the line: a slope within two standard errors of 0 is flat within noise."""
    if len(values) < 3:
        print(f"  growth {label}: too few trials")
        return
    x = np.arange(len(values))
    fit = np.polyfit(x, values, 1)
    noise = np.std(np.asarray(values) - np.polyval(fit, x), ddof=2)
    error = noise / np.sqrt(np.sum((x - x.mean()) ** 2))
    print(
        f"  growth {label}: {fit[0]:+.2f} +/- {error:.2f} MB/trial, {fit[0] * len(values):+.0f} "
        f"MB in all (residual sd {noise:.1f} MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--unsup", default=None, help="unlabeled reviews, for domain vectors")
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument(
        "--train", type=int, default=625, help="training reviews (80%% train, 20%% val)"
    )
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument(
        "--per-process",
        type=int,
        nargs="+",
        default=[0, TRIALS_PER_PROCESS],
        help="--trials-per-process settings, run one after the other "
        f"(default 0 {TRIALS_PER_PROCESS})",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = write_subset(resolve_source(args.data), Path(tmp), args.train // 2, 50)
        results = {}
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        for k in args.per_process:
            storage = f"sqlite:///{tmp}/memory-{k}.db"
            queued(storage, f"memory-{k}", args.trials)
            command = [sys.executable, "-m", "search.optimize", "--study", f"memory-{k}"]
            command += ["--storage", storage, "--data", str(data)]
            command += ["--trials", str(args.trials), "--trials-per-process", str(k)]
            command += ["--epochs", "1", "--sampler", "random", "--seed", "0", "--pruner", "none"]
            command += ["--no-enqueue-presets", "--no-baseline", "--quiet"]
            command += ["--unsup", args.unsup] if args.unsup else []
            print(f"--trials-per-process {k}:", flush=True)
            results[k] = run(command)
        for k, (rows, wall, code) in results.items():
            ends, peaks = [r[2] for r in rows], [r[3] for r in rows]
            print(f"\n--trials-per-process {k}: {len(rows)} trials in {wall:.0f}s (exit {code})")
            if not rows:
                continue
            print(
                f"  RSS after trial 0 {ends[0]:.0f} MB, after trial {len(ends) - 1} "
                f"{ends[-1]:.0f} MB; highest peak {max(peaks):.0f} MB"
            )
            means = [np.mean(ends[i : i + 10]) for i in range(0, len(ends), 10)]
            print("  mean RSS per 10 trials: " + ", ".join(f"{m:.0f}" for m in means) + " MB")
            growth(ends[args.warmup :], f"at each trial's end after trial {args.warmup - 1}")
            growth(peaks[args.warmup :], f"of each trial's peak after trial {args.warmup - 1}")


if __name__ == "__main__":
    main()
