"""A language model on the reviews themselves: an LSTM that predicts the next word of IMDB's
training and unlabeled reviews, at a study's vocabulary, as a starting point for a classifier
(Dai & Le 2015; ULMFiT). It reads no validation or test review, and no label.

The output layer is a sampled softmax in training (``SAMPLES`` negatives drawn log-uniformly,
which suits a vocabulary ordered by frequency, as the study's is), so its cost does not grow
with the vocabulary; perplexity is measured with the full softmax on a held-out slice of the
unlabeled reviews. Training runs for a wall budget, in chunks of ``CHUNK`` steps: after each,
a checkpoint (weights, optimizer state, steps and seconds so far) lets an interrupted run go on
where it stopped. The result is cached by the data's and the unlabeled reviews' checksums and
the settings, as the domain vectors are.

    python -m search.pretrain --data PATH --unsup PATH --units 128 --budget 30
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from search.data import Dataset, default_cache_dir, load_cache, save_cache

log = logging.getLogger(__name__)

CACHE_VERSION = 1
SAMPLES = 512  # sampled-softmax negatives a step
CHUNK = 200  # steps between checkpoints and progress lines
HELD_OUT_TOKENS = 20000  # of the held-out reviews, what perplexity is measured on


@dataclass(frozen=True)
class PretrainSettings:
    """What a language model is: its identity in the cache, with the data's."""

    units: int = 128
    embedding_dim: int = 100
    budget: float = 30.0  # minutes of training
    # the study vocabulary's first words it models (a trial's vocabulary is a prefix of the
    # study's, so one model serves every cut: the default space's smallest, 20k)
    vocab_size: int = 20000
    maxlen: int = 400  # tokens read of each review
    bptt: int = 64  # tokens a training window predicts
    batch_size: int = 64
    held_out: int = 500  # unlabeled reviews kept out of training, for perplexity
    backward: bool = False  # read the reviews right to left (ULMFiT's second model)
    seed: int = 0
    max_steps: int | None = None  # a bound besides the budget (tests, quick looks)

    def __post_init__(self) -> None:
        for name in ("units", "embedding_dim", "vocab_size", "maxlen", "bptt", "batch_size"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f"{name}={value!r}: expected a positive whole number")
        if not (isinstance(self.budget, int | float) and self.budget > 0):
            raise ValueError(f"budget={self.budget!r}: expected minutes > 0, e.g. --budget 30")


class LanguageModel(NamedTuple):
    """What a classifier starts from: the embedding and the LSTM layer's weights (Keras'
    order: kernel, recurrent kernel, bias), and what the pretraining measured."""

    embedding: np.ndarray  # (vocab, embedding_dim)
    lstm: list[np.ndarray]
    info: dict


