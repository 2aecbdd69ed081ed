"""Train one model with the callbacks the seed study found essential, and the presets CLI.

``fit`` is the single training path: the search, reruns and the presets all go through it, so a
configuration trains the same way wherever it runs.

    python -m search.train --preset bilstm --data ../aclImdb_v1.tar.gz
    python -m search.train --all-presets --out results.csv
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from search import backend
from search.batches import batch_indices, bucketed, lengths, trim
from search.data import Dataset, add_data_arguments, load_imdb, settings_from_args
from search.embeddings import (
    VectorSettings,
    add_vector_arguments,
    embedding_matrix,
    load_source,
    pretrained_source,
    vector_settings_from_args,
)
from search.files import writable_folder
from search.model import build_model, uses_mask, validate_params
from search.presets import PRESETS, Preset, get_preset

MONITOR = "val_loss"
EVAL_BATCH = 512


class FitResult(NamedTuple):
    history: dict[
        str, list[float]
    ]  # per epoch: loss, accuracy, val_loss, val_accuracy, learning_rate
    best_epoch: int  # 1-based epoch of the lowest val_loss; its weights are the model's now
    epochs_run: int
    seconds: float
    samples_per_second: float


def _curves_callback(history: dict[str, list[float]]):
    """Record every epoch's logs as they come, so a trial stopped by an exception (pruning) keeps
    the curves up to that point; fail loudly when the monitored metric is missing."""
    import keras

    class Curves(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            if MONITOR not in logs:
                raise KeyError(
                    f"fit monitors {MONITOR!r} but the epoch logs only have "
                    f"{sorted(logs)}; validation data is missing"
                )
            for key, value in logs.items():
                history.setdefault(key, []).append(float(value))
            # the rate this epoch trained with (ReduceLROnPlateau may lower it after us)
            rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            history.setdefault("learning_rate", []).append(rate)

    return Curves()


def fit(
    model,
    data: Dataset,
    *,
    epochs: int = 10,
    batch_size: int = 64,
    patience: int = 3,
    lr_patience: int = 1,
    callbacks: tuple | list = (),
    history: dict[str, list[float]] | None = None,
    bucket: bool | None = None,
    verbose: int = 0,
) -> FitResult:
    """Train on ``data.train``, validate on ``data.val`` each epoch, keep the best weights.

    EarlyStopping (``val_loss``, restore best weights) and ReduceLROnPlateau (halve the learning
    rate after ``lr_patience`` flat epochs) lifted the seed study's base LSTM from ~0.83 to ~0.87,
    so every model gets them. TerminateOnNaN ends a diverged run at once.

    Args:
        model: a compiled Keras model (``build_model``).
        data: the tokenised dataset; the test split is not touched.
        epochs: the most epochs to train.
        batch_size: samples per gradient step.
        patience: epochs without a better val_loss before stopping.
        lr_patience: epochs without a better val_loss before the learning rate is halved.
        callbacks: more Keras callbacks (the pruning callback), run after the built-in ones.
        history: dict to record the curves into (filled even if a callback raises).
        bucket: batch reviews of similar length, each batch padded only to its longest review
            (``search.batches``); the model must accept any length (``build_model``'s
            ``maxlen=None``). Off: every batch is padded to ``maxlen``. None (default): on
            exactly when the model masks its padding (``bucketing``).
        verbose: Keras' fit verbosity.
    """
    import keras

    if epochs < 1:
        raise ValueError(f"epochs={epochs!r}; expected an integer >= 1")
    history = {} if history is None else history
    builtin = [
        _curves_callback(history),
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.EarlyStopping(
            monitor=MONITOR, patience=patience, restore_best_weights=True
        ),
        keras.callbacks.ReduceLROnPlateau(
            monitor=MONITOR, factor=0.5, patience=lr_patience, min_lr=1e-5
        ),
    ]
    start = time.perf_counter()
    if bucketing(model, bucket):
        padding = data.settings.padding
        seed = int(np.random.randint(2**31))  # follows keras.utils.set_random_seed
        train = bucketed(*data.train, batch_size, padding=padding, shuffle=True, seed=seed)
        val = bucketed(*data.val, EVAL_BATCH, padding=padding, shuffle=False)
        model.fit(
            train,
            validation_data=val,
            epochs=epochs,
            shuffle=False,  # the batches are shuffled by length bucket, every epoch
            callbacks=[*builtin, *callbacks],
            verbose=verbose,
        )
    else:
        model.fit(
            data.train.x,
            data.train.y,
            validation_data=(data.val.x, data.val.y),
            epochs=epochs,
            batch_size=batch_size,
            callbacks=[*builtin, *callbacks],
            verbose=verbose,
        )
    seconds = time.perf_counter() - start
    val_loss = np.array(history.get(MONITOR, [math.nan]), dtype=float)
    best = int(np.nanargmin(val_loss)) + 1 if np.isfinite(val_loss).any() else 0
    epochs_run = len(history.get(MONITOR, []))
    return FitResult(
        history,
        best,
        epochs_run,
        seconds,
        epochs_run * len(data.train.y) / seconds if seconds > 0 else 0.0,
    )


def fit_fixed(
    model,
    split,
    *,
    epochs: int,
    batch_size: int,
    learning_rates: list[float],
    padding: str = "pre",
    verbose: int = 0,
) -> float:
    """Train for a fixed number of epochs without validation (the final train+val fit),
    replaying the per-epoch learning rates that ReduceLROnPlateau chose with validation.
    Returns the seconds it took."""
    import keras

    def rate(epoch: int, current: float) -> float:
        return learning_rates[min(epoch, len(learning_rates) - 1)]

    start = time.perf_counter()
    callbacks = [keras.callbacks.TerminateOnNaN(), keras.callbacks.LearningRateScheduler(rate)]
    if bucketing(model):
        seed = int(np.random.randint(2**31))
        batches = bucketed(*split, batch_size, padding=padding, shuffle=True, seed=seed)
        model.fit(batches, epochs=epochs, shuffle=False, verbose=verbose, callbacks=callbacks)
    else:
        model.fit(
            split.x,
            split.y,
            epochs=epochs,
            batch_size=batch_size,
            verbose=verbose,
            callbacks=callbacks,
        )
    return time.perf_counter() - start


_MATRICES: dict[tuple, Any] = {}


def trial_data(params: dict[str, Any], data: Dataset) -> Dataset:
    """The trial's cut of the study's tokenisation (its ``maxlen`` and ``vocab_size``).

    Pooled models mask the padding, so it moves to the end: the same tokens, read the same way,
    and the only masks the cuDNN LSTM kernel accepts on a GPU (right-padded).
    """
    p = validate_params(params)
    padding = "post" if uses_mask(p, data.settings.mask_zero) else None
    return data.cut(p["maxlen"], p["vocab_size"], padding)


def model_for(
    params: dict[str, Any],
    data: Dataset,
    *,
    vectors: VectorSettings = VectorSettings(),
):
    """``build_model`` for this dataset (already cut by ``trial_data``), with the pretrained
    matrix when the params ask for one (built once per vocabulary and source, then reused).
    """
    p = validate_params(params)
    matrix = None
    source = pretrained_source(p["embedding"])
    if source:
        # the matrix depends on the vocabulary, not on the cut's maxlen or padding side: a
        # vocabulary cut is a prefix, so the split and its length identify it
        split = (data.settings.val_split, data.settings.seed, len(data.vocabulary))
        key = (data.checksum, *split, source, tuple(sorted(vectors.identity().items())))
        if key not in _MATRICES:
            emb = embedding_matrix(
                data.vocabulary, load_source(source, data, vectors), seed=data.settings.seed
            )
            _MATRICES[key] = emb
            print(
                f"{source} vectors ({emb.name}): {emb.found} of {len(data.vocabulary) - 2} "
                f"vocabulary words found ({emb.coverage:.1%} coverage), dim {emb.matrix.shape[1]}",
                file=sys.stderr,
            )
        matrix = _MATRICES[key].matrix
    return build_model(
        p,
        vocab_size=len(data.vocabulary),
        maxlen=None,  # length-bucketed batches: each as long as its longest review
        embedding_matrix=matrix,
        mask_zero=data.settings.mask_zero,
    )


def train_params(
    params: dict[str, Any],
    data: Dataset,
    *,
    epochs: int,
    seed: int,
    vectors: VectorSettings = VectorSettings(),
    verbose: int = 0,
) -> tuple[Any, FitResult]:
    """Seed, build and fit one configuration on ``data`` (already cut by ``trial_data``);
    returns the model (best weights) and its fit."""
    import keras

    keras.utils.set_random_seed(seed)
    model = model_for(params, data, vectors=vectors)
    result = fit(
        model,
        data,
        epochs=epochs,
        batch_size=validate_params(params)["batch_size"],
        verbose=verbose,
    )
    return model, result


def bucketing(model, bucket: bool | None = None) -> bool:
    """Whether batches are bucketed by length: ``bucket``, else exactly when the model masks
    its padding (pooled models, end padding). There the padding is invisible, so a batch padded
    to its longest review computes what one padded to ``maxlen`` does, in a fraction of the
    steps. A front-padded model without a mask reads its padding as a warm-up before the
    review; cutting the padding changes what it learns (README, "Performance"), so it keeps
    fixed padding unless asked."""
    if bucket is not None:
        return bucket
    return bool(getattr(model.get_layer("embedding"), "mask_zero", False))


def evaluate(model, split, *, padding: str = "pre", bucket: bool | None = None) -> dict[str, float]:
    """Loss and accuracy on ``split``, batched as ``fit`` batches (by length when bucketing)."""
    if bucketing(model, bucket):
        batches = bucketed(*split, EVAL_BATCH, padding=padding, shuffle=False)
        loss, accuracy = model.evaluate(batches, verbose=0)
    else:
        loss, accuracy = model.evaluate(split.x, split.y, batch_size=EVAL_BATCH, verbose=0)
    return {"loss": float(loss), "accuracy": float(accuracy)}


def predict(
    model, x: np.ndarray, *, padding: str = "pre", bucket: bool | None = None
) -> np.ndarray:
    """P(positive) per row of ``x``, in the rows' order."""
    if not bucketing(model, bucket):
        return model.predict(x, batch_size=EVAL_BATCH, verbose=0).reshape(-1)
    out = np.empty(len(x), dtype=np.float32)
    for index in batch_indices(lengths(x), EVAL_BATCH):
        out[index] = model.predict_on_batch(trim(x[index], padding)).reshape(-1)
    return out


