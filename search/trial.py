"""One trial, engine-neutral: params -> the trial's cut of the data -> model -> fit -> record.

Optuna's objective (``search.objective``) and KerasTuner's hypermodel (``search.kerastuner``) are
thin adapters over these two steps, as KerasTuner splits ``HyperModel.build(hp)`` from
``HyperModel.fit(hp, model, ...)``: the engine brings its callbacks (pruning, checkpoints) and a
``write`` that stores ``search.record`` fields where the engine keeps its trials.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from search import interrupt, record
from search.data import Dataset
from search.embeddings import VectorSettings, embedding_matrix, pretrained_source
from search.fitting import FitResult, fit
from search.model import build_model
from search.params import ModelParams
from search.vectors import load_source

log = logging.getLogger(__name__)

Write = Callable[..., None]  # write(**record fields)
# the functions a caller outside the trial path uses take a plain dict too; ModelParams pass
# through ``ModelParams.of`` as they are
Params = ModelParams | Mapping[str, Any]

_MATRICES: dict[tuple, Any] = {}
_POOLS: dict[tuple, Dataset] = {}  # the study's data with its unlabeled pool, once a process


def _with_pool(data: Dataset, vectors: VectorSettings) -> Dataset:
    from search.unlabeled import with_unlabeled

    key = (data.checksum, data.settings, vectors.unsup)
    if key not in _POOLS:
        _POOLS.clear()  # one study's pool at a time: it is the largest array a trial holds
        _POOLS[key] = with_unlabeled(data, vectors)
    return _POOLS[key]


def trial_data(params: Params, data: Dataset, vectors: VectorSettings | None = None) -> Dataset:
    """The trial's cut of the study's tokenisation (its ``maxlen`` and ``vocab_size``).

    Pooled models mask the padding, so it moves to the end: the same tokens, read the same way,
    and the only masks the cuDNN LSTM kernel accepts on a GPU (right-padded).
    """
    p = ModelParams.of(params)
    if p.adversarial == "vat" and vectors is not None:  # VAT's unlabeled pool, cut alike
        data = _with_pool(data, vectors)
    padding = "post" if p.uses_mask(data.settings.mask_zero) else None
    return data.cut(p.maxlen, p.vocab_size, padding)


def model_for(
    params: Params,
    data: Dataset,
    *,
    vectors: VectorSettings = VectorSettings(),
):
    """``build_model`` for this dataset (already cut by ``trial_data``), with the pretrained
    matrix when the params ask for one (built once per vocabulary and source, then reused).
    """
    p = ModelParams.of(params)
    matrix = None
    source = pretrained_source(p.embedding)
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
            log.info(
                f"{source} vectors ({emb.name}): {emb.found} of {len(data.vocabulary) - 2} "
                f"vocabulary words found ({emb.coverage:.1%} coverage), dim {emb.matrix.shape[1]}"
            )
        matrix = _MATRICES[key].matrix
    lm = None
    if source == "lm":  # the first LSTM layer starts from the language model's too
        from search import pretrain

        lm = pretrain.language_model(data, vectors)
        pretrain.check_fits(p, lm)
    model = build_model(
        p,
        vocab_size=len(data.vocabulary),
        maxlen=None,  # length-bucketed batches: each as long as its longest review
        embedding_matrix=matrix,
        mask_zero=data.settings.mask_zero,
    )
    if lm is not None:
        pretrain.first_layer(model, p).set_weights(lm.lstm)
    return model


class OutOfMemory(RuntimeError):
    """A model too large for this machine: one line that names its sizes, instead of
    TensorFlow's 34-line ResourceExhaustedError (a study records it as the trial's reason)."""


@contextlib.contextmanager
def memory_bounded(p: ModelParams) -> Iterator[None]:
    """Turn an out-of-memory error while building or training ``p`` into ``OutOfMemory``."""
    try:
        yield
    except Exception as exc:
        if not isinstance(exc, MemoryError) and type(exc).__name__ != "ResourceExhaustedError":
            raise
        sizes = ", ".join(
            f"{k}={getattr(p, k)}"
            for k in ("lstm_units", "bidirectional", "embedding_dim", "batch_size", "maxlen")
        )
        raise OutOfMemory(
            f"out of memory for a model with {sizes}; use smaller sizes, or a smaller batch"
        ) from None


def assemble(
    p: ModelParams, data: Dataset, *, seed: int, vectors: VectorSettings, write: Write
) -> tuple[Dataset, Any]:
    """Seed Keras, cut the data and build the model; records what the trial is."""
    import keras

    write(seed=seed)
    keras.utils.set_random_seed(seed)
    cut = trial_data(p, data, vectors)
    with memory_bounded(p):
        model = model_for(p, cut, vectors=vectors)
    write(param_count=int(model.count_params()))
    return cut, model


def release_memory(*_: Any) -> None:
    """Hand the memory a finished trial freed back to the system (a study callback). glibc keeps
    freed heap pages for reuse, so without this a long study's RSS follows the largest model it
    has built so far and reads like a leak (``bench/memory.py`` measures both)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


