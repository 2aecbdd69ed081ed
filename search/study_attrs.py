"""The study's own record: the user attrs a study keeps besides its trials, named and read and
written here only, as ``search.record`` does for a trial's. Keras-free, so analysis can use it.

    settings          what the trials mean and how it searched (``search.study.StudySettings``,
                      less the storage URL)
    settings_changes  each change of the search settings on resume: {"from_trial": n, ...}
    objective         the value's meaning, for the dashboard
    paths             where this machine keeps the data and the trials' kept weights:
                      {"data": ..., "unsup": ..., "artifacts": ...}
    presets_enqueued  the names of the presets (and cheap start-up trials) planned as its first
                      trials
    preset_plan       those trials' names and params, queued one at a time
    baselines         the linear baselines on the same split, by name (``search.baseline``)
    baseline          the bar: the one of them with the better validation accuracy (studies
                      made before there were two hold only this, the TF-IDF model)
    rerun:N           trial N's rerun: test metrics and the exported model's path
    rerun:N:all-data  the same, trained on train + validation
    rerun_started     when the last rerun began (a write that proves the study writable)
    ensemble          the last ``search.ensemble``: members, weights, figures, the model's path
    steps             what its trials' report steps count (``search.rungs``): "reviews"; absent
                      in studies made before, whose steps are epochs
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import optuna

SETTINGS = "settings"
SETTINGS_CHANGES = "settings_changes"
OBJECTIVE = "objective"
PATHS = "paths"
PRESETS = "presets_enqueued"
PLAN = "preset_plan"
BASELINE = "baseline"
BASELINES = "baselines"
RERUN = "rerun"
RERUN_STARTED = "rerun_started"
ENSEMBLE = "ensemble"
STEPS = "steps"
LANGUAGE_MODEL = "language_model"


@dataclass(frozen=True)
class StudyAttrs:
    """A study's attrs, read once: ``StudyAttrs.of(study)``."""

    settings: dict[str, Any] | None = None
    settings_changes: list[dict[str, Any]] = field(default_factory=list)
    paths: dict[str, Any] = field(default_factory=dict)
    presets_enqueued: list[str] = field(default_factory=list)
    preset_plan: list[dict[str, Any]] = field(default_factory=list)
    baselines: dict[str, dict[str, Any]] = field(default_factory=dict)
    reruns: dict[int, dict[str, Any]] = field(default_factory=dict)  # train-split reruns
    steps: str = "epochs"  # search.rungs.EPOCHS: what a study made before rungs in reviews has
    # what preparing its language model measured and cost (search.pretrain; None: not needed)
    language_model: dict[str, Any] | None = None

    @classmethod
    def of(cls, study: optuna.Study | dict[str, Any]) -> StudyAttrs:
        """From a study, or from its attrs as a storage returns them."""
        attrs = study if isinstance(study, dict) else study.user_attrs
        reruns = {}
        for key, value in attrs.items():
            parts = key.split(":")
            if parts[0] == RERUN and len(parts) == 2 and parts[1].isdigit():
                reruns[int(parts[1])] = value
        return cls(
            settings=attrs.get(SETTINGS),
            settings_changes=attrs.get(SETTINGS_CHANGES) or [],
            paths=attrs.get(PATHS) or {},
            presets_enqueued=attrs.get(PRESETS) or [],
            preset_plan=attrs.get(PLAN) or [],
            baselines=attrs.get(BASELINES) or _old_baseline(attrs.get(BASELINE)),
            reruns=reruns,
            steps=attrs.get(STEPS) or "epochs",
            language_model=attrs.get(LANGUAGE_MODEL),
        )

    @property
    def baseline(self) -> dict[str, Any] | None:
        """The bar: the baseline with the better validation accuracy (None: none stored)."""
        return max(self.baselines.values(), key=lambda b: b["val_accuracy"], default=None)

    @property
    def data(self) -> dict[str, Any]:
        """The stored data identity: tokenisation settings and checksum ({} when none)."""
        return (self.settings or {}).get("data") or {}


def stored(storage: optuna.storages.BaseStorage, name: str) -> StudyAttrs | None:
    """The attrs of study ``name`` in an opened storage, or None when there is no such study
    (read before the study is created or loaded, so resumed settings can fill a command's)."""
    try:
        study_id = storage.get_study_id_from_name(name)
    except KeyError:
        return None
    return StudyAttrs.of(storage.get_study_user_attrs(study_id))


def write_settings(study: optuna.Study, settings: dict[str, Any]) -> None:
    study.set_user_attr(SETTINGS, settings)


def write_new(study: optuna.Study, settings: dict[str, Any], steps: str) -> None:
    """What a new study records about itself; ``steps``: what its report steps count."""
    write_settings(study, settings)
    study.set_user_attr(OBJECTIVE, "best val_loss (lower is better)")
    study.set_user_attr(STEPS, steps)


def record_change(study: optuna.Study, changed: dict[str, Any]) -> None:
    """A resumed study's changed search settings: the current ones, and from which trial."""
    note = {"from_trial": len(study.get_trials(deepcopy=False)), **changed}
    attrs = StudyAttrs.of(study)
    study.set_user_attr(SETTINGS_CHANGES, [*attrs.settings_changes, note])
    write_settings(study, {**(attrs.settings or {}), **changed})


def write_paths(
    study: optuna.Study, data: str, unsup: str | None, artifacts: str | None = None
) -> None:
    paths = {"data": data, "unsup": unsup}
    old = StudyAttrs.of(study).paths.get("artifacts")
    if artifacts or old:  # a run that keeps nothing does not forget where the kept ones are
        paths["artifacts"] = artifacts or old
    study.set_user_attr(PATHS, paths)


def write_presets(study: optuna.Study, names: list[str]) -> None:
    study.set_user_attr(PRESETS, names)


def write_plan(study: optuna.Study, plan: list[dict[str, Any]]) -> None:
    study.set_user_attr(PLAN, plan)


def write_baselines(study: optuna.Study, results: dict[str, dict[str, Any]]) -> None:
    """Every baseline by name, and the bar under its own attr (the dashboard shows it)."""
    study.set_user_attr(BASELINES, results)
    study.set_user_attr(BASELINE, StudyAttrs(baselines=results).baseline)


def _old_baseline(result: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    return {} if result is None else {"tfidf": result}


def write_rerun(study: optuna.Study, number: int, result: dict[str, Any], all_data: bool) -> None:
    """Finished trials are read-only in Optuna's storages: a rerun is kept as a study attr named
    after the trial, which the dashboard lists and analysis joins to the trial."""
    study.set_user_attr(f"{RERUN}:{number}{':all-data' if all_data else ''}", result)


def mark_rerun_started(study: optuna.Study) -> None:
    study.set_user_attr(RERUN_STARTED, time.strftime("%Y-%m-%dT%H:%M:%S"))


def write_ensemble(study: optuna.Study, result: dict[str, Any]) -> None:
    study.set_user_attr(ENSEMBLE, result)


def write_language_model(study: optuna.Study, info: dict[str, Any]) -> None:
    """Its perplexity and cost (``seconds``: the wall time this study spent getting it; 0 when
    another run had cached it)."""
    study.set_user_attr(LANGUAGE_MODEL, info)
