"""`ewppt frontier` (optimizer/analysis/frontier.py): people lifted against the least coverage, by
epsilon-constraint, each point a full plan.

The frontier of tiny by hand (instances/tiny/README.md). Coastal (20 million over the plan)
pays upland and plateau, harbour (20) pays valley and plateau. People per million: upland cdf
100 for 6 million, then 40 for 10, then loan guarantees 30 (investment coupling: at most 10);
valley cdf 80 for 8, then roads 50 for 20; plateau cdf 120 for 4, then roads 60 (600 poor, so
2 useful). The people-lifted optimum A lifts 2,760 (upland 920, valley 1,240, plateau 600),
least coverage c_A = 920 / 2,000 = 0.46. With a floor eps write a = 2,000 eps (upland's and
valley's floor; plateau's is 600 eps). P(eps), the most people lifted at floor eps:

1. 0.46 <= eps <= 0.5 (upland 920 to 1,000): each person more at upland costs coastal 1/40
   million (cdf segment 2), taken from plateau's roads; harbour refills plateau from valley's
   roads at 50 people a million: 1 - 50/40 = -1/4 per person, P = 2,760 - (a - 920)/4
   = 2,990 - 500 eps (2,740 at 0.5, as test_families finds).
2. 0.5 <= eps <= 0.52625: upland's next people come from loan guarantees (1/30 million each),
   refilled at plateau from valley's roads: 1 - 50/30 = -2/3 per person,
   P = 2,740 - 2/3 (a - 1,000) = 3,406 2/3 - 4,000/3 eps. Valley has
   1,140 - 5/3 (a - 1,000) people, down to the floor a at a = 1,052.5 (eps = 0.52625, P = 2,705).
3. 0.52625 <= eps <= 0.545: upland and valley both at the floor a. Coastal spends
   16 + (a - 1,000)/30 at upland, harbour 8 + (a - 640)/50 at valley, and plateau gets the rest
   of the 40: M = 932/15 - 4a/75 million. While 4 <= M <= 6 plateau lifts 480 + 60 (M - 4), so
   P = 2a + 240 + 60 M = 3,968 - 1.2 a = 3,968 - 2,400 eps, down to M = 4 at eps = 0.545.
4. 0.545 <= eps <= theta*: plateau's cdf (120 a million): P = 2a + 120 M = 7,456 - 8,800 eps,
   until plateau's own floor 120 M >= 600 eps binds: 932/15 = eps (2000 x 4/75 + 5), eps =
   2796/5025 = theta* (the equity optimum, as test_families finds); P(theta*) = 4,600 theta*.

Five points (`points=5`): eps_i = 0.46 + i (theta* - 0.46)/4 for i = 1, 2, 3 is 0.484104
(piece 1: P = 2,747.947761), 0.508209 (piece 2: P = 2,729.054726) and 0.532313 (piece 3:
P = 2,690.447761). B is at theta_B = theta* (1 - 1e-7) - 1e-12, the floor the equity
objective's lexicographic second stage keeps (piece 4): P = 7,456 - 8,800 theta_B
= 2,559.522878, which is 4,600 theta* = 2,559.522388 plus 8,800 (theta* - theta_B) = 0.00049:
near theta* each unit of least coverage costs 8,800 people. In every piece the floor binds at
upland, so each interior point's least coverage is its eps.
"""

from __future__ import annotations

import importlib
import json
import math
import shutil
from fractions import Fraction

import matplotlib.image
import pandas as pd
import pytest

import models.assemble
from optimizer import load_instance, solve
from optimizer.analysis.frontier import Frontier, FrontierPoint, _summarise, frontier, write_plot
from optimizer.data.generate import generate_instance
from optimizer.solving.recheck import recheck
from optimizer.solving.results import Result
from optimizer.solving.solve import EQUITY_TOLERANCE
from tests.conftest import INSTANCES
from tests.test_outputs import run_cli

APPROX = dict(rel=1e-9)
THETA = 2796 / 5025  # the equity optimum, the highest least coverage
C_A = 0.46  # the least coverage of the people-lifted optimum
THETA_B = THETA * (1 - EQUITY_TOLERANCE) - 1e-12  # B's floor


def most_people(eps: float) -> float:
    """P(eps) of the module docstring, piece by piece."""
    if eps <= 0.5:
        return 2990 - 500 * eps
    if eps <= 0.52625:
        return float(Fraction(10220, 3)) - 4000 / 3 * eps
    if eps <= 0.545:
        return 3968 - 2400 * eps
    return 7456 - 8800 * eps


