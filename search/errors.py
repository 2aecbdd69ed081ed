"""How a run ends other than by finishing: typed, so the CLI maps each to its exit status and a
caller can tell a broken search from an interrupted one (KerasTuner's ``errors.py`` is the
model: a failed trial is not a broken search)."""

from __future__ import annotations

import optuna


class SearchBroken(RuntimeError):
    """The search cannot make progress (failures in a row, a worker that crashed): not one
    unlucky trial. ``study`` holds what was stored."""

    def __init__(self, message: str, study: optuna.Study | None = None) -> None:
        super().__init__(message)
        self.study = study


class RunInterrupted(KeyboardInterrupt):
    """SIGINT/SIGTERM (or a notebook's interrupt) ended the run; the finished trials are stored
    in ``study`` and the interrupted one is FAIL. ``exit_code``: the shell's 130 or 143."""

    def __init__(self, cause: KeyboardInterrupt, study: optuna.Study) -> None:
        super().__init__(str(cause) or "interrupted")
        self.study = study
        self.exit_code = getattr(cause, "exit_code", 130)