def train(
    model,
    p: ModelParams,
    cut: Dataset,
    *,
    epochs: int,
    callbacks: Sequence = (),
    write: Write,
    initial_epoch: int = 0,
    note: Callable[[str], None] | None = None,
) -> FitResult:
    """Fit with the engine's callbacks; the record gets the curves and the metrics at the best
    epoch however the fit ends (complete, pruned, failed or interrupted), and ``note`` the
    trial's dashboard note (``record.trial_note``) after every epoch."""
    import keras

    history: dict[str, list[float]] = {}
    model_params = p.as_dict()

    samples, trained, ends = len(cut.train.y), [0], []

    class Live(keras.callbacks.Callback):  # the dashboard shows the curves as they grow
        def on_epoch_begin(self, epoch, logs=None):
            self.batches, self.began = 0, time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.batches += 1

        def on_epoch_end(self, epoch, logs=None):
            trained[0] += min(self.batches * p.batch_size, samples)
            self.batches = 0
            ends.append(round(record.local_seconds(), 2))  # analysis.compare's anytime curve
            if epoch == initial_epoch:  # counts this epoch's metrics from then
                write(first_epoch_seconds=round(time.perf_counter() - self.began, 2))
            write(curves=history, epoch_ends=ends)
            if note is not None:
                note(record.trial_note(model_params, history))

    live = Live()
    start = time.perf_counter()
    try:
        with memory_bounded(p):
            return fit(
                model,
                cut,
                epochs=epochs,
                initial_epoch=initial_epoch,
                batch_size=p.batch_size,
                callbacks=[live, *callbacks],
                history=history,
            )
    finally:
        cut_short = min(getattr(live, "batches", 0) * p.batch_size, samples)  # an unended epoch
        write(**record.finished_fit(history, time.perf_counter() - start, trained[0] + cut_short))


def train_params(
    params: Params,
    data: Dataset,
    *,
    epochs: int,
    seed: int,
    vectors: VectorSettings = VectorSettings(),
    verbose: int = 0,
    progress: Callable[[str], None] | None = None,
    label: str = "",
) -> tuple[Any, FitResult]:
    """Seed, build and fit one configuration on ``data`` (already cut by ``trial_data``);
    returns the model (best weights) and its fit. ``progress`` gets one line per epoch,
    starting with ``label``."""
    import keras

    p = ModelParams.of(params)
    keras.utils.set_random_seed(seed)
    callbacks = [progress_callback(label, epochs, len(data.train.y), progress)] if progress else []
    with memory_bounded(p):
        model = model_for(p, data, vectors=vectors)
        result = fit(
            model,
            data,
            epochs=epochs,
            batch_size=p.batch_size,
            callbacks=callbacks,
            verbose=verbose,
        )
    return model, result


