"""Re-train a study's best trial(s), evaluate once on the test split, export a raw-text model.

    python -m search.rerun --study imdb                 # the best trial (lowest val_loss)
    python -m search.rerun --study imdb --trial 12      # a given trial
    python -m search.rerun --study imdb --top 3         # the 3 best, plus a comparison table
    python -m search.rerun --study imdb --all-data      # refit on train+val, then test
    python -m search.rerun --study imdb --retrain       # train again, though weights were kept

A trial that kept its weights (``search.kept``: the study's best ``--keep`` trials) is rebuilt
from them, without training: its val accuracy printed beside the stored one is the check. Other
trials' params are rebuilt through the same space function (``FixedTrial``), trained by the
same ``build_model``/``fit`` with the study's data settings and the trial's seed, so the rerun
reproduces the trial. ``--all-data`` trains the trial's recipe on train+val for its best epoch
count, replaying its learning rates: a complete trial's record holds both, so that is the only
training; other trials are trained on train first to find them. A pruned trial counts by the
lowest val_loss it reached and is trained in full (a trial pruned after a good epoch can be the
best model the study saw); a failed one is refused. The test split is used here and only here.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from search import backend, export, kept, study_attrs
from search.data import Dataset, DataSettings, Split, load_imdb, read_reviews, same_data
from search.embeddings import VectorSettings
from search.files import writable_folder
from search.fitting import evaluate, fit_fixed, predict
from search.params import ModelParams
from search.record import Record
from search.storage import default_storage, load_study, storage_failure
from search.study_attrs import StudyAttrs
from search.trial import model_for, progress_callback, train_params, trial_data
from spaces import OptunaSuggester, capped, caps_for, companion, draw, load_space

log = logging.getLogger(__name__)


def study_settings(study: optuna.Study) -> dict[str, Any]:
    settings = StudyAttrs.of(study).settings
    if settings is None:
        raise ValueError(
            f"Study {study.study_name!r} was not made by search.optimize (it has no "
            "'settings' user attr), so its space and data settings are unknown"
        )
    return settings


def study_data(
    study: optuna.Study, data: str | None, unsup: str | None, *, force: bool = False
) -> tuple[Dataset, str | None]:
    """The study's tokenised data (from ``data``, else where the study's data was, else
    $IMDB_DATA), checked by checksum unless ``force``; and where its unlabeled reviews are."""
    settings = study_settings(study)
    stored = StudyAttrs.of(study).paths  # where the study's data was, if still there
    if data is None and stored.get("data") and Path(stored["data"]).exists():
        data = stored["data"]
    if unsup is None and stored.get("unsup") and Path(stored["unsup"]).exists():
        unsup = stored["unsup"]
    data_settings = DataSettings(**{k: v for k, v in settings["data"].items() if k != "checksum"})
    dataset = load_imdb(data, data_settings)
    if not force and not same_data(settings["data"]["checksum"], dataset.source, dataset.checksum):
        raise ValueError(
            f"the data at {dataset.source} is not the study's (checksum "
            f"{dataset.checksum[:12]}, the study's {settings['data']['checksum'][:12]}): pass "
            "the data the study ran on, or --force to use this data anyway"
        )
    return dataset, unsup


RERUNNABLE = (TrialState.COMPLETE, TrialState.PRUNED)


def measure(trial: FrozenTrial) -> float:
    """The study's measure (the lowest val_loss the trial reached), for complete and pruned
    trials alike: a pruned trial stored its curves up to the rung that stopped it."""
    value = trial.value if trial.value is not None else Record.of(trial).val_loss
    return math.inf if value is None or math.isnan(value) else value


def choose_trials(study: optuna.Study, number: int | None, top: int | None) -> list[FrozenTrial]:
    """The trials to rerun (by default the one with the study's lowest val_loss, pruned or not:
    a trial pruned after a good epoch can be the best model the study saw), or a refusal."""
    trials = study.get_trials(deepcopy=False)
    if number is not None:
        found = [t for t in trials if t.number == number]
        if not found:
            raise ValueError(
                f"--trial {number}: no such trial in study {study.study_name!r} "
                f"(trials 0..{len(trials) - 1})"
            )
        if found[0].state not in RERUNNABLE or measure(found[0]) == math.inf:
            raise ValueError(
                f"--trial {number} is {found[0].state.name} with no val_loss; only complete "
                "and pruned trials that reached an epoch can be rerun"
            )
        return found
    ranked = sorted(
        (t for t in trials if t.state in RERUNNABLE and measure(t) < math.inf), key=measure
    )
    if not ranked:
        raise ValueError(
            f"Study {study.study_name!r} has no completed or pruned trial with a val_loss "
            f"({len(trials)} trials in all); run search.optimize first"
        )
    if top is not None:
        if top < 1:
            raise ValueError(f"--top {top}: expected a positive number of trials")
        return ranked[:top]
    return ranked[:1]


def trial_params(trial: FrozenTrial, space_spec: str, data: dict[str, Any]) -> ModelParams:
    """The model params of a stored trial, rebuilt through its space as a FixedTrial, capped
    as the study's tokenisation (``data``, its stored data settings) capped it."""
    space = capped(load_space(space_spec), caps_for(space_spec, data))
    values = {**(companion(space_spec, "ADDED") or {}), **trial.params}
    return ModelParams.of(
        draw(space, OptunaSuggester(optuna.trial.FixedTrial(values, trial.number)))
    )


