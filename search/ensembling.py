"""An ensemble of a study's trials, as auto-sklearn and AutoGluon make theirs: greedy forward
selection with replacement over the trials' kept validation predictions (Caruana et al., ICML
2004), the chosen trials' kept weights rebuilt without training, and one raw-text ``.keras``
whose output is the weighted mean of its members'.

The validation split chose the members, so the ensemble's validation figure flatters it; the
test split, touched here once as in ``search.rerun``, is the honest figure.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from search import export, kept, linear, study_attrs
from search.data import read_reviews, read_splits
from search.embeddings import VectorSettings
from search.fitting import predict
from search.record import Record
from search.rerun import (
    check_writable,
    recorded_schedule,
    study_data,
    study_settings,
    summarize_params,
    trial_params,
)
from search.rerun import refit as refitted
from search.study_attrs import StudyAttrs
from search.trial import trial_data

log = logging.getLogger(__name__)

SIZE = 20  # selection steps (Caruana's ensemble size: a member chosen k times weighs k/SIZE)
CHECK_ROWS = 256  # validation rows on which a rebuilt member must give its kept predictions


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p.astype(np.float64), 1e-7, 1 - 1e-7)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def accuracy(y: np.ndarray, p: np.ndarray) -> float:
    return float(((p >= 0.5) == (y >= 0.5)).mean())


@dataclass(frozen=True)
class Selection:
    """Caruana's result: how often each trial was chosen, and the ensemble's validation loss."""

    counts: dict[int, int]
    loss: float

    @property
    def weights(self) -> dict[int, float]:
        total = sum(self.counts.values())
        return {n: c / total for n, c in self.counts.items()}

    def mean(self, predictions: Mapping[int, np.ndarray]) -> np.ndarray:
        return sum(w * predictions[n] for n, w in self.weights.items())


def select(predictions: Mapping[int, np.ndarray], y: np.ndarray, size: int = SIZE) -> Selection:
    """Greedy forward selection with replacement: ``size`` times, add the trial whose addition
    gives the lowest validation log loss (ties: the earlier key). Returns the best prefix, so the
    ensemble is never worse on validation than its best single member."""
    if not predictions:
        raise ValueError("no trials to select from")
    names = list(predictions)
    stacked = np.stack([predictions[n].astype(np.float64) for n in names])
    y = y.astype(np.float64)
    total = np.zeros(len(y))
    chosen: list[int] = []
    best: tuple[float, int] = (math.inf, 0)
    for step in range(1, size + 1):
        losses = [log_loss(y, (total + row) / step) for row in stacked]
        pick = int(np.argmin(losses))
        total += stacked[pick]
        chosen.append(names[pick])
        if losses[pick] < best[0] - 1e-12:
            best = (losses[pick], step)
    counts: dict[int, int] = {}
    for name in chosen[: best[1]]:
        counts[name] = counts.get(name, 0) + 1
    return Selection(counts, best[0])


def candidates(study: optuna.Study) -> tuple[kept.FileSystemArtifactStore, dict[int, FrozenTrial]]:
    """The complete trials that kept their weights, by number, and the store that has them; or
    a one-line refusal that says what to do."""
    name = study.study_name
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        raise ValueError(
            f"study {name!r} has no complete trial to make an ensemble of; run "
            f"python -m search.optimize --study {name} first"
        )
    with_kept = [t for t in complete if Record.of(t).kept]
    folder = StudyAttrs.of(study).paths.get("artifacts")
    more = f"python -m search.optimize --study {name} --trials {len(study.trials) + 10}"
    if not with_kept or not folder:
        raise ValueError(
            f"none of the {len(complete)} complete trial(s) of study {name!r} kept its weights "
            "(made before lstm-search kept them, or with --keep 0); run more trials, which "
            f"keep theirs: {more}"
        )
    if not Path(folder).is_dir():
        raise ValueError(
            f"study {name!r} keeps its trials' weights in {folder}, which is not there; "
            "copy that folder back, or run more trials: " + more
        )
    store = kept.store(folder)
    found = {t.number: t for t in with_kept if kept.has_weights(store, Record.of(t).kept)}
    if not found:
        raise ValueError(f"the weights study {name!r} kept are gone from {folder}; {more}")
    return store, found


def ensemble(
    study: optuna.Study,
    *,
    size: int = SIZE,
    data: str | None = None,
    unsup: str | None = None,
    out: Path = Path("models"),
    overwrite: bool = False,
    force: bool = False,
    refit: bool = False,
    nbsvm: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Select, rebuild, test and export the ensemble of ``study``; record it in the study and
    return its figures (``rows``: the best single trial, the ensemble, the linear baselines).

    ``nbsvm``: the NBSVM (``search.linear``, fitted on the study's split in a few minutes) is a
    candidate member beside the trials; the table then shows the trials' ensemble and, when the
    selection takes the NBSVM, the ensemble with it, which is the one exported.

    ``refit``: also train each member (and the best trial) again on train+val for its best
    epoch count, replaying its learning rates (``search.rerun.refit``), with the weights the
    selection gave; the table then has both, and the refit ensemble is the one exported."""
    if not (isinstance(size, int) and not isinstance(size, bool) and size >= 1):
        raise ValueError(f"--size {size!r}: expected a positive number of selection steps")
    say = progress or (lambda line: None)
    start = time.perf_counter()
    settings = study_settings(study)
    store, trials = candidates(study)
    if refit:
        unknown = [n for n, t in trials.items() if recorded_schedule(t) is None]
        if unknown:
            raise ValueError(
                f"--refit: trial(s) {unknown} of study {study.study_name!r} recorded no learning "
                "rate per epoch (made before lstm-search recorded them): run the ensemble "
                "without --refit, or refit one trial with python -m search.rerun --all-data"
            )
    path = out / f"{study.study_name}-ensemble{'-alldata' if refit else ''}.keras"
    check_writable(path, overwrite)
    with export.claimed([path]):
        dataset, unsup = study_data(study, data, unsup, force=force)
        vectors = VectorSettings.from_study(settings, unsup)
        y_val, y_test = dataset.val.y, dataset.test.y
        val = {n: kept.load_predictions(store, Record.of(t).kept) for n, t in trials.items()}
        wrong = [n for n, p in val.items() if len(p) != len(y_val)]
        if wrong:
            raise ValueError(
                f"the kept predictions of trial(s) {wrong} do not match the study's validation "
                f"split ({len(y_val)} reviews): pass the data the study ran on (a study from "
                "before duplicates were left out of validation needs its trials rerun)"
            )
        alone = select(val, y_val, size)  # the trials' ensemble
        chosen, lin = alone, None
        if nbsvm:
            say("fitting the NBSVM member on the study's training split (minutes)")
            splits = read_splits(Path(dataset.source), dataset.settings)
            if not np.array_equal(splits["val"].labels, y_val):
                raise ValueError("the NBSVM member's validation split is not the study's")
            lin = linear.fit(splits)
            val[linear.NAME] = lin.val
            chosen = select(val, y_val, size)
            if linear.NAME not in chosen.counts:  # a shorter prefix of the trials' own path
                say("the selection left the NBSVM out: the ensemble is the trials'")
                chosen = alone
        if len(trials) == 1:
            alone_note = (
                "the ensemble has that one trial and the NBSVM"
                if linear.NAME in chosen.counts
                else "the ensemble is that one trial"
            )
            log.warning(
                f"only trial {next(iter(trials))} kept its weights: {alone_note} (an ensemble "
                "needs more complete trials to choose from)"
            )
        best = min(trials.values(), key=lambda t: t.value).number
        say(
            f"selected {len(chosen.counts)} of {len(trials) + bool(lin)} candidates in {size} "
            "steps: " + ", ".join(f"{member_name(n)} x{c}" for n, c in chosen.counts.items())
        )
        members, test, refits, test_refit = [], {}, {}, {}
        numbers = (set(chosen.counts) | set(alone.counts) | {best}) - {linear.NAME}
        for number in sorted(numbers):
            say(f"rebuilding trial {number} from its kept weights, predicting the test split")
            params = trial_params(trials[number], settings["space"], settings["data"])
            weights = kept.load_weights(store, Record.of(trials[number]).kept)
            # one cut: with --refit it trains on it too (a VAT member's pool comes with vectors)
            cut = trial_data(params, dataset, vectors if refit else None)
            network = export.rebuilt(params, weights, mask_zero=cut.settings.mask_zero)
            _check_rebuilt(number, network, cut, val[number])
            test[number] = predict(network, cut.test.x, padding=cut.settings.padding)
            if refit and (number in chosen.counts or number == best):
                refit_start = time.perf_counter()
                epochs, rates = recorded_schedule(trials[number])
                network = refitted(
                    params,
                    cut,
                    seed=Record.of(trials[number]).seed or 0,
                    epochs=epochs,
                    learning_rates=rates,
                    vectors=vectors,
                    progress=progress,
                    label=f"refit of trial {number} on train+val",
                )
                weights = export.layer_weights(network)
                test_refit[number] = predict(network, cut.test.x, padding=cut.settings.padding)
                refits[number] = time.perf_counter() - refit_start
            if number in chosen.counts:
                text = export.rebuilt(
                    params, weights, vocabulary=cut.vocabulary, name=f"trial{number}"
                )
                members.append((number, chosen.weights[number], params, text))
        lin_shown = lin  # the NBSVM the export holds: refit or not
        if lin is not None and linear.NAME in chosen.counts:
            test[linear.NAME] = lin.test
            member = lin
            if refit:
                say("refitting the NBSVM member on train+val")
                member = linear.fit(splits, refit_c=lin.C)
                test_refit[linear.NAME] = member.test
                refits[linear.NAME] = member.seconds
                lin_shown = member
            members.append(
                (linear.NAME, chosen.weights[linear.NAME], None, linear.to_keras(member))
            )
        exported = combined([(member_name(n, "trial"), w, m) for n, w, _, m in members])
        say(f"testing the exported ensemble on the {len(y_test)} raw test reviews")
        texts = read_reviews(Path(dataset.source))["test"].texts
        raw = export.predict_texts(exported, texts)
        ensemble_val, ensemble_test = chosen.mean(val), chosen.mean(test)
        ensemble_name = f"ensemble of {len(members)}" + (
            " with the NBSVM" if linear.NAME in chosen.counts else ""
        )
        seconds = time.perf_counter() - start
        baselines = StudyAttrs.of(study).baselines
        rows = [
            _row(
                f"best single trial ({best})",
                y_val,
                val[best],
                y_test,
                test[best],
                Record.of(trials[best]).fit_seconds,
            ),
            *(
                [
                    _row(
                        f"ensemble of {len(alone.counts)} trial{'s' * (len(alone.counts) > 1)}",
                        y_val,
                        alone.mean(val),
                        y_test,
                        alone.mean(test),
                        None,
                    )
                ]
                if linear.NAME in chosen.counts
                else []
            ),
            *(
                [
                    _row(
                        f"NBSVM member ({len(lin.vocabulary)} n-grams, Keras tokens)",
                        y_val,
                        lin.val,
                        y_test,
                        lin.test,
                        lin.seconds,
                    )
                ]
                if lin is not None
                else []
            ),
            _row(
                ensemble_name,
                y_val,
                ensemble_val,
                y_test,
                ensemble_test,
                seconds - sum(refits.values()),
            ),
            *(
                [
                    {
                        "model": f"best single trial ({best}), refit",
                        "val_accuracy": None,
                        "test_accuracy": accuracy(y_test, test_refit[best]),
                        "seconds": refits[best],
                    },
                    {
                        "model": f"{ensemble_name}, refit",
                        "val_accuracy": None,
                        "test_accuracy": accuracy(y_test, chosen.mean(test_refit)),
                        "seconds": sum(refits[n] for n in chosen.counts),
                    },
                ]
                if refit
                else []
            ),
            {
                "model": f"ensemble{', refit' if refit else ''}, exported (raw text)",
                "val_accuracy": None,
                "test_accuracy": accuracy(y_test, raw),
                "seconds": None,
            },
            *[
                {
                    "model": name,
                    "val_accuracy": b["val_accuracy"],
                    "test_accuracy": b["test_accuracy"],
                    "seconds": b.get("seconds"),
                }
                for name, b in sorted(baselines.items())
            ],
        ]
        result = {
            "size": size,
            "refit": refit,
            "members": [
                {"trial": n, "weight": round(w, 4), "params": _summary(n, p, lin_shown)}
                for n, w, p, _ in members
            ],
            "val_log_loss": chosen.loss,
            "rows": rows,
            "seconds": round(seconds, 1),
            "model": str(path),
        }
        card = {
            "study": study.study_name,
            "kind": "ensemble: the weighted mean of its members' P(positive)",
            "trained_on": "train+val (refit)" if refit else "train (the trials' own weights)",
            "members": [
                {"trial": n, "weight": w, "params": p.as_dict(), "trial_params": trials[n].params}
                if n != linear.NAME
                else {"member": n, "weight": w, "params": _summary(n, p, lin_shown)}
                for n, w, p, _ in members
            ],
            "data": {**settings["data"], "n_train": len(dataset.train.y), "n_test": len(y_test)},
            "metrics": {r["model"]: {k: v for k, v in r.items() if k != "model"} for r in rows},
            "note": "val accuracy is on the split that chose the members; test is the honest one",
        }
        export.save(exported, path, card, overwrite=overwrite)
        study_attrs.write_ensemble(study, result)
        return result


