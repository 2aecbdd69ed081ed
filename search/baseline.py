"""The model a user would try first: TF-IDF on word 1-2 grams + logistic regression.

    python -m search.baseline --data aclImdb_v1.tar.gz
    python -m search.baseline --study imdb          # and store it with the study

Same reviews, same train/validation split and same test split as the study; C is chosen on the
validation split, then the test split is scored once. A searched LSTM is worth its hours only if
it beats this.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import optuna

from search.data import (
    DataSettings,
    add_data_arguments,
    checksum,
    clean,
    read_splits,
    resolve_source,
    same_data,
    settings_from_args,
)
from search.study_attrs import BASELINE, StudyAttrs, write_baseline

log = logging.getLogger(__name__)

C_GRID = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)


def run_baseline(
    source: str | Path | None, settings: DataSettings = DataSettings(), *, verbose: bool = False
) -> dict[str, Any]:
    """Fit TF-IDF + logistic regression on the train split, pick C on val, score val and test."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    start = time.perf_counter()
    path = resolve_source(source)
    splits = read_splits(path, settings)
    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2), min_df=2, max_df=0.95, sublinear_tf=True, preprocessor=_preprocess
    )
    x_train = vectorizer.fit_transform(splits["train"].texts)
    x_val = vectorizer.transform(splits["val"].texts)
    scores = {}
    for c in C_GRID:
        model = LogisticRegression(C=c, max_iter=2000, solver="liblinear")
        model.fit(x_train, splits["train"].labels)
        scores[c] = model.score(x_val, splits["val"].labels)
        if verbose:
            log.info(f"  C={c:g}: val_acc={scores[c]:.4f}")
    best_c = max(scores, key=lambda c: (scores[c], -c))  # ties: the stronger regularisation
    model = LogisticRegression(C=best_c, max_iter=2000, solver="liblinear")
    model.fit(x_train, splits["train"].labels)
    test_acc = model.score(vectorizer.transform(splits["test"].texts), splits["test"].labels)
    return {
        "model": "TF-IDF word 1-2 grams + logistic regression",
        "C": best_c,
        "val_accuracy": round(float(scores[best_c]), 4),
        "test_accuracy": round(float(test_acc), 4),
        "features": int(x_train.shape[1]),
        "seconds": round(time.perf_counter() - start, 1),
        "checksum": checksum(path),
    }


def _preprocess(text: str) -> str:
    return clean(text).lower()


def stored(study: optuna.Study) -> dict[str, Any] | None:
    return StudyAttrs.of(study).baseline


def store(study: optuna.Study, result: dict[str, Any]) -> None:
    write_baseline(study, result)


def describe(result: dict[str, Any]) -> str:
    return (
        f"baseline ({result['model']}, C={result['C']:g}): val_acc={result['val_accuracy']:.4f} "
        f"test_acc={result['test_accuracy']:.4f} in {result['seconds']:.0f}s"
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
    parser.add_argument("--study", default=None, help="store the result with this study")
    parser.add_argument(
        "--storage", default=None, help="Optuna storage URL (default: sqlite:///studies/<study>.db)"
    )
    add_data_arguments(parser)
    args = parser.parse_args(argv)
    from search.storage import default_storage, load_study

    try:
        study = None
        settings = settings_from_args(args)
        if args.study is not None:
            study = load_study(args.study, args.storage or default_storage(args.study))
            stored_data = StudyAttrs.of(study).data
            split = {k: stored_data[k] for k in ("val_split", "seed") if k in stored_data}
            settings = replace(settings, **split)
        result = run_baseline(args.data, settings, verbose=True)
        if study is not None:
            expected = StudyAttrs.of(study).data.get("checksum")
            if expected and not same_data(expected, resolve_source(args.data), result["checksum"]):
                raise ValueError(
                    f"--data holds other reviews than study {args.study!r} was built from "
                    f"(checksum {result['checksum'][:12]} vs {expected[:12]}); pass its data"
                )
            store(study, result)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(describe(result))
    if study is not None:
        print(f"stored as user attr {BASELINE!r} of study {args.study!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
