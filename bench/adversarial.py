"""Benchmark: adversarial training side by side, the same configuration, data, split and seed.

    python bench/adversarial.py --data ../shared/data/aclImdb_v1_labeled.tar.gz \
        --unsup ../shared/data/aclImdb_v1_unsup.tar.gz --kinds none at

Trains the ``domain_pooled`` preset (BiLSTM(64) over fine-tuned domain word2vec vectors, max+mean
pooled, last 500 tokens, 40k words; the product's best LSTM so far) once per ``--kinds`` value of
``adversarial`` through ``search.train.run_preset`` (early stopping, the test split scored once),
one after the other, and prints val and test accuracy, epochs, training seconds and samples/s.
"""

from __future__ import annotations

import argparse
import platform
import time

from search import backend
from search.data import DataSettings, load_imdb
from search.embeddings import VectorSettings
from search.presets import DOMAIN_POOLED, Preset
from search.train import run_preset


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--unsup", default=None, help="unlabeled reviews (domain vectors, VAT)")
    parser.add_argument("--kinds", nargs="+", default=["none", "at"], choices=["none", "at", "vat"])
    parser.add_argument("--epsilon", type=float, default=5.0)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    backend.load()
    import keras
    import tensorflow as tf

    settings = DataSettings(maxlen=DOMAIN_POOLED["maxlen"], vocab_size=DOMAIN_POOLED["vocab_size"])
    data = load_imdb(args.data, settings)
    vectors = VectorSettings(unsup=args.unsup)
    print(
        f"{time.strftime('%Y-%m-%d %H:%M')} {platform.node()} {platform.processor() or ''} "
        f"tensorflow {tf.__version__} keras {keras.__version__}; train={len(data.train.y)} "
        f"val={len(data.val.y)} test={len(data.test.y)}, seed {args.seed}"
    )
    rows = []
    for kind in args.kinds:
        params = {**DOMAIN_POOLED, "adversarial": kind, "adv_epsilon": args.epsilon}
        preset = Preset(params, None, f"domain_pooled, adversarial={kind}")
        row = run_preset(
            f"domain_pooled+{kind}",
            data,
            epochs=args.epochs,
            seed=args.seed,
            vectors=vectors,
            preset=preset,
            progress=lambda line: print(line, flush=True),
        )
        row["samples_per_second"] = round(row["epochs"] * len(data.train.y) / row["fit_seconds"])
        rows.append(row)
        print(row, flush=True)
    heads = ("val acc", "test acc", "epochs", "fit s", "samples/s")
    print("\nadversarial  " + " ".join(f"{h:>9}" for h in heads))
    for kind, row in zip(args.kinds, rows, strict=True):
        print(
            f"{kind:<12} {row['val_acc']:>9.4f} {row['test_acc']:>9.4f} {row['epochs']:>9} "
            f"{row['fit_seconds']:>9.0f} {row['samples_per_second']:>9}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
