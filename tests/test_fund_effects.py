"""A fund's effect, the perspective of its curve (models/fund_effects.py): the breakpoint form
(one row a line, weights on the vertices) against the segment form (a row a segment), derived by hand on an instance
whose relaxation runs half of each of two funds, and equal on random curves.

The instance: donor d with 6 million in one year for recipient w, which has room for one fund
(admin_capacity 1), two funds A and B (min_fund_size 0.5) and a grant:

    A:      2 million at 100 people per million
    B:      4 at 60, then 6 at 40 (a concave curve, in four segments: 2 and 2 at 60, 3 and 3 at 40)
    grant:  100 at 10

A second donor d2, paired with w and with w2, owes w2 its whole 6 million (base_quota), where a
grant lifts 10 per million: 60 people in every plan, and w's funds' big-M (all of w's donors'
budgets) is 12, so a fraction y of a fund may hold up to 12 y (fund_max never binds below).

MIP: one fund. A gives 2 x 100 + 4 x 10 = 240, B gives 4 x 60 + 2 x 40 = 320: B, 320 + 60 = **380**.

Relaxation (y continuous): y_A = a, y_B = 1 - a; a fraction y of a fund lifts at most y times its
curve at aid / y, so the segments hold 2a (100), 4(1 - a) (60), 6(1 - a) (40). The 6 million fill
them by rate: 2a + 4(1 - a) = 4 - 2a at 100 and 60, then 2 + 2a at 40, which fits while
6(1 - a) >= 2 + 2a, a <= 1/2: people 200a + 240(1 - a) + 40(2 + 2a) = 320 + 40a. Beyond 1/2 the
40 segment is full and the rest goes to the grant: 200a + 480(1 - a) + 10(8a - 4) = 440 - 200a.
Both meet at a = 1/2: 340 + 60 = **400**. Half of A holds 1 at 100 (100 people), half of B 2 at
60 and 3 at 40 (240): aid A 1, B 5, w's grant nothing.

A weaker tightening, one row sum_j s_B[j] <= 10 y_B with each segment within its width, would
let half of B fill its 60 segment whole: 100 + 4 x 60 + 1 x 40 + 60 = 440. Both forms give 400.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pyomo.environ as pyo
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.assemble import build_model
from models.fund_effects import curve_vertices, effect_form, fund_lines
from optimizer import load_instance, solve
from optimizer.solving.solve import solve_model

RTOL = 1e-7
EFFECT_FIGURES = {"width", "people_per_million"}  # moved by a study: the segment form


def write_instance(folder: Path, budget: float = 6.0, admin: int = 1) -> Path:
    """The module docstring's instance as a folder."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "donors.csv": "donor,name,kind\nd,Donor,province\nd2,Second donor,province\n",
        "recipients.csv": ("recipient,name,province,poor_population,special_aid,weight,investment_demand,"
                           f"infra_unlock,admin_capacity\nw,Recipient,W,100000,false,1,0,0,{admin}\n"
                           "w2,Other,W2,100000,false,1,0,0,\n"),
        "pairs.csv": "donor,recipient,base_quota\nd,w,0\nd2,w,0\nd2,w2,6\n",
        "revenue.csv": f"donor,level,year,revenue\nd,provincial,2011,{budget * 100}\nd2,provincial,2011,600\n",
        "instruments.csv": ("instrument,category,leverage,targets_women,min_fund_size,setup_cost\n"
                            "A,household_finance,0,false,0.5,0\nB,household_finance,0,false,0.5,0\n"
                            "grant,public_goods,0,false,0,0\n"),
        "effects.csv": ("recipient,instrument,segment,width,people_per_million\n"
                        "w,A,1,2,100\nw,B,1,2,60\nw,B,2,2,60\nw,B,3,3,40\nw,B,4,3,40\nw,grant,1,100,10\n"
                        "w2,grant,1,100,10\n"),
        "scenario.toml": ('[scenario]\nname = "two funds"\nyears = [2011]\nobjective = "people_lifted"\n\n'
                          "[proportion]\nprovincial = 0.01\nprefectural = 0.0\ncounty = 0.0\n\n"
                          '[priorities]\nscope = "donor"\n\n[solver]\nthreads = 1\n'),
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def two_funds(tmp_path_factory):
    return load_instance(write_instance(tmp_path_factory.mktemp("two-funds")))


