"""The report's figures read on one screen at 15, 200 and 800 recipients (issue 15, point 4).

The figures are drawn from a synthetic result (the tables `ewppt solve` writes, made up here)
through the same functions the report uses, so that 800 counties cost no solve."""

from __future__ import annotations

import io
import re

import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.text import Text

from optimizer.data.output import png_bytes
from optimizer.data.schema import CATEGORIES
from optimizer.reports.report import DPI, FIGURES, duals_figure, label, make_figures
from optimizer.solving.results import EMPTY_COLUMNS

MAX_WIDTH, MAX_HEIGHT = 2000, 1400  # one screen
YEARS = (2011, 2012, 2013, 2014, 2015)


def synthetic_result(recipients: int, donors: int = 10, seed: int = 0) -> tuple[dict, dict[str, pd.DataFrame]]:
    """run.json and tables of a made-up plan: each county paired with one donor, aid in every
    category and year, budget duals equal in every year (as they often are)."""
    rng = np.random.default_rng(seed)
    counties = [f"county_{i:03d}" for i in range(recipients)]
    donor_names = [f"donor_{j:02d}" for j in range(donors)]
    rows = []
    for i, county in enumerate(counties):
        donor = donor_names[i % donors]
        scale = rng.gamma(2.0, 10.0)
        for k, category in enumerate(CATEGORIES):
            for year in YEARS:
                rows.append((donor, county, f"instrument_{k}", category, year, scale * rng.uniform(0.1, 1.0)))
    allocation = pd.DataFrame(rows, columns=EMPTY_COLUMNS["allocation"])
    aid = allocation.groupby("recipient")["aid"].sum().reindex(counties)
    poor = rng.integers(2_000, 150_000, size=recipients).astype(float)
    lifted = np.minimum(poor, aid.to_numpy() * rng.uniform(20, 80, size=recipients))
    kpis = pd.DataFrame({"recipient": counties, "name": [label(c).title() for c in counties], "poor_population": poor,
                         "aid": aid.to_numpy(), "people_lifted": lifted, "coverage": lifted / poor,
                         "leveraged_investment": aid.to_numpy() * 1.5, "people_years": lifted * 3},
                        columns=EMPTY_COLUMNS["kpis"])
    worth = {d: float(v) for d, v in zip(donor_names, rng.uniform(0, 80, size=donors))}
    duals = pd.DataFrame([("budget", "", d, "", "", year, worth[d]) for d in donor_names for year in YEARS],
                         columns=EMPTY_COLUMNS["duals"])
    tables = {"allocation": allocation, "kpis": kpis, "duals": duals,
              "binding": pd.DataFrame(columns=EMPTY_COLUMNS["binding"]),
              "decisions": pd.DataFrame(columns=EMPTY_COLUMNS["decisions"])}
    run = {"status": "optimal", "has_plan": True, "objective": float(lifted.sum()),
           "scenario": {"scenario": {"name": f"synthetic-{recipients}", "objective": "people_lifted"},
                        "priorities": {"scope": "donor", "enterprise_finance_min": 0.2, "public_goods_max": 0.4}},
           "summary": {"objective_name": "people_lifted"}}
    return run, tables


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


@pytest.mark.parametrize("recipients", [15, 200, 800])
def test_every_report_figure_fits_one_screen(recipients):
    run, tables = synthetic_result(recipients)
    figures = make_figures(run, tables)
    assert set(figures) == set(FIGURES)
    for key, fig in figures.items():
        height, width = matplotlib.image.imread(io.BytesIO(png_bytes(fig, DPI))).shape[:2]
        texts = _texts(fig)
        plt.close(fig)
        assert width <= MAX_WIDTH and height <= MAX_HEIGHT, f"{key}.png is {width} x {height} px at {recipients}"
        named = [c for c in tables["kpis"]["recipient"] if any(label(c) in t for t in texts)]
        if key in ("flows", "people"):
            if recipients <= 20:  # every recipient by name, nothing summed
                assert len(named) == recipients, key
                assert not any("other recipients" in t for t in texts), key
            else:  # the largest by name, the rest summed into one row or node that says how many
                assert 10 <= len(named) <= 30, (key, len(named))
                assert any(f"{recipients - len(named)} other recipients" in t for t in texts), (key, texts[:40])


