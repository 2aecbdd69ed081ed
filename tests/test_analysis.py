"""Analysis on studies built without training, with the user attrs the objective writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pandas as pd
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from analysis import curves, gaps, history, importance, report, trials

DISTS = {
    "units": IntDistribution(16, 256, log=True),
    "dropout": FloatDistribution(0.0, 0.6, step=0.1),
    "embedding": CategoricalDistribution(["learned", "glove_frozen", "glove_tuned"]),
    "learning_rate": FloatDistribution(1e-4, 3e-2, log=True),
}


def objective_attrs(train_acc, val_acc, train_loss, val_loss, epochs):
    """What search.objective records, with curves whose best epoch is the last one."""
    return {
        "curves": {
            "loss": [train_loss + 0.1 * (epochs - i) for i in range(1, epochs + 1)],
            "accuracy": [train_acc - 0.01 * (epochs - i) for i in range(1, epochs + 1)],
            "val_loss": [val_loss + 0.05 * (epochs - i) for i in range(1, epochs + 1)],
            "val_accuracy": [val_acc - 0.01 * (epochs - i) for i in range(1, epochs + 1)],
        },
        "epochs_run": epochs,
        "best_epoch": epochs,
        "val_loss": val_loss,
        "val_accuracy": val_acc,
        "train_accuracy": train_acc,
        "train_loss": train_loss,
        "gap_accuracy": train_acc - val_acc,
        "gap_loss": val_loss - train_loss,
        "fit_seconds": 10.0 * epochs,
        "seconds_per_review": 10.0 * epochs / (epochs * 20000),
        "param_count": 1000,
    }


def build_study(storage: str, n_complete: int = 12, name: str = "a") -> optuna.Study:
    study = optuna.create_study(study_name=name, storage=storage)
    study.set_user_attr("settings", {"space": "default", "epochs": 4})
    embeddings = ["learned", "glove_frozen", "glove_tuned"]
    for i in range(n_complete):
        dropout = round(0.1 * (i % 6), 1)
        val_loss = 0.30 + 0.01 * i
        train_acc = 0.99 - 0.1 * dropout  # more dropout, less overfitting
        val_acc = 0.88 - 0.001 * (i % 2)
        params = {
            "units": 16 + 20 * i,
            "dropout": dropout,
            "embedding": embeddings[i % 3],
            "learning_rate": 1e-3 * (1 + i),
        }
        study.add_trial(
            create_trial(
                params=params,
                distributions=DISTS,
                value=val_loss,
                user_attrs=objective_attrs(train_acc, val_acc, 0.1, val_loss, 4),
            )
        )
    study.add_trial(
        create_trial(
            state=TrialState.PRUNED,
            params={"units": 64, "dropout": 0.0, "embedding": "learned", "learning_rate": 0.02},
            distributions=DISTS,
            intermediate_values={1: 0.6, 2: 0.62},
            user_attrs=objective_attrs(0.8, 0.7, 0.5, 0.6, 2),
        )
    )
    study.add_trial(
        create_trial(
            state=TrialState.FAIL,
            params={},
            distributions={},
            user_attrs={"fail_reason": "ValueError: boom"},
        )
    )
    study.set_user_attr("rerun:0", {"test_accuracy": 0.871})
    study.set_user_attr(
        "baseline", {"model": "TF-IDF", "val_accuracy": 0.9044, "test_accuracy": 0.9017}
    )
    return study


@pytest.fixture
def storage(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    build_study(url)
    return url


def load(storage):
    return optuna.load_study(study_name="a", storage=storage)


def test_trials_table_is_sorted_and_exact(storage):
    frame = trials.trials_frame(load(storage))
    assert list(frame["trial"][:3]) == [0, 1, 2]
    assert list(frame["state"][-2:]) == ["PRUNED", "FAIL"]
    first = frame.iloc[0]
    assert first["val_loss"] == pytest.approx(0.30) and first["test_acc"] == 0.871
    assert first["gap_acc"] == pytest.approx(0.99 - 0.88) and first["epochs"] == 4
    assert frame.loc[frame.trial == 12, "val_loss"].item() == pytest.approx(0.6)  # pruned
    assert pd.isna(frame.loc[frame.trial == 1, "test_acc"].item())
    assert {"units", "dropout", "embedding", "learning_rate"} <= set(frame.columns)
    assert first["ms_per_review"] == pytest.approx(0.5)  # 40 s over 4 epochs of 20k reviews
    assert pd.isna(frame.loc[frame.state == "FAIL", "ms_per_review"].item())


def test_gap_values_and_groups_are_exact(storage):
    frame = gaps.gap_frame(load(storage))
    assert len(frame) == 13  # the failed trial trained nothing
    by = gaps.gap_by_param(frame, ["dropout", "embedding"])
    dropout = by[by.param == "dropout"].set_index("value")
    # complete trials: dropout 0.0 at i = 0, 6 (gap 0.11 each); the pruned one adds gap 0.1
    assert dropout.loc["0", "n"] == 3
    assert dropout.loc["0", "mean_gap"] == pytest.approx((0.11 + 0.11 + 0.1) / 3)
    assert dropout.loc["0.5", "mean_gap"] == pytest.approx(0.99 - 0.05 - 0.879)  # i = 5, 11
    emb = by[by.param == "embedding"].set_index("value")
    assert emb.loc["glove_tuned", "n"] == 4
    gap_imp = gaps.gap_importances(load(storage))
    assert gap_imp.index[0] == "dropout"  # the knob that drives the gap, by construction
    assert set(gap_imp.columns) == {"fANOVA", "PED-ANOVA"}


def test_importance_both_evaluators(storage):
    frame = importance.importances(load(storage))
    assert set(frame.index) == set(DISTS) and list(frame.columns) == ["fANOVA", "PED-ANOVA"]
    assert frame["fANOVA"].sum() == pytest.approx(1.0)


def test_importance_needs_enough_completed_trials_to_mean_something(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'one.db'}"
    build_study(url, n_complete=1)
    expected = "needs at least 5 completed trials to mean something; study 'a' has 1"
    with pytest.raises(ValueError, match=expected):
        importance.importances(load(url))
    assert importance.main(["--study", "a", "--storage", url, "--out", str(tmp_path)]) == 2
    assert expected in capsys.readouterr().err
    # the report still writes what can be drawn and says why importance is missing
    assert report.main(["--study", "a", "--storage", url, "--out", str(tmp_path / "r")]) == 0
    page = (tmp_path / "r" / "index.html").read_text()
    assert "needs at least 5 completed trials to mean something; study &#x27;a&#x27; has 1" in page
    assert "Parallel coordinates not drawn: 1 completed trial(s)" in page


def test_curves_and_history_frames(storage):
    study = load(storage)
    frame = curves.curves_frame(study)
    assert len(frame) == 12 * 4 + 2
    pruned = frame[frame.state == "PRUNED"]
    assert list(pruned["val_loss"]) == pytest.approx([0.65, 0.6])
    assert curves.top_trials(study, 3) == [0, 1, 2]
    hist = history.history_frame(study)
    assert list(hist["best_so_far"][:3]) == pytest.approx([0.30, 0.30, 0.30])
    completed = hist[hist.state == "COMPLETE"]
    assert list(hist["best_acc_so_far"].dropna()) == sorted(hist["best_acc_so_far"].dropna())
    assert hist["best_acc_so_far"].max() == pytest.approx(completed["val_accuracy"].max())
    flags = history.edge_flags(study).set_index("param")
    assert flags.loc["units", "edge"] == "low"  # best units=16, the bottom of [16, 256]
    assert flags.loc["dropout", "edge"] == ""  # best 0.0: no range reaches below no dropout


def test_a_small_study_says_what_it_cannot_estimate_instead_of_showing_it(tmp_path):
    """Two completed trials: no range-edge advice, and no importance of either kind (on two
    trials any target splits the same way); a study with only pruned trials marks no trial
    'best'."""
    url = f"sqlite:///{tmp_path / 'small.db'}"
    study = build_study(url, n_complete=2)
    assert history.edge_flags(study).empty
    with pytest.raises(ValueError, match="needs at least 5 completed trials"):
        gaps.gap_importances(study)
    out = tmp_path / "r"
    assert report.main(["--study", "a", "--storage", url, "--out", str(out)]) == 0
    page = (out / "index.html").read_text()
    assert "Range edges not judged: 2 completed trial(s)" in page and "widen" not in page
    assert page.count("needs at least 5 completed trials to mean something") == 2
    assert not (out / "gap_importance.png").exists()
    # the big study's gap importance is its own: dropout drives the gap, not val_loss
    big = build_study(f"sqlite:///{tmp_path / 'big.db'}")
    assert not gaps.gap_importances(big).equals(importance.importances(big))
    pruned_only = build_study(f"sqlite:///{tmp_path / 'pruned.db'}", n_complete=0)
    assert gaps.best_trial(gaps.gap_frame(pruned_only)) is None
    assert gaps.best_trial(gaps.gap_frame(big)) == 0


def test_report_writes_every_figure_and_the_index(storage, tmp_path, capsys):
    out = tmp_path / "report"
    assert report.main(["--study", "a", "--storage", storage, "--out", str(out)]) == 0
    for name in (
        "importance.png",
        "gap_scatter.png",
        "gap_by_param.png",
        "gap_importance.png",
        "curves_top.png",
        "curves_pruned.png",
        "history.png",
        "slices.png",
        "parallel.png",
        "trials.csv",
        "trials.md",
        "index.html",
    ):
        assert (out / name).stat().st_size > 1000 or name.endswith((".csv", ".md")), name
        assert (out / name).stat().st_size > 0
    page = (out / "index.html").read_text()
    assert 'src="importance.png"' in page and "units</b> = 16 at the low edge" in page
    assert "val accuracy 0.9044, test accuracy 0.9017" in page  # the baseline to beat
    best = optuna.load_study(study_name="a", storage=storage).best_trial
    assert f"<b>Best: trial {best.number}</b>, val_loss {best.value:.4f}" in page
    assert "overflow-x:auto" in page  # the wide trials table scrolls, the page does not
    assert f"wrote {out / 'index.html'}" in capsys.readouterr().out


def test_tables_show_small_and_whole_numbers_as_people_read_them():
    import pandas as pd

    from analysis.trials import readable

    frame = pd.DataFrame(
        {
            "l2": [9.3e-06, None],
            "epochs": [29.0, float("nan")],
            "param_count": [1234567.0, 12.0],
            "val_loss": [0.2464123, 1234.5678],
            "bidirectional": [True, False],
        }
    )
    table = readable(frame)
    assert list(table["l2"]) == ["9.3e-06", ""]
    assert list(table["epochs"]) == ["29", ""]
    assert list(table["param_count"]) == ["1234567", "12"]
    assert list(table["val_loss"]) == ["0.2464", "1235"]
    assert list(table["bidirectional"]) == ["True", "False"]


@pytest.mark.parametrize("module", [importance, gaps, curves, history, trials])
def test_each_figure_has_its_own_command(module, storage, tmp_path):
    assert module.main(["--study", "a", "--storage", storage, "--out", str(tmp_path)]) == 0
    assert any(tmp_path.iterdir())


def test_empty_and_unknown_studies_are_clear_errors(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'e.db'}"
    optuna.create_study(study_name="empty", storage=url)
    assert report.main(["--study", "empty", "--storage", url]) == 2
    assert "has no trials yet" in capsys.readouterr().err
    assert report.main(["--study", "nope", "--storage", url]) == 2
    err = capsys.readouterr().err
    assert "No study 'nope'" in err and "it has ['empty']" in err
    assert report.main(["--study", "x", "--storage", f"sqlite:///{tmp_path / 'none.db'}"]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("module", [report, trials])
def test_an_out_that_cannot_be_written_is_a_one_line_error(module, storage, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for out in (blocker, blocker / "below"):
        assert module.main(["--study", "a", "--storage", storage, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: --out {str(out)!r}: cannot write there") and "\n" == err[-1]


def test_analysis_never_imports_keras():
    code = (
        "import sys, analysis.report; "
        "assert not {'keras', 'tensorflow'} & set(sys.modules), 'keras imported'"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def _points(ax) -> set[tuple[float, float]]:
    """The (x, y) of every scatter point drawn on ``ax`` (a missing value draws none)."""
    import numpy as np

    offsets = [np.ma.filled(c.get_offsets().astype(float), np.nan) for c in ax.collections]
    return {_xy(x, y) for rows in offsets for x, y in rows if np.isfinite([x, y]).all()}


def _xy(x, y) -> tuple[float, float]:
    return round(float(x), 6), round(float(y), 6)


def _pairs(xs, ys) -> set[tuple[float, float]]:
    """The points a figure should show for these values: those that are not missing."""
    return {_xy(x, y) for x, y in zip(xs, ys, strict=True) if pd.notna(x) and pd.notna(y)}


def test_each_figure_shows_the_studys_numbers(storage, tmp_path, drawn):
    import numpy as np

    assert report.main(["--study", "a", "--storage", storage, "--out", str(tmp_path)]) == 0
    study = optuna.load_study(study_name="a", storage=storage)

    # importance: one bar per parameter and evaluator, most important on top
    frame = importance.importances(study)
    ax = drawn["importance.png"].axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(frame.index[::-1])
    widths = [bar.get_width() for bar in ax.patches]
    n = len(frame)
    for i, column in enumerate(frame.columns):
        np.testing.assert_allclose(widths[i * n : (i + 1) * n], frame[column][::-1])

    # history: every finished trial's value, the best-so-far steps and the baseline's line
    hist = history.history_frame(study)
    axes = drawn["history.png"].axes
    for ax, column, best in (
        (axes[0], "value", "best_so_far"),
        (axes[2], "val_accuracy", "best_acc_so_far"),
    ):
        assert _points(ax) == _pairs(hist["trial"], hist[column])
        (steps,) = [line for line in ax.get_lines() if line.get_label() == "best so far"]
        np.testing.assert_allclose(steps.get_ydata().astype(float), hist[best].astype(float))
    assert any(list(line.get_ydata()) == [0.9044, 0.9044] for line in axes[2].get_lines())

    # learning curves of the top trials: their stored val_loss, epoch by epoch
    lines = {line.get_label(): line for line in drawn["curves_top.png"].axes[0].get_lines()}
    for number in curves.top_trials(study, 5):
        stored = study.trials[number].user_attrs["curves"]
        assert list(lines[f"trial {number} val"].get_ydata()) == stored["val_loss"]
        assert list(lines[f"trial {number} train"].get_ydata()) == stored["loss"]
    ax = drawn["curves_pruned.png"].axes[0]
    assert len(ax.get_lines()) == 13  # 12 completed trials and the pruned one (no epochs: FAIL)
    assert _points(ax) == {(2.0, 0.6)}  # where the pruned trial stopped

    # the overfitting gap: train against val accuracy of every trial that trained
    gap = gaps.gap_frame(study)
    assert _points(drawn["gap_scatter.png"].axes[0]) == _pairs(gap["train_acc"], gap["val_acc"])
    panels = {ax.get_title(): ax for ax in drawn["gap_by_param.png"].axes if ax.get_visible()}
    assert {round(y, 6) for _, y in _points(panels["units"])} == {
        round(v, 6) for v in gap["gap_acc"]
    }

    # slices: each trial's val_loss against each parameter, the best trial starred
    panels = {ax.get_title().split()[0]: ax for ax in drawn["slices.png"].axes if ax.get_visible()}
    units = history.slice_frame(study)
    best = study.best_trial
    assert _points(panels["units"]) == _pairs(units["units"], units["val_loss"]) | {
        _xy(best.params["units"], best.value)
    }

    # parallel coordinates: one line per completed trial
    ax = drawn["parallel.png"].axes[0]
    assert sum(len(c.get_segments()) for c in ax.collections) == 12


def test_the_summary_lists_the_best_trials_first_with_what_sets_them_apart(storage, tmp_path):
    from analysis import summary as results

    study = optuna.load_study(study_name="a", storage=storage)
    top = results.summary(study, top=3)
    assert list(top["trial"]) == [0, 1, 2] and set(top["state"]) == {"COMPLETE"}
    assert list(top["val_loss"]) == pytest.approx([0.30, 0.31, 0.32])
    assert top["test_acc"].iloc[0] == 0.871  # the rerun's test accuracy, where there is one
    assert {"units", "dropout", "embedding", "learning_rate"} <= set(top.columns)
    assert str(top["epochs"].dtype) == "Int64" and str(top["units"].dtype) == "Int64"
    everything = results.summary(study, top=100)
    assert list(everything["state"]) == ["COMPLETE"] * 12 + ["PRUNED"]  # no failed trial
    one = results.summary(study, top=1)  # nothing differs: all of its params are shown
    assert {"units", "dropout", "embedding", "learning_rate"} <= set(one.columns)


def test_the_results_command_prints_the_summary_and_writes_whole_numbers(storage, tmp_path, capsys):
    from analysis import summary as results

    csv = tmp_path / "out" / "all.csv"
    assert (
        results.main(["--study", "a", "--storage", storage, "--top", "2", "--csv", str(csv)]) == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("study 'a': 14 trials (12 complete, 1 pruned, 1 fail)")
    assert out[1] == "the bar: TF-IDF val accuracy 0.9044, test accuracy 0.9017"
    assert out[2].split()[:5] == ["trial", "state", "val_loss", "val_acc", "test_acc"]
    assert out[3].split()[:3] == ["0", "COMPLETE", "0.3"] and len(out) == 6  # + "wrote"
    table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    assert len(table) == 14 and table.loc[0, "epochs"] == "4" and table.loc[0, "units"] == "16"
    command = [sys.executable, "-m", "search.results", "--study", "a", "--storage", storage]
    shown = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    assert shown.startswith("study 'a': 14 trials") and len(shown.splitlines()) == 2 + 1 + 10
    failed = table.loc[13]  # trained no epoch: 0, and blanks (not nan) where it has no value
    assert (failed["state"], failed["epochs"], failed["units"]) == ("FAIL", "0", "")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--top", "0"], "--top 0: expected a positive number"),
        (["--study", "nope"], "No study 'nope'"),
        (["--csv", "/proc/x/y.csv"], "--csv '/proc/x'"),
    ],
)
def test_the_results_command_refuses_bad_input_in_one_line(storage, argv, message, capsys):
    from analysis import summary as results

    try:
        code = results.main(["--storage", storage, "--study", "a", *argv])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and "Traceback" not in "\n".join(err)


def test_the_report_page_reads_as_a_page(storage, tmp_path, capsys):
    """The command names itself as it is run, settings are a table (no Python reprs), figures
    sit at a reading width."""
    with pytest.raises(SystemExit):
        report.main(["--help"])
    assert capsys.readouterr().out.startswith("usage: python -m analysis.report")
    study = optuna.load_study(study_name="a", storage=storage)
    study.set_user_attr(
        "settings", {"space": "default", "epochs": 4, "data": {"maxlen": 500, "cuts": [1, 2]}}
    )
    assert report.main(["--study", "a", "--storage", storage, "--out", str(tmp_path)]) == 0
    page = (tmp_path / "index.html").read_text()
    assert "<tr><th>data.maxlen</th><td>500</td></tr>" in page
    assert "<tr><th>data.cuts</th><td>1, 2</td></tr>" in page
    assert "{'" not in page and "['" not in page
    assert "img{max-width:min(100%,900px)}" in page


def test_a_parameter_with_one_value_draws_without_a_warning(tmp_path):
    import warnings

    url = f"sqlite:///{tmp_path / 'one.db'}"
    study = optuna.create_study(study_name="a", storage=url)
    for i in range(6):
        params = {"units": 16 + 20 * i, "embedding": "learned"}  # one embedding in every trial
        dists = {k: DISTS[k] for k in params}
        attrs = objective_attrs(0.9, 0.85, 0.1, 0.3 + 0.01 * i, 3)
        study.add_trial(
            create_trial(params=params, distributions=dists, value=0.3 + 0.01 * i, user_attrs=attrs)
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history.plot_parallel(study, tmp_path / "parallel.png", title="t")
    assert [str(w.message) for w in caught] == []


def test_compare_counts_every_epoch_when_measured_or_completed_trials_only():
    """Hyperband's short trials count when they end; a pruned trial's epochs, and a long
    trial's early ones, count as well when they were measured (the default rule), so the
    engines are compared alike. A trial recorded before epoch ends were counts at its end."""
    import datetime as dt

    from analysis import compare
    from search.record import local_seconds

    t0 = dt.datetime(2026, 12, 8, 0, 0, 0)
    at = lambda s: t0 + dt.timedelta(seconds=s)  # noqa: E731
    study = optuna.create_study()

    def add(state, start, end, accuracy, loss, ends=None):
        attrs = {"curves": {"val_accuracy": accuracy, "val_loss": loss}}
        if state == TrialState.COMPLETE:
            best = loss.index(min(loss))
            attrs.update(val_accuracy=accuracy[best], val_loss=loss[best])
        if ends is not None:
            attrs["epoch_ends"] = [local_seconds(at(s)) for s in ends]
        trial = create_trial(
            state=state,
            value=min(loss) if state == TrialState.COMPLETE else None,
            intermediate_values={i + 1: v for i, v in enumerate(loss)},
            user_attrs=attrs,
        )
        trial.datetime_start, trial.datetime_complete = at(start), at(end)
        study.add_trial(trial)

    add(TrialState.COMPLETE, 0, 300, [0.80, 0.86, 0.85], [0.45, 0.33, 0.34], [100, 200, 300])
    add(TrialState.PRUNED, 300, 450, [0.89], [0.30], [400])
    add(TrialState.COMPLETE, 450, 600, [0.87, 0.88], [0.31, 0.29])  # no epoch_ends: at its end

    epoch = compare.progress(study)
    assert list(epoch["seconds"]) == [100, 200, 300, 400, 600]
    assert list(epoch["best_val_accuracy"]) == [0.80, 0.86, 0.86, 0.89, 0.89]
    assert list(epoch["epochs"]) == [1, 2, 3, 4, 6]
    complete = compare.progress(study, "complete")
    assert list(complete["seconds"]) == [300, 450, 600]
    assert list(complete["best_val_accuracy"].fillna(0)) == [0.86, 0.86, 0.88]

    rows = {rule: compare.table([study], rule=rule).iloc[0] for rule in compare.RULES}
    assert (rows["epoch"]["s_to_0.85"], rows["epoch"]["s_to_0.88"]) == (200, 400)
    assert (rows["complete"]["s_to_0.85"], rows["complete"]["s_to_0.88"]) == (300, 600)
    for row in rows.values():
        assert (row["trials"], row["complete"], row["epochs"], row["wall_s"]) == (3, 2, 6, 600)
    assert rows["epoch"]["best_val_acc"] == 0.89 and rows["complete"]["best_val_acc"] == 0.88
    with pytest.raises(ValueError, match="Unknown rule 'best'"):
        compare.progress(study, "best")


def test_costs_say_where_the_budget_went_by_choice(tmp_path, capsys):
    """Seconds, share and the best val accuracy per value, pruned trials counted (the budget
    bought them); a parameter with many values (a width) is left out unless asked for."""
    from analysis import costs

    url = f"sqlite:///{tmp_path / 'c.db'}"
    study = optuna.create_study(study_name="c", storage=url)
    dists = {
        "maxlen": CategoricalDistribution([200, 800]),
        "units": IntDistribution(16, 256),
        "dropout": FloatDistribution(0.0, 0.5, step=0.1),  # 6 values: tabulated
    }
    rows = [  # maxlen, units, state, fit seconds, val accuracy per epoch
        (200, 16, TrialState.COMPLETE, 100.0, [0.80, 0.86]),
        (200, 32, TrialState.PRUNED, 50.0, [0.84]),
        (800, 64, TrialState.PRUNED, 600.0, [0.88]),
        *[(200, 100 + i, TrialState.PRUNED, 25.0, [0.5]) for i in range(8)],
    ]
    for maxlen, units, state, seconds, accuracy in rows:
        study.add_trial(
            create_trial(
                state=state,
                value=0.3 if state == TrialState.COMPLETE else None,
                params={"maxlen": maxlen, "units": units, "dropout": 0.1},
                distributions=dists,
                intermediate_values={i + 1: 0.4 for i in range(len(accuracy))},
                user_attrs={
                    "curves": {"val_accuracy": accuracy, "val_loss": [0.4] * len(accuracy)},
                    "fit_seconds": seconds,
                    "seconds_per_review": seconds / 20000,
                },
            )
        )
    frame = costs.costs([study])
    assert list(frame["param"]) == ["maxlen", "maxlen", "dropout"]  # not a width's range
    first, second, dropout = frame.to_dict("records")
    assert (dropout["value"], dropout["trials"], dropout["seconds"]) == (0.1, 11, 950)
    assert (first["value"], first["trials"], first["complete"]) == (800, 1, 0)
    assert first["seconds"] == 600
    assert first["share"] == round(600 / 950, 3) and first["best_val_acc"] == 0.88
    assert (second["value"], second["trials"], second["seconds"], second["best_val_acc"]) == (
        200,
        10,
        350,
        0.86,
    )
    assert second["ms_per_review"] == 1000 * 25.0 / 20000  # the median trial's
    assert len(costs.costs([study], ["units"])) == 11
    out = tmp_path / "out"
    assert costs.main(["--studies", "c", "--storage", url, "--out", str(out)]) == 0
    assert (out / "costs.csv").exists() and "| maxlen" in capsys.readouterr().out
    assert costs.main(["--studies", "nope", "--storage", url, "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith("error: ")
