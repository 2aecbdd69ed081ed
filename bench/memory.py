"""Memory over a long study: the process's RSS after each of N default-space trials.

Runs the product's own objective (``search.objective``, as ``search.optimize`` runs it: Keras
session cleared per trial, ``release_memory`` after it) in this process over the default space
with a seeded random sampler, so every trial builds another architecture, on a subset of the
real data (the size of the data does not change what a trial leaves behind), one epoch each.
Prints RSS per trial and the least-squares growth per trial after the first ``--warmup`` trials
and after the last trial that added a pretrained matrix to the per-process cache
(``search.trial._MATRICES``: one per vocabulary size and source, bounded by the space's choices,
kept on purpose). Goal: flat within noise.

    python bench/memory.py --data ../shared/data/aclImdb_v1_labeled.tar.gz --trials 50
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import optuna

from search import backend
from search.data import DataSettings, Split, load_imdb
from search.embeddings import VectorSettings
from search.objective import make_objective
from search.trial import _MATRICES, release_memory
from spaces import companion, load_space


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--unsup", default=None, help="unlabeled reviews, for domain vectors")
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--train", type=int, default=1000, help="training reviews per trial")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument(
        "--keep-freed",
        action="store_true",
        help="leave out search.optimize's release_memory callback (glibc keeps freed memory)",
    )
    args = parser.parse_args()
    backend.load()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    data = load_imdb(args.data, DataSettings(**companion("default", "TOKENIZE")))
    n = args.train
    data = data._replace(
        train=Split(data.train.x[:n], data.train.y[:n]),
        val=Split(data.val.x[: n // 4], data.val.y[: n // 4]),
    )
    objective = make_objective(
        load_space("default"), data, epochs=1, seed=0, vectors=VectorSettings(unsup=args.unsup)
    )
    rss: list[float] = []
    cached: list[int] = []
    start = time.perf_counter()

    def sample(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        rss.append(rss_mb())
        cached.append(len(_MATRICES))
        print(
            f"trial {trial.number:>3} {trial.state.name:<8} rss {rss[-1]:7.1f} MB, "
            f"{cached[-1]} cached matrices",
            flush=True,
        )

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    # as search.optimize runs it: release_memory (gc, then malloc_trim) after each trial; with
    # --keep-freed as it ran before, gc only
    callbacks = [sample] if args.keep_freed else [release_memory, sample]
    study.optimize(
        objective, n_trials=args.trials, callbacks=callbacks, gc_after_trial=args.keep_freed
    )
    print(
        f"{args.trials} trials in {time.perf_counter() - start:.0f}s; RSS {rss[0]:.0f} MB after "
        f"trial 0, {rss[args.warmup - 1]:.0f} MB after trial {args.warmup - 1}, {rss[-1]:.0f} MB "
        f"after trial {len(rss) - 1}"
    )
    last_fill = max(i for i, n in enumerate(cached) if i == 0 or n > cached[i - 1])
    for label, first in (("the warm-up", args.warmup), ("the last matrix cached", last_fill + 1)):
        growth(rss[first:], f"after {label} (trials {first}-{len(rss) - 1})")


def growth(values: list[float], label: str) -> None:
    """The least-squares slope of ``values`` per trial, and the scatter around it."""
    if len(values) < 3:
        print(f"growth {label}: too few trials")
        return
    x = np.arange(len(values))
    fit = np.polyfit(x, values, 1)
    noise = np.std(np.asarray(values) - np.polyval(fit, x))
    print(
        f"growth {label}: {fit[0]:+.2f} MB/trial, {fit[0] * len(values):+.0f} MB in all "
        f"(residual sd {noise:.1f} MB)"
    )


if __name__ == "__main__":
    main()
