"""The models a user would try first, and the bar every LSTM figure is shown beside.

    python -m search.baseline --data aclImdb_v1.tar.gz
    python -m search.baseline --study imdb          # and store them with the study

Two linear models on the same reviews, the same train/validation split and the same test split
as the study; for each, C is chosen on the validation split, then the test split is scored once:

- ``tfidf``: TF-IDF on word 1-2 grams + logistic regression.
- ``nbsvm``: binary word 1-3 grams (with ``!`` and ``?`` as words) scaled by their naive-Bayes
  log-count ratios, + logistic regression (NBSVM, Wang & Manning 2012). The ratios come from the
  training split alone.

The bar is the one with the better validation accuracy (chosen as the LSTMs are: on validation).
A searched LSTM is worth its hours only if it beats it.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from search.data import (
    DataSettings,
    Reviews,
    checksum,
    clean,
    read_splits,
    resolve_source,
    same_data,
)
from search.options import add_data_arguments, settings_from_args
from search.study_attrs import StudyAttrs, write_baselines

log = logging.getLogger(__name__)

TFIDF_C = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
NBSVM_C = (0.1, 0.3, 1.0, 3.0)
C_GRID = TFIDF_C  # the TF-IDF model's, as before there were two
NAMES = {
    "tfidf": "TF-IDF word 1-2 grams + logistic regression",
    "nbsvm": "NB-weighted binary word 1-3 grams + logistic regression (NBSVM)",
}
TOKENS = r"(?u)\b\w+\b|[!?]"  # words, and the two marks that carry sentiment


def run_baselines(
    source: str | Path | None,
    settings: DataSettings = DataSettings(),
    *,
    only: tuple[str, ...] = tuple(NAMES),
    verbose: bool = False,
) -> dict[str, dict[str, Any]]:
    """Each linear model of ``only`` fitted on the train split, C picked on val, val and test
    scored; keyed by name."""
    path = resolve_source(source)
    splits = read_splits(path, settings)
    digest = checksum(path)
    fits = {"tfidf": _tfidf, "nbsvm": _nbsvm}
    return {name: {**fits[name](splits, verbose), "checksum": digest} for name in only}


def run_baseline(
    source: str | Path | None, settings: DataSettings = DataSettings(), *, verbose: bool = False
) -> dict[str, Any]:
    """The TF-IDF model alone."""
    return run_baselines(source, settings, only=("tfidf",), verbose=verbose)["tfidf"]


def nb_ratios(x, y: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Each feature's log-count ratio: log of its share among positive reviews' features over
    its share among negative ones, smoothed by ``alpha`` (Wang & Manning's r)."""
    p = alpha + np.asarray(x[y == 1].sum(axis=0)).ravel()
    q = alpha + np.asarray(x[y == 0].sum(axis=0)).ravel()
    return np.log((p / p.sum()) / (q / q.sum()))


def _tfidf(splits: dict[str, Reviews], verbose: bool) -> dict[str, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2), min_df=2, max_df=0.95, sublinear_tf=True, preprocessor=_preprocess
    )
    return _fit("tfidf", splits, vectorizer.fit_transform, vectorizer.transform, TFIDF_C, verbose)


def _nbsvm(splits: dict[str, Reviews], verbose: bool) -> dict[str, Any]:
    from sklearn.feature_extraction.text import CountVectorizer

    vectorizer = CountVectorizer(
        ngram_range=(1, 3), binary=True, token_pattern=TOKENS, preprocessor=_preprocess
    )
    ratios: np.ndarray | None = None

    def fit(texts: list[str]):
        nonlocal ratios
        x = vectorizer.fit_transform(texts)
        ratios = nb_ratios(x, splits["train"].labels)  # the training split's labels only
        return x.multiply(ratios).tocsr()

    def transform(texts: list[str]):
        return vectorizer.transform(texts).multiply(ratios).tocsr()

    return _fit("nbsvm", splits, fit, transform, NBSVM_C, verbose, dual=True)


