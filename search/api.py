"""The Python API: what the CLIs do, for notebooks and scripts, with the same settings.

    import search
    study = search.run_study("nb", data="aclImdb_v1.tar.gz", trials=20, space="seed")
    search.results(study)                       # one row per trial (a DataFrame)
    search.summary(study, top=10)               # the best trials and what sets them apart
    model = search.best_model(study)            # the best trial's raw-text Keras model
    search.classify(model, ["a moving film"])   # P(positive) per review
    search.report(study, "reports/nb")          # every figure and table, and an index.html
    search.ensemble(study)                      # the best trials as one model (figures, path)

Settings are keyword arguments named like the CLI flags (``max_failures=5`` for
``--max-failures 5``), checked as ``search.settings.RunSettings``; the CLI runs the same
``search.runner.run``, so a study made here is the CLI's study: ``python -m search.rerun
--study nb`` works on it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna


def run_study(
    study: str = "imdb", *, callbacks: list | tuple = (), **settings: Any
) -> optuna.Study:
    """Create or resume ``study`` and run it to its total (``trials``, default 50) or
    ``timeout``, exactly as ``python -m search.optimize`` does. ``callbacks``: Keras callbacks
    every trial's ``fit`` gets, the same objects each trial (as KerasTuner's ``search`` takes
    them); ``tensorboard="logs"`` logs each trial to ``logs/<study>/trial-N``. Raises
    TypeError for an unknown setting and ValueError (``search.settings.SettingError``) for a
    bad value, both before any work; ``search.errors.SearchBroken`` when every trial fails;
    and KeyboardInterrupt after Ctrl-C (the interrupted trial is marked FAIL; run again to
    resume). Trial lines go to the ``search`` logger, shown on stdout unless you configured
    it."""
    from search import backend, display
    from search.runner import run
    from search.settings import RunSettings

    given = RunSettings.of(study=study, **settings)
    backend.load()
    with display.console():
        return run(given, callbacks=list(callbacks))


def _load(study: optuna.Study | str, storage: str | None) -> optuna.Study:
    from search.storage import load_study

    return study if isinstance(study, optuna.Study) else load_study(study, storage)


def results(study: optuna.Study | str, storage: str | None = None):
    """The trials table: params, state, val and train metrics, gaps, epochs, seconds, reruns."""
    from analysis.trials import trials_frame

    return trials_frame(_load(study, storage))


def summary(study: optuna.Study | str, top: int = 10, storage: str | None = None):
    """The ``top`` trials by the study's measure with their scores, epochs, seconds and the
    params that differ among them, as ``python -m search.results`` prints them (KerasTuner's
    ``results_summary``, as a DataFrame)."""
    from analysis.summary import summary as table

    return table(_load(study, storage), top)


def best_model(
    study: optuna.Study | str,
    storage: str | None = None,
    *,
    data: str | None = None,
    unsup: str | None = None,
    out: str | Path = "models",
    retrain: bool = False,
):
    """The best trial's raw-text model: the file its rerun exported, or, when it has none yet,
    a rerun now (tests and exports ``out/<study>-trial<N>.keras``, like ``python -m
    search.rerun``): rebuilt from the weights the trial kept, without training, unless
    ``retrain`` or it kept none."""
    import keras

    from search import backend, rerun
    from search.study_attrs import StudyAttrs

    backend.load()
    study = _load(study, storage)
    (best,) = rerun.choose_trials(study, None, None)  # lowest val_loss, complete or pruned
    done = StudyAttrs.of(study).reruns.get(best.number)
    if done and Path(done["model"]).is_file():
        return keras.models.load_model(done["model"])
    (row,) = rerun.rerun(
        study, [best], data=data, unsup=unsup, out=Path(out), retrain=retrain, progress=print
    )
    print(f"{row['model']}: test accuracy {row['test_accuracy']:.4f}")
    return keras.models.load_model(row["model"])


def classify(model, texts: list[str]):
    """P(positive) for each review, from a model of ``best_model`` (or a loaded ``.keras``)."""
    from search.export import predict_texts

    return predict_texts(model, list(texts))


def report(study: optuna.Study | str, out: str | Path = "reports", storage: str | None = None):
    """Write the study's figures, tables and index.html into ``out``; returns the paths."""
    from analysis.report import write

    return write(_load(study, storage), Path(out))


def ensemble(
    study: optuna.Study | str,
    storage: str | None = None,
    *,
    size: int | None = None,
    data: str | None = None,
    out: str | Path = "models",
    overwrite: bool = False,
    refit: bool = False,
    nbsvm: bool = True,
) -> dict[str, Any]:
    """The study's best trials as one raw-text model, from the weights they kept, as
    ``python -m search.ensemble`` does: returns the figures (``rows``) and the model's path
    (``model``; load it with ``keras.models.load_model``). ``refit=True``: the members are
    also trained again on train+val (``--refit``); ``nbsvm=False``: trials only
    (``--no-nbsvm``)."""
    from search import backend, display, ensembling

    backend.load()
    with display.console():
        return ensembling.ensemble(
            _load(study, storage),
            size=ensembling.SIZE if size is None else size,
            data=data,
            out=Path(out),
            overwrite=overwrite,
            refit=refit,
            nbsvm=nbsvm,
            progress=print,
        )
