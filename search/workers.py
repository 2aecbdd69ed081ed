"""``--workers N``: N processes on one study and one machine, each with its share of the cores.

Processes, not threads: Keras' Python loop holds the GIL, and a worker that crashes or runs out
of memory must not take the others with it. The parent prepares the study once (schema, presets,
baseline: nothing for the workers to race on), starts the workers (``python -m search.optimize``
with the settings as JSON in the environment, not a command line), shows the trial events they
send (JSON lines on their stdout, ``search.display``) as one display, and passes SIGINT/SIGTERM
on to them.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from search import interrupt

if TYPE_CHECKING:
    from search.settings import RunSettings

THREADS_ENV = "LSTM_SEARCH_THREADS"
WORKER_ENV = "LSTM_SEARCH_WORKER"
SETTINGS_ENV = "LSTM_SEARCH_SETTINGS"
SHOWN = ("trial", "epoch", "waiting")  # the events the display shows, besides warnings
TEXT_SHOWN = ("error", "interrupted")  # a worker's own lines (not events) the display shows


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def limit_threads() -> None:
    """In a worker: size TensorFlow's thread pools to its share of the cores. Must run before
    TensorFlow runs anything."""
    threads = os.environ.get(THREADS_ENV)
    if threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(int(threads))
        tf.config.threading.set_inter_op_parallelism_threads(int(threads))


def take_settings() -> RunSettings | None:
    """In a worker: the settings its parent gave it, removed from the environment."""
    from search.settings import RunSettings

    given = os.environ.pop(SETTINGS_ENV, None)
    return None if given is None else RunSettings.from_json(given)


def worker_id() -> int | None:
    value = os.environ.get(WORKER_ENV)
    return int(value) if value else None


def run(settings: RunSettings, n: int, progress: Callable[[], str]) -> int:
    """Run ``settings`` in ``n`` worker processes until all exit; show their trial events
    prefixed by worker, each trial's followed by ``progress()``. The exit status is a signal's
    (130/143) if one stopped them, else the first failing worker's, else 0."""
    threads = max(1, cores() // n)
    command = [sys.executable, "-m", "search.optimize"]  # its settings come in SETTINGS_ENV
    lines: queue.Queue[tuple[int, str | None]] = queue.Queue()
    procs = []
    for i in range(1, n + 1):
        env = {**os.environ, THREADS_ENV: str(threads), WORKER_ENV: str(i)}
        env |= {SETTINGS_ENV: settings.to_json(), "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(  # own session: a terminal's Ctrl-C reaches them once, via us
            command,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        procs.append(proc)
        threading.Thread(target=_read, args=(i, proc, lines), daemon=True).start()
    print(f"started {n} workers, {threads} CPU thread(s) each")
    tails = {i: deque(maxlen=15) for i in range(1, n + 1)}
    open_pipes, forwarded = n, False
    while open_pipes:
        try:
            i, line = lines.get(timeout=0.2)
        except queue.Empty:
            line = ""
            i = 0
        if interrupt.requested() and not forwarded:  # a scheduler signalled only the parent
            for proc in procs:
                if proc.poll() is None:
                    proc.send_signal(interrupt.requested())
            forwarded = True
        if line is None:
            open_pipes -= 1
        elif line:
            shown = _shown(line, progress)
            tails[i].append(shown or line)
            if shown is not None:
                stream = sys.stderr if shown.startswith(("error", "interrupted")) else sys.stdout
                print(f"[worker {i}] {shown}", file=stream, flush=True)
    codes = [proc.wait() for proc in procs]
    for i, code in enumerate(codes, 1):
        if code not in (0, 130, 143, 1, 2):  # crashed: show how
            print(f"worker {i} exited {code}; its last lines:", file=sys.stderr)
            print("".join(line.rstrip() + "\n" for line in tails[i]), file=sys.stderr, end="")
    stopped = [c for c in codes if c in (128 + signal.SIGINT, 128 + signal.SIGTERM)]
    return stopped[0] if stopped else next((c for c in codes if c), 0)


def _shown(line: str, progress: Callable[[], str]) -> str | None:
    """What the display shows of one line from a worker (None: nothing). Events are JSON
    (``search.display``); anything else is the worker's own text, such as its error line."""
    try:
        event = json.loads(line)
    except ValueError:
        event = None
    if not isinstance(event, dict) or "message" not in event:
        text = line.strip()
        return text if text.startswith(TEXT_SHOWN) else None
    message = event["message"].strip()
    if event.get("event") == "trial":
        return f"{message}  [{progress()}]"
    if event.get("event") in SHOWN or event.get("level") in ("WARNING", "ERROR", "CRITICAL"):
        return message
    return None


def _read(i: int, proc: subprocess.Popen, lines: queue.Queue) -> None:
    for line in proc.stdout:
        lines.put((i, line))
    lines.put((i, None))