def solved(instance, kind: str, form: str):
    """(objective, model) of the instance as an LP (the relaxation) or a MIP, in one form."""
    scenario = instance.scenario.override(**{"scenario.model": kind})
    model = build_model(instance, scenario, mutable=EFFECT_FIGURES if form == "segments" else frozenset())
    assert effect_form(model) == form
    result = solve_model(model, instance.with_scenario(scenario), scenario)
    assert result.status == "optimal"
    return result, model


def aid(result) -> dict[str, float]:
    """w's aid by instrument."""
    plan = result.allocation
    return plan[plan["recipient"] == "w"].groupby("instrument")["aid"].sum().to_dict()


def aid_to(result, recipient: str) -> float:
    plan = result.allocation
    return float(plan.loc[plan["recipient"] == recipient, "aid"].sum())


@pytest.mark.parametrize("form", ["breakpoints", "segments"])
def test_relaxation_runs_half_of_each_fund(two_funds, form):
    """The relaxation by hand (module docstring): y_A = y_B = 1/2, aid A 1, B 5, grant 0, 400."""
    result, model = solved(two_funds, "lp", form)
    assert result.objective == pytest.approx(400, rel=RTOL)
    assert pyo.value(model.y["w", "A"]) == pytest.approx(0.5, rel=RTOL)
    assert pyo.value(model.y["w", "B"]) == pytest.approx(0.5, rel=RTOL)
    flows = aid(result)
    assert flows["A"] == pytest.approx(1, rel=RTOL) and flows["B"] == pytest.approx(5, rel=RTOL)
    assert flows.get("grant", 0.0) == pytest.approx(0, abs=1e-7)
    assert pyo.value(model.z["w"]) == pytest.approx(340, rel=RTOL)
    assert aid_to(result, "w2") == pytest.approx(6, rel=RTOL)


@pytest.mark.parametrize("form", ["breakpoints", "segments"])
def test_mip_takes_fund_b(two_funds, form):
    """The MIP by hand: fund B with all 6 million (4 x 60 + 2 x 40), 380."""
    result, model = solved(two_funds, "mip", form)
    assert result.objective == pytest.approx(380, rel=RTOL)
    assert round(pyo.value(model.y["w", "A"])) == 0 and round(pyo.value(model.y["w", "B"])) == 1
    flows = aid(result)
    assert flows["B"] == pytest.approx(6, rel=RTOL)
    assert flows.get("A", 0.0) == pytest.approx(0, abs=1e-7) and flows.get("grant", 0.0) == pytest.approx(0, abs=1e-7)


def test_breakpoint_form_has_one_row_a_line(two_funds):
    """B (four segments) gets one row and a weight per vertex (the ends of its 60 and its 40
    segments: collinear segments share one), and its aid and people are read from the weights;
    A (one segment) keeps its segment row. The segment form has a row per segment."""
    model = build_model(two_funds)
    assert list(model.fund_curve_share) == [("w", "B")]
    assert sorted(model.fund_curve_weight) == [("w", "B", 2), ("w", "B", 4)]
    assert list(model.fund_effect) == [("w", "A", 1)]
    assert str(model.fund_curve_share["w", "B"].body) == "fund_curve_weight[w,B,2] + fund_curve_weight[w,B,4] - y[w,B]"
    use = model.effect_use["w", "B"].body
    assert "fund_curve_weight[w,B,2]" in str(use) and "s[w,B" not in str(use)
    old = build_model(two_funds, mutable=EFFECT_FIGURES)
    assert sorted(old.fund_effect) == [("w", "A", 1), *(("w", "B", j) for j in (1, 2, 3, 4))]
    assert len(old.fund_curve_share) == len(old.fund_curve_weight) == 0


def test_one_aggregated_row_would_be_weaker(two_funds):
    """The module docstring's weaker row: with the segment form's rows replaced by
    sum_j s[j] <= U y (each segment within its width), the relaxation reaches 440."""
    scenario = two_funds.scenario.override(**{"scenario.model": "lp"})
    model = build_model(two_funds, scenario, mutable=EFFECT_FIGURES)
    model.fund_effect.deactivate()
    sets = model.index_sets
    model.aggregated = pyo.Constraint(fund_lines(model), rule=lambda m, w, k: sum(
        m.s[seg] for seg in sets.segments_by_effect[w, k]) <= sum(m.width[seg] for seg in sets.segments_by_effect[w, k])
        * m.y[w, k])
    result = solve_model(model, two_funds.with_scenario(scenario), scenario)
    assert result.objective == pytest.approx(440, rel=RTOL)


