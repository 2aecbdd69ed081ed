"""The options the commands share (data, pretrained vectors): argparse lives here and in the
commands, never below them. ``search.optimize`` turns its options into ``RunSettings``; the other
commands use these helpers to build the data and vector settings from their options."""

from __future__ import annotations

import argparse

from search.data import ENV_VAR, DataSettings
from search.embeddings import PACKAGED, VectorSettings


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """The data options every CLI shares."""
    group = parser.add_argument_group("data")
    group.add_argument(
        "--data",
        default=None,
        help=f"aclImdb directory or .tar.gz (default: ${ENV_VAR}, else download)",
    )
    group.add_argument(
        "--vocab-size",
        type=int,
        default=None,
        help=f"vocabulary to tokenise with (default: what the space or presets need, else "
        f"{DataSettings.vocab_size})",
    )
    group.add_argument(
        "--maxlen",
        type=int,
        default=None,
        help=f"tokens kept per review (default: what the space or presets need, else "
        f"{DataSettings.maxlen})",
    )
    group.add_argument(
        "--val-split",
        type=float,
        default=None,
        help=f"share of the training reviews held out for validation (default "
        f"{DataSettings.val_split})",
    )
    group.add_argument(
        "--padding",
        choices=("pre", "post"),
        default=None,
        help=f"default {DataSettings.padding!r}",
    )
    group.add_argument(
        "--truncating",
        choices=("pre", "post"),
        default=None,
        help=f"default {DataSettings.truncating!r}",
    )


def _first(*values):
    return next(v for v in values if v is not None)


def settings_from_args(
    args: argparse.Namespace, *, maxlen: int | None = None, vocab_size: int | None = None
) -> DataSettings:
    """The data options of ``add_data_arguments``; ``maxlen`` and ``vocab_size`` stand in for
    options the user left out (a space's largest cut); the split seed keeps its default."""
    return DataSettings(
        vocab_size=_first(args.vocab_size, vocab_size, DataSettings.vocab_size),
        maxlen=_first(args.maxlen, maxlen, DataSettings.maxlen),
        val_split=_first(args.val_split, DataSettings.val_split),
        padding=_first(args.padding, DataSettings.padding),
        truncating=_first(args.truncating, DataSettings.truncating),
    )


def add_vector_arguments(parser: argparse.ArgumentParser, lm: bool = False) -> None:
    """``lm``: the language model's budget too (a study's option; ``search.pretrain`` has its
    own ``--budget``)."""
    group = parser.add_argument_group("pretrained vectors")
    group.add_argument(
        "--glove",
        default=None,
        help=f"GloVe vectors: {PACKAGED!r} (packaged, the default) or a glove.*.txt path",
    )
    group.add_argument(
        "--unsup",
        default=None,
        help="IMDB's unlabeled reviews for the domain vectors (directory or .tar.gz; default: "
        "$IMDB_UNSUP, else aclImdb/train/unsup inside --data)",
    )
    for name, what in (("dim", "size"), ("window", "context window"), ("epochs", "passes")):
        group.add_argument(
            f"--vector-{name}",
            type=int,
            default=None,
            help=f"word2vec's vector {what} (default {getattr(VectorSettings, name)})",
        )
    if lm:
        group.add_argument(
            "--lm-budget",
            type=float,
            default=None,
            metavar="MINUTES",
            help=f"minutes the language model (lm_tuned embedding) pretrains, once per data "
            f"and cached (default {VectorSettings.lm_budget:g}; `python -m search.pretrain "
            f"--budget MINUTES` prepares it ahead). Its time counts against --timeout",
        )


def vector_settings_from_args(args: argparse.Namespace) -> VectorSettings:
    """The options of ``add_vector_arguments``; those left out (None) take the defaults."""
    given = {
        "glove": args.glove,
        "unsup": args.unsup,
        "dim": args.vector_dim,
        "window": args.vector_window,
        "epochs": args.vector_epochs,
    }
    return VectorSettings(**{k: v for k, v in given.items() if v is not None})
