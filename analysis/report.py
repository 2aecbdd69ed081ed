"""Every figure and table of a study in one folder, with an ``index.html`` that shows them.

    python -m analysis.report --study imdb --out reports/imdb/

Reads only the study storage: it works on any study made by search.optimize, on this machine or
another one, without Keras and without training.
"""

from __future__ import annotations

import html
from pathlib import Path

import optuna
import pandas as pd

from analysis import curves, gaps, history, importance
from analysis.trials import param_names, readable, run, trials_frame, write_table
from search.study_attrs import StudyAttrs

SECTIONS = [
    ("Parameter importance (val_loss)", importance.write),
    ("Overfitting gap", gaps.write),
    ("Learning curves", curves.write),
    ("Optimization history, slices, parallel coordinates", history.write),
]


def write(study: optuna.Study, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    frame = trials_frame(study)
    written = write_table(frame, out, study)
    body = [
        f"<h1>Study {html.escape(study.study_name)}</h1>",
        f"<p>{len(frame)} trials: "
        + ", ".join(f"{n} {s.lower()}" for s, n in frame["state"].value_counts().items())
        + "</p>",
    ]
    complete = frame[frame["state"] == "COMPLETE"]
    if len(complete):  # the table is sorted: its first complete row is the best trial
        best = complete.iloc[0]
        params = ", ".join(
            f"{k}={v}"
            for k, v in readable(complete.head(1))[param_names(study)].iloc[0].items()
            if v
        )
        body.append(
            f"<p><b>Best: trial {int(best['trial'])}</b>, val_loss {best['val_loss']:.4f}, val "
            f"accuracy {best['val_acc']:.4f}"
            + (f", test accuracy {best['test_acc']:.4f}" if pd.notna(best["test_acc"]) else "")
            + f"<br>{html.escape(params)}</p>"
        )
    attrs = StudyAttrs.of(study)
    for base in attrs.baselines.values():
        bar = " (the bar: the better on validation)" if base == attrs.baseline else ""
        body.append(
            f"<p>Baseline to beat{bar}: {html.escape(base['model'])}, same split: val accuracy "
            f"{base['val_accuracy']:.4f}, test accuracy {base['test_accuracy']:.4f}</p>"
        )
    if attrs.language_model:
        body.append(_language_model_html(study, attrs.language_model))
    settings = attrs.settings
    if settings:
        body.append(_settings_html(settings))
    for title, section in SECTIONS:
        body.append(f"<h2>{html.escape(title)}</h2>")
        try:
            files = section(study, out)
        except ValueError as exc:  # e.g. fewer than two completed trials for importance
            body.append(f"<p><em>{html.escape(str(exc))}</em></p>")
            continue
        written += files
        for file in files:
            if file.suffix == ".png":
                body.append(f'<p><img src="{file.name}" alt="{file.stem}"></p>')
            elif file.suffix == ".txt":  # why a figure is not there
                body.append(f"<p><em>{html.escape(file.read_text().strip())}</em></p>")
        if section is history.write:
            body.append(_edge_html(study, history.edge_flags(study)))
    body += [
        "<h2>Trials (sorted by val_loss)</h2>",
        '<div style="overflow-x:auto">' + readable(frame).to_html(index=False, border=0) + "</div>",
    ]
    index = out / "index.html"
    index.write_text(
        "<!doctype html><meta charset='utf-8'><title>"
        f"{html.escape(study.study_name)}</title>"
        # figures at a reading width: at their own 1,260 px the page of a small study ran 9,000 px
        "<style>body{font-family:sans-serif;margin:2em}img{max-width:min(100%,900px)}"
        "table{font-size:12px;border-collapse:collapse}"
        "td,th{padding:2px 6px;border-bottom:1px solid #ddd;text-align:left}"
        "</style>\n" + "\n".join(body) + "\n"
    )
    return [*written, index]


def _language_model_html(study: optuna.Study, lm: dict) -> str:
    """What the study's language model measured and what share of the study's time it took."""
    trials = [t for t in study.get_trials(deepcopy=False) if t.datetime_start]
    ends = [t.datetime_complete for t in trials if t.datetime_complete]
    span = (max(ends) - min(t.datetime_start for t in trials)).total_seconds() if ends else 0
    spent = lm.get("seconds_in_study", 0)
    cost = (
        f"{spent / 60:.1f} min of this study's time"
        + (f" ({spent / span:.0%} of its trials' {span / 60:.0f} min)" if span else "")
        if spent
        else "none of this study's time (cached before it needed it)"
    )
    return (
        f"<p>Language model (embedding lm_tuned): LSTM({lm['settings']['units']}), held-out "
        f"perplexity {lm['perplexity']:.1f} after {lm['tokens']:,} tokens "
        f"({lm['tokens_per_second']:,} tokens/s, {lm['seconds'] / 60:.1f} min); it cost {cost}</p>"
    )


def _settings_html(settings: dict) -> str:
    """The study's settings as a two-column table; nested ones (data, vectors) by dotted name,
    lists as comma-separated values: no Python reprs on the page."""

    def rows(prefix: str, values: dict):
        for key, value in values.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict):
                yield from rows(f"{name}.", value)
            else:
                shown = ", ".join(map(str, value)) if isinstance(value, list | tuple) else value
                yield name, "" if shown is None else str(shown)

    cells = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in rows("", settings)
    )
    return f"<details><summary>Settings</summary><table>{cells}</table></details>"


def _edge_html(study: optuna.Study, flags: pd.DataFrame) -> str:
    complete = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
    if complete < history.EDGE_TRIALS:
        return (
            f"<p>Range edges not judged: {complete} completed trial(s); a best value's place in "
            f"its range says something from {history.EDGE_TRIALS} on.</p>"
        )
    flagged = flags[flags["edge"] != ""]
    if flagged.empty:
        return "<p>No best value sits at the edge of its range.</p>"
    items = "".join(
        f"<li><b>{html.escape(r.param)}</b> = {r.best:g} at the {r.edge} edge of "
        f"[{r.low:g}, {r.high:g}]: widen the range</li>"
        for r in flagged.itertuples()
    )
    return f"<p>Best values at a range edge (the optimum may lie outside):</p><ul>{items}</ul>"


def main(argv: list[str] | None = None) -> int:
    return run(write, argv, "Write every figure and table of a study and an index.html.")


if __name__ == "__main__":
    raise SystemExit(main())
