"""The MIP families: fund establishment, indivisible projects, cadre exchange.

Variants of the tiny instance whose optima are derived by hand in instances/tiny/README.md
("MIP variants"), and hypothesis-generated tiny MIPs whose optimum must equal a brute-force
enumeration of every whole decision (each fixed in turn, the rest solved as an LP).
"""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.assemble import build_model
from optimizer import load_instance, solve
from optimizer.solving.evaluate import people_lifted
from optimizer.solving.solve import _run, new_solver
from tests.conftest import INSTANCES
from tests.helpers import assert_sweep_matches_solves, plan_totals

TINY = INSTANCES / "tiny"
RTOL = 1e-6


def variant(tmp_path: Path, name: str, instruments: dict | None = None, effects_without: tuple = (),
            projects: list | None = None, cadres: list | None = None, admin: dict | None = None) -> Path:
    """A copy of tiny with some MIP data: instrument (min_fund_size, setup_cost) by name,
    effect rows dropped by (recipient, instrument), projects and cadres as rows, admin
    capacities by recipient."""
    folder = tmp_path / name
    shutil.copytree(TINY, folder)
    inst = pd.read_csv(folder / "instruments.csv").astype({"min_fund_size": float, "setup_cost": float})
    for k, (size, setup) in (instruments or {}).items():
        inst.loc[inst["instrument"] == k, ["min_fund_size", "setup_cost"]] = [size, setup]
    inst.to_csv(folder / "instruments.csv", index=False)
    eff = pd.read_csv(folder / "effects.csv")
    eff = eff[[(w, k) not in effects_without for w, k in zip(eff["recipient"], eff["instrument"])]]
    eff.to_csv(folder / "effects.csv", index=False)
    if projects:
        pd.DataFrame(projects, columns=["project", "recipient", "instrument", "cost", "people", "earliest_year"]).to_csv(
            folder / "projects.csv", index=False)
    if cadres:
        pd.DataFrame(cadres, columns=["donor", "recipient", "min_per_year", "max_per_year", "cost_per_cadre",
                                      "capacity_per_cadre"]).to_csv(folder / "cadres.csv", index=False)
    if admin:
        rec = pd.read_csv(folder / "recipients.csv")
        rec["admin_capacity"] = pd.array([admin.get(w) for w in rec["recipient"]], dtype="Int64")
        rec.to_csv(folder / "recipients.csv", index=False)
    return folder


def decisions(result, kind: str) -> dict:
    table = result.decisions[result.decisions["kind"] == kind]
    key = {"fund": ["recipient", "instrument"], "project": ["project"], "cadres": ["donor", "recipient", "year"]}[kind]
    return {tuple(row[:-1]) if len(row) > 2 else row[0]: row[-1]
            for row in table[key + ["count"]].itertuples(index=False, name=None)}


# ------------------------------------------------------------------------------ by hand


def test_minimum_fund_size(tmp_path):
    """cdf a fund of at least 7: plateau's 4 of cdf becomes 7 (README: 2,640)."""
    result = solve(load_instance(variant(tmp_path, "min7", instruments={"cdf": (7, 0)})))
    assert result.status == "optimal" and result.summary["model"] == "mip"
    assert result.objective == pytest.approx(2640, rel=RTOL)
    totals = plan_totals(result.allocation, by=("recipient", "instrument"))
    assert totals == {("upland", "cdf"): 11, ("plateau", "cdf"): 7, ("plateau", "roads"): 2,
                      ("valley", "cdf"): 8, ("valley", "roads"): 12}
    assert decisions(result, "fund") == {("upland", "cdf"): 1, ("valley", "cdf"): 1, ("plateau", "cdf"): 1}
    assert result.summary["mip_gap"] == pytest.approx(0, abs=1e-9)


def test_setup_cost_comes_out_of_capital(tmp_path):
    """cdf costs 1 to set up in each recipient, before the capital lifts anyone (README: 2,630)."""
    result = solve(load_instance(variant(tmp_path, "setup1", instruments={"cdf": (0, 1)})))
    assert result.objective == pytest.approx(2630, rel=RTOL)
    totals = plan_totals(result.allocation, by=("recipient", "instrument"))
    assert totals == {("upland", "cdf"): 13, ("plateau", "cdf"): 5, ("plateau", "roads"): 2,
                      ("valley", "cdf"): 9, ("valley", "roads"): 11}
    # the KPIs, evaluated from the allocation, charge the set-up cost too
    assert result.kpis["people_lifted"].sum() == pytest.approx(2630, rel=RTOL)