@pytest.fixture(scope="module")
def tiny_frontier():
    instance = load_instance(INSTANCES / "tiny")
    return instance, frontier(instance, points=5)


def test_tiny_frontier_is_the_hand_derived_curve(tiny_frontier):
    _, found = tiny_frontier
    assert [p.role for p in found.points] == ["efficiency", "epsilon", "epsilon", "epsilon", "equity"]
    a, *interior, b = found.points
    assert a.people_lifted == pytest.approx(2760, **APPROX) and a.min_coverage == pytest.approx(C_A, abs=1e-9)
    hand_grid = [C_A + i * (THETA - C_A) / 4 for i in (1, 2, 3)]
    assert [p.coverage_floor for p in interior] == pytest.approx(hand_grid, **APPROX)
    assert hand_grid == pytest.approx([0.484104478, 0.508208955, 0.532313433], abs=1e-9)
    hand_people = [most_people(eps) for eps in hand_grid]
    assert hand_people == pytest.approx([2747.947761194, 2729.054726368, 2690.447761194], abs=1e-6)
    for point, eps, people in zip(interior, hand_grid, hand_people):
        assert point.people_lifted == pytest.approx(people, **APPROX), point.name
        assert point.result.objective == pytest.approx(people, **APPROX), point.name
        assert point.min_coverage == pytest.approx(eps, abs=1e-9), point.name  # upland sits at the floor
    # the pieces meet where the derivation says
    assert most_people(0.5) == pytest.approx(2740) and most_people(0.52625) == pytest.approx(2705)
    assert most_people(0.545) == pytest.approx(2660) and most_people(THETA) == pytest.approx(4600 * THETA)
    assert b.coverage_floor == pytest.approx(THETA_B, **APPROX)
    assert b.people_lifted == pytest.approx(7456 - 8800 * THETA_B, **APPROX)
    assert b.people_lifted == pytest.approx(2559.522878, abs=1e-6)
    assert b.min_coverage == pytest.approx(THETA_B, abs=1e-9)
    assert found.max_min_coverage == pytest.approx(THETA, **APPROX)
    table = found.table.set_index("point")
    assert table["cost_of_equity"].tolist() == pytest.approx([2760 - p for p in (2760, *hand_people,
                                                                                7456 - 8800 * THETA_B)], abs=1e-6)
    assert table.at[5, "cost_of_equity_share"] == pytest.approx((2760 - (7456 - 8800 * THETA_B)) / 2760, abs=1e-9)
    # piece 1 costs 500 people per unit of coverage: 5 per percentage point
    assert table.at[2, "people_per_coverage_point"] == pytest.approx(5, rel=1e-6)


def test_points_are_non_dominated(tiny_frontier):
    _, found = tiny_frontier
    table = found.table
    assert not table["dominated"].any()
    assert [p.name for p in found.efficient] == [p.name for p in found.points]
    coverage, people = table["min_coverage"].to_numpy(), table["people_lifted"].to_numpy()
    assert (coverage[1:] > coverage[:-1]).all()  # coverage strictly rises ...
    assert (people[1:] < people[:-1]).all()  # ... as people lifted strictly falls
    # an LP's frontier is concave: each percentage point of coverage costs more people than the last
    slopes = table["people_per_coverage_point"].dropna().to_numpy()
    assert (slopes[1:] > slopes[:-1]).all()


def test_end_points_are_the_single_objective_optima(tiny_frontier):
    instance, found = tiny_frontier
    efficiency = solve(instance)
    equity = solve(instance, objective="equity")
    a, b = found.points[0], found.points[-1]
    assert a.result.objective == pytest.approx(efficiency.objective, **APPROX)
    assert a.people_lifted == pytest.approx(efficiency.summary["people_lifted"], **APPROX)
    assert found.max_min_coverage == pytest.approx(equity.objective, **APPROX)
    assert b.min_coverage == pytest.approx(equity.objective, rel=2 * EQUITY_TOLERANCE)
    assert b.people_lifted == pytest.approx(equity.summary["people_lifted"], **APPROX)
    pd.testing.assert_frame_equal(a.result.kpis, efficiency.kpis, check_exact=False, rtol=1e-9)


