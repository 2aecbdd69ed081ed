"""Benchmark: a classifier started from the language model against the same classifier over
domain word vectors, the same data, split and seed; and what the pretraining cost.

    python bench/pretrain.py --data ../shared/data/aclImdb_v1_labeled.tar.gz \
        --unsup ../shared/data/aclImdb_v1_unsup.tar.gz --units 64 --budgets 10 30 60

Pretrains (or reads from the cache) one LSTM language model per ``--budgets`` value (minutes)
through ``search.pretrain``, then trains the ``domain_pooled`` preset (BiLSTM over fine-tuned
domain vectors, max+mean pooled, last 500 tokens, 40k words) once as it is and once per budget
with ``embedding=lm_tuned`` (its LSTM width set to ``--units``, so the forward half can take the
language model's layer), through ``search.train.run_preset`` (early stopping, the test split
scored once). Prints the language models' perplexity, tokens/s and minutes, and each
classifier's val and test accuracy, epochs and training seconds: the curve of accuracy against
pretraining minutes.
"""

from __future__ import annotations

import argparse
import platform
import time

from search import backend
from search.data import DataSettings, load_imdb
from search.embeddings import VectorSettings
from search.presets import DOMAIN_POOLED, Preset
from search.pretrain import PretrainSettings, pretrain
from search.train import run_preset


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--unsup", default=None, help="unlabeled reviews")
    parser.add_argument("--units", type=int, default=64, help="LSTM width of both (64)")
    parser.add_argument("--budgets", type=float, nargs="+", default=[30.0], help="minutes")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-domain", action="store_true", help="skip the domain-vector run")
    args = parser.parse_args()
    backend.load()
    import keras
    import tensorflow as tf

    settings = DataSettings(maxlen=DOMAIN_POOLED["maxlen"], vocab_size=DOMAIN_POOLED["vocab_size"])
    data = load_imdb(args.data, settings)
    print(
        f"{time.strftime('%Y-%m-%d %H:%M')} {platform.node()} {platform.processor() or ''} "
        f"tensorflow {tf.__version__} keras {keras.__version__}; train={len(data.train.y)} "
        f"val={len(data.val.y)} test={len(data.test.y)}, seed {args.seed}",
        flush=True,
    )
    base = {**DOMAIN_POOLED, "lstm_units": [args.units] * len(DOMAIN_POOLED["lstm_units"])}
    runs = (
        [] if args.no_domain else [("domain_tuned", None, base, VectorSettings(unsup=args.unsup))]
    )
    for minutes in args.budgets:
        vectors = VectorSettings(unsup=args.unsup, lm_units=args.units, lm_budget=minutes)
        runs.append(
            (f"lm_tuned, {minutes:g} min", minutes, {**base, "embedding": "lm_tuned"}, vectors)
        )
    rows = []
    for name, minutes, params, vectors in runs:
        lm = None
        if minutes is not None:
            start = time.perf_counter()
            lm = pretrain(
                data, PretrainSettings(units=args.units, budget=minutes), unsup=args.unsup
            )
            print(
                f"{name}: language model {lm.info} ({time.perf_counter() - start:.0f}s)", flush=True
            )
        row = run_preset(
            name,
            data,
            epochs=args.epochs,
            seed=args.seed,
            vectors=vectors,
            preset=Preset(params, None, name),
            progress=lambda line: print(line, flush=True),
        )
        rows.append((name, lm, row))
        print(row, flush=True)
    heads = ("perplexity", "tokens/s", "val acc", "test acc", "epochs", "fit s")
    print("\n" + f"{'start':<22}" + " ".join(f"{h:>10}" for h in heads))
    for name, lm, row in rows:
        ppl = f"{lm.info['perplexity']:>10.1f}" if lm else f"{'-':>10}"
        rate = f"{lm.info['tokens_per_second']:>10,}" if lm else f"{'-':>10}"
        print(
            f"{name:<22}{ppl} {rate} {row['val_acc']:>10.4f} {row['test_acc']:>10.4f} "
            f"{row['epochs']:>10} {row['fit_seconds']:>10.0f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
