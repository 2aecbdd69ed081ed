"""The study: create it or resume it, refuse settings that would make its trials incomparable,
migrate what earlier versions stored, and queue the presets as its first trials."""

from __future__ import annotations

import dataclasses
import logging
import warnings
from dataclasses import dataclass
from typing import Any

import optuna

from search import study_attrs
from search.embeddings import VectorSettings
from search.params import ModelParams
from search.presets import MEASURED, PRESETS, SEED_DATA
from search.record import Failure, Record
from search.rungs import EPOCHS, REVIEWS
from search.storage import open_storage, redact
from search.strategy import make_pruner, make_sampler
from spaces import companion

log = logging.getLogger(__name__)

# settings that define what a trial's value means: a resumed study must not change them
IDENTITY = ("space", "data", "epochs", "vectors")
# how the search proceeds: a resumed study may change them, and records each change
SEARCH_SETTINGS = ("engine", "sampler", "pruner", "seed")


@dataclass(frozen=True)
class StudySettings:
    """What a study stores as its ``settings`` attr: what its trials mean and how it searched."""

    study: str
    storage: str
    space: str
    sampler: str
    pruner: str
    epochs: int
    seed: int | None
    vectors: dict[str, Any]
    data: dict[str, Any]
    engine: str = "optuna"  # kerastuner: sampler is its tuner, pruner "none"


def create_or_resume(
    settings: StudySettings, storage: optuna.storages.BaseStorage | None = None
) -> optuna.Study:
    """Create the study, or load it and refuse settings that contradict how it was created.
    ``storage`` is the already opened ``settings.storage``, when the caller has it."""
    storage = storage or open_storage(settings.storage)
    study = optuna.create_study(
        study_name=settings.study,
        storage=storage,
        sampler=make_sampler(settings.sampler, settings.seed)
        if settings.engine == "optuna"
        else None,
        pruner=make_pruner(settings.pruner, settings.epochs),
        direction="minimize",
        load_if_exists=True,
    )
    # where the study lives is not what it is, and its URL may hold a password: not stored
    current = {k: v for k, v in dataclasses.asdict(settings).items() if k != "storage"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(["val_loss"])  # the dashboard's name for the objective
    stored = study_attrs.StudyAttrs.of(study).settings
    if stored is not None and "storage" in stored:  # stored by an earlier version: drop it
        stored = {k: v for k, v in stored.items() if k != "storage"}
        study_attrs.write_settings(study, stored)
    if stored is None:
        # KerasTuner reports once an epoch; the Optuna engine in reviews trained (search.rungs)
        study_attrs.write_new(study, current, REVIEWS if settings.engine == "optuna" else EPOCHS)
        return study
    stored = {**stored, "vectors": VectorSettings.from_study(stored).identity()}
    clashes = {
        key: (stored.get(key), current[key]) for key in IDENTITY if stored.get(key) != current[key]
    }
    if clashes:
        lines = "; ".join(
            f"{key}: study has {old!r}, this run {new!r}" for key, (old, new) in clashes.items()
        )
        raise ValueError(
            f"Study {settings.study!r} in {redact(settings.storage)!r} was created with other "
            f"settings ({lines}). Mixing them would make its trials incomparable: rerun with the "
            "study's settings, or start a new study with --study NAME."
        )
    stored.setdefault("engine", "optuna")  # studies from before KerasTuner was an engine
    changed = {k: current[k] for k in SEARCH_SETTINGS if stored.get(k) != current[k]}
    if changed:  # allowed (the trials stay comparable), but the study must say what ran
        study_attrs.record_change(study, changed)
        log.info(
            "resuming with "
            + ", ".join(f"{k}={v!r} (was {stored.get(k)!r})" for k, v in changed.items())
            + "; recorded in the study's settings"
        )
    return study


CHEAP_STARTS = 5  # the sampler's start-up trials, drawn in the space's cheap part (``CHEAP``)


def enqueue_presets(
    study: optuna.Study, space: str, caps: dict[str, int] | None = None, presets: bool = True
) -> list[str]:
    """Plan the first trials of a new study and queue the first of them: the presets the space
    can express (the configurations measured here first, then the seed study's), so the search
    starts from the best known and the pruner has a strong first trial to rank the others
    against; then, if the space names its cheap part (``CHEAP``: e.g. short reviews, one layer),
    ``CHEAP_STARTS`` start-up trials fixed there and random elsewhere, so the random start does
    not spend the budget in the space's cost tail. One planned trial is WAITING at a time
    (``queue_next_preset``): a run the budget ends leaves none behind, and a resume goes on
    with the plan. A resumed study, or a worker that starts beside another, plans nothing
    twice. ``caps``: a preset beyond the study's tokenisation (``spaces.capped``) is left out.
    ``presets=False`` (a cold start): only the cheap start-up trials, which are how the search
    starts, not what it knows."""
    point = companion(space, "point")
    if point is None or study_attrs.StudyAttrs.of(study).presets_enqueued:
        return []
    plan: list[dict[str, Any]] = []
    for name, preset in ({**MEASURED, **PRESETS} if presets else {}).items():
        try:
            values = point(ModelParams.of(preset.params).as_dict(), **SEED_DATA)
        except ValueError:  # e.g. domain vectors in the seed space
            continue
        if any(values == p["params"] for p in plan):  # "searched" may be a point planned already
            continue
        if any(values.get(k, 0) > cap for k, cap in (caps or {}).items()):
            continue
        plan.append({"name": name, "params": values})
    cheap = companion(space, "CHEAP")
    if cheap:
        cheap = {k: v for k, v in cheap.items() if k not in (caps or {}) or v <= caps[k]}
        plan += [{"name": f"cheap_start_{i}", "params": cheap} for i in range(1, CHEAP_STARTS + 1)]
    study_attrs.write_plan(study, plan)
    study_attrs.write_presets(study, [p["name"] for p in plan])
    return [p["name"] for p in plan]


def queue_next_preset(study: optuna.Study) -> str | None:
    """Queue the study's next planned trial if none is WAITING (the loop calls it whenever a
    trial is about to start). Returns its name, or None. A plan written before the space gained
    a param (its ``ADDED``) gets the value the preset had, not a draw."""
    attrs = study_attrs.StudyAttrs.of(study)
    plan = attrs.preset_plan
    if not plan:
        return None
    added = companion((attrs.settings or {}).get("space", ""), "ADDED") or {}
    trials = study.get_trials(deepcopy=False)
    if any(t.state == optuna.trial.TrialState.WAITING for t in trials):
        return None
    ran = {Record.of(t).preset for t in trials}
    for item in plan:
        if item["name"] not in ran:
            params = {**added, **item["params"]}
            study.enqueue_trial(params, user_attrs={"preset": item["name"]})
            return item["name"]
    return None


def requeue_cut(study: optuna.Study) -> list[int]:
    """Queue again the params of trials the study's ``--timeout`` cut (``Failure.TIMEOUT``),
    once each, so a resumed study finishes what the last run's budget ended (a cut preset
    keeps its name). Returns the numbers of the cut trials queued."""
    trials = study.get_trials(deepcopy=False)
    retried = {Record.of(t).retry_of for t in trials}
    queued = []
    for t in trials:
        r = Record.of(t)
        if r.failure != Failure.TIMEOUT or t.number in retried:
            continue
        attrs = {"retry_of": t.number, **({"preset": r.preset} if r.preset else {})}
        study.enqueue_trial(t.params, user_attrs=attrs)
        queued.append(t.number)
    if queued:
        log.info(f"queued again the params of trials the last run's --timeout cut: {queued}")
    return queued
