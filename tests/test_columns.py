"""Weights as needed (optimizer/solving/columns.py): the LPs solved with most vertex weights held
at 0 and brought in by their reduced costs reach the full LP's optimum, derived by hand on a
tiny instance where generation needs two rounds, and equal to the full form's on random curves.

The instance: donor d with 3.5 million in one year for recipient w, which has a fund F
(min_fund_size 0.5, admin capacity 1) and a grant whose curve has six segments of width 1 at
60, 50, 40, 30, 20 and 10 people per million (strictly concave: seven vertices with the origin,
(p, f) = (1, 60), (2, 110), (3, 150), (4, 180), (5, 200), (6, 210)), and F's curve one segment
of width 1 at 45.

Optimum (LP and MIP alike): fill the best rates: grant 60 and 50 (2 million), F's 45 (1 million),
then the grant's 40 for the last 0.5: people 110 + 45 + 20 = **175**; aid grant 2.5, F 1, y_F 1.

Generation with the grant's weights from 2 on (LONG_LINE = 2; step isqrt(6) = 2): the vertices
p = 2, 4, 6 free, the others held. Round 1: the grant's 2.5 million lie on the chord from
(2, 110) to (4, 180), slope 35: 110 + 0.5 x 35 = 127.5, people 172.5. Its duals: aid 35 a
million, people 1, the grant's share row 110 - 2 x 35 = 40; vertex (3, 150) prices at
150 - 3 x 35 - 40 = 5 > 0 (released); (1, 60) at 60 - 35 - 40 < 0 and (5, 200) at
200 - 175 - 40 < 0 (held). Round 2: on the chord from (2, 110) to (3, 150), slope 40:
110 + 0.5 x 40 = 130, people 175; duals aid 40, share 110 - 80 = 30: (1, 60) at -10, (4, 180)
at -10 and (5, 200) at -30: none prices out, 175 is the full LP's optimum.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pandas as pd
import pyomo.environ as pyo
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optimizer.solving.columns as columns
from models.assemble import build_model
from optimizer import load_instance
from optimizer.solving.columns import Weights
from optimizer.solving.solve import _run, new_solver, solve_model
from tests.test_fund_effects import EFFECT_FIGURES, curves, write_instance

RTOL = 1e-9


@contextlib.contextmanager
def generating(long_line: int = 2, from_columns: int = 1):
    """Generation on every line of at least `long_line` weights (the thresholds lowered for tiny
    instances; the default ones leave them whole)."""
    saved = columns.LONG_LINE, columns.FROM_COLUMNS
    columns.LONG_LINE, columns.FROM_COLUMNS = long_line, from_columns
    try:
        yield
    finally:
        columns.LONG_LINE, columns.FROM_COLUMNS = saved


def write_tiny(folder: Path) -> Path:
    """The module docstring's instance."""
    folder.mkdir(parents=True, exist_ok=True)
    grant = "".join(f"w,grant,{j},1,{rate}\n" for j, rate in enumerate((60, 50, 40, 30, 20, 10), start=1))
    files = {
        "donors.csv": "donor,name,kind\nd,Donor,province\n",
        "recipients.csv": ("recipient,name,province,poor_population,special_aid,weight,investment_demand,"
                           "infra_unlock,admin_capacity\nw,Recipient,W,100000,false,1,0,0,1\n"),
        "pairs.csv": "donor,recipient,base_quota\nd,w,0\n",
        "revenue.csv": "donor,level,year,revenue\nd,provincial,2011,350\n",
        "instruments.csv": ("instrument,category,leverage,targets_women,min_fund_size,setup_cost\n"
                            "F,household_finance,0,false,0.5,0\ngrant,public_goods,0,false,0,0\n"),
        "effects.csv": "recipient,instrument,segment,width,people_per_million\nw,F,1,1,45\n" + grant,
        "scenario.toml": ('[scenario]\nname = "tiny curve"\nyears = [2011]\nobjective = "people_lifted"\n\n'
                          "[proportion]\nprovincial = 0.01\nprefectural = 0.0\ncounty = 0.0\n\n"
                          '[priorities]\nscope = "donor"\n\n[solver]\nthreads = 1\n'),
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return load_instance(write_tiny(tmp_path_factory.mktemp("tiny-curve")))


def flows(result) -> dict[str, float]:
    plan = result.allocation
    return plan.groupby("instrument")["aid"].sum().to_dict()


@pytest.mark.parametrize("kind", ["lp", "mip"])
def test_generation_reaches_the_hand_optimum_in_two_rounds(tiny, kind):
    """The docstring's rounds on the loaded model itself: round 1 at 172.5 with vertex (3, 150)
    released, round 2 at 175 with none; the full LP (every weight free again, re-solved from the
    last basis) at 175, the grant 2.5 and F 1."""
    scenario = tiny.scenario.override(**{"scenario.model": kind})
    model = build_model(tiny, scenario)
    grant = [key for key in model.fund_curve_weight if key[1] == "grant"]
    assert len(grant) == 6  # the grant's vertices (a line of another instrument, in the breakpoint form)
    opt = new_solver()
    seen = []

    def run(**options):
        status, raw = _run(opt, model, scenario, relaxation=model.integer, **options)
        seen.append((options.get("warm", False), raw.incumbent_objective))
        return status, raw

    with generating():
        weights = Weights.of(opt, model)
        columns_of = opt._pyomo_var_to_solver_var_map
        free = {key[2] for key in grant if weights.active[list(weights.columns).index(columns_of[id(
            model.fund_curve_weight[key])])]}
        assert free == {2, 4, 6}
        status, raw = weights.solve(run, certify=True)
    assert status == "optimal"
    assert weights.rounds == [2]
    assert [objective for _, objective in seen] == pytest.approx([172.5, 175, 175], rel=RTOL)
    assert [warm for warm, _ in seen] == [False, True, True]  # rounds 2 and the full LP from the basis
    raw.solution_loader.load_vars()
    assert pyo.value(model.z["w"]) == pytest.approx(175, rel=RTOL)
    grant_aid = sum(p * model.fund_curve_weight[key].value for key, p, _ in model.fund_curve_vertices[("w", "grant")])
    assert grant_aid == pytest.approx(2.5, rel=RTOL)
    assert model.fund_curve_weight["w", "grant", 3].value == pytest.approx(0.5, rel=RTOL)
    assert model.fund_curve_weight["w", "grant", 2].value == pytest.approx(0.5, rel=RTOL)
    # every weight has its own bounds back in HiGHS
    lp = opt._solver_model.getLp()
    assert all(lp.col_upper_[j] == 1.0 for j in weights.columns)


@pytest.mark.parametrize("kind", ["lp", "mip"])
def test_a_solve_with_generation_is_the_full_solve(tiny, kind):
    """`solve_model` with generation on the grant gives the full model's plan: 175 people, every
    flow the same (grant 2.5, F 1), F established, and the same duals."""
    scenario = tiny.scenario.override(**{"scenario.model": kind})
    full = solve_model(build_model(tiny, scenario), tiny.with_scenario(scenario), scenario)
    with generating():
        generated = solve_model(build_model(tiny, scenario), tiny.with_scenario(scenario), scenario)
    assert full.status == generated.status == "optimal"
    assert generated.objective == pytest.approx(175, rel=RTOL) == pytest.approx(full.objective, rel=RTOL)
    assert flows(generated) == pytest.approx({"F": 1.0, "grant": 2.5}, rel=RTOL)
    pd.testing.assert_frame_equal(generated.allocation, full.allocation, rtol=RTOL)
    pd.testing.assert_frame_equal(generated.decisions, full.decisions, rtol=RTOL)


# ------------------------------------------------------------------------------ random curves


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=curves(), grant=st.lists(st.sampled_from([1, 2, 4, 7, 11, 16, 22, 29, 37]), min_size=1, max_size=8,
                                     unique=True))