def streams(train: np.ndarray, unlabeled: np.ndarray, held_out: int, backward: bool = False):
    """The training stream (the training reviews, then the unlabeled ones but the last
    ``held_out``) and the held-out stream, as 1-D token ids, padding dropped."""

    def flat(rows: np.ndarray) -> np.ndarray:
        kept = [row[row > 0] for row in rows]
        kept = [row[::-1] for row in kept] if backward else kept
        return np.concatenate(kept).astype(np.int32) if kept else np.zeros(0, np.int32)

    held = min(held_out, len(unlabeled) // 2)
    return flat(np.concatenate([train, unlabeled[: len(unlabeled) - held]])), flat(
        unlabeled[len(unlabeled) - held :]
    )


def _cache_base(data: Dataset, settings: PretrainSettings, unsup) -> tuple[Path, Path]:
    """Where the unlabeled reviews are, and the cache path (no suffix) of this model."""
    from search.vectors import resolve_unsup, unsup_checksum

    found = resolve_unsup(None if unsup is None else str(unsup), data.source)
    vocabulary = data.vocabulary[: settings.vocab_size]
    return found, cache_path(data, vocabulary, unsup_checksum(found), settings)


def cache_path(data: Dataset, vocabulary: list[str], unsup: str, s: PretrainSettings) -> Path:
    """Keyed by what the model learns from: the data and its split, the vocabulary it models,
    the unlabeled reviews, the settings; not by a trial's cut, so every trial shares one."""
    blob = json.dumps(
        {
            "v": CACHE_VERSION,
            "data": data.checksum,
            "split": [data.settings.val_split, data.settings.seed],
            "words": hashlib.sha256("\n".join(vocabulary).encode()).hexdigest(),
            "unsup": unsup,
            **asdict(s),
        },
        sort_keys=True,
    )
    return default_cache_dir() / f"lm-{hashlib.sha256(blob.encode()).hexdigest()[:24]}"


def corpus(data: Dataset, vocabulary: list[str], unsup: Path, maxlen: int):
    """Token ids of the training split's reviews and of the unlabeled ones, at ``vocabulary``,
    read from the archives: the validation and test reviews are never read into it."""
    from dataclasses import replace

    from search.data import encode, read_splits
    from search.unlabeled import vectorizer
    from search.vectors import read_unsup

    settings = replace(data.settings, maxlen=maxlen, padding="post")
    train = read_splits(Path(data.source), data.settings)["train"].texts
    words = vectorizer(vocabulary)
    return encode(words, train, settings), encode(words, read_unsup(unsup), settings)


def build(vocab: int, settings: PretrainSettings):
    """The language model: embedding -> LSTM -> softmax weights, trained by a sampled softmax."""
    import keras
    import tensorflow as tf

    class Model(keras.Model):
        def __init__(self):
            super().__init__()
            self.embedding = keras.layers.Embedding(vocab, settings.embedding_dim, name="embedding")
            self.lstm = keras.layers.LSTM(settings.units, return_sequences=True, name="lstm")
            self.out_w = self.add_weight(
                shape=(vocab, settings.units), initializer="glorot_uniform", name="softmax_w"
            )
            self.out_b = self.add_weight(shape=(vocab,), initializer="zeros", name="softmax_b")
            self.tracker = keras.metrics.Mean(name="loss")

        def call(self, x, training=False):
            return self.lstm(self.embedding(x), training=training)

        @property
        def metrics(self):
            return [self.tracker]

        def sampled_loss(self, x, y, training):
            hidden = tf.reshape(self(x, training=training), (-1, settings.units))
            return tf.reduce_mean(
                tf.nn.sampled_softmax_loss(
                    self.out_w,
                    self.out_b,
                    tf.reshape(tf.cast(y, tf.int64), (-1, 1)),
                    hidden,
                    num_sampled=min(SAMPLES, vocab - 1),
                    num_classes=vocab,
                )
            )

        def train_step(self, batch):
            x, y, _ = keras.utils.unpack_x_y_sample_weight(batch)
            with tf.GradientTape() as tape:
                loss = self.sampled_loss(x, y, training=True)
            grads = tape.gradient(loss, self.trainable_variables)
            self.optimizer.apply_gradients(zip(grads, self.trainable_variables, strict=True))
            self.tracker.update_state(loss)
            return {"loss": self.tracker.result()}

        def full_loss(self, x, y) -> float:
            """Mean cross-entropy with the full softmax (perplexity is its exp)."""
            hidden = tf.reshape(self(x), (-1, settings.units))
            logits = tf.matmul(hidden, self.out_w, transpose_b=True) + self.out_b
            labels = tf.reshape(tf.cast(y, tf.int64), (-1,))
            return float(
                tf.reduce_mean(
                    tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
                )
            )

    model = Model()
    model.compile(optimizer=keras.optimizers.Adam(1e-3, clipnorm=1.0))
    model(np.zeros((1, settings.bptt), np.int32))  # built: weights exist to save and load
    model.optimizer.build(model.trainable_variables)
    return model


def windows(stream: np.ndarray, settings: PretrainSettings, seed: int):
    """Endless batches of random windows: ``x`` a window, ``y`` the same shifted by one."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    span = len(stream) - settings.bptt - 1
    if span < 1:
        raise ValueError(
            f"{len(stream)} training tokens are too few for windows of {settings.bptt}"
        )
    offsets = np.arange(settings.bptt + 1)

    def generate():
        while True:
            rows = stream[rng.integers(0, span, settings.batch_size)[:, None] + offsets]
            yield rows[:, :-1], rows[:, 1:]

    spec = tf.TensorSpec((settings.batch_size, settings.bptt), tf.int32)
    return tf.data.Dataset.from_generator(generate, output_signature=(spec, spec)).prefetch(2)


def perplexity(model, stream: np.ndarray, settings: PretrainSettings) -> float:
    """Full-softmax perplexity on the first ``HELD_OUT_TOKENS`` of ``stream``."""
    n = min(len(stream) - 1, HELD_OUT_TOKENS) // settings.bptt * settings.bptt
    if n < settings.bptt:
        return math.nan
    x = stream[:n].reshape(-1, settings.bptt)
    y = stream[1 : n + 1].reshape(-1, settings.bptt)
    losses = [model.full_loss(x[i : i + 64], y[i : i + 64]) for i in range(0, len(x), 64)]
    sizes = [len(x[i : i + 64]) for i in range(0, len(x), 64)]
    return float(math.exp(np.average(losses, weights=sizes)))


def _save_checkpoint(path: Path, model, state: dict) -> None:
    arrays = {f"w{i}": w for i, w in enumerate(model.get_weights())}
    arrays |= {f"o{i}": np.asarray(v) for i, v in enumerate(model.optimizer.variables)}
    arrays["state"] = np.array(json.dumps(state))
    save_cache(path, arrays)


def _load_checkpoint(path: Path, model) -> dict | None:
    arrays = load_cache(path, ("state",))
    if arrays is None:
        return None
    model.set_weights([arrays[f"w{i}"] for i in range(len(model.get_weights()))])
    for i, variable in enumerate(model.optimizer.variables):
        variable.assign(arrays[f"o{i}"])
    return json.loads(str(arrays["state"]))


def pretrain(
    data: Dataset,
    settings: PretrainSettings = PretrainSettings(),
    *,
    unsup: str | Path | None = None,
    stop=None,
) -> LanguageModel:
    """The language model of ``data``'s training reviews and the unlabeled ones (``unsup``, as
    ``--unsup`` finds them) at the first ``settings.vocab_size`` words of ``data``'s vocabulary,
    from the cache or trained now for ``settings.budget`` minutes (an interrupted run goes on
    from its checkpoint). ``stop(steps)``: asked after every chunk; True ends the run there,
    as an interruption would (tests)."""
    import keras

    vocabulary = data.vocabulary[: settings.vocab_size]
    found, base = _cache_base(data, settings, unsup)
    done, partial = base.with_suffix(".npz"), base.with_suffix(".partial.npz")
    cached = load_cache(done, ("embedding", "info"))
    if cached is not None:
        lstm = [cached[f"lstm{i}"] for i in range(3)]
        return LanguageModel(cached["embedding"], lstm, json.loads(str(cached["info"])))

    reviews, unlabeled = corpus(data, vocabulary, found, settings.maxlen)
    train, held = streams(reviews, unlabeled, settings.held_out, settings.backward)
    per_review = max(float(np.concatenate([reviews > 0, unlabeled > 0]).sum(1).mean()), 1.0)
    keras.utils.set_random_seed(settings.seed)
    model = build(len(vocabulary), settings)
    state = _load_checkpoint(partial, model) or {"steps": 0, "seconds": 0.0}
    if state["steps"]:
        log.info(
            f"language model: resuming at step {state['steps']} ({state['seconds']:.0f}s of "
            f"{settings.budget * 60:.0f}s done) from {partial}"
        )
    else:
        log.info(
            f"language model: LSTM({settings.units}) on {len(train):,} tokens of training and "
            f"unlabeled reviews, vocabulary {len(vocabulary):,}, "
            f"{settings.budget:g} minutes (once; cached)"
        )
    budget = settings.budget * 60
    batches = iter(windows(train, settings, settings.seed + state["steps"]))
    tokens = settings.batch_size * settings.bptt
    while state["seconds"] < budget and (
        settings.max_steps is None or state["steps"] < settings.max_steps
    ):
        steps = CHUNK
        if settings.max_steps is not None:
            steps = min(steps, settings.max_steps - state["steps"])
        began = time.perf_counter()
        for i in range(steps):
            logs = model.train_on_batch(*next(batches), return_dict=True)
            if time.perf_counter() - began + state["seconds"] >= budget:
                steps = i + 1
                break
        state["seconds"] += time.perf_counter() - began
        state["steps"] += steps
        state["loss"] = float(logs["loss"])
        _save_checkpoint(partial, model, state)
        rate = state["steps"] * tokens / max(state["seconds"], 1e-9)
        left = max(budget - state["seconds"], 0)
        log.info(
            f"language model: step {state['steps']:,}, sampled loss {state['loss']:.3f}, "
            f"{rate:,.0f} tokens/s ({rate / per_review:,.0f} reviews/s), "
            f"{state['seconds'] / 60:.1f} of {settings.budget:g} min"
            + (f", {left / 60:.1f} min left" if left else "")
        )
        if stop is not None and stop(state["steps"]):
            raise KeyboardInterrupt(f"stopped at step {state['steps']}")
    ppl = perplexity(model, held, settings)
    info = {
        "perplexity": round(ppl, 2),
        "steps": state["steps"],
        "seconds": round(state["seconds"], 1),
        "tokens": state["steps"] * tokens,
        "tokens_per_second": round(state["steps"] * tokens / max(state["seconds"], 1e-9)),
        "training_tokens": int(len(train)),
        "held_out_tokens": int(min(len(held), HELD_OUT_TOKENS)),
        "settings": asdict(settings),
    }
    log.info(
        f"language model: held-out perplexity {ppl:.1f} after {info['tokens']:,} tokens "
        f"({info['tokens_per_second']:,} tokens/s) -> {done}"
    )
    lstm = model.lstm.get_weights()
    arrays = {"embedding": model.embedding.get_weights()[0], "info": np.array(json.dumps(info))}
    arrays |= {f"lstm{i}": w for i, w in enumerate(lstm)}
    if save_cache(done, arrays):
        partial.unlink(missing_ok=True)
    return LanguageModel(arrays["embedding"], lstm, info)


_LOADED: dict[tuple, LanguageModel] = {}


def _study_key(data: Dataset, vectors) -> tuple[tuple, PretrainSettings]:
    settings = PretrainSettings(units=vectors.lm_units, budget=vectors.lm_budget)
    vocabulary = data.vocabulary[: settings.vocab_size]
    key = (data.checksum, data.settings.val_split, data.settings.seed, tuple(vocabulary))
    return (*key, vectors.unsup, settings), settings


def language_model(data: Dataset, vectors) -> LanguageModel:
    """The study's language model (``vectors``: a ``VectorSettings``, whose ``lm_units`` and
    ``lm_budget`` it takes), trained or read once a process."""
    key, settings = _study_key(data, vectors)
    if key not in _LOADED:
        _LOADED.clear()  # one study's model at a time
        _LOADED[key] = pretrain(data, settings, unsup=vectors.unsup)
    return _LOADED[key]


def is_ready(data: Dataset, vectors) -> bool:
    """Loaded in this process or cached on disk: no pretraining left to do."""
    key, settings = _study_key(data, vectors)
    if key in _LOADED:
        return True
    return _cache_base(data, settings, vectors.unsup)[1].with_suffix(".npz").exists()


SHARE_OF_LEFT = 0.5  # of the time --timeout has left, what pretraining may take


def prepare_for_study(study, data: Dataset, vectors, deadline: float | None) -> str | None:
    """Get the study's language model before the first trial that starts from it, and record
    its perplexity and cost in the study (the report says what share of the budget it took).
    Returns why not (the trial is pruned with it, and the log says how to prepare it ahead)
    when pretraining ``lm_budget`` minutes would take more than ``SHARE_OF_LEFT`` of the time
    ``deadline`` leaves; None once it is ready."""
    from search import study_attrs

    ready = is_ready(data, vectors)
    if not ready and deadline is not None:
        left = max(deadline - time.monotonic(), 0) / 60
        if vectors.lm_budget > SHARE_OF_LEFT * left:
            log.warning(
                f"language model: not pretrained yet, and {vectors.lm_budget:g} minutes of "
                f"pretraining would take more than {SHARE_OF_LEFT:.0%} of the {left:.0f} minutes "
                f"--timeout has left: its trials are pruned. Prepare it ahead: python -m "
                f"search.pretrain --budget {vectors.lm_budget:g} (with the study's --data and "
                f"--unsup), or give the study a longer --timeout"
            )
            return (
                f"pruned: pretraining its language model ({vectors.lm_budget:g} min) needs "
                f"over {SHARE_OF_LEFT:.0%} of the {left:.0f} min left"
            )
    began = time.perf_counter()
    lm = language_model(data, vectors)
    recorded = study_attrs.StudyAttrs.of(study).language_model
    if recorded is None or not ready:
        spent = 0.0 if ready else round(time.perf_counter() - began, 1)
        study_attrs.write_language_model(study, {**lm.info, "seconds_in_study": spent})
    return None


def first_layer(model, p):
    """The classifier's first LSTM layer the language model initialises (a BiLSTM's forward
    half)."""
    if p.bidirectional:
        return model.get_layer("bilstm_0").forward_layer
    return model.get_layer("lstm_0")


def check_fits(p, lm: LanguageModel) -> None:
    """A classifier can start from the language model only if its first LSTM layer reads the
    embeddings directly and has the model's width: one line that says what to change."""
    units = lm.lstm[1].shape[0]
    if p.lstm_units[0] != units:
        raise ValueError(
            f"embedding={p.embedding!r} starts the first LSTM layer from a {units}-unit language "
            f"model; got lstm_units[0]={p.lstm_units[0]}: use {units} (or pretrain with --units "
            f"{p.lstm_units[0]})"
        )
    if p.conv_filters:
        raise ValueError(
            f"embedding={p.embedding!r} feeds the embeddings to the pretrained LSTM layer; "
            f"conv_filters={p.conv_filters} would come between: use conv_filters=0"
        )