def test_every_point_is_a_full_plan_that_keeps_every_rule(tiny_frontier):
    instance, found = tiny_frontier
    for point in found.points:
        result = point.result
        assert result.ok, point.name  # HiGHS's optimum and the engine's independent re-check
        assert len(result.allocation) and len(result.kpis) == 3 and len(result.duals) and len(result.binding)
        assert result.scenario["scenario"]["objective"] == "people_lifted"
        assert result.scenario["priorities"]["coverage_min"] == pytest.approx(point.coverage_floor, **APPROX)
        assert result.summary["frontier_point"] == int(point.name.split("-")[1])
        # the re-check again, from outside, with the point's floor
        at_floor = instance.with_scenario(instance.scenario.override(**{"priorities.coverage_min":
                                                                          point.coverage_floor}))
        assert recheck(at_floor, result.allocation, result.decisions) == []
        spent = result.allocation.groupby("donor")["aid"].sum()
        assert spent.to_dict() == pytest.approx({"coastal": 20, "harbour": 20}, abs=1e-6)


def test_one_model_is_built_and_re_solved(monkeypatch):
    """Two builds (the people-lifted model, and the equity model for theta*) whatever the
    number of points; every point is a solve of the same model object."""
    instance = load_instance(INSTANCES / "tiny")
    builds, solved_models = [], []
    solve_module = importlib.import_module("optimizer.solving.solve")  # `optimizer.solving.solve` is also the function
    build, solve_model = models.assemble.build_model, solve_module.solve_model

    def counting_build(*args, **kwargs):
        model = build(*args, **kwargs)
        builds.append(model)
        return model

    def recording_solve(model, *args, **kwargs):
        solved_models.append(model)
        return solve_model(model, *args, **kwargs)

    monkeypatch.setattr(models.assemble, "build_model", counting_build)
    monkeypatch.setattr(solve_module, "solve_model", recording_solve)
    for points in (3, 7):
        builds.clear()
        solved_models.clear()
        found = frontier(instance, points=points)
        assert len(found.points) == points and all(p.result.ok for p in found.points)
        assert len(builds) == 2, points
        assert len(solved_models) == points and all(m is solved_models[0] for m in solved_models)
        assert solved_models[0] is builds[0]  # the people-lifted model, built first


def test_the_scenarios_own_floor_and_objective():
    """A starts at the scenario's own coverage_min (0.5: 2,740, test_families); the frontier
    is people against coverage whatever objective the scenario asks for."""
    instance = load_instance(INSTANCES / "tiny")
    found = frontier(instance, points=3, **{"priorities.coverage_min": 0.5, "objective": "leveraged_investment"})
    a, middle, b = found.points
    assert a.people_lifted == pytest.approx(2740, **APPROX) and a.min_coverage == pytest.approx(0.5, abs=1e-9)
    assert middle.coverage_floor == pytest.approx((0.5 + THETA) / 2, **APPROX)
    assert middle.people_lifted == pytest.approx(most_people((0.5 + THETA) / 2), **APPROX)
    assert b.people_lifted == pytest.approx(7456 - 8800 * THETA_B, **APPROX)
    assert "leveraged_investment is not used" in found.message


def test_dominated_points_are_flagged_and_left_off_the_frontier(tmp_path):
    """Equal people with lower coverage, and fewer people with no more coverage, are
    dominated; a duplicate is not (neither is better)."""
    def point(name, people, coverage):
        result = Result(status="optimal", objective=people, message="", scenario={}, instance_digest="", has_plan=True)
        return FrontierPoint(name=name, role="epsilon", coverage_floor=coverage, result=result, people_lifted=people,
                             min_coverage=coverage)

    found = Frontier(points=[point("point-1", 100.0, 0.40), point("point-2", 100.0, 0.45),
                             point("point-3", 90.0, 0.45), point("point-4", 80.0, 0.50),
                             point("point-5", 80.0, 0.50), point("point-6", 80.0 + 1e-9, 0.50 - 1e-9)],
                     scenario_name="made up")
    _summarise(found)
    assert found.table["dominated"].tolist() == [True, False, True, False, False, False]
    assert [p.name for p in found.efficient] == ["point-2", "point-4", "point-5", "point-6"]
    write_plot(found, tmp_path / "frontier.png")
    assert_real_png(tmp_path / "frontier.png")


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return generate_instance(tmp_path_factory.mktemp("gen") / "g12", recipients=12, donors=3, instruments=5, years=2,
                             seed=3)