def test_generation_keeps_the_optimum_on_random_curves(tmp_path_factory, data, grant):
    """On random concave curves (the funds' of tests/test_fund_effects.py, and a grant whose
    curve has up to 8 strictly falling rates) the LP and the MIP with every line's weights
    generated (from 2 weights a line) have the full breakpoint form's objective, and the segment
    form's (the model before lines of other instruments had weights), people_lifted and
    people_years."""
    instruments, effects, budget, admin, objective = data
    folder = write_instance(tmp_path_factory.mktemp("random-generated") / "case", budget=budget, admin=admin)
    pd.DataFrame([*instruments, ("grant", "public_goods", 0, False, 0, 0)],
                 columns=["instrument", "category", "leverage", "targets_women", "min_fund_size", "setup_cost"]
                 ).to_csv(folder / "instruments.csv", index=False)
    rates = sorted(grant, reverse=True)
    pd.DataFrame([*effects, *(("w", "grant", j + 1, 1.5, rate) for j, rate in enumerate(rates))],
                 columns=["recipient", "instrument", "segment", "width", "people_per_million"]
                 ).to_csv(folder / "effects.csv", index=False)
    instance = load_instance(folder)
    instance = instance.with_scenario(instance.scenario.override(objective=objective))
    for kind in ("lp", "mip"):
        scenario = instance.scenario.override(**{"scenario.model": kind})
        case = instance.with_scenario(scenario)
        segments = solve_model(build_model(case, scenario, mutable=EFFECT_FIGURES), case, scenario)
        full = solve_model(build_model(case, scenario), case, scenario)
        with generating():
            generated = solve_model(build_model(case, scenario), case, scenario)
        assert segments.status == full.status == generated.status == "optimal"
        assert generated.objective == pytest.approx(full.objective, rel=1e-7, abs=1e-6), kind
        assert generated.objective == pytest.approx(segments.objective, rel=1e-7, abs=1e-6), kind
    shutil.rmtree(folder)
