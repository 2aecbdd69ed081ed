"""Deterministic interruption: SIGINT and SIGTERM set a flag that training honours per batch.

A ``KeyboardInterrupt`` raised wherever the signal lands (inside TensorFlow's cleanup, a
``__del__``, a tqdm thread) can be swallowed ("Exception ignored in ...") and the study runs on.
So the handler only records the signal; ``check()`` raises ``Interrupted`` from Python code we
own: the per-batch Keras callback, and the objective before it trains. A second signal while the
first is being honoured raises at once, as users expect of a second Ctrl-C.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

HANDLED = (signal.SIGINT, signal.SIGTERM)
_requested: int | None = None


class Interrupted(KeyboardInterrupt):
    """Raised at a safe point after SIGINT or SIGTERM. A ``KeyboardInterrupt``, so Optuna marks
    the running trial FAIL and re-raises it instead of catching it as a failed trial."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM


def requested() -> int | None:
    """The signal number received, or None."""
    return _requested


def check() -> None:
    """Raise ``Interrupted`` if a signal came in."""
    if _requested is not None:
        raise Interrupted(_requested)


def _handle(signum: int, frame) -> None:
    global _requested
    if _requested is not None:  # the second one: stop now, wherever we are
        raise Interrupted(signum)
    _requested = signum


@contextlib.contextmanager
def handling() -> Iterator[None]:
    """Install the flag-setting handlers for the block (main thread only), then restore."""
    global _requested
    _requested = None
    with _installed(_handle):
        yield


@contextlib.contextmanager
def raising() -> Iterator[None]:
    """Outside the trials (start-up, data, the switch to a fresh process), SIGINT and SIGTERM
    raise ``Interrupted`` where they land, as Ctrl-C does in any Python program, also when the
    process started with them ignored (a shell's background job, a test runner's child), since
    ``handling`` answers them during the trials either way. Main thread only; then restored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    with _installed(_raise):
        yield


@contextlib.contextmanager
def _installed(handler) -> Iterator[None]:
    previous = {sig: signal.signal(sig, handler) for sig in HANDLED}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _raise(signum: int, frame) -> None:
    raise Interrupted(signum)


def keras_callback():
    """Checks the flag after every training and evaluation batch."""
    import keras

    class StopOnSignal(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            check()

        def on_test_batch_end(self, batch, logs=None):
            check()

    return StopOnSignal()