def test_flows_others_carry_the_rest_of_the_aid():
    """At 200 recipients: the 19 largest by aid are named with their aid, and one node carries
    the other 181's aid; the title's total is the whole plan's."""
    run, tables = synthetic_result(200)
    fig = make_figures(run, tables)["flows"]
    totals = tables["allocation"].groupby("recipient")["aid"].sum().sort_values(ascending=False)
    texts = _texts(fig)
    assert f"{totals.sum():,.2f} million yuan" in fig.axes[0].get_title()
    for recipient, aid in totals.head(19).items():
        assert f"{label(recipient)}  {aid:,.2f}" in texts
    assert f"181 other recipients  {totals.iloc[19:].sum():,.2f}" in texts
    plt.close(fig)


def test_duals_figure_shows_every_year_it_lists():
    """Budget duals equal in every year used to be drawn as one dot under a five-year legend."""
    run, tables = synthetic_result(15, donors=4)
    fig = duals_figure(tables["duals"], "people_lifted", None)
    ax = fig.axes[0]
    fig.canvas.draw()
    dots = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert sorted(c.get_label() for c in dots) == [str(y) for y in YEARS]
    for donor in range(4):
        where = np.array([ax.transData.transform(c.get_offsets()[donor]) for c in dots])
        gaps = np.linalg.norm(where[:, None, :] - where[None, :, :], axis=-1)[np.triu_indices(len(YEARS), 1)]
        assert gaps.min() >= 4, f"donor {donor}: two years' dots overlap ({gaps.min():.1f} px apart)"
    plt.close(fig)


def test_years_figure_reads_with_many_donors_and_years():
    """30 donors over ten years: one screen, every year's label readable (no two overlap), and
    the axis in million yuan with thousands separators."""
    from optimizer.reports.report import years_figure

    run, tables = synthetic_result(200, donors=30)
    allocation = tables["allocation"]
    allocation = pd.concat([allocation, allocation.assign(year=allocation["year"] + 5)], ignore_index=True)
    fig = years_figure(allocation)
    height, width = matplotlib.image.imread(io.BytesIO(png_bytes(fig, DPI))).shape[:2]
    assert width <= MAX_WIDTH and height <= MAX_HEIGHT
    renderer = fig.canvas.get_renderer()
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert any(ax.get_title() == "15 other donors" for ax in visible)
    for ax in visible:
        boxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()]
        assert len(boxes) == 10
        assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:]), ax.get_title()
        labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
        assert not any(re.fullmatch(r"\d{4,}", text.replace("\u2212", "")) for text in labels), labels
    plt.close(fig)


def test_people_rows_name_the_largest_and_least_covered_and_sum_the_rest():
    from optimizer.reports.report import people_rows

    run, tables = synthetic_result(800)
    kpis = tables["kpis"]
    rows, others = people_rows(kpis)
    assert others == "781 other recipients" and len(rows) == 20
    largest = kpis.sort_values("poor_population", ascending=False)["recipient"].head(15).tolist()
    assert rows["recipient"].head(15).tolist() == largest
    rest = kpis[~kpis["recipient"].isin(largest)]
    assert rows["recipient"].iloc[15:19].tolist() == rest.sort_values("coverage")["recipient"].head(4).tolist()
    summed = rows.iloc[-1]
    assert summed["poor_population"] + rows["poor_population"].iloc[:19].sum() == pytest.approx(
        kpis["poor_population"].sum())
    assert summed["people_lifted"] + rows["people_lifted"].iloc[:19].sum() == pytest.approx(kpis["people_lifted"].sum())
    assert summed["coverage_low"] >= rows["coverage"].iloc[15:19].max() - 1e-12
    small, none = people_rows(synthetic_result(15)[1]["kpis"])
    assert none is None and len(small) == 15


def test_years_figure_labels_half_million_steps_as_they_are():
    """A donor with a budget of a few million gets ticks every 0.5: they read 0.5, 1, 1.5, not
    "0 1 1 2 2" (the labels used to be rounded to whole numbers)."""
    from optimizer.reports.report import years_figure

    allocation = pd.DataFrame({"donor": "zhuhai", "recipient": "w", "instrument": "cdf", "category": "household_finance",
                               "year": [2011, 2012, 2013], "aid": [2.5, 3.0, 3.8]})
    fig = years_figure(allocation)
    fig.canvas.draw()
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels() if t.get_text()]
    assert "0.5" in labels and "1.5" in labels
    assert len(labels) == len(set(labels)), labels  # no two ticks read the same
    plt.close(fig)