def confusion(y_true: np.ndarray, probability: np.ndarray) -> dict[str, int]:
    predicted = probability >= 0.5
    positive = y_true >= 0.5
    return {
        "tn": int((~predicted & ~positive).sum()),
        "fp": int((predicted & ~positive).sum()),
        "fn": int((~predicted & positive).sum()),
        "tp": int((predicted & positive).sum()),
    }


def model_path(out: Path, study: str, trial: int, all_data: bool) -> Path:
    return out / f"{study}-trial{trial}{'-alldata' if all_data else ''}.keras"


def check_writable(path: Path, overwrite: bool) -> None:
    """Refuse before training, not after minutes of it."""
    if path.exists() and not overwrite:
        raise ValueError(f"{str(path)!r} exists; pass --overwrite to replace it")
    writable_folder(path.parent)


def kept_weights(study: optuna.Study, trial: FrozenTrial) -> export.Weights | None:
    """The best-epoch weights ``trial`` kept (``search.kept``), if its study still has them."""
    folder = StudyAttrs.of(study).paths.get("artifacts")
    record = Record.of(trial)
    if not record.kept or not folder or not Path(folder).is_dir():
        return None
    return kept.load_weights(kept.store(folder), record.kept)


def recorded_schedule(trial: FrozenTrial) -> tuple[int, list[float]] | None:
    """A complete trial's best epoch count and the learning rate of each epoch (which
    ReduceLROnPlateau chose with validation), as its record holds them: what a refit on
    train+val replays, so it needs no second training on train. None for a pruned or failed
    trial (its best epoch is where it was stopped, not where it would have peaked) or one whose
    record lacks them."""
    record = Record.of(trial)
    rates = record.curves.get("learning_rate", [])
    complete = trial.state == TrialState.COMPLETE
    if not complete or not record.best_epoch or len(rates) < record.best_epoch:
        return None
    return record.best_epoch, list(rates)


