"""Refined effect curves: cutting a curve's segments into more segments at the same people per
million is the same piecewise-linear function, so it must give the same optimum and the same plan.

This is what benchmarks/bench_curves.py times (its `refine_effects`, imported here, is the one
tested): ewppt-2010 with its curves refined towards 100,000 effect rows. The tiny instance's optimum
is derived by hand in instances/tiny/README.md (people lifted 2,760).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer import load_instance, solve
from optimizer.solving.evaluate import people_lifted
from tests.helpers import plan_totals

ROOT = Path(__file__).resolve().parents[1]
APPROX = dict(rel=1e-9, abs=1e-7)

_spec = importlib.util.spec_from_file_location("bench_curves", ROOT / "benchmarks" / "bench_curves.py")
bench_curves = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_curves)


def refined_folder(tmp: Path, source: str, effects: pd.DataFrame) -> Path:
    folder = tmp / f"{source}-refined"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(ROOT / "instances" / source, folder)
    effects.to_csv(folder / "effects.csv", index=False)
    (folder / "provenance.csv").unlink(missing_ok=True)  # it names the old segments; the model never reads it
    return folder


def cut_at(effects: pd.DataFrame, cuts: list[list[float]]) -> pd.DataFrame:
    """Segment i cut at the fractions cuts[i] of its width (same people per million each piece)."""
    rows = []
    effects = effects.sort_values(["recipient", "instrument", "segment"]).reset_index(drop=True)
    for (w, k), line in effects.groupby(["recipient", "instrument"], sort=False):
        number = 0
        for i, row in line.iterrows():
            edges = [0.0, *sorted(cuts[i]), 1.0]
            for a, b in zip(edges, edges[1:]):
                number += 1
                rows.append((w, k, number, row["width"] * (b - a), row["people_per_million"]))
    return pd.DataFrame(rows, columns=["recipient", "instrument", "segment", "width", "people_per_million"])


def test_refine_split_keeps_every_breakpoint_and_slope():
    effects = pd.read_csv(ROOT / "instances" / "tiny" / "effects.csv")
    refined = bench_curves.refine_effects(effects, 4)
    assert len(refined) == 4 * len(effects)
    upland = refined[(refined["recipient"] == "upland") & (refined["instrument"] == "cdf")]
    assert upland["segment"].tolist() == list(range(1, 9))
    assert upland["width"].tolist() == pytest.approx([1.5] * 4 + [2.5] * 4)
    assert upland["people_per_million"].tolist() == [100] * 4 + [40] * 4


def test_refine_concave_keeps_the_breakpoints_and_falls_strictly():
    effects = pd.read_csv(ROOT / "instances" / "tiny" / "effects.csv")
    refined = bench_curves.refine_effects(effects, 5, curve="concave")
    upland = refined[(refined["recipient"] == "upland") & (refined["instrument"] == "cdf")]
    rates = upland["people_per_million"].to_numpy()
    assert (np.diff(rates) < 0).all()  # strictly concave
    people = upland["width"].to_numpy() * rates
    assert people[:5].sum() == pytest.approx(6 * 100) and people[5:].sum() == pytest.approx(10 * 40)


@pytest.mark.parametrize("pieces", [2, 7])
def test_tiny_refined_has_the_same_optimum_and_plan(tiny, tmp_path, pieces):
    """The hand-derived optimum of instances/tiny (2,760 people) and its plan, from a curve cut
    into 2 and 7 times as many segments."""
    folder = refined_folder(tmp_path, "tiny", bench_curves.refine_effects(tiny.effects, pieces))
    refined = solve(load_instance(folder))
    bundled = solve(tiny)
    assert refined.status == bundled.status == "optimal"
    assert refined.objective == pytest.approx(2760, **APPROX)
    assert plan_totals(refined.allocation) == pytest.approx(plan_totals(bundled.allocation), **APPROX)
    assert plan_totals(refined.allocation, by=("donor", "recipient", "instrument", "year")) == pytest.approx(
        plan_totals(bundled.allocation, by=("donor", "recipient", "instrument", "year")), **APPROX)
    people = dict(zip(refined.kpis["recipient"], refined.kpis["people_lifted"]))
    assert people == pytest.approx({"upland": 920, "valley": 1240, "plateau": 600}, **APPROX)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_cutting_segments_anywhere_keeps_the_effect_of_every_plan(tiny, data):
    """The effect (people lifted per recipient, as evaluate computes it from a plan alone) of any
    plan is the same with the segments cut at any points: the piecewise function is unchanged."""
    effects = tiny.effects.sort_values(["recipient", "instrument", "segment"]).reset_index(drop=True)
    cuts = [data.draw(st.lists(st.floats(0.01, 0.99), max_size=4), label=f"cuts {i}") for i in range(len(effects))]
    refined = dataclasses.replace(tiny, effects=cut_at(effects, cuts))
    aid = data.draw(st.lists(st.floats(0, 30), min_size=len(_flows(tiny)), max_size=len(_flows(tiny))), label="aid")
    allocation = pd.DataFrame(_flows(tiny), columns=["donor", "recipient", "instrument", "year"]).assign(aid=aid)
    assert people_lifted(refined, allocation).to_dict() == pytest.approx(people_lifted(tiny, allocation).to_dict(),
                                                                         rel=1e-9, abs=1e-7)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.lists(st.floats(0.05, 0.95).map(lambda f: round(f, 3)), max_size=3, unique=True),
                    min_size=7, max_size=7))
def test_tiny_cut_anywhere_has_the_same_optimum(tiny, tmp_path_factory, cuts):
    # cuts a thousandth apart at least: two cuts 1e-17 apart made a segment of width 1e-16, which
    # the instance's checks refuse (a figure below 1e-9 of its column's largest), as they should
    folder = refined_folder(tmp_path_factory.mktemp("cut"), "tiny", cut_at(tiny.effects, cuts))
    result = solve(load_instance(folder))
    assert result.status == "optimal"
    assert result.objective == pytest.approx(2760, **APPROX)


def test_ewppt_2010_refined_has_the_same_optimum(tmp_path):
    """ewppt-2010 as an LP (the optimum exact, not to a MIP gap) with each curve in 12 segments
    instead of 3: the same objective and the same plan totals per funding line."""
    folder = tmp_path / "ewppt-2010-x4"
    rows = bench_curves.write_refined(folder, 4)
    assert rows == 4 * len(load_instance("ewppt-2010").effects)
    bundled = solve(load_instance("ewppt-2010"), **{"scenario.model": "lp"})
    refined = solve(load_instance(folder), **{"scenario.model": "lp"})
    assert refined.status == bundled.status == "optimal"
    assert refined.objective == pytest.approx(bundled.objective, rel=1e-9)
    assert plan_totals(refined.allocation) == pytest.approx(plan_totals(bundled.allocation), rel=1e-6, abs=1e-6)


def _flows(instance) -> list[tuple]:
    pairs = list(zip(instance.pairs["donor"], instance.pairs["recipient"]))
    return [(d, w, k, t) for d, w in pairs for k in instance.instruments["instrument"] for t in instance.scenario.years]