def _fit(
    name: str,
    splits: dict[str, Reviews],
    fit: Callable,
    transform: Callable,
    grid: tuple[float, ...],
    verbose: bool,
    dual: bool = False,
) -> dict[str, Any]:
    """Features from the train split, C picked on val, the test split scored once."""
    from sklearn.linear_model import LogisticRegression

    start = time.perf_counter()
    x_train, y_train = fit(splits["train"].texts), splits["train"].labels
    x_val = transform(splits["val"].texts)
    models, scores = {}, {}
    for c in grid:
        models[c] = LogisticRegression(C=c, max_iter=2000, solver="liblinear", dual=dual)
        models[c].fit(x_train, y_train)
        scores[c] = models[c].score(x_val, splits["val"].labels)
        if verbose:
            log.info(f"  {name} C={c:g}: val_acc={scores[c]:.4f}")
    best_c = max(scores, key=lambda c: (scores[c], -c))  # ties: the stronger regularisation
    test_acc = models[best_c].score(transform(splits["test"].texts), splits["test"].labels)
    return {
        "model": NAMES[name],
        "C": best_c,
        "val_accuracy": round(float(scores[best_c]), 4),
        "test_accuracy": round(float(test_acc), 4),
        "features": int(x_train.shape[1]),
        "seconds": round(time.perf_counter() - start, 1),
    }


def _preprocess(text: str) -> str:
    return clean(text).lower()


def stored(study: optuna.Study) -> dict[str, Any] | None:
    """The bar: the stored baseline with the better validation accuracy (None: none stored)."""
    return StudyAttrs.of(study).baseline


def missing(study: optuna.Study) -> tuple[str, ...]:
    """The baselines a study has not stored yet (studies made before NBSVM have one)."""
    return tuple(name for name in NAMES if name not in StudyAttrs.of(study).baselines)


def store(study: optuna.Study, results: dict[str, dict[str, Any]]) -> None:
    write_baselines(study, {**StudyAttrs.of(study).baselines, **results})


def describe(result: dict[str, Any]) -> str:
    return (
        f"baseline ({result['model']}, C={result['C']:g}): val_acc={result['val_accuracy']:.4f} "
        f"test_acc={result['test_accuracy']:.4f} in {result['seconds']:.0f}s"
    )


def describe_all(study: optuna.Study) -> str:
    """Every stored baseline, one line each, the bar marked."""
    attrs = StudyAttrs.of(study)
    bar = attrs.baseline
    return "\n".join(
        describe(result) + ("  <- the bar" if result == bar and len(attrs.baselines) > 1 else "")
        for result in attrs.baselines.values()
    )


def main(argv: list[str] | None = None) -> int:
    """The command: the library's lines shown on the console while it runs."""
    from search import display

    with display.console():
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m search.baseline",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--study", default=None, help="store the results with this study")
    parser.add_argument(
        "--storage", default=None, help="Optuna storage URL (default: sqlite:///studies/<study>.db)"
    )
    parser.add_argument(
        "--model",
        choices=("all", *NAMES),
        default="all",
        help="which linear model (default: all)",
    )
    add_data_arguments(parser)
    args = parser.parse_args(argv)
    from search.storage import default_storage, load_study

    only = tuple(NAMES) if args.model == "all" else (args.model,)
    try:
        study = None
        settings = settings_from_args(args)
        if args.study is not None:
            study = load_study(args.study, args.storage or default_storage(args.study))
            stored_data = StudyAttrs.of(study).data
            split = {k: stored_data[k] for k in ("val_split", "seed") if k in stored_data}
            settings = replace(settings, **split)
        results = run_baselines(args.data, settings, only=only, verbose=True)
        digest = next(iter(results.values()))["checksum"]
        if study is not None:
            expected = StudyAttrs.of(study).data.get("checksum")
            if expected and not same_data(expected, resolve_source(args.data), digest):
                raise ValueError(
                    f"--data holds other reviews than study {args.study!r} was built from "
                    f"(checksum {digest[:12]} vs {expected[:12]}); pass its data"
                )
            store(study, results)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for result in results.values():
        print(describe(result))
    if study is not None:
        print(f"stored with study {args.study!r} ({', '.join(results)})")
    return 0


if __name__ == "__main__":
    # run as search.baseline, not as __main__, so its log lines come from the 'search' logger the
    # console shows
    from search.baseline import main as command

    sys.exit(command())
