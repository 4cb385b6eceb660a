"""What `ewppt sweep-report` draws (issue 15, point 4): the tornado says which end of each
parameter gave which bar and its CSV holds the runs at the parameter's low and high values; each
one-at-a-time response panel plots that parameter's own runs; axes in words with units; no
duplicate objective panel; Sobol confidence intervals shown honestly."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection
from matplotlib.text import Text

from optimizer.studies.study import Study
from optimizer.studies.sweep import sweep
from optimizer.studies.sweep_report import (metric_label, parameter_label, reported_metrics, response_curves,
                                            sobol_figure, write_sweep_report)

OAT = {"study": {"design": "oat"}, "parameter": [
    {"path": "proportion.provincial", "values": [0.005, 0.0075, 0.015]},
    {"path": "priorities.enterprise_finance_min", "values": [0.1, 0.2]},
    {"path": "recipients.plateau.poor_population", "bounds": [0.5, 2.0]}]}


@pytest.fixture(scope="module")
def oat(tiny, tmp_path_factory):
    folder = tmp_path_factory.mktemp("oat") / "oat"
    results = sweep(tiny, Study.model_validate(OAT), out=folder, workers=1)
    assert (results["status"] == "optimal").all()
    return folder, results, [p.name for p in write_sweep_report(folder)]


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def test_tornado_csv_holds_the_runs_at_each_parameters_low_and_high_value(oat):
    folder, results, _ = oat
    base = results.loc[results["scenario_id"] == 0].iloc[0]
    table = pd.read_csv(folder / "tornado.csv").set_index("parameter")
    for path, spec in ((p["path"], p) for p in OAT["parameter"]):
        levels = spec.get("values") or spec["bounds"]
        row = table.loc[path]
        assert row["low_value"] == pytest.approx(min(levels)) and row["high_value"] == pytest.approx(max(levels))
        for end in ("low", "high"):
            run = results[results["scenario_id"] == row[f"{end}_scenario"]].iloc[0]
            assert run[path] == pytest.approx(row[f"{end}_value"])
            assert row[end] == pytest.approx(run["objective"] - base["objective"])
    # a higher enterprise-finance minimum can only cost people: its high end is the loss, whatever
    # the sign (the table used to put the smaller change under `low`, the larger under `high`)
    efm = table.loc["priorities.enterprise_finance_min"]
    assert efm["high"] <= efm["low"] + 1e-9 and efm["high"] < 0
    assert table.loc["proportion.provincial", "high"] > 0 > table.loc["proportion.provincial", "low"]


def test_tornado_png_says_which_end_gave_which_bar(oat):
    from optimizer.studies.sweep_report import load_study_folder, tornado

    folder, results, names = oat
    assert "tornado.png" in names
    record, results, paths = load_study_folder(folder)
    table, fig = tornado(results, paths, record=record)
    texts = " ".join(_texts(fig))
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("low value" in t for t in legend) and any("high value" in t for t in legend)
    for row in table.itertuples():  # each parameter's two ends, by value, beside its bars
        assert f"low {row.low_text}" in texts and f"high {row.high_text}" in texts
    plt.close(fig)


def test_each_oat_response_panel_plots_its_own_runs(oat):
    folder, results, names = oat
    record = json.loads((folder / "study.json").read_text())
    paths = [p["path"] for p in OAT["parameter"]]
    fig = response_curves(results, paths, "people_lifted", record=record)
    for ax, path, spec in zip(fig.axes, paths, OAT["parameter"]):
        points = np.concatenate([line.get_xydata() for line in ax.get_lines() if line.get_label() != "base run"])
        xs = sorted(set(np.round(points[:, 0], 12)))
        levels = set(spec.get("values") or spec["bounds"])
        own = len(levels | {results.loc[0, path]})
        assert len(xs) == own, (path, xs)  # the base and this parameter's levels, no stack at the base
        assert len(points) == own, (path, len(points))
        assert " ".join(ax.get_xlabel().split()) == parameter_label(path, spec.get("mode"))
        assert " ".join(ax.get_ylabel().split()) == metric_label("people_lifted")
    plt.close(fig)


def test_objective_equal_to_people_lifted_is_not_drawn_twice(oat):
    folder, results, names = oat
    assert reported_metrics(results) == ["people_lifted", "min_coverage"]
    assert "response_objective.png" not in names and "response_people_lifted.png" in names
    other = results.assign(objective=results["min_coverage"])  # an equity study: the objective is its own
    assert reported_metrics(other) == ["objective", "people_lifted", "min_coverage"]


def test_labels_are_words_with_units():
    assert parameter_label("proportion.provincial") == "provincial extraction proportion (share of revenue)"
    assert parameter_label("instruments.loan_guarantee.leverage") == \
        "leverage of loan guarantee (factor on the instance's value)"
    assert parameter_label("effects.*.cdf.people_per_million") == \
        "effect of cdf in every recipient, people per million (factor on the instance's value)"
    assert metric_label("min_coverage") == "least coverage (share of a recipient's poor population)"
    assert metric_label("people_lifted") == "people lifted (people)"
    assert metric_label("objective", "equity") == "objective: equity, the least coverage (share)"


def test_sobol_intervals_are_clipped_at_0_and_1_with_a_note():
    indices = pd.DataFrame({"metric": ["people_lifted"] * 2, "parameter": ["proportion.provincial",
                                                                             "instruments.loan_guarantee.leverage"],
                            "S1": [0.9, -0.01], "S1_conf": [0.2, 0.03], "ST": [0.98, 0.004], "ST_conf": [0.15, 0.01]})
    fig = sobol_figure(indices)
    ax = fig.axes[0]
    fig.canvas.draw()
    whiskers = [segment for collection in ax.collections if isinstance(collection, LineCollection)
                for segment in collection.get_segments()]
    assert len(whiskers) == 4
    for segment in whiskers:  # horizontal bars: the whiskers run along x
        assert segment[:, 0].min() >= -1e-12 and segment[:, 0].max() <= 1 + 1e-12
    texts = " ".join(_texts(fig))
    assert "clipped" in texts and "proportion" in texts
    assert ax.get_xlim()[1] <= 1.1 and "Sobol index" in ax.get_xlabel()
    assert ax.get_title() == metric_label("people_lifted")
    plt.close(fig)
