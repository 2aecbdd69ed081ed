"""The language model on the reviews (``search.pretrain``): what it reads, its cache, and how an
interrupted pretraining goes on."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from search import pretrain
from search.embeddings import VectorSettings
from search.params import ModelParams
from tests.conftest import loads_without_the_project

TINY = pretrain.PretrainSettings(
    units=8, embedding_dim=4, bptt=8, batch_size=4, held_out=10, max_steps=6
)


def test_it_reads_the_training_reviews_and_the_unlabeled_ones_never_val_or_test(tiny_data):
    """What the language model is given: the training split's reviews, token for token as the
    study has them, and the unlabeled reviews; no validation or test review."""
    from search.data import read_splits

    vocabulary = tiny_data.vocabulary
    train, unlabeled = pretrain.corpus(
        tiny_data, vocabulary, Path(tiny_data.source), tiny_data.settings.maxlen
    )
    assert len(train) == len(tiny_data.train.y)
    study = [row[row > 0].tolist() for row in tiny_data.train.x]  # the study's, padding off
    assert [row[row > 0].tolist() for row in train] == study
    splits = read_splits(Path(tiny_data.source), tiny_data.settings)
    assert len(unlabeled) == 30  # conftest's n_unsup
    texts = set(splits["val"].texts) | set(splits["test"].texts)
    assert not texts & set(splits["train"].texts)  # what corpus read: the train split only

    stream, held = pretrain.streams(train, unlabeled, held_out=10)
    assert len(stream) == (train > 0).sum() + (unlabeled[:-10] > 0).sum()
    assert len(held) == (unlabeled[-10:] > 0).sum()
    backward, _ = pretrain.streams(train, unlabeled, held_out=10, backward=True)
    assert backward[: len(study[0])].tolist() == study[0][::-1]


def test_it_trains_caches_and_a_second_call_does_not_train(tiny_data, monkeypatch):
    lm = pretrain.pretrain(tiny_data, TINY)
    assert lm.embedding.shape == (len(tiny_data.vocabulary), 4)
    assert [w.shape for w in lm.lstm] == [(4, 32), (8, 32), (32,)]
    assert lm.info["steps"] == 6 and lm.info["tokens"] == 6 * 4 * 8
    assert 1 < lm.info["perplexity"] < math.inf

    def no_training(*args, **kwargs):
        raise AssertionError("the cached language model was trained again")

    monkeypatch.setattr(pretrain, "build", no_training)
    again = pretrain.pretrain(tiny_data, TINY)
    assert np.array_equal(again.embedding, lm.embedding) and again.info == lm.info
    with pytest.raises(AssertionError, match="trained again"):  # other settings: not the cache
        pretrain.pretrain(tiny_data, replace(TINY, units=6))


def test_an_interrupted_pretraining_goes_on_from_its_checkpoint(tiny_data, monkeypatch):
    monkeypatch.setattr(pretrain, "CHUNK", 2)
    with pytest.raises(KeyboardInterrupt):
        pretrain.pretrain(tiny_data, TINY, stop=lambda steps: steps >= 2)
    steps_run = []
    real_build = pretrain.build

    def counting(vocab, settings):
        model = real_build(vocab, settings)
        train_on_batch = model.train_on_batch

        def counted(*args, **kwargs):
            steps_run.append(1)
            return train_on_batch(*args, **kwargs)

        model.train_on_batch = counted
        return model

    monkeypatch.setattr(pretrain, "build", counting)
    lm = pretrain.pretrain(tiny_data, TINY)
    assert lm.info["steps"] == 6 and len(steps_run) == 4  # steps 3-6: 1-2 came from the checkpoint


def test_bad_settings_are_refused_with_the_value():
    with pytest.raises(ValueError, match=r"budget=0: expected minutes > 0"):
        pretrain.PretrainSettings(budget=0)
    with pytest.raises(ValueError, match=r"units=-3"):
        pretrain.PretrainSettings(units=-3)


# the language model as a starting point of the classifier: tiny, a second of training
LM_VECTORS = VectorSettings(lm_units=8, lm_budget=0.02)


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("embedding", ["lm_tuned", "lm_frozen"])
def test_the_classifier_starts_from_the_language_model_and_trains(
    tiny_data, embedding, bidirectional
):
    from search.fitting import fit
    from search.trial import model_for, trial_data

    p = ModelParams.of({"embedding": embedding, "lstm_units": [8], "bidirectional": bidirectional})
    cut = trial_data(p, tiny_data, LM_VECTORS)
    model = model_for(p, cut, vectors=LM_VECTORS)
    lm = pretrain.language_model(tiny_data, LM_VECTORS)
    first = pretrain.first_layer(model, p)
    for ours, theirs in zip(first.get_weights(), lm.lstm, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    rows = min(len(cut.vocabulary), len(lm.embedding))
    table = model.get_layer("embedding").get_weights()[0]
    np.testing.assert_array_equal(table[1:rows], lm.embedding[1:rows])  # row 0: padding, zero
    assert model.get_layer("embedding").trainable is (embedding == "lm_tuned")
    result = fit(model, cut, epochs=1, batch_size=16)
    assert np.isfinite(result.history["loss"][0])


def test_a_classifier_that_cannot_take_the_language_model_says_what_to_change(tiny_data):
    from search.trial import model_for

    with pytest.raises(ValueError, match=r"8-unit language model; got lstm_units\[0\]=16"):
        model_for({"embedding": "lm_tuned", "lstm_units": [16]}, tiny_data, vectors=LM_VECTORS)
    with pytest.raises(ValueError, match=r"conv_filters=4 would come between"):
        model_for(
            {"embedding": "lm_tuned", "lstm_units": [8], "conv_filters": 4},
            tiny_data,
            vectors=LM_VECTORS,
        )


def test_a_classifier_from_the_language_model_exports_as_an_ordinary_one(tiny_data, tmp_path):
    from search import export
    from search.trial import train_params, trial_data

    p = ModelParams.of({"embedding": "lm_tuned", "lstm_units": [8], "pooling": "max_mean"})
    cut = trial_data(p, tiny_data, LM_VECTORS)
    model, _ = train_params(p, cut, epochs=1, seed=0, vectors=LM_VECTORS)
    path = export.save(export.text_model(model, p, cut), tmp_path / "lm.keras", {})
    assert loads_without_the_project(path).endswith("(1, 1)")


def test_a_study_prepares_its_language_model_once_and_records_it(run, capsys, tmp_path):
    """Before its first trial that starts from it; its perplexity and cost go in the study and
    the report; a second run (a fresh process's, or a resume) finds it cached."""
    from analysis import report
    from search.study_attrs import StudyAttrs
    from tests.conftest import TINY as SPACES
    from tests.conftest import load

    space = f"{SPACES}:from_lm"
    assert run("--trials", "1", "--lm-budget", "0.05", "--no-baseline", space=space) == 0
    out = capsys.readouterr().out
    assert "language model: LSTM(128)" in out and "held-out perplexity" in out
    study = load(run.storage)
    lm = StudyAttrs.of(study).language_model
    assert lm["settings"]["budget"] == 0.05 and lm["settings"]["units"] == 128
    assert math.isfinite(lm["perplexity"]) and 0 < lm["seconds_in_study"] < 60
    assert study.trials[0].state.name == "COMPLETE"
    pretrain._LOADED.clear()  # as a fresh process would start
    assert run("--trials", "2", "--no-baseline", space=space) == 0  # the stored budget
    assert "language model: LSTM" not in capsys.readouterr().out  # read, not trained
    study = load(run.storage)
    assert StudyAttrs.of(study).language_model == lm
    assert [t.state.name for t in study.trials].count("COMPLETE") >= 1
    report.write(study, tmp_path / "report")
    page = (tmp_path / "report" / "index.html").read_text()
    assert "Language model (embedding lm_tuned): LSTM(128)" in page and "min of this study" in page


@pytest.mark.parametrize("engine", ["optuna", "kerastuner"])
def test_a_study_without_time_to_pretrain_prunes_the_trial_and_says_how_to_prepare(
    run, capsys, engine
):
    """KerasTuner has no pruned state: there the trial fails, with the same reason."""
    from search.record import Record
    from tests.conftest import TINY as SPACES
    from tests.conftest import load

    space = f"{SPACES}:from_lm"
    args = ["--trials", "1", "--timeout", "600", "--no-baseline", "--engine", engine]
    assert run(*args, *(["--tuner", "random"] if engine == "kerastuner" else []), space=space) == 0
    study = load(run.storage)
    (trial,) = study.trials
    state = "PRUNED" if engine == "optuna" else "FAIL"
    assert trial.state.name == state and "epochs_run" not in trial.user_attrs
    reason = Record.of(trial).fail_reason
    assert reason.startswith("pruned: pretraining its language model (30 min) needs over 50%")
    assert "python -m search.pretrain --budget 30" in capsys.readouterr().err  # a warning
    assert "language_model" not in study.user_attrs


def test_the_default_space_starts_from_the_language_model_as_one_choice():
    import optuna

    from spaces import OptunaSuggester, draw
    from spaces.default import LM_UNITS, point, space

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.enqueue_trial({"lm_init": True, "conv": True, "lstm_layers": 2})
    trial = study.ask()
    p = ModelParams.of(draw(space, OptunaSuggester(trial)))
    assert p.embedding == "lm_tuned" and p.lstm_units[0] == LM_UNITS and p.conv_filters == 0
    assert len(p.lstm_units) == 2
    assert not {"embedding", "conv", "lstm_units_0"} & set(trial.params)  # fixed by the model
    assert point(p.as_dict(), maxlen=200, vocab_size=20000) == pytest.approx(trial.params)
    with pytest.raises(ValueError, match="cannot express"):
        point({**p.as_dict(), "lstm_units": [64]}, maxlen=200, vocab_size=20000)


def test_a_plan_written_before_the_space_gained_a_param_queues_the_presets_value():
    """A study planned its presets before the space asked ``lm_init`` (or ``adversarial``): its
    presets run as they were, not with a drawn language model."""
    import optuna

    from search.study import queue_next_preset

    study = optuna.create_study()
    study.set_user_attr("settings", {"space": "default"})
    study.set_user_attr("preset_plan", [{"name": "old", "params": {"maxlen": 200}}])
    assert queue_next_preset(study) == "old"
    fixed = study.get_trials()[-1].system_attrs["fixed_params"]
    assert fixed == {"adversarial": "none", "lm_init": False, "maxlen": 200}
