"""The presets CLI: train the seed study's presets (or any params) and compare with what it
reported. Training itself is ``search.fitting.fit``; assembly is ``search.trial``.

    python -m search.train --preset bilstm --data ../aclImdb_v1.tar.gz
    python -m search.train --all-presets --out results.csv
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from search import backend
from search.data import Dataset, load_imdb
from search.embeddings import (
    VectorSettings,
)
from search.files import writable_folder
from search.fitting import evaluate
from search.options import (
    add_data_arguments,
    add_vector_arguments,
    settings_from_args,
    vector_settings_from_args,
)
from search.params import ModelParams
from search.presets import MEASURED, PRESETS, Preset, get_preset
from search.trial import train_params, trial_data
from search.vectors import resolve_unsup


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
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train a preset (or ``preset`` itself, named ``name``), evaluate it on val and test,
    optionally save it; one results-table row."""
    import keras

    preset = preset or get_preset(name)
    keras.backend.clear_session()
    params = ModelParams.of({**preset.params, **({"batch_size": batch_size} if batch_size else {})})
    data = trial_data(params, data, vectors)
    model, result = train_params(
        params,
        data,
        epochs=epochs,
        seed=seed,
        vectors=vectors,
        verbose=verbose,
        progress=progress,
        label=name,
    )
    padding = data.settings.padding
    val = evaluate(model, data.val, padding=padding)
    test = evaluate(model, data.test, padding=padding)
    if out is not None:  # raw text in, like every model the product writes
        from search import export

        card = {
            "preset": name,
            "seed": seed,
            "params": params.as_dict(),
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
        ModelParams.of(params)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from exc
    return params


def main(argv: list[str] | None = None) -> int:
    """The command: the library's lines shown on the console while it runs."""
    from search import display

    with display.console():
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    """Train the seed study's presets and compare with the figures it reported."""
    parser = argparse.ArgumentParser(prog="python -m search.train", description=_main.__doc__)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--preset",
        action="append",
        choices=sorted({**PRESETS, **MEASURED}),
        help="preset to train (repeat for several): the seed study's, or one measured here",
    )
    which.add_argument(
        "--all-presets", action="store_true", help="train every preset of the seed study"
    )
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
    parser.add_argument("--quiet", action="store_true", help="no line per epoch")
    parser.add_argument(
        "--verbose", type=int, default=0, choices=(0, 1, 2), help="Keras' own progress bars"
    )
    add_data_arguments(parser)
    add_vector_arguments(parser)
    args = parser.parse_args(argv)
    backend.load()

    if args.batch_size is not None and args.batch_size < 1:
        parser.error(f"--batch-size {args.batch_size}: expected a positive number of reviews")
    if args.epochs < 1:
        parser.error(f"--epochs {args.epochs}: expected a positive number of epochs")
    custom = {"params": Preset(args.params, None, "--params")} if args.params is not None else {}
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
    if vectors.unsup:  # a wrong path is told now, not after minutes of loading
        resolve_unsup(vectors.unsup, "")
    needs = [ModelParams.of((custom.get(name) or get_preset(name)).params) for name in names]
    data = load_imdb(
        args.data,
        settings_from_args(
            args,
            maxlen=max((p.maxlen or 0 for p in needs), default=0) or None,
            vocab_size=max((p.vocab_size or 0 for p in needs), default=0) or None,
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
            progress=None if args.quiet else lambda line: print(line, flush=True),
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
    # run as search.train, not as __main__, so its log lines come from the 'search' logger the
    # console shows
    from search.train import main as command

    sys.exit(command())