def combined(members: list[tuple[str, float, Any]]):
    """One raw-text model whose output is the weighted mean of ``members`` (name, weight, raw-
    text model), built from Keras' own layers only, so it loads without this project."""
    import keras

    text = keras.Input(shape=(), dtype="string", name="review")
    outputs = [
        keras.layers.Rescaling(weight, name=f"weight_{name}")(model(text))
        for name, weight, model in members
    ]
    output = outputs[0] if len(outputs) == 1 else keras.layers.Add(name="mean")(outputs)
    return keras.Model(text, output, name="imdb_sentiment_ensemble")


def member_name(member, prefix: str = "trial ") -> str:
    """A member's name: ``trial 3`` (``trial3`` as a layer's, prefix ``trial``), or the
    NBSVM's."""
    return member if member == linear.NAME else f"{prefix}{member}"


def _summary(member, params, lin) -> str:
    if member == linear.NAME:
        return f"NBSVM, {len(lin.vocabulary)} 1-3 grams, C={lin.C:g}"
    return summarize_params(params)


def _check_rebuilt(number: int, network, cut, kept_val: np.ndarray) -> None:
    """A rebuilt member must give the predictions its trial kept: else its weights or the data
    are not the trial's, and the ensemble would be built on something else."""
    rows = slice(0, CHECK_ROWS)
    again = predict(network, cut.val.x[rows], padding=cut.settings.padding)
    drift = float(np.max(np.abs(again - kept_val[rows]))) if len(again) else 0.0
    if drift > 1e-3:
        raise ValueError(
            f"trial {number} rebuilt from its kept weights predicts differently from when it "
            f"ran (max difference {drift:.4f} on {len(again)} validation reviews): its weights "
            "or the data are not the trial's"
        )


def _row(model: str, y_val, p_val, y_test, p_test, seconds: float | None) -> dict[str, Any]:
    return {
        "model": model,
        "val_accuracy": accuracy(y_val, p_val),
        "test_accuracy": accuracy(y_test, p_test),
        "seconds": seconds,
    }
