"""The study (search/study.py): created or resumed, its identity kept, presets queued once."""

from __future__ import annotations

import dataclasses
import logging

import optuna
import pytest

from search.optimize import main
from search.study import StudySettings, create_or_resume
from tests.conftest import TINY, load

Pruned = optuna.trial.TrialState.PRUNED


def test_resume_adds_trials_to_the_same_study_up_to_the_total(run, capsys):
    assert run("--trials", "2") == 0
    assert run("--trials", "4") == 0
    assert len(load(run.storage).trials) == 4
    assert run("--trials", "4") == 0
    assert "already has 4 >= 4 finished trials" in capsys.readouterr().out


def test_resume_takes_the_studys_settings_and_data_without_retyping(
    run, imdb_dir, monkeypatch, capsys
):
    """``--study NAME`` alone resumes with what the study stored, its data path included;
    an option given again overrides (a search setting, recorded) or is refused (identity)."""
    assert run("--trials", "1", "--seed", "3", "--val-split", "0.25", "--pruner", "median") == 0
    monkeypatch.delenv("IMDB_DATA", raising=False)  # no other way to the data than the study
    capsys.readouterr()
    assert main(["--study", "t", "--storage", run.storage, "--trials", "2"]) == 0
    out = capsys.readouterr().out
    assert f"data={imdb_dir}" in out and "epochs=2" in out and "maxlen=16" in out
    assert "pruner=median" in out and "seed=3" in out and "val-split=0.25" in out
    study = load(run.storage)
    assert len(study.trials) == 2 and "settings_changes" not in study.user_attrs
    assert main(["--study", "t", "--storage", run.storage, "--trials", "3", "--maxlen", "20"]) == 2
    assert "maxlen" in capsys.readouterr().err and len(load(run.storage).trials) == 2


def test_a_study_that_stored_the_old_data_checksum_resumes_and_is_upgraded(run, imdb_dir):
    """Studies identified their data by file times (folders) before content digests."""
    from search.data import legacy_checksum

    assert run("--trials", "1") == 0
    study = load(run.storage)
    settings = study.user_attrs["settings"]
    new = settings["data"]["checksum"]
    old = {**settings, "data": {**settings["data"], "checksum": legacy_checksum(imdb_dir)}}
    study.set_user_attr("settings", old)
    assert run("--trials", "2") == 0
    assert load(run.storage).user_attrs["settings"]["data"]["checksum"] == new


def test_presets_then_cheap_starts_are_the_first_trials_queued_one_at_a_time(run, capsys):
    """The configurations measured here come first, then the seed study's, then start-up trials
    in the space's cheap part; one is WAITING at a time, so a run that ends leaves none behind
    and the same command goes on with the plan."""
    from search.presets import MEASURED, PRESETS, SEED_DATA, get_preset
    from search.study import CHEAP_STARTS
    from spaces.default import CHEAP, point

    tokenize = ["--maxlen", "800", "--vocab-size", "80000", "--epochs", "1"]
    assert run("--trials", "2", *tokenize, space="default") == 0
    assert "first trials, queued one at a time" in capsys.readouterr().out
    study = load(run.storage)
    names, points = [], []
    for name in [*MEASURED, *PRESETS]:  # a preset that is another's point is planned once
        if point(full(get_preset(name).params), **SEED_DATA) not in points:
            names.append(name)
            points.append(point(full(get_preset(name).params), **SEED_DATA))
    cheap = [f"cheap_start_{i}" for i in range(1, CHEAP_STARTS + 1)]
    assert names[:2] == ["domain_pooled_at", "domain_pooled"]
    assert study.user_attrs["presets_enqueued"] == names + cheap
    assert len(study.trials) == 2  # nothing left WAITING
    for trial, name in zip(study.trials, names[:2], strict=True):
        assert trial.state.is_finished() and trial.user_attrs["preset"] == name
        assert trial.params == point(full(get_preset(name).params), **SEED_DATA)
    assert study.trials[0].params["embedding"] == "domain_tuned"
    assert study.trials[0].params["adversarial"] == "at" != study.trials[1].params["adversarial"]
    assert run("--trials", "3", *tokenize, space="default") == 0
    assert "first trials" not in capsys.readouterr().out
    study = load(run.storage)
    assert [t.user_attrs["preset"] for t in study.trials] == names[:3]
    assert all(t.state.is_finished() for t in study.trials)

    # the cheap starts: fixed where the space is cheap, the rest drawn
    late = optuna.create_study()
    late.set_user_attr("preset_plan", study.user_attrs["preset_plan"])
    for name in names:  # as if the presets had run
        late.enqueue_trial({}, user_attrs={"preset": name})
        late.tell(late.ask(), 1.0)
    from search.study import queue_next_preset

    assert queue_next_preset(late) == "cheap_start_1" and queue_next_preset(late) is None
    assert late.get_trials()[-1].system_attrs["fixed_params"] == CHEAP


def test_the_seed_space_queues_only_the_seed_presets():
    import pytest

    from search.presets import MEASURED, PRESETS, SEED_DATA
    from spaces.seed import point

    for preset in PRESETS.values():
        point(full(preset.params), **SEED_DATA)
    for preset in MEASURED.values():
        with pytest.raises(ValueError, match="cannot express"):
            point(full(preset.params), **SEED_DATA)