def run_preset(
    name: str,
    data: Dataset,
    *,
    epochs: int,
    seed: int,
    vectors: VectorSettings = VectorSettings(),
    batch_size: int | None = None,
    out: Path | None = None,
    verbose: int = 0,
    preset: Preset | None = None,
) -> dict[str, Any]:
    """Train a preset (or ``preset`` itself, named ``name``), evaluate it on val and test,
    optionally save it; one results-table row."""
    import keras

    preset = preset or get_preset(name)
    keras.backend.clear_session()
    params = {**preset.params, **({"batch_size": batch_size} if batch_size else {})}
    data = trial_data(params, data)
    model, result = train_params(
        params, data, epochs=epochs, seed=seed, vectors=vectors, verbose=verbose
    )
    padding = data.settings.padding
    val = evaluate(model, data.val, padding=padding)
    test = evaluate(model, data.test, padding=padding)
    if out is not None:  # raw text in, like every model the product writes
        from search import export

        card = {
            "preset": name,
            "seed": seed,
            "params": validate_params(params),
            "data": {**asdict(data.settings), "checksum": data.checksum},
            "metrics": {"val_accuracy": val["accuracy"], "test_accuracy": test["accuracy"]},
        }
        export.save(export.text_model(model, params, data), out, card, overwrite=True)
    return {
        "preset": name,
        "configuration": preset.description,
        "reported_test_acc": preset.reported,
        "val_acc": round(val["accuracy"], 4),
        "test_acc": round(test["accuracy"], 4),
        "delta": None if preset.reported is None else round(test["accuracy"] - preset.reported, 4),
        "best_epoch": result.best_epoch,
        "epochs": result.epochs_run,
        "fit_seconds": round(result.seconds, 1),
        "params": model.count_params(),
    }


