"""Search spaces: define-by-run functions over a tiny suggester protocol.

A space is ``def space(s: Suggester) -> dict``: it asks ``s`` for values and returns the plain
params dict that ``search.model.build_model`` takes. Conditional parameters are plain ``if``s. The
same function drives an Optuna trial (``OptunaSuggester``), an Optuna ``FixedTrial`` (reruns) and a
KerasTuner ``HyperParameters`` object, so every engine searches exactly the same space.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol


class Suggester(Protocol):
    def int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int: ...

    def float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float: ...

    def categorical(self, name: str, choices: Sequence[Any]) -> Any: ...


Space = Callable[[Suggester], dict[str, Any]]


def draw(space: Space, suggester: Suggester) -> dict[str, Any]:
    """``space(suggester)``; a space that calls ``sys.exit`` (a user's file run as a script,
    say) is a failing space, not the end of the search: RuntimeError naming the exit code."""
    try:
        return space(suggester)
    except SystemExit as exc:
        raise RuntimeError(
            f"the space called sys.exit({exc.code!r}); return params instead"
        ) from None


class OptunaSuggester:
    """Suggester over an ``optuna.Trial`` or ``optuna.trial.FixedTrial``."""

    def __init__(self, trial) -> None:
        self.trial = trial

    def int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        return self.trial.suggest_int(name, low, high, step=step, log=log)

    def float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        value = self.trial.suggest_float(name, low, high, step=step, log=log)
        return round(value, 10) if step else value  # 0.30000000000000004 -> 0.3

    def categorical(self, name: str, choices: Sequence[Any]) -> Any:
        return self.trial.suggest_categorical(name, list(choices))


class KerasTunerSuggester:
    """Suggester over a ``keras_tuner.HyperParameters`` (define-by-run, like Optuna's)."""

    def __init__(self, hp) -> None:
        self.hp = hp

    def int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        sampling = "log" if log else "linear"
        return self.hp.Int(name, low, high, step=None if log else step, sampling=sampling)

    def float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        value = self.hp.Float(name, low, high, step=step, sampling="log" if log else "linear")
        return round(value, 10) if step else value

    def categorical(self, name: str, choices: Sequence[Any]) -> Any:
        if all(isinstance(c, bool) for c in choices):  # Choice would hand back 0/1
            return self.hp.Boolean(name, default=choices[0])
        return self.hp.Choice(name, list(choices))


SPACES = {
    "default": "spaces.default:space",
    "seed": "spaces.seed:space",
}


def companion(spec: str, name: str) -> Any:
    """A module-level companion of a registered space (``TOKENIZE``, ``point``), or None.

    ``TOKENIZE`` holds the largest ``maxlen`` and ``vocab_size`` its trials cut to, the study's
    tokenisation when the user gives none; ``point(params, maxlen=, vocab_size=)`` maps a preset
    to the space's values, so presets can be enqueued as a study's first trials.
    """
    if spec not in SPACES:
        return None
    return getattr(importlib.import_module(SPACES[spec].partition(":")[0]), name, None)


class CappedSuggester:
    """A suggester whose choices for the named params stop at a cap: a space asking for up to
    800 tokens, run on data tokenised at 300, chooses among 200 and 300 (or the cap alone)."""

    def __init__(self, suggester: Suggester, caps: dict[str, int]) -> None:
        self.suggester, self.caps = suggester, caps

    def int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        cap = self.caps.get(name)
        if cap is not None and high > cap:
            low, high = min(low, cap), cap
        return self.suggester.int(name, low, high, step=step, log=log)

    def float(self, name: str, low: float, high: float, **kwargs: Any) -> float:
        return self.suggester.float(name, low, high, **kwargs)

    def categorical(self, name: str, choices: Sequence[Any]) -> Any:
        cap = self.caps.get(name)
        if cap is not None and any(isinstance(c, int) and c > cap for c in choices):
            choices = [c for c in choices if c <= cap] or [cap]
        return self.suggester.categorical(name, choices)


def capped(space: Space, caps: dict[str, int]) -> Space:
    """``space`` with its ``maxlen``/``vocab_size`` choices capped (``CappedSuggester``); the
    space itself when nothing is capped."""
    if not caps:
        return space

    def within(suggester: Suggester) -> dict[str, Any]:
        return space(CappedSuggester(suggester, caps))

    return within


def caps_for(spec: str, data: dict[str, Any]) -> dict[str, int]:
    """What a registered space asks for beyond the data's tokenisation (``TOKENIZE`` against
    the data's ``maxlen``/``vocab_size``): the caps its trials must keep to."""
    largest = companion(spec, "TOKENIZE") or {}
    return {k: data[k] for k, need in largest.items() if data.get(k) is not None and data[k] < need}


_GIVEN: dict[str, Space] = {}  # space functions handed to search.run_study, by name


def name_of(space: Space) -> str:
    """A space function's name (``module:qualname``), which ``load_space`` finds in this
    process from now on: how a notebook's own space function becomes a study's ``space``."""
    name = f"{getattr(space, '__module__', None) or '?'}:{getattr(space, '__qualname__', space)}"
    _GIVEN[name] = space
    return name


def load_space(spec: str) -> Space:
    """A space by registered name (``default``, ``seed``), as ``path/to/file.py:function``, or
    a function given to ``search.run_study`` in this process (``name_of``)."""
    if spec in _GIVEN:
        return _GIVEN[spec]
    if spec in SPACES:
        module, _, attr = SPACES[spec].partition(":")
        return getattr(importlib.import_module(module), attr)
    path, sep, attr = spec.rpartition(":")
    if sep and not path.endswith(".py") and "/" not in path:
        raise ValueError(
            f"Space {spec!r} was a function given to search.run_study in another Python "
            "session; give it again (space=the_function), or put it in a file and pass "
            "path/to/file.py:function"
        )
    if not sep or not path.endswith(".py"):
        raise ValueError(
            f"Unknown space {spec!r}; choose one of {sorted(SPACES)} "
            "or give path/to/file.py:function"
        )
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"Space file {path!r} not found (from --space {spec!r})")
    module_spec = importlib.util.spec_from_file_location(f"_space_{file.stem}", file)
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        raise ValueError(f"Space file {path!r} failed to import: {exc!r}") from exc
    function = getattr(module, attr, None)
    if not callable(function):
        found = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
        raise ValueError(f"Space file {path!r} has no function {attr!r}; it defines {found}")
    return function