def user_callbacks(
    number: int, study: str, callbacks: Sequence = (), tensorboard: str | None = None
) -> list:
    """What the user adds to every trial's ``fit``: their own Keras callbacks (the same
    objects each trial, as ``model.fit`` would take them; Keras starts them afresh at each
    fit), and with ``tensorboard`` a TensorBoard callback logging to ``<dir>/<study>/trial-N``."""
    import keras

    found = list(callbacks)
    if tensorboard:
        folder = Path(tensorboard) / study / f"trial-{number}"
        found.append(keras.callbacks.TensorBoard(log_dir=str(folder)))
    return found


def engine_callbacks(
    label: str,
    epochs: int,
    samples: int,
    *,
    deadline: float | None,
    stopped: Callable[[], None],
    progress: Callable[[str], None] | None,
) -> list:
    """What every engine's trial trains with besides its own hooks: the study's deadline (then
    ``stopped()``), SIGINT/SIGTERM after any batch, and a progress line per epoch."""
    found = [deadline_callback(deadline, stopped), interrupt.keras_callback()]
    if progress:
        found.append(progress_callback(label, epochs, samples, progress))
    return found


def deadline_callback(deadline: float | None, stopped: Callable[[], None]):
    """End training at the epoch whose successor would finish after ``deadline``
    (``time.monotonic()``), or mid-epoch once it has passed, so a study's ``--timeout`` bounds
    its wall time: Optuna's timeout only stops new trials, and a trial started just before it
    could run its full epochs (a maxlen-800 BiLSTM epoch takes over 20 minutes on 2 cores). Keras
    validates the part-trained epoch; the trial completes with its best val_loss so far."""
    import keras

    class Deadline(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.began = time.monotonic()

        def on_train_batch_end(self, batch, logs=None):
            if deadline is not None and time.monotonic() > deadline:
                self.model.stop_training = True
                stopped()

        def on_epoch_end(self, epoch, logs=None):
            now = time.monotonic()
            if epoch + 1 >= self.params.get("epochs", epoch + 2):  # the last: nothing cut
                return
            if deadline is not None and now + (now - self.began) > deadline:
                self.model.stop_training = True
                stopped()

    return Deadline()


EVERY = 60.0  # seconds between a long epoch's progress lines


def progress_callback(label: str, epochs: int, samples: int, write: Callable[[str], None]):
    """One line per epoch (``trial 12 epoch 3/10 val_loss=... 52s 385 samples/s, <=6m03s more``:
    the most the trial has left, as pruning and early stopping can only shorten it), and within
    an epoch that runs long, a line every ``EVERY`` seconds with its share done and its ETA:
    plain lines, so a terminal, a log file and a notebook all show a long trial's progress."""
    import keras

    from search.display import duration

    class Progress(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.trained = 0.0  # seconds of finished epochs

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
            self.began = self.shown = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            now = time.perf_counter()
            if now - self.shown < EVERY:
                return
            self.shown = now
            steps, spent = self.params.get("steps"), now - self.began
            where = f"batch {batch + 1}"
            if steps:
                share = (batch + 1) / steps
                where = f"{share:.0%} ({batch + 1}/{steps} batches), about "
                where += f"{duration(spent / share - spent)} to the epoch's end"
            write(f"{label} epoch {self.epoch + 1}/{epochs} {where}; {duration(spent)} so far")

        def on_epoch_end(self, epoch, logs=None):
            logs, seconds = logs or {}, time.perf_counter() - self.began
            self.trained += seconds
            metrics = " ".join(
                f"{k}={logs[k]:.4f}" for k in ("val_loss", "val_accuracy", "loss") if k in logs
            )
            line = (
                f"{label} epoch {epoch + 1}/{epochs} {metrics} {seconds:.0f}s "
                f"{samples / seconds:.0f} samples/s"
            )
            if epoch + 1 < epochs:
                most = (epochs - epoch - 1) * self.trained / (epoch + 1)
                line += f", <={duration(most)} more"
            write(line)

    return Progress()
