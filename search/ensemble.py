"""An ensemble of a study's best trials, from the weights they kept, in one raw-text model.

    python -m search.ensemble --study imdb              # up to 20 selection steps
    python -m search.ensemble --study imdb --size 40
    python -m search.ensemble --study imdb --refit      # members trained again on train+val

Greedy forward selection with replacement over the complete trials' validation predictions
(Caruana et al. 2004), no training: the members are the trials' own best-epoch weights. The
NBSVM, fitted on the study's split (``search.linear``), is a candidate member too, as in Mesnil
et al. (2014): a linear n-gram model errs on other reviews than an LSTM (``--no-nbsvm``: trials
only). Prints
the best single trial, the ensemble and the linear baselines on validation and test, and exports
``models/<study>-ensemble.keras`` (loadable without this project; ``search.predict`` reads it)
with a model card listing the members and their weights. ``--refit`` trains each member again
on train+val for its best epoch count (as ``search.rerun --all-data``), keeps the weights the
selection gave them, and prints both ensembles; the refit one is exported
(``<study>-ensemble-alldata.keras``).

In Python, ``search.ensemble(study)`` does the same and returns the figures.
"""

from __future__ import annotations

import argparse
import sys
import types
from pathlib import Path

from search.ensembling import SIZE, member_name


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m search.ensemble",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--study", default="imdb")
    parser.add_argument(
        "--storage", default=None, help="Optuna storage URL (default: sqlite:///studies/<study>.db)"
    )
    parser.add_argument(
        "--size",
        type=int,
        default=SIZE,
        metavar="K",
        help=f"selection steps (default {SIZE}); a trial chosen k times weighs k/K, and the "
        "best-scoring prefix of the steps is kept",
    )
    parser.add_argument("--out", type=Path, default=Path("models"), help="folder for the model")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing model file")
    parser.add_argument(
        "--data",
        default=None,
        help="aclImdb directory or .tar.gz (default: where the study's data was, else $IMDB_DATA)",
    )
    parser.add_argument(
        "--force", action="store_true", help="use data whose checksum differs from the study's"
    )
    parser.add_argument(
        "--unsup",
        default=None,
        help="the unlabeled reviews, for --refit of members that use them (default: where the "
        "study's were)",
    )
    parser.add_argument(
        "--refit",
        action="store_true",
        help="also train each member again on train+val for its best epoch count (minutes per "
        "member, as long as its trial); print both ensembles and export the refit one",
    )
    parser.add_argument(
        "--no-nbsvm",
        action="store_true",
        help="leave the NBSVM out of the candidates (by default it is one, fitted on the "
        "study's split in a few minutes, and the selection decides its weight)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser


def main(argv: list[str] | None = None) -> int:
    """The command: the library's lines shown on the console while it runs."""
    from search import display

    with display.console():
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    from search import backend
    from search.ensembling import ensemble
    from search.storage import default_storage, load_study

    backend.load()
    try:
        study = load_study(args.study, args.storage or default_storage(args.study))
        result = ensemble(
            study,
            size=args.size,
            data=args.data,
            unsup=args.unsup,
            refit=args.refit,
            nbsvm=not args.no_nbsvm,
            out=args.out,
            overwrite=args.overwrite,
            force=args.force,
            progress=None if args.quiet else lambda line: print(line, flush=True),
        )
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(table(result))
    return 0


def table(result: dict) -> str:
    """The figures as a plain table, and the members."""
    lines = [f"{'model':<46} {'val_acc':>8} {'test_acc':>8} {'seconds':>8}"]
    for row in result["rows"]:
        val = f"{row['val_accuracy']:.4f}" if row["val_accuracy"] is not None else "-"
        seconds = f"{row['seconds']:.0f}" if row["seconds"] is not None else "-"
        lines.append(f"{row['model']:<46} {val:>8} {row['test_accuracy']:>8.4f} {seconds:>8}")
    lines.append(
        "members (weight): "
        + "; ".join(
            f"{member_name(m['trial'])} ({m['weight']:.2f}) {m['params']}"
            for m in result["members"]
        )
    )
    lines.append(
        "the ensemble's val accuracy is on the split that chose it; test is the honest one"
    )
    lines.append(f"model: {result['model']}")
    return "\n".join(lines)


class _Callable(types.ModuleType):
    """``search.ensemble(study)`` is the API's call (``search.api.ensemble``) even once this
    module is imported, which makes ``search.ensemble`` the module."""

    def __call__(self, *args, **kwargs):
        from search.api import ensemble

        return ensemble(*args, **kwargs)


sys.modules[__name__].__class__ = _Callable

if __name__ == "__main__":
    # run as search.ensemble, not as __main__, so its log lines come from the 'search' logger
    from search.ensemble import main as command

    sys.exit(command())
