"""Memory over a long study: the process's RSS after each of N default-space trials.

Runs the product's own objective (``search.objective``, as ``search.optimize`` runs it: Keras
session cleared per trial, ``gc_after_trial``) in this process over the default space with a
seeded random sampler, so every trial builds another architecture, on a subset of the real data
(the size of the data does not change what a trial leaves behind), one epoch each. Prints RSS per
trial and the least-squares growth per trial after the first ``--warmup`` trials (one-time
allocations: TensorFlow's kernels, the pretrained matrices). Goal: flat within noise.

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
    start = time.perf_counter()

    def sample(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        rss.append(rss_mb())
        print(f"trial {trial.number:>3} {trial.state.name:<8} rss {rss[-1]:7.1f} MB", flush=True)

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=args.trials, callbacks=[sample], gc_after_trial=True)
    after = np.array(rss[args.warmup :])
    x = np.arange(len(after))
    fit = np.polyfit(x, after, 1)
    noise = np.std(after - np.polyval(fit, x))
    print(
        f"{args.trials} trials in {time.perf_counter() - start:.0f}s; RSS {rss[0]:.0f} MB after "
        f"trial 0, {rss[args.warmup - 1]:.0f} MB after trial {args.warmup - 1}, {rss[-1]:.0f} MB "
        f"after trial {len(rss) - 1}"
    )
    print(
        f"growth after the warm-up: {fit[0]:+.2f} MB/trial, {fit[0] * len(after):+.0f} MB over "
        f"{len(after)} trials (residual sd {noise:.1f} MB)"
    )


if __name__ == "__main__":
    main()
