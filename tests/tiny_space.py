"""Spaces small enough that a CLI study of several trials runs in seconds."""

from __future__ import annotations

calls = 0


def space(s):
    return {
        "embedding_dim": 8,
        "lstm_units": [s.int("units", 2, 8)],
        "learning_rate": s.categorical("learning_rate", [0.05, 1e-6]),  # learns / learns nothing
        "batch_size": 32,
    }


def flaky(s):
    """The second trial's params are invalid: that trial fails, the study goes on."""
    global calls
    calls += 1
    params = space(s)
    if calls == 2:
        params["lstm_units"] = [0]
    return params


def diverging(s):
    """An L2 penalty that overflows float32: the loss is inf, TerminateOnNaN ends training and
    the trial is a FAIL."""
    return {"embedding_dim": 8, "lstm_units": [s.int("units", 2, 3)], "l2": 1e38, "batch_size": 32}


def announced(s):
    """From the second trial on, touch ``$LSTM_SEARCH_TEST_MARKER`` as the trial starts, so a
    test can signal the process while a trial is certainly running (its build and first epoch
    take far longer than the test takes to notice the file)."""
    import os
    from pathlib import Path

    global calls
    calls += 1
    params = space(s)  # suggested, so stored, before the test may kill the process
    if calls >= 2:
        Path(os.environ["LSTM_SEARCH_TEST_MARKER"]).touch()
    return params


def broken(s):
    """Every trial fails the same way: a search that cannot work, not an unlucky trial."""
    return {**space(s), "lstm_units": [0]}


def continuous(s):
    """A float the sampler draws: two trials share it only if the sampler's random stream
    repeated itself."""
    return {**space(s), "dropout": s.float("dropout", 0.0, 0.5)}


def tokened(s):
    """``continuous``, appending this interpreter's token to ``$LSTM_SEARCH_TEST_MARKER`` as
    each trial starts, so a test can tell which trials ran in the same process."""
    import os
    import uuid

    global token
    token = globals().get("token") or uuid.uuid4().hex
    with open(os.environ["LSTM_SEARCH_TEST_MARKER"], "a") as handle:
        handle.write(token + "\n")
    return continuous(s)


def exits(s):
    """A space that ends the process, as a script's ``sys.exit`` would."""
    import sys

    if s.categorical("exit", [True]):
        sys.exit(5)
    return {}


def two(s):
    """Two combinations in all: KerasTuner's oracle runs out of new values after two trials."""
    rate = s.categorical("learning_rate", [0.05, 0.01])
    return {"embedding_dim": 8, "lstm_units": [2], "learning_rate": rate, "batch_size": 32}


def from_lm(s):
    """A classifier that starts from the study's language model (its default width, 128)."""
    return {**space(s), "embedding": "lm_tuned", "lstm_units": [128]}
