from __future__ import annotations

import optuna
import pytest

from search.model import validate_params
from search.presets import PRESETS
from spaces import SPACES, KerasTunerSuggester, OptunaSuggester, load_space

# the seed space's choices that reproduce each preset of the hand-tuned study
SEED_POINTS = {
    "callbacks": {},
    "final_dropout": {"dropout": 0.5},
    "recurrent_dropout": {"recurrent_dropout": 0.3, "optimizer": "adam"},
    "l2": {"l2": 1e-4, "dropout": 0.3},
    "bilstm": {"bidirectional": True},
    "spatial_dropout": {"spatial_dropout": 0.3},
    "stacked": {"lstm_layers": 2},
    "glove_tuned": {"embedding": "glove_tuned"},
    "glove_frozen": {"embedding": "glove_frozen"},
    "cnn_lstm": {"conv": True, "dropout": 0.3},
}
SEED_BASE = {
    "embedding": "learned",
    "spatial_dropout": 0.0,
    "conv": False,
    "lstm_layers": 1,
    "bidirectional": False,
    "recurrent_dropout": 0.0,
    "dropout": 0.0,
    "l2": 0.0,
    "optimizer": "rmsprop",
}


def default_point(params: dict) -> dict:
    """The default space's values for a preset's params."""
    p = validate_params(params)
    point = {
        "embedding": p["embedding"],
        "spatial_dropout": p["spatial_dropout"],
        "conv": p["conv_filters"] > 0,
        "lstm_layers": len(p["lstm_units"]),
        "bidirectional": p["bidirectional"],
        "recurrent_dropout": p["recurrent_dropout"],
        "dense_head": bool(p["dense_units"]),
        "dropout": p["dropout"],
        "use_l2": p["l2"] > 0,
        "optimizer": p["optimizer"],
        "learning_rate": p["learning_rate"],
        "batch_size": p["batch_size"],
    }
    if p["embedding"] == "learned":
        point["embedding_dim"] = p["embedding_dim"]
    if point["conv"]:
        point.update(
            conv_filters=p["conv_filters"], conv_kernel=p["conv_kernel"], conv_pool=p["conv_pool"]
        )
    point.update({f"lstm_units_{i}": u for i, u in enumerate(p["lstm_units"])})
    if p["dense_units"]:
        point["dense_units"] = p["dense_units"][0]
    if p["l2"] > 0:
        point["l2"] = p["l2"]
    return point


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_is_a_point_of_the_seed_space(name):
    params = load_space("seed")(
        OptunaSuggester(optuna.trial.FixedTrial({**SEED_BASE, **SEED_POINTS[name]}))
    )
    assert validate_params(params) == validate_params(PRESETS[name].params)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_lies_inside_the_default_space(name):
    # FixedTrial checks each value against the distribution the space declares
    trial = optuna.trial.FixedTrial(default_point(PRESETS[name].params))
    params = load_space("default")(OptunaSuggester(trial))
    assert validate_params(params) == validate_params(PRESETS[name].params)


@pytest.mark.parametrize("spec", sorted(SPACES))
def test_spaces_sample_valid_params_and_conditionals_follow(spec):
    space = load_space(spec)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(30):
        trial = study.ask()
        params = validate_params(space(OptunaSuggester(trial)))
        if "lstm_layers" in trial.params and spec == "default":
            layers = trial.params["lstm_layers"]
            assert len(params["lstm_units"]) == layers
            assert {f"lstm_units_{i}" for i in range(layers)} <= set(trial.params)
            assert f"lstm_units_{layers}" not in trial.params
            assert ("conv_filters" in trial.params) == trial.params["conv"]
            assert ("embedding_dim" in trial.params) == (trial.params["embedding"] == "learned")
        study.tell(trial, 0.0)


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
    params = validate_params(load_space(spec)(KerasTunerSuggester(hp)))
    assert params["lstm_units"]  # defaults of every registered hyperparameter
    names = {h.name for h in hp.space}
    assert {"embedding", "bidirectional", "lstm_layers"} <= names
    # a value KerasTuner would try flows into the params
    hp.values["bidirectional"] = True
    assert load_space(spec)(KerasTunerSuggester(hp))["bidirectional"] is True
