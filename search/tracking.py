"""``--mlflow URI``: every trial a run in MLflow, for teams whose experiments live there.

The experiment is the study; each finished trial becomes a run named ``trial-N`` with its params,
its curves (one point per epoch), its final figures and its state (FINISHED for a complete trial,
KILLED for a pruned one, FAILED for a failed one, with the reason as a tag). Logged through
``MlflowClient``, not MLflow's global "active run", so a notebook's own MLflow setup is left as
it was. Use a database URI (``sqlite:///mlflow.db``, ``postgresql://...``) or a tracking server
(``http://host:5000``); MLflow keeps its file store only for old data.
"""

from __future__ import annotations

import logging
import time

import optuna
from optuna.trial import FrozenTrial, TrialState

from search.record import Record

log = logging.getLogger(__name__)

INSTALL = "pip install -e '.[mlflow]'"
STATUS = {TrialState.COMPLETE: "FINISHED", TrialState.PRUNED: "KILLED", TrialState.FAIL: "FAILED"}
FIGURES = ("val_accuracy", "train_accuracy", "gap_accuracy", "fit_seconds", "param_count")


def check(uri: str) -> None:
    """Before any work: MLflow is installed and ``uri`` opens (a ValueError in one line)."""
    try:
        from mlflow import MlflowClient
    except ImportError as exc:
        raise ValueError(f"--mlflow needs MLflow: {INSTALL}") from exc
    try:
        MlflowClient(uri).search_experiments(max_results=1)
    except Exception as exc:  # MLflow raises its own, and SQLAlchemy's, for a bad URI
        reason = " ".join(str(exc).split())[:300]
        raise ValueError(
            f"--mlflow {uri!r} cannot be opened ({reason}); pass a tracking URI such as "
            "sqlite:///mlflow.db or http://host:5000"
        ) from exc


class MLflowTrials:
    """An Optuna study callback: log each trial as it finishes (and nothing else)."""

    def __init__(self, uri: str, experiment: str) -> None:
        from mlflow import MlflowClient

        self.client = MlflowClient(uri)
        found = self.client.get_experiment_by_name(experiment)
        self.experiment_id = (
            found.experiment_id if found else self.client.create_experiment(experiment)
        )

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if trial.state not in STATUS:
            return
        try:
            self.log(study, trial)
        except Exception as exc:  # the tracking server is down: the study goes on
            log.warning(f"trial {trial.number}: not logged to MLflow ({type(exc).__name__}: {exc})")

    def log(self, study: optuna.Study, trial: FrozenTrial) -> str:
        from mlflow.entities import Metric, Param, RunTag

        r = Record.of(trial)
        now = int(time.time() * 1000)
        run = self.client.create_run(
            self.experiment_id,
            run_name=f"trial-{trial.number}",
            tags={"optuna.study": study.study_name, "optuna.trial": str(trial.number)},
        )
        metrics = [
            Metric(key, float(value), now, step)
            for key, values in r.curves.items()
            for step, value in enumerate(values, start=1)
        ]
        final = {"val_loss": trial.value if trial.value is not None else r.val_loss}
        final |= {name: getattr(r, name, None) for name in FIGURES}
        metrics += [
            Metric(f"final_{k}", float(v), now, 0) for k, v in final.items() if v is not None
        ]
        tags = [RunTag("state", trial.state.name)]
        if r.fail_reason:
            tags.append(RunTag("fail_reason", r.fail_reason[:5000]))
        params = [Param(k, str(v)[:6000]) for k, v in trial.params.items()]
        for start in range(0, max(len(metrics), 1), 1000):  # MLflow's batch limit
            self.client.log_batch(
                run.info.run_id,
                metrics=metrics[start : start + 1000],
                params=params if start == 0 else [],
                tags=tags if start == 0 else [],
            )
        self.client.set_terminated(run.info.run_id, status=STATUS[trial.state])
        return run.info.run_id
