"""The product's space: every knob of the model family, ranges that contain the seed study.

Reviews are cut per trial (``maxlen``, ``vocab_size``) from one tokenisation at ``TOKENIZE``, the
largest settings the space asks for; ``point`` maps a preset to this space, so a study can start
from the hand-tuned configurations.
"""

from __future__ import annotations

from typing import Any

from spaces import Suggester

TOKENIZE = {"maxlen": 800, "vocab_size": 80000}
MAXLENS = [200, 300, 400, 500, 600, 800]
VOCAB_SIZES = [20000, 30000, 40000, 60000, 80000]
EMBEDDINGS = ["learned", "glove_frozen", "glove_tuned", "domain_frozen", "domain_tuned"]
POOLINGS = ["last", "max", "mean", "max_mean"]
ADVERSARIAL = ["none", "at", "vat"]
# its domain vectors and VAT learn from IMDB's 50k unlabeled reviews: a run without them is
# refused at start-up, not trial by trial
UNLABELED = True
# the cheap part of the space, where a new study's random start-up trials are drawn: a 200-token
# one-layer model without adversarial steps costs a fraction of the tail (800 tokens, 3 layers,
# VAT's extra unlabeled batch), and published IMDB LSTMs gain little past 400 tokens
CHEAP = {"maxlen": 200, "lstm_layers": 1, "adversarial": "none", "lm_init": False}
# params this space gained after studies ran: what their earlier trials had (rerun rebuilds a
# stored trial through the space, which asks for them; a resumed study's planned presets get them)
ADDED = {"adversarial": "none", "lm_init": False}
# the language model's width (search.pretrain, the study's --lm-budget): a classifier that starts
# from it has its first LSTM layer at this width, reading the embeddings directly (no Conv1D)
LM_UNITS = 128


def space(s: Suggester) -> dict[str, Any]:
    params: dict[str, Any] = {}
    params["maxlen"] = s.categorical("maxlen", MAXLENS)
    params["vocab_size"] = s.categorical("vocab_size", VOCAB_SIZES)
    # the embedding and first LSTM layer from a language model pretrained on the reviews (its
    # own choice, not an embedding: studies made before keep their embedding choices)
    lm = s.categorical("lm_init", [False, True])
    params["embedding"] = "lm_tuned" if lm else s.categorical("embedding", EMBEDDINGS)
    if params["embedding"] == "learned":
        params["embedding_dim"] = s.int("embedding_dim", 32, 256, log=True)
    params["embedding_dropout"] = s.float("embedding_dropout", 0.0, 0.3, step=0.1)
    params["spatial_dropout"] = s.float("spatial_dropout", 0.0, 0.5, step=0.1)
    if not lm and s.categorical("conv", [False, True]):
        params["conv_filters"] = s.int("conv_filters", 32, 128, log=True)
        params["conv_kernel"] = s.int("conv_kernel", 3, 7, step=2)
        params["conv_pool"] = s.int("conv_pool", 2, 4)
    layers = s.int("lstm_layers", 1, 3)
    params["lstm_units"] = [
        LM_UNITS if lm and i == 0 else s.int(f"lstm_units_{i}", 16, 256, log=True)
        for i in range(layers)
    ]
    params["bidirectional"] = s.categorical("bidirectional", [False, True])
    params["recurrent_dropout"] = s.float("recurrent_dropout", 0.0, 0.4, step=0.1)
    params["pooling"] = s.categorical("pooling", POOLINGS)
    if s.categorical("dense_head", [False, True]):
        params["dense_units"] = [s.int("dense_units", 16, 128, log=True)]
    params["dropout"] = s.float("dropout", 0.0, 0.6, step=0.1)
    if s.categorical("use_l2", [False, True]):
        params["l2"] = s.float("l2", 1e-6, 1e-2, log=True)
    params["optimizer"] = s.categorical("optimizer", ["adam", "rmsprop", "sgd"])
    params["learning_rate"] = s.float("learning_rate", 1e-4, 3e-2, log=True)
    params["batch_size"] = s.categorical("batch_size", [32, 64, 128])
    # adversarial training on the embeddings: about 2x (at) and 3x (vat) a step's cost
    params["adversarial"] = s.categorical("adversarial", ADVERSARIAL)
    if params["adversarial"] != "none":
        params["adv_epsilon"] = s.float("adv_epsilon", 0.5, 20.0, log=True)  # Miyato et al.: 5
    return params


def point(params: dict[str, Any], *, maxlen: int, vocab_size: int) -> dict[str, Any]:
    """This space's values for a model's complete params (``ModelParams.as_dict()``; a preset
    trained at ``maxlen``/``vocab_size`` when its params leave them to the data): what
    ``study.enqueue_trial`` needs."""
    p = params
    lm = p["embedding"] == "lm_tuned"
    if p["embedding"] == "lm_frozen" or (
        lm and (p["conv_filters"] or p["lstm_units"][0] != LM_UNITS)
    ):
        raise ValueError(
            f"the default space cannot express embedding={p['embedding']!r} with "
            f"conv_filters={p['conv_filters']}, lstm_units={p['lstm_units']} (it starts "
            f"lm_tuned, {LM_UNITS} units, no Conv1D)"
        )
    values = {
        "maxlen": p["maxlen"] or maxlen,
        "vocab_size": p["vocab_size"] or vocab_size,
        "lm_init": lm,
        "embedding": p["embedding"],
        "embedding_dropout": p["embedding_dropout"],
        "spatial_dropout": p["spatial_dropout"],
        "conv": p["conv_filters"] > 0,
        "lstm_layers": len(p["lstm_units"]),
        "bidirectional": p["bidirectional"],
        "recurrent_dropout": p["recurrent_dropout"],
        "pooling": p["pooling"],
        "dense_head": bool(p["dense_units"]),
        "dropout": p["dropout"],
        "use_l2": p["l2"] > 0,
        "optimizer": p["optimizer"],
        "learning_rate": p["learning_rate"],
        "batch_size": p["batch_size"],
        "adversarial": p["adversarial"],
    }
    if p["adversarial"] != "none":
        values["adv_epsilon"] = p["adv_epsilon"]
    if p["embedding"] == "learned":
        values["embedding_dim"] = p["embedding_dim"]
    if values["conv"]:
        values.update(
            conv_filters=p["conv_filters"], conv_kernel=p["conv_kernel"], conv_pool=p["conv_pool"]
        )
    values.update({f"lstm_units_{i}": u for i, u in enumerate(p["lstm_units"])})
    if lm:  # fixed by the language model
        for key in ("embedding", "conv", "lstm_units_0"):
            del values[key]
    if p["dense_units"]:
        values["dense_units"] = p["dense_units"][0]
    if p["l2"] > 0:
        values["l2"] = p["l2"]
    return values