def main(argv: list[str] | None = None) -> int:
    """The command: the library's lines shown on the console while it runs."""
    from search import display

    with display.console():
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    from search import backend
    from search.data import load_imdb
    from search.options import (
        add_data_arguments,
        add_vector_arguments,
        settings_from_args,
        vector_settings_from_args,
    )

    parser = argparse.ArgumentParser(prog="python -m search.pretrain", description=__doc__)
    add_data_arguments(parser)
    add_vector_arguments(parser)
    group = parser.add_argument_group("language model")
    defaults = PretrainSettings()
    group.add_argument("--units", type=int, default=defaults.units, help="LSTM units (128)")
    group.add_argument(
        "--budget", type=float, default=defaults.budget, help="minutes of training (30)"
    )
    group.add_argument("--backward", action="store_true", help="read reviews right to left")
    args = parser.parse_args(argv)
    try:
        settings = PretrainSettings(units=args.units, budget=args.budget, backward=args.backward)
        vectors = vector_settings_from_args(args)
        backend.load()
        data = load_imdb(args.data, settings_from_args(args))
        lm = pretrain(data, settings, unsup=vectors.unsup)
    except (ValueError, FileNotFoundError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: the checkpoint is kept; the same command goes on from it")
        return 130
    info = lm.info
    print(
        f"LSTM({settings.units}) language model: held-out perplexity {info['perplexity']}, "
        f"{info['tokens']:,} tokens in {info['seconds']:.0f}s ({info['tokens_per_second']:,} "
        "tokens/s)"
    )
    return 0


if __name__ == "__main__":
    from search.pretrain import main as command

    sys.exit(command())
