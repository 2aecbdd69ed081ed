"""The README's notebook example, as a notebook user runs it (tiny data and space)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from tests.conftest import load, tiny_data_args

TINY = str(Path(__file__).parent / "tiny_space.py")
ROOT = Path(__file__).parent.parent


def test_the_notebook_example_runs_and_makes_a_cli_study(imdb_dir, tmp_path):
    import search

    storage = f"sqlite:///{tmp_path / 'nb.db'}"
    tiny = dict(data=str(imdb_dir), maxlen=16, vocab_size=100, space=f"{TINY}:space", epochs=2)
    study = search.run_study("nb", storage=storage, trials=3, seed=0, **tiny)
    table = search.results(study)
    best = search.summary(study, top=2)
    model = search.best_model(study, out=tmp_path / "models", data=str(imdb_dir))
    probabilities = search.classify(model, ["great film", "awful film"])
    pages = search.report(study, tmp_path / "report")

    assert isinstance(study, optuna.Study) and len(table) == 3
    assert len(best) == 2 and best["trial"].iloc[0] == study.best_trial.number
    assert study.user_attrs["settings"]["epochs"] == 2  # what search.rerun needs
    assert probabilities.shape == (2,) and ((probabilities > 0) & (probabilities < 1)).all()
    assert (tmp_path / "report" / "index.html") in pages
    assert (
        f"rerun:{study.best_trial.number}"
        in optuna.load_study(study_name="nb", storage=storage).user_attrs
    )
    # a second call resumes, and best_model now loads the exported file instead of retraining
    assert len(search.run_study("nb", storage=storage, trials=4, seed=0, **tiny).trials) == 4
    again = search.best_model("nb", storage, out=tmp_path / "models")
    assert again.count_params() == model.count_params()


def test_bad_settings_raise_before_any_work(tmp_path):
    import search

    with pytest.raises(TypeError, match="unknown setting"):
        search.run_study("x", trails=3)
    with pytest.raises(ValueError, match="epochs=0: expected a positive whole number"):
        search.run_study("x", epochs=0)
    # the API's values are not typed by argparse: each is checked, named, before any work
    for name, value in [("trials", 1.5), ("trials", "5"), ("epochs", "2"), ("workers", "2")]:
        with pytest.raises(ValueError, match=f"{name}={value!r}: expected a positive whole"):
            search.run_study("x", storage=f"sqlite:///{tmp_path / 'x.db'}", **{name: value})
    with pytest.raises(ValueError, match="seed='x': expected a whole number"):
        search.run_study("x", seed="x")
    with pytest.raises(ValueError, match="timeout=nan: expected a positive number of seconds"):
        search.run_study("x", timeout=float("nan"))
    assert not (tmp_path / "x.db").exists()  # refused before the storage was touched


def test_import_search_does_not_load_tensorflow():
    code = "import sys, search; search.run_study; print('tensorflow' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.strip() == "False", done.stderr


def test_the_cli_and_the_api_share_their_settings(imdb_dir):
    from search import optimize
    from search.settings import RunSettings

    argv = ["--study", "s", "--trials", "3", "--max-failures", "5", *tiny_data_args(imdb_dir)]
    cli = optimize.parse_args(argv)
    api = RunSettings.of(
        study="s", trials=3, max_failures=5, data=imdb_dir, maxlen=16, vocab_size=100
    )
    assert cli == api  # a Path for data is kept as its string
    assert RunSettings.from_json(api.to_json()) == api  # what workers and fresh processes get


def test_a_run_from_the_api_leaves_process_wide_logging_as_it_found_it(imdb_dir, tmp_path):
    """A notebook's logging is its own: Optuna's verbosity and handlers, TensorFlow's logger and
    the search logger are as they were after a study ran."""
    import logging

    import search

    optuna.logging.set_verbosity(optuna.logging.INFO)
    logging.getLogger("tensorflow").setLevel(logging.DEBUG)
    before = [list(h.filters) for h in logging.getLogger("optuna").handlers]
    tiny = dict(data=str(imdb_dir), maxlen=16, vocab_size=100, space=f"{TINY}:space", epochs=1)
    search.run_study("quiet", storage=f"sqlite:///{tmp_path / 'q.db'}", trials=1, **tiny)
    assert optuna.logging.get_verbosity() == optuna.logging.INFO
    assert logging.getLogger("tensorflow").level == logging.DEBUG
    assert [list(h.filters) for h in logging.getLogger("optuna").handlers] == before
    assert logging.getLogger("search").handlers == []


def test_a_space_function_from_a_notebook_runs_and_its_best_model_reruns(imdb_dir, tmp_path):
    import search
    from tests import tiny_space

    def my_space(s):  # defined here, as in a notebook cell
        return tiny_space.space(s)

    storage = f"sqlite:///{tmp_path / 'f.db'}"
    tiny = dict(data=str(imdb_dir), maxlen=16, vocab_size=100, epochs=1, seed=0)
    study = search.run_study("fn", storage=storage, trials=2, space=my_space, **tiny)
    assert study.user_attrs["settings"]["space"].endswith(":" + my_space.__qualname__)
    assert (
        len(search.run_study("fn", storage=storage, trials=3, space=my_space, **tiny).trials) == 3
    )
    model = search.best_model(study, out=tmp_path / "models", data=str(imdb_dir))
    assert model.count_params() > 0
    with pytest.raises(ValueError, match="a space function runs in this process only"):
        search.run_study("fn", storage=storage, space=my_space, workers=2, **tiny)


def test_callbacks_and_tensorboard_reach_every_trial_of_both_engines(imdb_dir, tmp_path):
    import keras

    import search
    from search.record import Record

    class Seen(keras.callbacks.Callback):
        """What a user's callback sees: one fit per trial, and each epoch's val_loss."""

        def __init__(self):
            super().__init__()
            self.fits, self.epochs = 0, []

        def on_train_begin(self, logs=None):
            self.fits += 1

        def on_epoch_end(self, epoch, logs=None):
            self.epochs.append((self.fits, epoch, logs["val_loss"]))

    tiny = dict(data=str(imdb_dir), maxlen=16, vocab_size=100, space=f"{TINY}:space", epochs=2)
    storage, logs = f"sqlite:///{tmp_path / 'cb.db'}", tmp_path / "tb"
    seen = Seen()
    study = search.run_study(
        "cb", storage=storage, trials=3, seed=0, callbacks=[seen], tensorboard=logs, **tiny
    )
    assert seen.fits == 3
    for t in study.trials:  # every epoch each trial ran, with the val_loss it stored (rounded)
        mine = [loss for fit, _, loss in seen.epochs if fit == t.number + 1]
        curve = Record.of(t).curves.get("val_loss", [])  # none if pruned at half an epoch
        assert mine == pytest.approx(curve, abs=1e-5)
        assert (logs / "cb" / f"trial-{t.number}").is_dir()
        if curve:  # TensorBoard writes validation at epoch ends
            assert list((logs / "cb" / f"trial-{t.number}" / "validation").glob("events.out.*"))
    assert any(Record.of(t).curves for t in study.trials)

    kt = Seen()
    search.run_study(
        "kt", storage=storage, trials=1, engine="kerastuner", tuner="random", callbacks=[kt], **tiny
    )
    assert kt.fits == 1 and kt.epochs

    with pytest.raises(ValueError, match="callbacks run in this process only"):
        search.run_study("cb", storage=storage, workers=2, callbacks=[seen], **tiny)


def test_the_tensorboard_flag_writes_logs_and_refuses_a_folder_it_cannot_write(
    run, tmp_path, capsys
):
    logs = tmp_path / "tb"
    assert run("--trials", "1", "--epochs", "1", "--no-baseline", "--tensorboard", str(logs)) == 0
    assert list((logs / "t" / "trial-0" / "train").glob("events.out.*"))
    blocked = tmp_path / "file"
    blocked.write_text("a file, not a folder")
    assert run("--trials", "2", "--tensorboard", str(blocked / "tb")) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --tensorboard") and "is a file, not a folder" in err
    assert len(load(run.storage).trials) == 1  # nothing stored was lost or added