def test_projects_replace_the_effect(tmp_path):
    """plateau's roads are two projects; the well (2 for 100 people) is built (README: 2,740)."""
    folder = variant(tmp_path, "projects", effects_without=(("plateau", "roads"),),
                     projects=[("plateau_road", "plateau", "roads", 4, 300, 2012),
                               ("plateau_well", "plateau", "roads", 2, 100, 2011)])
    result = solve(load_instance(folder))
    assert result.objective == pytest.approx(2740, rel=RTOL)
    assert decisions(result, "project") == {"plateau_well": 1}
    totals = plan_totals(result.allocation, by=("recipient", "instrument"))
    assert totals[("plateau", "roads")] == 2 and totals[("plateau", "cdf")] == 4
    assert result.kpis.set_index("recipient").at["plateau", "people_lifted"] == pytest.approx(580)


def test_effect_rows_of_a_project_line_are_ignored_with_a_warning(tmp_path):
    folder = variant(tmp_path, "projects", projects=[("plateau_well", "plateau", "roads", 2, 100, 2011)])
    instance = load_instance(folder)
    assert any("plateau / roads has projects" in str(w) for w in instance.warnings)
    assert solve(instance).objective == pytest.approx(2740, rel=RTOL)


def test_cadres_pay_for_the_capacity_to_run_a_fund(tmp_path):
    """upland can run no fund unless coastal sends a cadre in both years (cost 1 each; README: 2,680)."""
    folder = variant(tmp_path, "cadres", instruments={"cdf": (1, 0)}, admin={"upland": 0},
                     cadres=[("coastal", "upland", 0, 1, 1, 0.5)])
    result = solve(load_instance(folder))
    assert result.objective == pytest.approx(2680, rel=RTOL)
    assert decisions(result, "cadres") == {("coastal", "upland", 2011): 1, ("coastal", "upland", 2012): 1}
    assert result.summary["cadre_cost_million"] == 2
    coastal = result.allocation[result.allocation["donor"] == "coastal"]
    assert coastal["aid"].sum() == pytest.approx(18)  # 20 budget less 2 for cadres


def test_project_timing(tmp_path):
    """A project from 2012 on is paid only from 2012 aid."""
    folder = variant(tmp_path, "timing", effects_without=(("plateau", "roads"),),
                     projects=[("plateau_road", "plateau", "roads", 3, 600, 2012)])
    result = solve(load_instance(folder))
    assert decisions(result, "project") == {"plateau_road": 1}
    roads = result.allocation[(result.allocation["recipient"] == "plateau") & (result.allocation["instrument"] == "roads")]
    assert roads.loc[roads["year"] == 2012, "aid"].sum() == pytest.approx(3)
    assert roads.loc[roads["year"] == 2011, "aid"].sum() == pytest.approx(0)


def test_project_after_the_plan_is_never_built(tmp_path):
    folder = variant(tmp_path, "late", effects_without=(("plateau", "roads"),),
                     projects=[("plateau_road", "plateau", "roads", 1, 600, 2014)])
    instance = load_instance(folder)
    assert any("after the last plan year" in str(w) for w in instance.warnings)
    assert decisions(solve(instance), "project") == {}


def test_lp_model_is_the_relaxation(tmp_path):
    """model = "lp" solves the same data continuously. With fund_effect (s <= u y) the
    relaxation of the fund-of-7 variant is already tight (README: plateau's cdf route costs
    7 y + (600 - 480 y) / 60 = 10 - y million, least at y = 1): 2,640, gap 0."""
    instance = load_instance(variant(tmp_path, "min7", instruments={"cdf": (7, 0)}))
    relaxed = solve(instance, relax=True)
    assert relaxed.summary["model"] == "lp"
    assert relaxed.objective == pytest.approx(2640, rel=RTOL)
    assert relaxed.summary["mip_objective"] == pytest.approx(2640, rel=RTOL)
    assert relaxed.summary["integrality_gap"] == pytest.approx(0, abs=1e-9)


