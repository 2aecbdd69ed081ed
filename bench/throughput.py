"""Training throughput with length bucketing against fixed padding, and the LSTM efficiency.

    python bench/throughput.py --data PATH            # full training split, 1 epoch each
    python bench/throughput.py --data PATH --quick    # a subset: under 3 minutes

For LSTM(64), BiLSTM(64) and BiLSTM(64) with max+mean pooling (learned 128d embedding, RMSprop,
batch 64) at maxlen 200, 400 and 800 (front padding, the default; the pooled model masks it),
trains the same model from the same seed with every batch
padded to maxlen ("fixed") and with length-bucketed batches ("bucketed"), both through
``search.fitting.fit``. Prints training samples/s (the first batch, which traces the step, is left
out), the epoch's training seconds, their ratio, and the validation accuracy after the same
epochs; ``--repeats`` gives the run-to-run spread that says what "the same" means.

The efficiency figure: useful LSTM FLOP/s (the four gate matmuls, forward and backward, counted
on real tokens only) as a share of the FLOP/s this machine reaches on a plain matmul of the same
shape (batch x (input + units) @ (input + units) x 4 units), measured in the same run.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np

from search.batches import lengths
from search.data import DataSettings, load_imdb
from search.fitting import fit
from search.model import build_model

MODELS = {  # name: (bidirectional, pooling)
    "LSTM(64)": (False, "last"),
    "BiLSTM(64)": (True, "last"),
    "BiLSTM(64)+maxmean": (True, "max_mean"),  # masked: bucketing is on by default there
}
UNITS, EMBED, BATCH = 64, 128, 64


def timer():
    import keras

    class Timer(keras.callbacks.Callback):
        """Training seconds of each epoch, from the end of its first batch to validation."""

        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []
            self.batches: list[int] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start, self.count = None, 0

        def on_train_batch_end(self, batch, logs=None):
            self.count += 1
            if self.start is None:
                self.start = time.perf_counter()

        def on_test_begin(self, logs=None):  # validation starts: the epoch's training ended
            if self.start is not None:
                self.seconds.append(time.perf_counter() - self.start)
                self.batches.append(self.count - 1)

    return Timer()


def lstm_flops_per_token(bidirectional: bool) -> float:
    """Forward: one (input + units) x 4*units matmul per token, 2 FLOPs a multiply-add;
    backward about twice that (gradients of inputs and of weights)."""
    forward = 2 * (EMBED + UNITS) * 4 * UNITS
    return 3 * forward * (2 if bidirectional else 1)


def matmul_flops_per_second(repeats: int = 500) -> float:
    """What this machine does on the LSTM's gate matmul shape, in TensorFlow."""
    import tensorflow as tf

    a = tf.random.normal((BATCH, EMBED + UNITS))
    b = tf.random.normal((EMBED + UNITS, 4 * UNITS))

    @tf.function
    def loop(a, b):
        total = tf.zeros((BATCH, 4 * UNITS))
        for _ in tf.range(repeats):
            total += tf.matmul(a, b)
        return total

    loop(a, b).numpy()  # trace
    best = float("inf")
    for _ in range(10):
        start = time.perf_counter()
        loop(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * BATCH * (EMBED + UNITS) * 4 * UNITS * repeats / best


def run(data, name: str, bucket: bool, epochs: int, seed: int) -> dict:
    import keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    bidirectional, pooling = MODELS[name]
    params = {"lstm_units": [UNITS], "bidirectional": bidirectional, "pooling": pooling}
    params["optimizer"] = "rmsprop"
    model = build_model(params, vocab_size=len(data.vocabulary), maxlen=None)
    clock = timer()
    result = fit(
        model, data, epochs=epochs, batch_size=BATCH, bucket=bucket, callbacks=[clock], patience=99
    )
    samples = [b * BATCH for b in clock.batches]
    return {
        "samples_per_s": statistics.median(
            s / t for s, t in zip(samples, clock.seconds, strict=True)
        ),
        "epoch_s": statistics.median(clock.seconds) * len(data.train.y) / max(samples[0], 1),
        "val_acc": result.history["val_accuracy"][-1],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="aclImdb directory or .tar.gz")
    parser.add_argument("--quick", action="store_true", help="a subset: a few hundred steps")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1, help="runs per setting (the noise)")
    parser.add_argument("--maxlens", default="200,400,800")
    parser.add_argument("--models", default=",".join(MODELS), help="of " + ", ".join(MODELS))
    args = parser.parse_args(argv)

    import tensorflow as tf

    maxlens = [int(m) for m in args.maxlens.split(",")]
    full = load_imdb(args.data, DataSettings(vocab_size=20000, maxlen=max(maxlens)))
    if args.quick:  # 960 training reviews (15 steps an epoch), 512 validation reviews
        rng = np.random.default_rng(0)
        pick = {"train": rng.permutation(len(full.train.y))[:960], "val": np.arange(512)}
        full = full._replace(
            **{
                name: type(full.train)(*(a[pick[name]] for a in getattr(full, name)))
                for name in pick
            }
        )
    reference = matmul_flops_per_second()
    print(
        f"{platform.machine()}, {tf.config.threading.get_intra_op_parallelism_threads() or 'all'} "
        f"intra-op threads, TF {tf.__version__}; train={len(full.train.y)} val={len(full.val.y)}; "
        f"gate-shaped matmul: {reference / 1e9:.1f} GFLOP/s"
    )
    header = (
        f"{'model':<19}{'maxlen':>7}{'tokens':>8}  {'fixed/s':>8}{'bucket/s':>9}{'ratio':>7}"
        f"{'epoch s fixed':>14}{'bucketed':>9}  {'val acc fixed':>14}{'bucketed':>9}"
        f"  {'LSTM GFLOP/s':>12}{'share':>7}"
    )
    print(header)
    last = None
    for name in args.models.split(","):
        bidirectional = MODELS[name][0]
        for maxlen in maxlens:
            data = full.cut(maxlen=maxlen)
            real = lengths(data.train.x).sum() / data.train.x.size
            rows = {
                bucket: [run(data, name, bucket, args.epochs, seed) for seed in range(args.repeats)]
                for bucket in (False, True)
            }

            def med(key, bucket, rows=rows):
                return statistics.median(r[key] for r in rows[bucket])

            ratio = med("samples_per_s", True) / med("samples_per_s", False)
            tokens_per_sample = lengths(data.train.x).mean()
            achieved = (
                med("samples_per_s", True) * tokens_per_sample * lstm_flops_per_token(bidirectional)
            )
            spread = " ".join(
                f"{r['val_acc']:.3f}" for bucket in (False, True) for r in rows[bucket]
            )
            print(
                f"{name:<19}{maxlen:>7}{real:>8.0%}  {med('samples_per_s', False):>8.0f}"
                f"{med('samples_per_s', True):>9.0f}{ratio:>7.2f}{med('epoch_s', False):>14.0f}"
                f"{med('epoch_s', True):>9.0f}  {med('val_acc', False):>14.4f}"
                f"{med('val_acc', True):>9.4f}  {achieved / 1e9:>12.2f}{achieved / reference:>7.1%}"
                + (f"   (val acc per run: {spread})" if args.repeats > 1 else ""),
                flush=True,
            )
            if name == "BiLSTM(64)" and maxlen == 400:
                last = ratio
    print(f"gate-shaped matmul again at the end: {matmul_flops_per_second() / 1e9:.1f} GFLOP/s")
    if last is not None:
        print(f"BiLSTM(64) maxlen 400: bucketed / fixed samples/s = {last:.2f}")


if __name__ == "__main__":
    main()