def refit(
    params: ModelParams,
    data: Dataset,
    *,
    seed: int,
    epochs: int,
    learning_rates: list[float],
    vectors: VectorSettings,
    verbose: int = 0,
    progress: Callable[[str], None] | None = None,
    label: str = "refit on train+val",
):
    """scikit-learn's refit, the usual last step: the same recipe, seeded as the trial, on
    train+val for ``epochs`` (the best epoch count), replaying ``learning_rates``. Returns the
    model; ``data`` is the trial's cut."""
    import keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = model_for(params, data, vectors=vectors)
    both = Split(
        np.concatenate([data.train.x, data.val.x]), np.concatenate([data.train.y, data.val.y])
    )
    fit_fixed(
        model,
        both,
        epochs=epochs,
        batch_size=params.batch_size,
        learning_rates=learning_rates,
        padding=data.settings.padding,
        verbose=verbose,
        callbacks=[progress_callback(label, epochs, len(both.y), progress)] if progress else [],
    )
    return model


def rerun_trial(
    study: optuna.Study,
    trial: FrozenTrial,
    data: Dataset,
    test_texts: list[str],
    *,
    vectors: VectorSettings,
    out: Path,
    all_data: bool,
    overwrite: bool,
    retrain: bool = False,
    verbose: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Rebuild one trial from its kept weights (or retrain it: ``retrain``, ``all_data`` or
    none kept), test it, export it and record the test metrics in the study; ``progress`` gets
    a line per epoch."""
    import keras

    settings = study_settings(study)
    params = trial_params(trial, settings["space"], settings["data"])
    data = trial_data(params, data, vectors)
    record = Record.of(trial)
    seed = record.seed or 0
    keras.backend.clear_session()
    start = time.perf_counter()
    weights = None if retrain or all_data else kept_weights(study, trial)
    recorded = None if retrain else recorded_schedule(trial)
    if trial.state == TrialState.PRUNED:
        log.info(
            f"trial {trial.number} was pruned after {record.epochs_run} epoch(s) at val_loss "
            f"{measure(trial):.4f}: training it in full"
        )
    if all_data and recorded is not None:
        log.info(
            f"trial {trial.number}: its best epoch ({recorded[0]}) and learning rates are "
            "recorded: only the train+val fit trains"
        )
        epochs_run, (best_epoch, rates) = record.epochs_run, recorded
    elif weights is not None:
        log.info(f"trial {trial.number}: rebuilt from its kept weights, no training")
        model = export.rebuilt(params, weights, mask_zero=data.settings.mask_zero)
        model.compile(loss="binary_crossentropy", metrics=["accuracy"])
        epochs_run, best_epoch = record.epochs_run, record.best_epoch
    else:
        model, result = train_params(
            params,
            data,
            epochs=settings["epochs"],
            seed=seed,
            vectors=vectors,
            verbose=verbose,
            progress=progress,
            label=f"rerun of trial {trial.number}",
        )
        epochs_run, best_epoch = result.epochs_run, result.best_epoch
        rates = result.history["learning_rate"]
    padding = data.settings.padding
    val = None if all_data else evaluate(model, data.val, padding=padding)
    if all_data:
        model = refit(
            params,
            data,
            seed=seed,
            epochs=best_epoch,
            learning_rates=rates,
            vectors=vectors,
            verbose=verbose,
            progress=progress,
            label=f"refit of trial {trial.number} on train+val",
        )
    seconds = time.perf_counter() - start
    test = evaluate(model, data.test, padding=padding)
    probability = predict(model, data.test.x, padding=padding)
    matrix = confusion(data.test.y, probability)

    exported = export.text_model(model, params, data)
    raw = export.predict_texts(exported, test_texts)
    raw_accuracy = float(((raw >= 0.5) == (data.test.y >= 0.5)).mean())
    metrics = {
        "trained_on": "train+val" if all_data else "train",
        "from_kept_weights": weights is not None,
        "val_accuracy_stored": Record.of(trial).val_accuracy,
        "val_accuracy_rerun": None if val is None else val["accuracy"],
        "val_loss_stored": measure(trial),
        "state": trial.state.name,
        "val_loss_rerun": None if val is None else val["loss"],
        "test_accuracy": test["accuracy"],
        "test_loss": test["loss"],
        "test_confusion": matrix,
        "export_test_accuracy_raw_text": raw_accuracy,
        "epochs": best_epoch if all_data else epochs_run,
        "best_epoch": best_epoch,
        "train_seconds": round(seconds, 1),
    }
    path = model_path(out, study.study_name, trial.number, all_data)
    card = {
        "study": study.study_name,
        "trial": trial.number,
        "seed": seed,
        "params": params.as_dict(),
        "trial_params": trial.params,
        "data": {
            **settings["data"],
            "n_train": len(data.train.y) + (len(data.val.y) if all_data else 0),
            "n_test": len(data.test.y),
        },
        "metrics": metrics,
    }
    export.save(exported, path, card, overwrite=overwrite)
    # finished trials are read-only in Optuna's storages: the rerun is kept as a study user attr
    # named after the trial, which the dashboard lists and analysis joins to the trial
    study_attrs.write_rerun(study, trial.number, {**metrics, "model": str(path)}, all_data)
    return {
        "trial": trial.number,
        "params": summarize_params(params),
        **metrics,
        "model": str(path),
    }


def summarize_params(p: ModelParams) -> str:
    layers = "x".join(str(u) for u in p.lstm_units)
    parts = [f"{'Bi' if p.bidirectional else ''}LSTM({layers})", p.embedding]
    if p.conv_filters:
        parts.append(f"conv{p.conv_filters}k{p.conv_kernel}")
    for key in ("spatial_dropout", "recurrent_dropout", "dropout"):
        if getattr(p, key):
            parts.append(f"{key}={getattr(p, key):g}")
    if p.l2:
        parts.append(f"l2={p.l2:.1e}")
    parts.append(f"{p.optimizer} lr={p.learning_rate:.1e} bs={p.batch_size}")
    return ", ".join(parts)


def print_row(row: dict[str, Any]) -> None:
    m = row["test_confusion"]
    stored = row["val_accuracy_stored"]
    stored = "none" if stored is None else f"{stored:.4f}"
    val = (
        f"val_acc rerun {row['val_accuracy_rerun']:.4f} vs stored {stored}"
        if row["val_accuracy_rerun"] is not None
        else "trained on train+val (no val score)"
    )
    print(f"trial {row['trial']} [{row['trained_on']}]: {row['params']}")
    print(f"  {val}")
    print(
        f"  test_acc {row['test_accuracy']:.4f}  test_loss {row['test_loss']:.4f}  "
        f"raw-text export test_acc {row['export_test_accuracy_raw_text']:.4f}"
    )
    print("  confusion (test)   pred neg  pred pos")
    print(f"    actual neg      {m['tn']:8d}  {m['fp']:8d}")
    print(f"    actual pos      {m['fn']:8d}  {m['tp']:8d}")
    print(f"  model: {row['model']}")


def _line(text: str) -> None:
    print(text, flush=True)


class StudyNotWritable(Exception):
    """The study's storage refused a write (read-only file, lost connection)."""


def rerun(
    study: optuna.Study,
    trials: list[FrozenTrial],
    *,
    data: str | None = None,
    unsup: str | None = None,
    out: Path = Path("models"),
    all_data: bool = False,
    overwrite: bool = False,
    force: bool = False,
    retrain: bool = False,
    verbose: int = 0,
    report=lambda row: None,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Rerun ``trials`` of ``study`` on the study's data (checked by checksum unless ``force``),
    test and export each, record the figures in the study; ``report(row)`` after each,
    ``progress(line)`` after each epoch."""
    settings = study_settings(study)
    paths = [model_path(out, study.study_name, t.number, all_data) for t in trials]
    for path in paths:
        check_writable(path, overwrite)
    with export.claimed(paths):  # a second rerun of these trials is refused now, not at export
        dataset, unsup = study_data(study, data, unsup, force=force)
        try:  # the rerun is stored after minutes of training: is the study writable?
            study_attrs.mark_rerun_started(study)  # a real write
        except Exception as exc:
            cause = storage_failure(exc) or exc
            raise StudyNotWritable(str(cause).splitlines()[0] or type(cause).__name__) from exc
        test_texts = read_reviews(Path(dataset.source))["test"].texts
        rows = []
        for trial in trials:
            row = rerun_trial(
                study,
                trial,
                dataset,
                test_texts,
                vectors=VectorSettings.from_study(settings, unsup),
                out=out,
                all_data=all_data,
                overwrite=overwrite,
                retrain=retrain,
                verbose=verbose,
                progress=progress,
            )
            report(row)
            base = StudyAttrs.of(study).baseline
            if base:
                log.info(
                    f"  baseline ({base['model']}) test_acc {base['test_accuracy']:.4f}: "
                    f"the rerun is {row['test_accuracy'] - base['test_accuracy']:+.4f}"
                )
            rows.append(row)
        return rows


def main(argv: list[str] | None = None) -> int:
    """The command: the library's lines shown on the console while it runs."""
    from search import display

    with display.console():
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m search.rerun",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--study", default="imdb")
    parser.add_argument(
        "--storage", default=None, help="Optuna storage URL (default: sqlite:///studies/<study>.db)"
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--trial",
        type=int,
        default=None,
        help="trial number, complete or pruned (default: the lowest val_loss)",
    )
    which.add_argument("--top", type=int, default=None, help="rerun the K best trials")
    parser.add_argument("--out", type=Path, default=Path("models"), help="folder for models")
    parser.add_argument(
        "--all-data",
        action="store_true",
        help="retrain on train+val for the best epoch count, then test",
    )
    parser.add_argument(
        "--retrain",
        action="store_true",
        help="train the trial again even if it kept its weights (default: rebuild from them)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing model files")
    parser.add_argument(
        "--force",
        action="store_true",
        help="rerun on data whose checksum differs from the study's (the test figures are then "
        "not the study's)",
    )
    parser.add_argument(
        "--data",
        default=None,
        help="aclImdb directory or .tar.gz (default: where the study's data was, else "
        "$IMDB_DATA, else download)",
    )
    parser.add_argument(
        "--unsup",
        default=None,
        help="the unlabeled reviews, for a study with domain vectors or VAT",
    )
    parser.add_argument("--quiet", action="store_true", help="no line per epoch")
    parser.add_argument(
        "--verbose", type=int, default=0, choices=(0, 1, 2), help="Keras' own progress bars"
    )
    args = parser.parse_args(argv)
    backend.load()

    import pandas as pd

    storage = args.storage or default_storage(args.study)
    try:
        study = load_study(args.study, storage)
        trials = choose_trials(study, args.trial, args.top)
        rows = rerun(
            study,
            trials,
            data=args.data,
            unsup=args.unsup,
            out=args.out,
            all_data=args.all_data,
            overwrite=args.overwrite,
            force=args.force,
            retrain=args.retrain,
            verbose=args.verbose,
            report=print_row,
            progress=None if args.quiet else _line,
        )
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except StudyNotWritable as exc:
        print(f"error: cannot write to study {args.study!r}: {exc}", file=sys.stderr)
        return 2
    if args.top is not None:
        table = pd.DataFrame(
            [
                {
                    "trial": r["trial"],
                    "params": r["params"],
                    "val_acc": r["val_accuracy_stored"],
                    "val_acc_rerun": r["val_accuracy_rerun"],
                    "test_acc": r["test_accuracy"],
                }
                for r in rows
            ]
        ).round(4)
        stem = args.out / f"{args.study}-top{args.top}"
        table.to_csv(stem.with_suffix(".csv"), index=False)
        stem.with_suffix(".md").write_text(table.to_markdown(index=False) + "\n")
        print(f"\n{table.to_string(index=False)}\nwrote {stem}.csv and {stem}.md")
    return 0


if __name__ == "__main__":
    # run as search.rerun, not as __main__, so its log lines come from the 'search' logger the
    # console shows
    from search.rerun import main as command

    sys.exit(command())