def test_curve_vertices_merge_collinear_segments():
    """Equal rates share one vertex; the last segment always ends one."""
    assert curve_vertices([2, 3, 1, 4], [50, 50, 20, 20]) == [(1, 5.0, 250.0), (3, 10.0, 350.0)]
    assert curve_vertices([2], [7]) == [(0, 2.0, 14.0)]


# ------------------------------------------------------------------------------ random curves


@st.composite
def curves(draw):
    """Two or three funds with random concave curves (1 to 6 segments: both forms in one model),
    set-up costs, least sizes, a budget, an admin capacity and an objective."""
    funds = draw(st.integers(2, 3))
    instruments, effects = [], []
    for f in range(funds):
        n = draw(st.integers(1, 6))
        rates = sorted(draw(st.lists(st.sampled_from([5, 15, 30, 45, 60, 80, 120]), min_size=n, max_size=n)),
                       reverse=True)
        widths = draw(st.lists(st.sampled_from([0.5, 1, 2, 3, 5]), min_size=n, max_size=n))
        size = draw(st.sampled_from([0.5, 1, 3]))
        setup = draw(st.sampled_from([0, 0, 0.5, 1.5]))
        instruments.append((f"F{f}", "household_finance", 0, False, size, setup))
        effects += [("w", f"F{f}", j + 1, u, e) for j, (u, e) in enumerate(zip(widths, rates))]
    budget = draw(st.sampled_from([1, 2.5, 4, 7, 12]))
    admin = draw(st.sampled_from([1, 2]))
    objective = draw(st.sampled_from(["people_lifted", "people_years"]))  # people_years: the yearly rows
    return instruments, effects, budget, admin, objective


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return tmp_path_factory.mktemp("random-curves")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=curves())
def test_forms_have_the_same_relaxation_and_optimum(template, data):
    """On random concave curves the breakpoint and segment forms give the same LP relaxation
    bound and the same MIP optimum."""
    instruments, effects, budget, admin, objective = data
    folder = write_instance(template / "case", budget=budget, admin=admin)
    pd.DataFrame([*instruments, ("grant", "public_goods", 0, False, 0, 0)],
                 columns=["instrument", "category", "leverage", "targets_women", "min_fund_size", "setup_cost"]
                 ).to_csv(folder / "instruments.csv", index=False)
    pd.DataFrame([*effects, ("w", "grant", 1, 100, 2)],
                 columns=["recipient", "instrument", "segment", "width", "people_per_million"]
                 ).to_csv(folder / "effects.csv", index=False)
    instance = load_instance(folder)
    instance = instance.with_scenario(instance.scenario.override(objective=objective))
    for kind in ("lp", "mip"):
        new, _ = solved(instance, kind, "breakpoints")
        old, _ = solved(instance, kind, "segments")
        assert new.objective == pytest.approx(old.objective, rel=1e-7, abs=1e-6), kind
    shutil.rmtree(folder)


def test_relax_flag_reports_the_same_gap(two_funds):
    """`ewppt solve --relax`: relaxation 400, MIP 380, gap 20 / 400."""
    relaxed = solve(two_funds, relax=True)
    assert relaxed.objective == pytest.approx(400, rel=RTOL)
    assert relaxed.summary["mip_objective"] == pytest.approx(380, rel=RTOL)
    assert relaxed.summary["integrality_gap"] == pytest.approx(20 / 400, rel=1e-6)


def test_a_study_moving_the_effects_builds_the_segment_form(two_funds):
    """The breakpoint form's p and f are sums over segments, which a moved Param would leave stale."""
    assert effect_form(build_model(two_funds, mutable={"width"})) == "segments"
    assert effect_form(build_model(two_funds, mutable={"people_per_million"})) == "segments"
    assert effect_form(build_model(two_funds, mutable={"poor_population"})) == "breakpoints"


def test_ranging_reads_the_segment_form(two_funds):
    """`solve(..., ranging=True)` builds the segment form (ranging moves a people per million in
    the people rows; the breakpoint form also holds it in the vertices): its ranging table is
    the segment form's, row for row, and the plan the same."""
    ranged = solve(two_funds, ranging=True)
    model = build_model(two_funds, mutable=EFFECT_FIGURES)
    reference = solve_model(model, two_funds, two_funds.scenario, ranging=True)
    assert ranged.objective == pytest.approx(reference.objective, rel=RTOL) == pytest.approx(380, rel=RTOL)
    pd.testing.assert_frame_equal(ranged.ranging, reference.ranging)
    assert len(ranged.ranging[(ranged.ranging["family"] == "effects") & (ranged.ranging["instrument"] == "B")]) == 4