def _params_json(text: str) -> dict[str, Any]:
    try:
        params = json.loads(text)
        if not isinstance(params, dict):
            raise ValueError("not a JSON object")
        validate_params(params)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from exc
    return params


def main(argv: list[str] | None = None) -> int:
    """Train the seed study's presets and compare with the figures it reported."""
    parser = argparse.ArgumentParser(prog="python -m search.train", description=main.__doc__)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--preset",
        action="append",
        choices=sorted(PRESETS),
        help="preset to train (repeat for several)",
    )
    which.add_argument("--all-presets", action="store_true", help="train every preset")
    which.add_argument(
        "--params",
        type=_params_json,
        help='any model params as JSON, e.g. \'{"lstm_units": [64], "pooling": "max"}\'',
    )
    parser.add_argument("--epochs", type=int, default=10, help="most epochs (early stopping)")
    parser.add_argument(
        "--batch-size", type=int, default=None, help="override the presets' batch size"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="a .keras file for one preset, a .csv results table for several",
    )
    parser.add_argument("--verbose", type=int, default=0, choices=(0, 1, 2))
    add_data_arguments(parser)
    add_vector_arguments(parser)
    args = parser.parse_args(argv)
    backend.load()

    if args.batch_size is not None and args.batch_size < 1:
        parser.error(f"--batch-size {args.batch_size}: expected a positive number of reviews")
    if args.epochs < 1:
        parser.error(f"--epochs {args.epochs}: expected a positive number of epochs")
    custom = {"params": Preset(args.params, None, "--params")} if args.params else {}
    if args.all_presets:
        names = sorted(PRESETS, key=list(PRESETS).index)
    else:
        names = list(custom) or args.preset
    single = len(names) == 1
    if args.out is not None:
        wanted = ".keras" if single else ".csv"
        if args.out.suffix != wanted:
            parser.error(
                f"--out {str(args.out)!r}: expected a {wanted} path for "
                f"{'one preset' if single else 'several presets'}"
            )
        try:  # before minutes of training, not after
            writable_folder(args.out.parent)
        except ValueError as exc:
            parser.error(str(exc))
    try:
        return _train_and_report(args, names, custom)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _train_and_report(args: argparse.Namespace, names: list[str], custom: dict) -> int:
    import pandas as pd

    single = len(names) == 1
    vectors = vector_settings_from_args(args)
    needs = [validate_params((custom.get(name) or get_preset(name)).params) for name in names]
    data = load_imdb(
        args.data,
        settings_from_args(
            args,
            maxlen=max((p["maxlen"] or 0 for p in needs), default=0) or None,
            vocab_size=max((p["vocab_size"] or 0 for p in needs), default=0) or None,
        ),
    )
    print(
        f"data: {data.source} train={len(data.train.y)} val={len(data.val.y)} "
        f"test={len(data.test.y)} vocab={len(data.vocabulary)} maxlen={data.settings.maxlen}"
    )
    rows = []
    start = time.perf_counter()
    for name in names:
        row = run_preset(
            name,
            data,
            epochs=args.epochs,
            seed=args.seed,
            vectors=vectors,
            batch_size=args.batch_size,
            out=args.out if single else None,
            verbose=args.verbose,
            preset=custom.get(name),
        )
        rows.append(row)
        print(
            f"{name}: val_acc={row['val_acc']:.4f} test_acc={row['test_acc']:.4f} "
            f"(reported {row['reported_test_acc']}) best_epoch={row['best_epoch']} "
            f"epochs={row['epochs']} {row['fit_seconds']}s",
            flush=True,
        )
        if not single and args.out is not None:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            pd.DataFrame(rows).to_csv(args.out, index=False)  # after each preset: keep progress
    table = pd.DataFrame(rows).drop(columns=["params"])
    print()
    print(table.to_string(index=False))
    print(
        f"\nwall time {time.perf_counter() - start:.0f}s on {platform.node() or 'this machine'} "
        f"({platform.processor() or platform.machine()})"
    )
    if args.out is not None:
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