@pytest.mark.parametrize("model", ["lp", "mip"])
def test_generated_frontier_is_non_dominated_and_ends_at_the_optima(generated, model):
    """A generated instance with funds, projects and cadres, as an LP (their relaxation) and
    as a MIP. The LP's B is the equity objective's own plan (the same LP); the MIP's B may lift
    more people than `solve --objective equity`, whose second stage keeps the whole decisions
    of its first stage, while B chooses them again."""
    instance = load_instance(generated, **{"scenario.model": model})
    found = frontier(instance, points=4)
    assert found.model_kind == model and len(found.points) == 4
    assert all(p.result.ok for p in found.points), found.table[["status", "message"]]
    efficient = sorted(found.efficient, key=lambda p: p.min_coverage)
    assert len(efficient) >= 2
    for before, after in zip(efficient, efficient[1:]):
        assert after.min_coverage > before.min_coverage and after.people_lifted < before.people_lifted
    for p in found.points:
        assert p.min_coverage >= p.coverage_floor - 1e-9
    efficiency, equity = solve(instance), solve(instance, objective="equity")
    gap = 1e-9 if model == "lp" else 1e-4  # a MIP plan is optimal within mip_rel_gap (HiGHS's default 1e-4)
    assert max(p.people_lifted for p in efficient) == pytest.approx(efficiency.objective, rel=gap)
    assert found.points[0].result.objective == pytest.approx(efficiency.objective, rel=gap)
    assert found.max_min_coverage == pytest.approx(equity.objective, rel=1e-9)
    b = found.points[-1]
    assert b.min_coverage == pytest.approx(equity.objective, rel=2 * EQUITY_TOLERANCE)
    if model == "lp":
        assert b.people_lifted == pytest.approx(equity.summary["people_lifted"], rel=1e-7)
        assert not found.table["dominated"].any()
    else:
        assert b.people_lifted >= equity.summary["people_lifted"] * (1 - gap)


def assert_real_png(path) -> None:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[0] > 300 and pixels.shape[1] > 500
    assert pixels[..., :3].std() > 0.05  # not blank


def test_cli_writes_the_table_the_plot_and_a_folder_per_point(tmp_path):
    out = tmp_path / "frontier"
    done = run_cli("frontier", "tiny", "--points", "3", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "efficiency-equity frontier" in done.stdout
    table = pd.read_csv(out / "frontier.csv")
    assert table["name"].tolist() == ["point-1", "point-2", "point-3"]
    assert table["people_lifted"].tolist() == pytest.approx(
        [2760, most_people((C_A + THETA) / 2), 7456 - 8800 * THETA_B], rel=1e-9)
    assert table["status"].eq("optimal").all() and not table["dominated"].any()
    assert_real_png(out / "frontier.png")
    for name in table["name"]:
        for file in ("allocation.csv", "kpis.csv", "duals.csv", "binding.csv", "decisions.csv", "run.json"):
            assert (out / name / file).is_file(), (name, file)
    run = json.loads((out / "point-2" / "run.json").read_text())
    assert run["status"] == "optimal"
    assert run["scenario"]["priorities"]["coverage_min"] == pytest.approx((C_A + THETA) / 2, rel=1e-9)
    people = pd.read_csv(out / "point-2" / "kpis.csv")["people_lifted"].sum()
    assert people == pytest.approx(table.at[1, "people_lifted"], rel=1e-9)
    assert not list(out.rglob("*.tmp"))


def test_cli_bad_options_and_an_infeasible_scenario(tmp_path):
    done = run_cli("frontier", "tiny", "--points", "1", "--out", str(tmp_path / "none"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--points" in done.stderr and "at least 2" in done.stderr
    assert not (tmp_path / "none").exists()
    done = run_cli("frontier", "tiny", "--set", "priorities.coverage_minimum=0.5", "--out", str(tmp_path / "none"))
    assert done.returncode == 2 and "Traceback" not in done.stderr and "coverage_min" in done.stderr
    folder = tmp_path / "growth"
    shutil.copytree(INSTANCES / "tiny", folder)
    done = run_cli("frontier", str(folder), "--set", "priorities.quota_growth_min=0.5", "--out", str(tmp_path / "out"))
    assert done.returncode == 1, done.stderr
    assert "infeasible" in done.stderr and "ewppt explain" in done.stderr and "Traceback" not in done.stderr
    assert pd.read_csv(tmp_path / "out" / "frontier.csv")["status"].tolist() == ["infeasible"]
    assert math.isnan(pd.read_csv(tmp_path / "out" / "frontier.csv").at[0, "people_lifted"])