def test_relax_reports_the_integrality_gap(tmp_path):
    """The projects variant relaxed: 0.4 of plateau's road (1.6 million for 120 people, 75 per
    million, better than the well's 50 and upland's 40) fills plateau's cap. Coastal: upland
    14.4 (600 + 8.4 x 40), plateau 4 + 1.6 (600): 1,536; harbour 1,240. 2,776 against the
    MIP's 2,740: gap 36 / 2,776."""
    folder = variant(tmp_path, "projects", effects_without=(("plateau", "roads"),),
                     projects=[("plateau_road", "plateau", "roads", 4, 300, 2012),
                               ("plateau_well", "plateau", "roads", 2, 100, 2011)])
    relaxed = solve(load_instance(folder), relax=True)
    assert relaxed.objective == pytest.approx(2776, rel=RTOL)
    assert relaxed.summary["mip_objective"] == pytest.approx(2740, rel=RTOL)
    assert relaxed.summary["integrality_gap"] == pytest.approx(36 / 2776, rel=1e-6)
    assert decisions(relaxed, "project") == {"plateau_road": pytest.approx(0.4)}


# ------------------------------------------------------------------------------ brute force


@st.composite
def tiny_mips(draw):
    fund = draw(st.sampled_from(["cdf", "loan_guarantee", "roads"]))
    size = draw(st.sampled_from([0, 2, 5, 9, 13]))
    setup = draw(st.sampled_from([0, 0.5, 2]))
    if size == 0 and setup == 0:
        size = 3
    admin = {w: draw(st.sampled_from([None, 0, 1, 2])) for w in ("upland", "valley", "plateau")}
    project_line = draw(st.sampled_from([None, ("plateau", "roads"), ("valley", "roads")]))
    projects = []
    if project_line:
        for n in range(draw(st.integers(1, 3))):
            projects.append((f"p{n}", *project_line, draw(st.sampled_from([1, 2.5, 4, 7, 12])),
                             draw(st.sampled_from([50, 150, 300, 700])), draw(st.sampled_from([2011, 2012]))))
    cadres = []
    if draw(st.booleans()):
        d, w = draw(st.sampled_from([("coastal", "upland"), ("harbour", "valley"), ("coastal", "plateau")]))
        low = draw(st.integers(0, 1))
        cadres.append((d, w, low, low + 1, draw(st.sampled_from([0.5, 1.5])), draw(st.sampled_from([0, 0.5, 1]))))
    objective = draw(st.sampled_from(["people_lifted", "weighted_people_lifted", "leveraged_investment",
                                      "people_years"]))
    return dict(instruments={fund: (size, setup)}, admin=admin, projects=projects, cadres=cadres,
                effects_without=(project_line,) if project_line else ()), objective


def brute_force(instance) -> float | None:
    """Best objective over every whole decision, each fixed in turn (the rest an LP)."""
    model = build_model(instance, instance.scenario.override(**{"scenario.model": "lp"}))
    opt = new_solver()
    choices = [(v, [0, 1]) for v in model.y.values()] + [(v, [0, 1] if v.ub == 1 else [0]) for v in model.v.values()]
    choices += [(v, list(range(int(v.lb), int(v.ub) + 1))) for v in model.c.values()]
    best = None
    for values in itertools.product(*(options for _, options in choices)):
        for (var, _), value in zip(choices, values):
            var.fix(value)
        status, raw = _run(opt, model, instance.scenario)
        if status == "optimal" and (best is None or raw.incumbent_objective > best):
            best = raw.incumbent_objective
    return best


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=tiny_mips())
def test_mip_optimum_equals_brute_force(tmp_path_factory, case):
    data, objective = case
    folder = variant(tmp_path_factory.mktemp("mip"), "case", **data)
    instance = load_instance(folder, **{"scenario.objective": objective, "solver.mip_rel_gap": 0.0})
    result = solve(instance)
    best = brute_force(instance)
    if best is None:
        assert result.status == "infeasible"
        return
    assert result.status == "optimal"
    assert result.objective == pytest.approx(best, rel=RTOL, abs=1e-6)
    check_whole_decisions(instance, result)


