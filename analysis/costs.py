"""Where the budget went, by choice: for each value of each parameter, the trials that drew it,
the training seconds they cost, their share of the studies' seconds, their speed, and the best
val accuracy they reached. What a review of a space's ranges needs: a choice that costs much of
the budget and never leads is one to narrow.

    python -m analysis.costs --studies imdb engines3-optuna-s1 [--storage URL] [--out DIR]

Several studies of one space pool their trials. Only parameters with at most ``MAX_VALUES``
values are tabulated (choices, layer counts, dropouts in steps), not widths or rates. From the
storage alone: no TensorFlow, no data.
"""

from __future__ import annotations

import argparse
import math
import sys

import optuna
import pandas as pd

from analysis.trials import add_studies_arguments, readable, studies_and_folder
from search.record import Record

MAX_VALUES = 8
COLUMNS = [
    "param",
    "value",
    "trials",
    "complete",
    "seconds",
    "share",
    "ms_per_review",
    "best_val_acc",
]


def costs(studies: list[optuna.Study], params: list[str] | None = None) -> pd.DataFrame:
    """One row per (param, value): trials, complete ones, fit seconds and their share of all
    trials' fit seconds, the median ms per review, and the best val accuracy any epoch of those
    trials reached (pruned ones' included: the budget bought them). Rows by param, then by
    seconds spent, most first."""
    finished = [
        t for s in studies for t in s.get_trials(deepcopy=False) if t.datetime_complete is not None
    ]
    total = sum(Record.of(t).fit_seconds for t in finished) or 1.0
    names = params or [n for n, d in _distributions(finished).items() if _few(d)]
    rows = []
    for name in names:
        values = {_key(t.params[name]) for t in finished if name in t.params}
        if not values:
            continue
        for value in values:
            drew = [t for t in finished if name in t.params and _key(t.params[name]) == value]
            records = [Record.of(t) for t in drew]
            seconds = sum(r.fit_seconds for r in records)
            rates = [r.seconds_per_review for r in records if r.seconds_per_review]
            accuracy = [a for r in records for a in r.curves.get("val_accuracy", [])]
            rows.append(
                {
                    "param": name,
                    "value": value,
                    "trials": len(drew),
                    "complete": sum(t.state == optuna.trial.TrialState.COMPLETE for t in drew),
                    "seconds": round(seconds),
                    "share": round(seconds / total, 3),
                    "ms_per_review": round(1000 * pd.Series(rates).median(), 3) if rates else None,
                    "best_val_acc": max((a for a in accuracy if math.isfinite(a)), default=None),
                }
            )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    if frame.empty:
        return frame
    order = {name: i for i, name in enumerate(names)}
    frame["_param"] = frame["param"].map(order)
    frame = frame.sort_values(["_param", "seconds"], ascending=[True, False])
    return frame.drop(columns="_param").reset_index(drop=True)


def _distributions(trials) -> dict[str, optuna.distributions.BaseDistribution]:
    """Each parameter's distribution, in first-seen order."""
    found: dict[str, optuna.distributions.BaseDistribution] = {}
    for t in trials:
        for name, distribution in t.distributions.items():
            found.setdefault(name, distribution)
    return found


def _few(distribution) -> bool:
    """A choice, or a stepped range of at most ``MAX_VALUES`` values (a layer count, a dropout
    in steps of 0.1), not a width or a rate: what a per-value table can show."""
    if isinstance(distribution, optuna.distributions.CategoricalDistribution):
        return len(distribution.choices) <= MAX_VALUES
    if isinstance(distribution, optuna.distributions.IntDistribution) and not distribution.log:
        return (distribution.high - distribution.low) // distribution.step + 1 <= MAX_VALUES
    if isinstance(distribution, optuna.distributions.FloatDistribution) and distribution.step:
        return round((distribution.high - distribution.low) / distribution.step) + 1 <= MAX_VALUES
    return False


def _key(value):
    """A param value as a table cell: lists (layer widths) as text."""
    return str(value) if isinstance(value, list) else value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.costs", description=__doc__)
    add_studies_arguments(parser, "costs")
    parser.add_argument(
        "--params",
        nargs="+",
        default=None,
        metavar="NAME",
        help=f"these only (default: every choice, and every stepped range of at most "
        f"{MAX_VALUES} values)",
    )
    args = parser.parse_args(argv)
    try:
        studies, out = studies_and_folder(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    frame = costs(studies, args.params)
    if frame.empty:
        print(f"error: no finished trial drew {args.params or 'a parameter'}", file=sys.stderr)
        return 2
    csv, md = out / "costs.csv", out / "costs.md"
    frame.to_csv(csv, index=False)
    shown = readable(frame).to_markdown(index=False)
    md.write_text(shown + "\n")
    print(shown)
    for path in (csv, md):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
