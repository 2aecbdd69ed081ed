"""Benchmark: our training path against a bare Keras fit, and tokenisation cold vs cached.

One epoch of the ``bilstm`` preset on the full 20k training split (validation included) through
``search.fitting.fit``, and the same architecture written as a bare ``keras.Sequential(...).fit`` in
the same process, alternated ``--repeats`` times; prints samples/s for both and their ratio. Target:
our overhead under 3%. The verdict is the median of the per-repeat ratios: each repeat runs both
back to back, so the VM's drift in speed cancels within a pair but not between the two sides'
separate medians. Here one epoch runs at either ~470 or ~560 samples/s, whichever code trains it,
so few repeats mislead: 4 repeats measured +4.0% (separate medians), 6 repeats +6.4% (paired),
10 repeats +0.1% (paired).

    python bench/fit_overhead.py --data ../shared/data/aclImdb_v1_labeled.tar.gz
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import keras
from keras import layers

from search.data import DataSettings, load_imdb
from search.fitting import fit
from search.presets import PRESETS
from search.trial import model_for


def bare_model(vocab_size: int, maxlen: int) -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input(shape=(maxlen,), dtype="int32"),
            layers.Embedding(vocab_size, 128),
            layers.Bidirectional(layers.LSTM(64)),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3), loss="binary_crossentropy", metrics=["accuracy"]
    )
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="aclImdb directory or .tar.gz")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        load_imdb(args.data, DataSettings(), cache_dir=cache)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        data = load_imdb(args.data, DataSettings(), cache_dir=cache)
        cached = time.perf_counter() - start
    print(f"load + tokenise, cold: {cold:.2f}s   cached: {cached:.3f}s   ({cold / cached:.0f}x)")

    n = len(data.train.y)
    ours, bare = [], []

    def run_ours(repeat: int) -> None:
        keras.backend.clear_session()
        keras.utils.set_random_seed(repeat)
        model = model_for(PRESETS["bilstm"].params, data)
        # fixed padding, like the bare fit: this measures our path's overhead, not bucketing's
        # gain (bench/throughput.py measures that)
        result = fit(model, data, epochs=1, batch_size=args.batch_size, bucket=False)
        ours.append(n / result.seconds)

    def run_bare(repeat: int) -> None:
        keras.backend.clear_session()
        keras.utils.set_random_seed(repeat)
        model = bare_model(len(data.vocabulary), data.settings.maxlen)
        start = time.perf_counter()
        model.fit(
            data.train.x,
            data.train.y,
            validation_data=(data.val.x, data.val.y),
            epochs=1,
            batch_size=args.batch_size,
            verbose=0,
        )
        bare.append(n / (time.perf_counter() - start))

    for repeat in range(args.repeats):
        # alternate which runs first, so drift in machine speed hits both sides alike
        for run in (run_ours, run_bare) if repeat % 2 == 0 else (run_bare, run_ours):
            run(repeat)
        print(
            f"repeat {repeat}: search.fitting.fit {ours[-1]:.0f} samples/s, "
            f"bare keras fit {bare[-1]:.0f} samples/s"
        )

    a, b = statistics.median(ours), statistics.median(bare)
    ratio = statistics.median(o / r for o, r in zip(ours, bare, strict=True))
    print(f"bilstm, 1 epoch, {n} samples, batch {args.batch_size} (median of {args.repeats}):")
    print(f"  search.fitting.fit   {a:8.0f} samples/s")
    print(f"  bare keras fit     {b:8.0f} samples/s")
    print(f"  paired ratio ours/bare {ratio:.3f}  overhead {100 * (1 - ratio):+.1f}% (target < 3%)")


if __name__ == "__main__":
    main()
