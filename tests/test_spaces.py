from __future__ import annotations

import optuna
import pytest

from search.params import ModelParams
from search.presets import PRESETS, SEED_DATA
from spaces import SPACES, KerasTunerSuggester, OptunaSuggester, companion, load_space


@pytest.mark.parametrize("spec", ["default", "seed"])
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_is_a_point_of_the_space_that_maps_it(spec, name):
    """``point`` is what a study enqueues; FixedTrial checks each value against the
    distribution the space declares, and the space must give the preset's params back."""
    full = ModelParams.of(PRESETS[name].params).as_dict()
    values = companion(spec, "point")(full, **SEED_DATA)
    params = load_space(spec)(OptunaSuggester(optuna.trial.FixedTrial(values)))
    expected = ModelParams.of(PRESETS[name].params)
    if spec == "default":  # the default space cuts reviews per trial: the seed study's cut
        expected = ModelParams.of({**PRESETS[name].params, **SEED_DATA})
    assert ModelParams.of(params) == expected


@pytest.mark.parametrize("spec", sorted(SPACES))
def test_spaces_sample_valid_params_and_conditionals_follow(spec):
    space = load_space(spec)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(30):
        trial = study.ask()
        params = ModelParams.of(space(OptunaSuggester(trial)))
        if "lstm_layers" in trial.params and spec == "default":
            layers, lm = trial.params["lstm_layers"], trial.params["lm_init"]
            assert len(params.lstm_units) == layers
            assert {f"lstm_units_{i}" for i in range(lm, layers)} <= set(trial.params)
            assert f"lstm_units_{layers}" not in trial.params
            assert ("conv_filters" in trial.params) == trial.params.get("conv", False)
            assert ("embedding_dim" in trial.params) == (params.embedding == "learned")
            assert lm == ("embedding" not in trial.params) == (params.embedding == "lm_tuned")
            seen.add(lm)
        study.tell(trial, 0.0)
    assert seen == ({False, True} if spec == "default" else set())


def test_space_from_a_file(tmp_path):
    file = tmp_path / "mine.py"
    file.write_text("def tiny(s):\n    return {'lstm_units': [s.int('units', 2, 4)]}\n")
    space = load_space(f"{file}:tiny")
    assert space(OptunaSuggester(optuna.trial.FixedTrial({"units": 3}))) == {"lstm_units": [3]}


def test_bad_space_specs_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match=r"Unknown space 'nope'; choose one of \['default', 'seed"):
        load_space("nope")
    with pytest.raises(ValueError, match="not found"):
        load_space(f"{tmp_path / 'missing.py'}:space")
    file = tmp_path / "other.py"
    file.write_text("def space_a(s):\n    return {}\n")
    with pytest.raises(ValueError, match=r"has no function 'space'; it defines \['space_a'\]"):
        load_space(f"{file}:space")
    broken = tmp_path / "broken.py"
    broken.write_text("def space(s) return\n")
    with pytest.raises(ValueError, match="failed to import"):
        load_space(f"{broken}:space")


@pytest.mark.parametrize("spec", sorted(SPACES))
def test_the_same_space_drives_keras_tuner(spec):
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    params = ModelParams.of(load_space(spec)(KerasTunerSuggester(hp)))
    assert params.lstm_units  # defaults of every registered hyperparameter
    names = {h.name for h in hp.space}
    assert {"embedding", "bidirectional", "lstm_layers"} <= names
    # a value KerasTuner would try flows into the params
    hp.values["bidirectional"] = True
    assert load_space(spec)(KerasTunerSuggester(hp))["bidirectional"] is True