def check_whole_decisions(instance, result) -> None:
    """Invariants of a MIP plan, recomputed from the instance and the result's tables."""
    alloc = result.allocation
    capital = alloc.groupby(["recipient", "instrument"])["aid"].sum()
    inst = instance.instruments.set_index("instrument")
    funds = decisions(result, "fund")
    # a fund either has no capital or at least its minimum size (and its set-up cost)
    for (w, k), amount in capital.items():
        least = max(inst.at[k, "min_fund_size"], inst.at[k, "setup_cost"])
        if least > 0 and amount > 1e-7:
            assert amount >= least - 1e-6 and funds.get((w, k)) == 1
    for (w, k) in funds:
        assert capital.get((w, k), 0) >= max(inst.at[k, "min_fund_size"], inst.at[k, "setup_cost"]) - 1e-6
    # admin capacity, raised by cadre-years
    cadres = decisions(result, "cadres")
    rec = instance.recipients.set_index("recipient")
    for w, limit in rec["admin_capacity"].items():
        if limit is None or pd.isna(limit):
            continue
        raised = sum(c * instance.cadres.set_index(["donor", "recipient"]).at[(d, w2), "capacity_per_cadre"]
                     for (d, w2, _), c in cadres.items() if w2 == w)
        assert sum(1 for (w2, _) in funds if w2 == w) <= limit + raised + 1e-6
    # projects all or nothing: a project line's aid is exactly the cost of its built projects
    built = decisions(result, "project")
    assert set(built.values()) <= {1}
    projects = instance.projects
    for (w, k), group in projects.groupby(["recipient", "instrument"]):
        cost = group.loc[group["project"].isin(built), "cost"].sum()
        assert capital.get((w, k), 0.0) == pytest.approx(cost, abs=1e-6)
    # cadres: whole numbers within their bounds, every plan year
    for d, w, low, high in instance.cadres[["donor", "recipient", "min_per_year", "max_per_year"]].itertuples(index=False):
        for t in instance.scenario.years:
            c = cadres.get((d, w, t), 0)
            assert c == int(c) and low <= c <= high
    # people lifted evaluated from the plan (set-up costs charged, projects counted) is what
    # the people objectives report
    if instance.scenario.objective == "people_lifted":
        lifted = people_lifted(instance, alloc, built=built).sum()
        assert lifted == pytest.approx(result.objective, rel=RTOL, abs=1e-6)


# ------------------------------------------------------------------------------ sweeps and limits


def test_mip_sweep_equals_independent_solves(tmp_path):
    """A study over a MIP re-solves the built MIP; each scenario equals its own solve, KPIs
    included (set-up costs charged, projects counted)."""
    from optimizer.studies.study import Study
    from optimizer.studies.sweep import sweep

    folder = variant(tmp_path, "mip", instruments={"cdf": (3, 0.5)}, effects_without=(("valley", "roads"),),
                     projects=[("valley_road", "valley", "roads", 6, 350, 2011),
                               ("valley_school", "valley", "roads", 3, 120, 2012)],
                     cadres=[("coastal", "upland", 0, 1, 0.5, 1)], admin={"upland": 0})
    instance = load_instance(folder, **{"solver.mip_rel_gap": 0.0})
    study = Study.model_validate({"study": {"design": "grid"}, "parameter": [
        {"path": "proportion.provincial", "values": [0.004, 0.01, 0.02]},
        {"path": "proportion.prefectural", "values": [0.005, 0.02]}]})
    results = sweep(instance, study, workers=1)
    assert (results["status"] == "optimal").all()
    assert_sweep_matches_solves(results, study, instance, rel=1e-7)
    assert results["built_model"].sum() == 1


@pytest.fixture(scope="module")
def hard_instance(tmp_path_factory) -> Path:
    """A generated 100-county MIP: relax and fix finds a plan within 0.6% of the bound in 2-5 s
    on 2 cores; proving it optimal to a zero gap takes branch and bound 20-35 s more."""
    from optimizer.data.generate import generate_instance

    return generate_instance(tmp_path_factory.mktemp("hard") / "g100", recipients=100, donors=5, instruments=10,
                             years=5, seed=1)


def test_time_limit_with_a_plan_reports_it_and_its_gap(hard_instance, tmp_path):
    """Relax and fix's plan, then the time limit used up before branch and bound: held there
    (EWPPT_TEST_HOLD_UNTIL=time_limit), so the limit falls in that stage however loaded the
    machine is (a bare 10 s limit once ran out before relax and fix had a plan)."""
    import os
    import subprocess
    import sys

    out = tmp_path / "out"
    env = {**os.environ, "EWPPT_TEST_HOLD": "MIP: branch and bound", "EWPPT_TEST_HOLD_UNTIL": "time_limit"}
    done = subprocess.run([sys.executable, "-m", "optimizer", "solve", str(hard_instance), "--time-limit", "30",
                           "--mip-gap", "0", "--out", str(out)], capture_output=True, text=True, env=env,
                          timeout=900)  # a hang guard
    assert done.returncode == 4, done.stderr
    assert "time limit reached: best plan found, within" in done.stderr and "Traceback" not in done.stderr
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "time_limit" and run["has_plan"] is True
    gap, bound, objective = run["summary"]["mip_gap"], run["summary"]["best_bound"], run["objective"]
    assert 0 < gap < 0.05 and bound >= objective
    assert gap == pytest.approx((bound - objective) / objective, rel=1e-6)
    # the plan is a real one: every budget spent, whole decisions whole
    instance = load_instance(hard_instance)
    allocation = pd.read_csv(out / "allocation.csv")
    decided = pd.read_csv(out / "decisions.csv")
    assert len(allocation) > 0 and (decided["count"] == decided["count"].round()).all()
    spent = allocation.groupby(["donor", "year"])["aid"].sum()
    cadres = decided[decided["kind"] == "cadres"].groupby(["donor", "year"])["money"].sum()
    budget = _budgets(instance)
    for (d, t), amount in budget.items():
        assert spent.get((d, t), 0.0) + cadres.get((d, t), 0.0) == pytest.approx(amount, rel=1e-6, abs=1e-6)


