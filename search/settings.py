"""A run's settings: one frozen, typed object, validated once, whoever builds it.

The CLI builds it from argv (``search.optimize``), the Python API from keyword arguments
(``search.run_study``), and a resumed study completes it with what the study stored
(``resumed``); worker processes and the fresh processes of ``--trials-per-process`` receive it
as JSON (``to_json``), not as a command line to parse again. Field names are the CLI's flags
(``max_failures`` for ``--max-failures``), so the two ways in take the same settings. ``None``
means "left out": a resumed study fills it from its own settings, a new one from the defaults.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shlex
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from search.data import DataSettings
from search.embeddings import VectorSettings
from search.kept import KEEP
from search.storage import HEARTBEAT

SAMPLERS = ("tpe", "random", "qmc", "gp", "cmaes")
PRUNERS = ("successive-halving", "hyperband", "median", "none")
ENGINES = ("optuna", "kerastuner")
TUNERS = ("hyperband", "bayesian", "random")
TRIALS_PER_PROCESS = 10  # fresh process after this many trials: bench/memory.py, docs/operations
DEFAULT_TRIALS = 50  # when neither trials nor timeout is given
NAME_LIMIT = 512  # Optuna's RDB storage keeps study names in a VARCHAR(512)
# what a new study gets for the settings left out; a resumed one gets what it stored
DEFAULTS = {
    "space": "default",
    "engine": "optuna",
    "sampler": "tpe",
    "pruner": "successive-halving",
    "epochs": 10,
}


class SettingError(ValueError):
    """A setting with a value it cannot take. ``str()`` names it as the API does
    (``trials=1.5: ...``); ``flag()`` as the CLI does (``--trials 0: ...``)."""

    def __init__(self, name: str, value: Any, expected: str) -> None:
        super().__init__(f"{name}={value!r}: {expected}")
        self.name, self.value, self.expected = name, value, expected

    def flag(self) -> str:
        value = shlex.quote(self.value) if isinstance(self.value, str) else self.value
        return f"--{self.name.replace('_', '-')} {value}: {self.expected}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class RunSettings:
    """What ``python -m search.optimize`` does; every field is one of its flags."""

    study: str = "imdb"
    storage: str | None = None  # None: sqlite:///studies/<study>.db
    trials: int | None = None  # the study's total of finished trials
    timeout: float | None = None  # wall budget of the command, in seconds
    heartbeat: int = HEARTBEAT
    workers: int = 1
    trials_per_process: int = TRIALS_PER_PROCESS
    max_failures: int = 3
    space: str | None = None  # a name, path/to/file.py:function, or (API) the function itself
    engine: str | None = None
    tuner: str | None = None
    sampler: str | None = None
    pruner: str | None = None
    epochs: int | None = None
    seed: int | None = None
    enqueue_presets: bool | None = None
    quiet: bool = False
    no_baseline: bool = False
    keep: int = KEEP  # trials whose weights are kept for an ensemble (search.kept)
    artifacts: str | None = None  # where: None, beside the study (search.kept.artifact_dir)
    tensorboard: str | None = None  # each trial's TensorBoard logs: <tensorboard>/<study>/trial-N
    mlflow: str | None = None  # an MLflow tracking URI: each trial a run (search.tracking)
    # the data (search.data.DataSettings) and where it is
    data: str | None = None
    vocab_size: int | None = None
    maxlen: int | None = None
    val_split: float | None = None
    padding: str | None = None
    truncating: str | None = None
    # the pretrained vectors (search.embeddings.VectorSettings)
    glove: str | None = None
    unsup: str | None = None
    vector_dim: int | None = None
    vector_window: int | None = None
    vector_epochs: int | None = None
    lm_budget: float | None = None  # minutes of language-model pretraining (search.pretrain)

    def __post_init__(self) -> None:
        for name in ("data", "glove", "unsup", "artifacts", "tensorboard"):  # or Path objects
            value = getattr(self, name)
            if isinstance(value, os.PathLike):
                object.__setattr__(self, name, os.fspath(value))
        if callable(self.space):  # the API's own space function: known by name in this process
            if "<lambda>" in getattr(self.space, "__qualname__", "<lambda>"):
                raise SettingError(
                    "space", self.space, "a lambda has no name to resume the study by; use def"
                )
            if self.workers > 1:
                raise SettingError(
                    "space",
                    self.space,
                    "a space function runs in this process only: workers=1, or put it in a "
                    "file and pass 'path/to/file.py:function'",
                )
            from spaces import name_of

            object.__setattr__(self, "space", name_of(self.space))
        _check(self)

    @classmethod
    def of(cls, **settings: Any) -> RunSettings:
        """From keyword arguments named like the CLI's flags: the Python API's way in.
        An unknown name is a TypeError that lists the known ones."""
        unknown = sorted(set(settings) - NAMES)
        if unknown:
            raise TypeError(f"unknown setting(s) {unknown}; expected some of {sorted(NAMES)}")
        return cls(**settings)

    def replace(self, **changes: Any) -> RunSettings:
        return dataclasses.replace(self, **changes)

    @property
    def storage_url(self) -> str:
        return self.storage or f"sqlite:///studies/{self.study}.db"

    @property
    def artifact_path(self) -> Path:
        from search.kept import artifact_dir

        return (
            Path(self.artifacts) if self.artifacts else artifact_dir(self.storage_url, self.study)
        )

    @property
    def total(self) -> int | None:
        """The study's total of finished trials: ``trials``, or 50 when no timeout bounds the
        run either, or None (no total) when only the timeout does."""
        if self.trials is None and self.timeout is None:
            return DEFAULT_TRIALS
        return self.trials

    def data_settings(self, **largest: int) -> DataSettings:
        """The tokenisation; ``largest`` (a space's biggest ``maxlen``/``vocab_size``) stands in
        for what was left out. The split seed keeps its default."""
        given = {k: getattr(self, k) for k in ("vocab_size", "maxlen", "val_split")}
        given |= {k: getattr(self, k) for k in ("padding", "truncating")}
        values = {**largest, **{k: v for k, v in given.items() if v is not None}}
        return DataSettings(**values)

    def vector_settings(self) -> VectorSettings:
        given = {"glove": self.glove, "unsup": self.unsup}
        given |= {k: getattr(self, f"vector_{k}") for k in ("dim", "window", "epochs")}
        given["lm_budget"] = self.lm_budget
        return VectorSettings(**{k: v for k, v in given.items() if v is not None})

    def resumed(self, stored: dict[str, Any] | None, paths: dict[str, Any]) -> ResumedSettings:
        """These settings completed: what was left out comes from the study's stored
        ``settings`` and ``paths`` (where its data was) when it has them, else from the defaults;
        then the engine options that do not go together are refused."""
        found = _found(stored, paths, self.engine) if stored is not None else {}
        taken = {k: v for k, v in found.items() if getattr(self, k) is None and v is not None}
        done = self.replace(**taken)
        done = done.replace(**{k: v for k, v in DEFAULTS.items() if getattr(done, k) is None})
        if done.engine == "kerastuner":
            done = done.replace(tuner=done.tuner or "hyperband")
            if done.workers > 1:
                raise SettingError(
                    "workers",
                    done.workers,
                    "KerasTuner's parallel search needs its own chief process; run one worker, "
                    "or the optuna engine",
                )
            if done.enqueue_presets:
                raise SettingError(
                    "enqueue_presets", True, "KerasTuner has no trial queue; leave it out"
                )
        elif done.tuner is not None:
            raise SettingError("tuner", done.tuner, "only with the kerastuner engine")
        # say what differs from what a new study would get: the rest is as usual
        usual = _usual()
        shown = {k: v for k, v in taken.items() if k not in usual or usual[k] != v}
        return ResumedSettings(done, shown)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RunSettings:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class ResumedSettings:
    """Complete settings, and those a resumed study lent (to say so, in one line)."""

    settings: RunSettings
    taken: dict[str, Any]


NAMES = frozenset(f.name for f in fields(RunSettings))


def _found(stored: dict[str, Any], paths: dict[str, Any], engine: str | None) -> dict[str, Any]:
    """The settings a stored study holds, under the names of ``RunSettings``."""
    stored_engine = stored.get("engine", "optuna")  # studies from before KerasTuner
    data, vectors = stored.get("data", {}), stored.get("vectors") or {}
    found = {
        "space": stored.get("space"),
        "engine": stored_engine,
        "epochs": stored.get("epochs"),
        "seed": stored.get("seed"),
        **{key: data.get(key) for key in ("vocab_size", "maxlen", "val_split")},
        **{key: data.get(key) for key in ("padding", "truncating")},
        "glove": vectors.get("glove"),
        **{f"vector_{key}": vectors.get(key) for key in ("dim", "window", "epochs")},
        "lm_budget": vectors.get("lm_budget"),
        # where this machine kept the data, when it is still there
        **{
            key: path
            for key, path in paths.items()
            if key in ("data", "unsup", "artifacts") and path and Path(path).exists()
        },
    }
    if engine in (None, stored_engine):  # the same engine: its own sampler options too
        if stored_engine == "kerastuner":
            found["tuner"] = stored.get("sampler")
        else:
            found |= {"sampler": stored.get("sampler"), "pruner": stored.get("pruner")}
    return found


def _usual() -> dict[str, Any]:
    """What a new study gets for each setting that a stored one may lend."""
    return {
        **DEFAULTS,
        **{k: getattr(DataSettings, k) for k in ("val_split", "padding", "truncating")},
        "glove": VectorSettings.glove,
        **{f"vector_{k}": getattr(VectorSettings, k) for k in ("dim", "window", "epochs")},
        "lm_budget": VectorSettings.lm_budget,
    }


def _check(s: RunSettings) -> None:
    """Refuse what no run can use, naming the setting: types first (the API passes anything),
    then ranges. The data's and vectors' own ranges are checked by their settings objects."""
    positive = {
        "trials": "a positive whole number of trials",
        "heartbeat": "a positive whole number of seconds",
        "workers": "a positive whole number of processes",
        "max_failures": "a positive whole number of trials",
        "epochs": "a positive whole number of epochs",
        "vocab_size": "a whole number of words",
        "maxlen": "a whole number of tokens",
        "vector_dim": "a positive whole number",
        "vector_window": "a positive whole number",
        "vector_epochs": "a positive whole number",
    }
    for name, what in positive.items():
        value = getattr(s, name)
        if value is not None and not (_is_int(value) and value >= 1):
            raise SettingError(name, value, f"expected {what}")
    if not (_is_int(s.trials_per_process) and s.trials_per_process >= 0):
        raise SettingError(
            "trials_per_process", s.trials_per_process, "expected 0 (never) or a positive number"
        )
    if not (_is_int(s.keep) and s.keep >= 0):
        raise SettingError("keep", s.keep, "expected 0 (keep no weights) or a number of trials")
    if s.seed is not None and not _is_int(s.seed):
        raise SettingError("seed", s.seed, "expected a whole number")
    if s.timeout is not None and not (
        _is_number(s.timeout) and math.isfinite(s.timeout) and s.timeout > 0
    ):
        raise SettingError("timeout", s.timeout, "expected a positive number of seconds")
    if s.lm_budget is not None and not (
        _is_number(s.lm_budget) and math.isfinite(s.lm_budget) and s.lm_budget > 0
    ):
        raise SettingError("lm_budget", s.lm_budget, "expected minutes > 0, e.g. 30")
    if s.val_split is not None and not (_is_number(s.val_split) and 0 < s.val_split < 1):
        raise SettingError("val_split", s.val_split, "expected a fraction between 0 and 1")
    for name in ("quiet", "no_baseline"):
        if not isinstance(getattr(s, name), bool):
            raise SettingError(name, getattr(s, name), "expected True or False")
    if s.enqueue_presets not in (None, True, False):
        raise SettingError("enqueue_presets", s.enqueue_presets, "expected True, False or None")
    choices = {
        "engine": ENGINES,
        "tuner": TUNERS,
        "sampler": SAMPLERS,
        "pruner": PRUNERS,
        "padding": ("pre", "post"),
        "truncating": ("pre", "post"),
    }
    for name, allowed in choices.items():
        value = getattr(s, name)
        if value is not None and value not in allowed:
            raise SettingError(name, value, f"expected one of {list(allowed)}")
    strings = ("storage", "space", "data", "glove", "unsup", "artifacts", "tensorboard", "mlflow")
    for name in strings:
        value = getattr(s, name)
        if value is not None and not isinstance(value, str):
            raise SettingError(name, value, "expected a string")
    _check_name(s.study, default_file=s.storage is None)


def _check_name(study: Any, *, default_file: bool) -> None:
    if not isinstance(study, str) or not study.strip() or "/" in study:
        raise SettingError("study", study, "expected a name such as imdb (no slashes)")
    if len(study) > NAME_LIMIT:
        raise SettingError(
            "study", f"{study[:20]}...", f"{len(study)} characters; at most {NAME_LIMIT}"
        )
    if default_file and len(f"{study}.db".encode()) > 255:  # the file system's limit
        raise SettingError(
            "study",
            f"{study[:20]}...",
            "too long for its default file studies/<study>.db (255 bytes); use a shorter name "
            "or pass a storage",
        )
