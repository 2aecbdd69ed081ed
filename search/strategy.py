"""How the search proceeds: the sampler that proposes a trial's params and the pruner that stops
it early. ``search.study`` attaches them to a study; a resumed study may change them (and
records the change), since its trials stay comparable."""

from __future__ import annotations

import warnings

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from search import workers
from search.record import Record
from search.rungs import first_rung
from search.settings import PRUNERS, SAMPLERS


def make_sampler(name: str, seed: int | None, startup: int = 10) -> optuna.samplers.BaseSampler:
    """``startup``: trials before TPE or GP model the space (random ones, once the queued
    presets have run)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if name == "tpe":
            # multivariate + group model the conditional (define-by-run) space jointly;
            # constant_liar keeps parallel workers from proposing the same point
            return optuna.samplers.TPESampler(
                seed=seed,
                n_startup_trials=startup,
                multivariate=True,
                group=True,
                constant_liar=True,
            )
        if name == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        if name == "qmc":
            return optuna.samplers.QMCSampler(seed=seed)
        if name == "cmaes":
            return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
        if name == "gp":
            try:
                import scipy  # noqa: F401
                import torch  # noqa: F401
            except ImportError as exc:
                raise ValueError(
                    "--sampler gp needs PyTorch and SciPy: pip install -e '.[gp]'"
                ) from exc
            return optuna.samplers.GPSampler(seed=seed, n_startup_trials=startup)
    raise ValueError(f"Unknown sampler {name!r}; choose one of {list(SAMPLERS)}")


def sampler_seed(study: optuna.Study, sampler: str, seed: int | None) -> int | None:
    """The sampler's seed in this process. A seeded sampler starts its random stream over in
    every process, so a resumed study (or the fresh process of ``--trials-per-process``) would
    draw its first random trials again, and workers started together would draw the same ones:
    past the first process of a new study, the seed also takes the trials already run and the
    worker's number. QMC keeps ``seed``: its place in the sequence is stored in the study."""
    ran = sum(t.state != TrialState.WAITING for t in study.get_trials(deepcopy=False))
    worker = workers.worker_id()
    if seed is None or sampler == "qmc" or (ran == 0 and worker is None):
        return seed
    return int(np.random.SeedSequence([seed, ran, worker or 0]).generate_state(1)[0])


class ChanceLevelPruner(optuna.pruners.BasePruner):
    """Prune a trial whose val accuracy is still at chance level after ``warmup`` epochs, then
    ask ``pruner``. IMDB's labels are balanced, so 0.5 is a coin; a trial still there has learned
    nothing (an SGD learning rate far too small, say), and rung-based pruners cannot cut the first
    trials they see, for want of peers. Accuracy, not val_loss, because Keras' val_loss includes
    the L2 penalty: a strongly regularised model can sit above ln 2 while it learns."""

    def __init__(
        self, pruner: optuna.pruners.BasePruner, warmup: int = 2, margin: float = 0.02
    ) -> None:
        self.pruner, self.warmup, self.margin = pruner, warmup, margin

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        accuracy = Record.of(trial).curves.get("val_accuracy", [])
        if len(accuracy) >= self.warmup and accuracy[-1] <= 0.5 + self.margin:
            return True
        return self.pruner.prune(study, trial)


def make_pruner(name: str, epochs: int, epoch_step: int = 1) -> optuna.pruners.BasePruner:
    """Successive halving (ASHA) by default: after half an epoch, then 1.5 and 4.5 epochs, only
    the best third of the trials that reached that point go on. IMDB LSTMs with learned
    embeddings reach their best val_loss within 1-4 epochs (the presets' best epochs; GloVe ones
    train longer), so early ranks are reliable and most epochs go to the leaders.

    ``epoch_step``: the step one epoch reaches (``search.rungs``): the reviews of an epoch when
    a study's steps count reviews, so rungs fall within epochs and a slow model is judged after
    as much training as a fast one; 1 when they count epochs (studies made before), and the
    rungs are epochs 1, 3 and 9 as they were. Every pruner but ``none`` also cuts trials stuck
    at chance level."""
    first = first_rung(epoch_step)
    if name == "hyperband":
        rungs = optuna.pruners.HyperbandPruner(
            min_resource=first, max_resource=epochs * epoch_step, reduction_factor=3
        )
    elif name == "successive-halving":
        rungs = optuna.pruners.SuccessiveHalvingPruner(min_resource=first, reduction_factor=3)
    elif name == "median":
        rungs = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=epoch_step)
    elif name == "none":
        return optuna.pruners.NopPruner()
    else:
        raise ValueError(f"Unknown pruner {name!r}; choose one of {list(PRUNERS)}")
    return ChanceLevelPruner(rungs)