def test_time_limit_without_a_plan(hard_instance, tmp_path):
    from tests.test_outputs import run_cli

    done = run_cli("solve", str(hard_instance), "--time-limit", "0.01", "--out", str(tmp_path / "out"))
    assert done.returncode == 5, done.stderr
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["status"] == "time_limit" and run["has_plan"] is False and run["objective"] is None
    assert pd.read_csv(tmp_path / "out" / "allocation.csv").empty


def _budgets(instance) -> dict:
    p = instance.scenario.proportion.model_dump()
    revenue = instance.revenue[instance.revenue["year"].isin(instance.scenario.years)]
    return (revenue["revenue"] * revenue["level"].map(p)).groupby([revenue["donor"], revenue["year"]]).sum().to_dict()


# ------------------------------------------------------------------------------ locks (issue 7, item 8)


def _with_locks(tmp_path: Path, rows: list[dict]) -> Path:
    folder = variant(tmp_path, "locks")
    columns = ["donor", "recipient", "instrument", "year", "aid", "min_aid", "max_aid"]
    pd.DataFrame(rows, columns=columns).to_csv(folder / "locks.csv", index=False)
    return folder


def test_a_lock_is_honoured_to_the_yuan(tmp_path):
    """Coastal promised plateau 3 of roads in 2011. Plateau's 600 people are then 3 x 60 from
    roads and 420 / 120 = 3.5 of cdf: 6.5 million instead of 6, the extra half million taken
    from upland's margin (40 per million): 2,760 - 20 = 2,740."""
    folder = _with_locks(tmp_path, [{"donor": "coastal", "recipient": "plateau", "instrument": "roads", "year": 2011,
                                     "aid": 3.0}])
    result = solve(load_instance(folder))
    assert result.status == "optimal" and result.objective == pytest.approx(2740, rel=RTOL)
    totals = plan_totals(result.allocation, by=("recipient", "instrument"))
    assert totals[("plateau", "cdf")] == 3.5 and totals[("plateau", "roads")] == 3
    alloc = result.allocation.set_index(["donor", "recipient", "instrument", "year"])["aid"]
    assert alloc[("coastal", "plateau", "roads", 2011)] == 3.0
    binding = result.binding[result.binding["family"] == "lock"]
    assert binding["binding"].all() and len(binding) == 1


def test_a_min_lock_and_an_impossible_lock(tmp_path):
    folder = _with_locks(tmp_path, [{"donor": "harbour", "recipient": "plateau", "instrument": "cdf", "year": 2012,
                                     "min_aid": 1.5}])
    alloc = solve(load_instance(folder)).allocation.set_index(["donor", "recipient", "instrument", "year"])["aid"]
    assert alloc[("harbour", "plateau", "cdf", 2012)] >= 1.5 - 1e-9
    folder = _with_locks(tmp_path / "x", [{"donor": "coastal", "recipient": "upland", "instrument": "cdf",
                                           "year": 2011, "aid": 25.0}])  # coastal has 10 a year
    assert solve(load_instance(folder)).status == "infeasible"


def test_a_lock_off_the_pairs_is_bad_input(tmp_path):
    from tests.test_outputs import run_cli

    folder = _with_locks(tmp_path, [{"donor": "coastal", "recipient": "valley", "instrument": "cdf", "year": 2011,
                                     "aid": 1.0}])
    done = run_cli("validate", str(folder))
    assert done.returncode == 2
    assert "locks.csv, row 2, column 'recipient', value 'valley': coastal and valley are not paired" in done.stderr
