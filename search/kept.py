"""What a complete trial keeps for an ensemble (``search.ensembling``): its best-epoch weights
and its predictions on the validation split, in Optuna's artifact store beside the study.

A search has already trained its models; keeping them is what turns a study's trials into an
ensemble without training again (auto-sklearn and AutoGluon keep theirs alike). Both files are
Optuna artifacts of the trial (``optuna.artifacts.upload_artifact``), so optuna-dashboard lists
them on the trial's page (``--artifact-dir``), and the record's ``kept`` field names them.

Disk stays bounded: the predictions (4 bytes per validation review) are kept for every complete
trial, the weights only for the ``keep`` best (by the study's value); a trial that falls out of
those loses its weights file. A weights file holds every layer, the embedding table included
(vocabulary x dimension x 4 bytes: 20,000 x 300 is 24 MB).
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.artifacts import FileSystemArtifactStore, upload_artifact
from optuna.artifacts.exceptions import ArtifactNotFound
from optuna.trial import TrialState

from search import record
from search.data import Dataset
from search.export import Weights, layer_weights
from search.record import Record

log = logging.getLogger(__name__)

KEEP = 10  # trials whose weights a study keeps by default


def artifact_dir(storage_url: str, study: str) -> Path:
    """Where a study keeps its artifacts unless told: beside its SQLite or journal file, else
    under ``studies/`` (workers on other machines need it on a shared folder: ``--artifacts``)."""
    from search.storage import storage_file

    file = storage_file(storage_url)
    folder = file.parent if file is not None else Path("studies")
    return folder / f"{study}-artifacts"


def store(path: str | os.PathLike) -> FileSystemArtifactStore:
    Path(path).mkdir(parents=True, exist_ok=True)
    return FileSystemArtifactStore(str(path))


def keep(trial: optuna.Trial, model, cut: Dataset, artifacts: FileSystemArtifactStore) -> None:
    """Store the model's weights (the best epoch's: ``fit`` restored them) and its validation
    predictions as artifacts of ``trial``, and name them in its record."""
    from search.fitting import predict

    probability = predict(model, cut.val.x, padding=cut.settings.padding).astype(np.float32)
    weights = layer_weights(model)
    with tempfile.TemporaryDirectory() as folder:
        preds = Path(folder) / f"trial{trial.number}-val_predictions.npy"
        np.save(preds, probability)
        arrays = Path(folder) / f"trial{trial.number}-weights.npz"
        np.savez(
            arrays, **{f"{name}/{i}": w for name, ws in weights.items() for i, w in enumerate(ws)}
        )
        kept = {
            "weights": upload_artifact(
                artifact_store=artifacts, file_path=str(arrays), study_or_trial=trial
            ),
            "val_predictions": upload_artifact(
                artifact_store=artifacts, file_path=str(preds), study_or_trial=trial
            ),
        }
    record.write(trial, kept=kept)


def bound(artifacts: FileSystemArtifactStore, most: int):
    """A study callback: keep the weights of the ``most`` best complete trials only."""

    def callback(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if trial.state != TrialState.COMPLETE:
            return
        done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
        kept = sorted((t for t in done if Record.of(t).kept), key=lambda t: t.value)
        for old in kept[most:]:
            try:
                artifacts.remove(Record.of(old).kept["weights"])
            except (ArtifactNotFound, FileNotFoundError):
                pass  # removed before (by this callback in another worker)

    return callback


def load_weights(artifacts: FileSystemArtifactStore, kept: dict[str, Any]) -> Weights | None:
    """A trial's kept weights, or None when they were removed (it fell out of the best)."""
    try:
        with artifacts.open_reader(kept["weights"]) as reader:
            arrays = np.load(_seekable(reader))
            weights: Weights = {}
            for key in sorted(
                arrays.files, key=lambda k: (k.rsplit("/", 1)[0], int(k.rsplit("/", 1)[1]))
            ):
                name = key.rsplit("/", 1)[0]
                weights.setdefault(name, []).append(arrays[key])
            return weights
    except ArtifactNotFound:
        return None


def has_weights(artifacts: FileSystemArtifactStore, kept: dict[str, Any]) -> bool:
    try:
        artifacts.open_reader(kept["weights"]).close()
        return True
    except ArtifactNotFound:
        return False


def load_predictions(artifacts: FileSystemArtifactStore, kept: dict[str, Any]) -> np.ndarray:
    with artifacts.open_reader(kept["val_predictions"]) as reader:
        return np.load(_seekable(reader))


def _seekable(reader):
    import io

    return io.BytesIO(reader.read())