def full(params: dict) -> dict:
    """A preset's complete params, as ``point`` takes them."""
    from search.params import ModelParams

    return ModelParams.of(params).as_dict()


def study_settings(tmp_path, **changes) -> StudySettings:
    """Settings of a study that no test trains: for create_or_resume alone."""
    from search.embeddings import VectorSettings

    base = StudySettings(
        study="s",
        storage=f"sqlite:///{tmp_path / 's.db'}",
        space="seed",
        sampler="tpe",
        pruner="median",
        epochs=2,
        seed=1,
        vectors=VectorSettings().identity(),
        data={"maxlen": 200, "checksum": "abc"},
    )
    return dataclasses.replace(base, **changes)


def test_a_study_made_before_the_vector_settings_still_resumes(tmp_path):
    """Studies stored only ``glove``; the same GloVe source must resume, another must not."""
    from search.embeddings import VectorSettings

    settings = study_settings(tmp_path)
    old = {**dataclasses.asdict(settings), "glove": "glove.6B.50d"}
    del old["vectors"]
    optuna.create_study(study_name="s", storage=settings.storage).set_user_attr("settings", old)
    assert create_or_resume(settings).study_name == "s"
    other = VectorSettings(glove="glove.6B.100d.txt").identity()
    with pytest.raises(ValueError, match="vectors: study has"):
        create_or_resume(dataclasses.replace(settings, vectors=other))


def test_resuming_with_another_sampler_is_recorded_not_hidden(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="search")
    create_or_resume(study_settings(tmp_path))
    study = create_or_resume(study_settings(tmp_path, sampler="random", seed=None))
    assert "sampler='random' (was 'tpe'), seed=None (was 1)" in caplog.text
    assert study.user_attrs["settings"]["sampler"] == "random"
    assert study.user_attrs["settings_changes"] == [
        {"from_trial": 0, "sampler": "random", "seed": None}
    ]


def test_presets_beyond_a_capped_tokenisation_are_not_queued():
    """A study tokenised at 300 tokens caps the space at 300: the presets asking for more
    (domain_pooled: 500) are left out, instead of failing as trials."""
    from search.study import enqueue_presets

    study = optuna.create_study()
    names = enqueue_presets(study, "default", {"maxlen": 300})
    assert names and "domain_pooled" not in names
    plan = study.user_attrs["preset_plan"]
    assert [p["name"] for p in plan] == names
    assert all(p["params"].get("maxlen", 0) <= 300 for p in plan)
    assert enqueue_presets(optuna.create_study(), "default", {"maxlen": 150}) == [
        f"cheap_start_{i}" for i in range(1, 6)
    ]  # no preset fits 150 tokens; the cheap starts leave maxlen to the capped space


def test_a_trial_from_before_a_param_was_added_to_the_space_reruns_with_its_old_value():
    """Default-space trials stored before ``adversarial`` existed rebuild as they ran."""
    from optuna.distributions import CategoricalDistribution

    from search.presets import SEED_DATA, get_preset
    from search.rerun import trial_params
    from spaces.default import point

    values = point(full(get_preset("bilstm").params), **SEED_DATA)
    del values["adversarial"]
    trial = optuna.trial.create_trial(
        value=0.3,
        params=values,
        distributions={k: CategoricalDistribution([v]) for k, v in values.items()},
    )
    params = trial_params(trial, "default", {"maxlen": 800, "vocab_size": 80000})
    assert params.adversarial == "none" and params.bidirectional is True


def test_a_cold_start_still_begins_in_the_spaces_cheap_part():
    """``--no-enqueue-presets`` leaves out what the project knows (the presets), not how the
    search starts: the cheap start-up trials are still planned first."""
    from search.study import CHEAP_STARTS, enqueue_presets, queue_next_preset
    from spaces.default import CHEAP

    study = optuna.create_study()
    planned = enqueue_presets(study, "default", presets=False)
    assert planned == [f"cheap_start_{i}" for i in range(1, CHEAP_STARTS + 1)]
    assert queue_next_preset(study) == "cheap_start_1"
    assert study.get_trials()[-1].system_attrs["fixed_params"] == CHEAP


def test_a_resumed_study_whose_data_path_is_gone_says_so(imdb_dir, tmp_path, monkeypatch, capsys):
    """The study's data was moved: the run says it falls back to IMDB_DATA (the checksum
    still decides whether that is the study's data)."""
    import shutil

    moved = shutil.copytree(imdb_dir.parent, tmp_path / "copy") / imdb_dir.name
    storage = f"sqlite:///{tmp_path / 'gone.db'}"
    args = ["--study", "g", "--storage", storage, "--space", f"{TINY}:space", "--epochs", "1"]
    args += ["--maxlen", "16", "--vocab-size", "100", "--no-baseline"]
    assert main([*args, "--trials", "1", "--data", str(moved)]) == 0
    shutil.rmtree(moved.parent)
    monkeypatch.setenv("IMDB_DATA", str(imdb_dir))
    capsys.readouterr()
    assert main(["--study", "g", "--storage", storage, "--trials", "2"]) == 0
    out = "".join(capsys.readouterr())
    assert f"the study's data path '{moved}' is gone; using --data's default instead" in out
    assert len(load(storage, "g").trials) == 2
