"""Run settings (search/settings.py): one typed object, checked once, completed on resume."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from search.settings import DEFAULTS, NAME_LIMIT, RunSettings, SettingError


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("trials", 1.5, "trials=1.5: expected a positive whole number of trials"),
        ("trials", "5", "trials='5': expected a positive whole number of trials"),
        ("trials", True, "trials=True: expected a positive whole number"),
        ("epochs", 0, "epochs=0: expected a positive whole number of epochs"),
        ("workers", "2", "workers='2': expected a positive whole number of processes"),
        ("seed", "x", "seed='x': expected a whole number"),
        ("timeout", math.nan, "timeout=nan: expected a positive number of seconds"),
        ("timeout", math.inf, "timeout=inf: expected a positive number of seconds"),
        ("timeout", -1, "timeout=-1: expected a positive number of seconds"),
        ("val_split", 1.0, "val_split=1.0: expected a fraction between 0 and 1"),
        ("trials_per_process", -1, "trials_per_process=-1: expected 0 (never)"),
        ("keep", -1, "keep=-1: expected 0 (keep no weights) or a number of trials"),
        ("keep", 2.5, "keep=2.5: expected 0 (keep no weights)"),
        ("artifacts", 3, "artifacts=3: expected a string"),
        ("sampler", "tpee", "sampler='tpee': expected one of ['tpe', "),
        ("quiet", "yes", "quiet='yes': expected True or False"),
        ("space", 3, "space=3: expected a string"),
        ("study", "a/b", "study='a/b': expected a name such as imdb (no slashes)"),
    ],
)
def test_every_bad_value_is_refused_naming_the_setting(name, value, expected):
    with pytest.raises(SettingError) as info:
        RunSettings.of(**{name: value})
    assert str(info.value).startswith(expected)
    assert isinstance(info.value, ValueError)  # what the API promises


def test_the_cli_names_a_setting_as_its_flag():
    error = SettingError("trials_per_process", -1, "expected 0 (never) or a positive number")
    assert error.flag() == "--trials-per-process -1: expected 0 (never) or a positive number"
    assert SettingError("study", "", "x").flag() == "--study '': x"  # an empty name shows


def test_unknown_settings_are_a_type_error_listing_the_known_ones():
    with pytest.raises(TypeError, match=r"unknown setting\(s\) \['trails'\]; expected some of"):
        RunSettings.of(trails=3)


def test_the_total_is_50_unless_a_timeout_alone_bounds_the_run():
    assert RunSettings().total == 50
    assert RunSettings(timeout=60).total is None
    assert RunSettings(trials=3, timeout=60).total == 3


def test_study_names_are_bounded_by_the_storages_that_keep_them():
    with pytest.raises(SettingError, match=f"at most {NAME_LIMIT}"):
        RunSettings(study="x" * 600, storage="postgresql://127.0.0.1/test")
    with pytest.raises(SettingError, match="too long for its default file"):
        RunSettings(study="x" * 300)
    assert RunSettings(study="x" * 300, storage="journal:j.log").study == "x" * 300


def test_paths_are_kept_as_strings_and_settings_travel_as_json(tmp_path):
    settings = RunSettings.of(study="s", data=tmp_path, trials=4, seed=1, quiet=True)
    assert settings.data == str(tmp_path) and isinstance(settings.data, str)
    assert RunSettings.from_json(settings.to_json()) == settings


def test_a_resumed_study_lends_what_the_command_left_out(tmp_path):
    data = tmp_path / "aclImdb"
    data.mkdir()
    stored = {
        "space": "seed",
        "engine": "optuna",
        "sampler": "random",
        "pruner": "median",
        "epochs": 3,
        "seed": 7,
        "data": {"vocab_size": 100, "maxlen": 16, "val_split": 0.2, "padding": "pre"},
        "vectors": {"glove": "glove.6B.50d", "dim": 100},
    }
    paths = {"data": str(data), "unsup": str(tmp_path / "gone")}
    resumed = RunSettings(study="s", epochs=3, sampler="tpe").resumed(stored, paths)
    done = resumed.settings
    assert (done.space, done.pruner, done.seed, done.maxlen) == ("seed", "median", 7, 16)
    assert done.sampler == "tpe"  # given: the command's, not the study's
    assert done.data == str(data) and done.unsup is None  # a path no longer there is not lent
    # what the run says it took: only what differs from a new study's defaults
    assert resumed.taken == {"space": "seed", "pruner": "median", "seed": 7, "vocab_size": 100,
                             "maxlen": 16, "data": str(data)}  # fmt: skip


def test_a_new_study_gets_the_defaults():
    done = RunSettings(study="s").resumed(None, {}).settings
    assert {k: getattr(done, k) for k in DEFAULTS} == DEFAULTS
    assert done.tuner is None


def test_engine_options_that_do_not_go_together_are_refused():
    with pytest.raises(SettingError, match="KerasTuner's parallel search"):
        RunSettings(engine="kerastuner", workers=2).resumed(None, {})
    with pytest.raises(SettingError, match="only with the kerastuner engine"):
        RunSettings(tuner="random").resumed(None, {})
    stored = {"engine": "kerastuner", "sampler": "bayesian", "epochs": 2, "space": "seed"}
    assert RunSettings().resumed(stored, {}).settings.tuner == "bayesian"
    # another engine than the study's: its own sampler options, not the study's tuner
    done = RunSettings(engine="optuna").resumed(stored, {}).settings
    assert (done.engine, done.sampler, done.tuner) == ("optuna", "tpe", None)


def test_data_and_vector_settings_come_from_the_run_settings():
    settings = RunSettings(maxlen=64, padding="post", vector_dim=50, unsup="u.tar.gz")
    data = settings.data_settings(maxlen=800, vocab_size=80000)  # a space's largest cut
    assert (data.maxlen, data.vocab_size, data.padding) == (64, 80000, "post")
    vectors = settings.vector_settings()
    assert (vectors.dim, vectors.unsup, vectors.window) == (50, "u.tar.gz", 5)
    assert Path(settings.storage_url.removeprefix("sqlite:///")) == Path("studies/imdb.db")


def test_a_space_function_is_known_by_its_name_and_a_lambda_is_refused():
    def my_space(s):
        return {}

    settings = RunSettings(space=my_space)
    assert settings.space.endswith(".<locals>.my_space")
    from spaces import load_space

    assert load_space(settings.space) is my_space
    with pytest.raises(SettingError, match="a lambda has no name"):
        RunSettings(space=lambda s: {})
