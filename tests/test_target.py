"""ewppt target: the least factor of the scenario's proportions that reaches a target.

On instances/tiny (README: two donors with 10 million a year each at proportions provincial
0.01 and prefectural 0.02). With a factor phi every proportion is phi times the scenario's, so
each donor's budget is 10 phi a year, 20 phi over the two-year plan, 40 phi in all. The quotas
of 2 a year on coastal-upland and harbour-valley need 10 phi >= 2: no factor below 0.2 has a
plan at all. People lifted depend on plan totals only (tiny's README), so the year split
plays no part below.

Every target is checked the way a planner would: the target's proportions fed back to
`solve` lift at least N (or cover F in every recipient), and 1% less proportion (the factor
times 0.99) cannot.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer import load_instance, solve
from optimizer.analysis.target import target
from tests.helpers import plan_totals
from tests.test_mip import variant
from tests.test_outputs import run_cli

APPROX = dict(rel=1e-6, abs=1e-6)


def solve_at(instance, proportions: dict[str, float], by: float = 1.0, **overrides):
    """`solve` at the given proportions, each times `by`."""
    return solve(instance, **{f"proportion.{level}": value * by for level, value in proportions.items()}, **overrides)


def people(result) -> float:
    return result.summary["people_lifted"] if result.has_plan else 0.0


def assert_least_for_people(instance, found, n: float, **overrides) -> None:
    """The proportions lift at least n people; 1% less cannot (fewer, or no plan at all)."""
    assert people(solve_at(instance, found.proportions, **overrides)) >= n * (1 - 1e-7)
    less = solve_at(instance, found.proportions, by=0.99, **overrides)
    assert less.status == "infeasible" or people(less) < n


# ------------------------------------------------------------------------------ by hand


def test_people_target_while_plateau_takes_the_rest(tiny):
    """N = 960: phi = 0.25.

    Coastal's money lifts at most 100 people per million at upland (cdf segment 1, its best
    there) and 120 at plateau (cdf); harbour's at most 80 at valley (cdf) and 120 at plateau.
    With at least the quotas' 4 to upland and 4 to valley over the plan,

        people <= 100 * 4 + 80 * 4 + 120 * (40 phi - 8) = 4800 phi - 240,

    attained while plateau's cdf segment (4 million) takes all the rest: 40 phi - 8 <= 4, i.e.
    phi <= 0.3. So 960 people need 4800 phi = 1200, phi = 0.25: proportions 0.0025 and 0.005,
    each donor 5 million over the plan: its quota's 4 and 1 to plateau's cdf
    (400 + 320 + 240 = 960). 1% less lifts 4800 * 0.2475 - 240 = 948."""
    found = target(tiny, people=960)
    assert found.status == "optimal", found.message
    assert found.factor == pytest.approx(0.25, **APPROX)
    assert found.proportions == pytest.approx({"provincial": 0.0025, "prefectural": 0.005, "county": 0.0}, **APPROX)
    assert found.people_lifted == pytest.approx(960, **APPROX)
    assert plan_totals(found.result.allocation, by=("donor", "recipient")) == pytest.approx({
        ("coastal", "upland"): 4, ("coastal", "plateau"): 1, ("harbour", "valley"): 4, ("harbour", "plateau"): 1},
        **APPROX)
    assert people(solve_at(tiny, found.proportions, by=0.99)) == pytest.approx(948, **APPROX)
    assert_least_for_people(tiny, found, 960)


def test_people_target_of_the_readme_optimum_is_the_scenarios_own_proportion(tiny):
    """N = 2,760, the README's optimum at the scenario's proportions: phi = 1. Its budget duals
    are 40 (coastal) and 50 (harbour) people per million in each year, so any smaller factor
    lifts fewer: at 0.99 each donor has 0.2 million less over the plan, 2,760 - 0.2 * 40 -
    0.2 * 50 = 2,742 (the duals hold that far: the plan's margins, upland cdf segment 2 and
    valley roads, have 10 and 12 million to give)."""
    found = target(tiny, people=2760)
    assert found.status == "optimal", found.message
    assert found.factor == pytest.approx(1.0, **APPROX)
    assert found.proportions == pytest.approx({"provincial": 0.01, "prefectural": 0.02, "county": 0.0}, **APPROX)
    assert people(solve_at(tiny, found.proportions, by=0.99)) == pytest.approx(2742, **APPROX)
    assert_least_for_people(tiny, found, 2760)


def test_the_quotas_put_a_floor_on_the_factor(tiny):
    """N = 500: phi = 0.2, where each donor's budget of 2 a year just pays its quota (and lifts
    400 + 320 = 720 people, more than asked). Below it the quotas cannot be paid: `solve` at 1%
    less is infeasible."""
    found = target(tiny, people=500)
    assert found.factor == pytest.approx(0.2, **APPROX)
    assert found.people_lifted == pytest.approx(720, **APPROX)
    assert solve_at(tiny, found.proportions, by=0.99).status == "infeasible"
    assert_least_for_people(tiny, found, 500)
    assert target(tiny, people=0).factor == pytest.approx(0.2, **APPROX)


def test_coverage_target(tiny):
    """F = 0.44: phi = 0.7.

    Each recipient's cheapest way to lift 0.44 of its poor (880, 880 and 264 people):
    upland cdf 6 (600) then segment 2 at 40 per million: 6 + 280 / 40 = 13, from coastal;
    valley cdf 8 (640) then roads at 50: 8 + 240 / 50 = 12.8, from harbour; plateau cdf at
    120: 2.2, from either. (Upland's loan guarantees lift 30 per million, fewer than cdf
    segment 2.) All donors together need 28 = 40 phi: phi = 0.7, where each donor has 14,
    enough for its own recipient (13, 12.8) and the rest of plateau's 2.2. The plan spends it
    all on the floors: 880 + 880 + 264 = 2,024 people. At 1% less, 27.72 < 28: infeasible."""
    found = target(tiny, coverage=0.44)
    assert found.status == "optimal", found.message
    assert found.factor == pytest.approx(0.7, **APPROX)
    assert found.proportions == pytest.approx({"provincial": 0.007, "prefectural": 0.014, "county": 0.0}, **APPROX)
    lifted = dict(zip(found.result.kpis["recipient"], found.result.kpis["people_lifted"]))
    assert lifted == pytest.approx({"upland": 880, "valley": 880, "plateau": 264}, **APPROX)

    floor = {"priorities.coverage_min": 0.44}
    fed_back = solve_at(tiny, found.proportions, **floor)
    assert fed_back.status == "optimal"
    assert fed_back.summary["min_coverage"] >= 0.44 * (1 - 1e-7)
    assert solve_at(tiny, found.proportions, by=0.99, **floor).status == "infeasible"
    # without the floor, the best least coverage at 1% less is below 0.44 too
    assert solve_at(tiny, found.proportions, by=0.99, objective="equity").objective < 0.44


def test_a_target_beyond_all_the_poor_is_infeasible(tiny):
    """4,601 people: more than all of tiny's poor (2,000 + 2,000 + 600). The message says what
    the largest proportions (factor 50, where prefectural reaches 1) lift: every segment full
    within the poor population and upland's lending (20 a year, leverage 4: 10 million of loan
    guarantees at 30): upland 600 + 400 + 300, valley 640 + 1,000, plateau 600 = 3,540."""
    found = target(tiny, people=4601)
    assert found.status == "infeasible"
    assert found.factor is None and found.result is None and found.write("unused") == []
    assert found.max_factor == pytest.approx(50)
    assert "3,540" in found.message
    assert target(tiny, people=3541).status == "infeasible"
    assert target(tiny, people=3540).factor == pytest.approx(1.5, **APPROX)


def test_a_coverage_beyond_reach_points_to_explain(tiny):
    """Upland lifts at most 1,300 of its 2,000 (0.65) whatever the budgets."""
    found = target(tiny, coverage=0.9)
    assert found.status == "infeasible"
    assert "the best least coverage any proportion reaches is 65.00%" in found.message
    assert "--set priorities.coverage_min=0.9" in found.explain_args


def test_an_unreachable_coverage_says_the_best_reachable(tmp_path):
    """ewppt-2010 at coverage 5%: at the largest proportions (factor 833) the budgets cannot be
    spent under the capacities, and main said only that the scenario is infeasible there. The
    best least coverage over every factor is said instead, as --people says the most people; by
    brute force it is the limit: just below it a factor is found, just above it none."""
    import re

    from optimizer import load_instance

    instance = load_instance("ewppt-2010", **{"scenario.year_profile": "free"})
    found = target(instance, coverage=0.05)
    assert found.status == "infeasible"
    best = re.search(r"the best least coverage any proportion reaches is ([\d.]+)%", found.message)
    assert best, found.message
    best = float(best.group(1)) / 100
    assert 0 < best < 0.05
    assert target(instance, coverage=best * 0.99).factor is not None
    assert target(instance, coverage=best * 1.01).status == "infeasible"


@pytest.mark.parametrize("kwargs", [{}, {"people": 5, "coverage": 0.5}, {"people": -1}, {"coverage": 0},
                                    {"coverage": 1.2}, {"people": float("nan")}])
def test_bad_targets_are_refused(tiny, kwargs):
    with pytest.raises(ValueError):
        target(tiny, **kwargs)


def test_nothing_to_scale_is_refused(tiny):
    with pytest.raises(ValueError, match="nothing to scale"):
        target(tiny, people=100, **{"proportion.provincial": 0.0, "proportion.prefectural": 0.0})


# ------------------------------------------------------------------------------ whole decisions


def test_mip_target(tmp_path):
    """tiny with cdf a fund of at least 7 (README, MIP variants): 2,640 people at the
    scenario's proportions, so N = 2,640 needs phi = 1; the whole decisions are solved through
    the MIP driver with max -phi."""
    instance = load_instance(variant(tmp_path, "min7", instruments={"cdf": (7, 0)}))
    found = target(instance, people=2640)
    assert found.status == "optimal", found.message
    assert found.factor == pytest.approx(1.0, **APPROX)
    assert found.result.solver["model"] == "mip"
    assert_least_for_people(instance, found, 2640)


def test_relaxed_funds_match_solve(tmp_path):
    """Under model = "lp" the funds' big-M depends on the factor (models/target.py); the target
    closes the relaxation, so its proportions fed back to `solve --model lp` lift N (a set-up
    cost of 1 on cdf makes the big-M matter: with it taken at phi_max alone the factor came out
    0.447656 instead of 0.447749, and `solve` there lifted 1,499.73)."""
    instance = load_instance(variant(tmp_path, "setup1", instruments={"cdf": (0, 1)}))
    lp = {"scenario.model": "lp"}
    found = target(instance, people=1500, **lp)
    assert found.status == "optimal", found.message
    assert_least_for_people(instance, found, 1500, **lp)


# ------------------------------------------------------------------------------ property


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(min_value=0, max_value=3540), min_size=2, max_size=2))
def test_factor_is_monotone_in_the_target_and_feeds_back(tiny, targets):
    """For N up to the most any factor lifts (3,540): a larger N never needs a smaller factor,
    and the larger target's proportions fed back to `solve` lift it, 1% less cannot."""
    small, large = sorted(targets)
    low, high = target(tiny, people=small), target(tiny, people=large)
    assert low.ok and high.ok
    assert low.factor <= high.factor * (1 + 1e-9)
    assert_least_for_people(tiny, high, large)


# ------------------------------------------------------------------------------ command line


def test_cli_writes_the_plan_and_the_line_to_paste(tmp_path):
    out = tmp_path / "plan"
    done = run_cli("target", "tiny", "--people", "960", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "factor         0.25 " in done.stdout
    assert ("ewppt solve tiny --proportion-provincial 0.0025 --proportion-prefectural 0.005 --proportion-county 0"
            in done.stdout)
    assert {p.name for p in out.iterdir()} >= {"allocation.csv", "kpis.csv", "run.json"}
    assert '"budget_factor": 0.25' in (out / "run.json").read_text()


def test_cli_coverage_and_infeasible(tmp_path):
    """The printed `ewppt solve` line, run as printed, gives the target's plan (least coverage
    0.44 at proportions 0.7 x the scenario's: 2,024 people, derived in the coverage test)."""
    done = run_cli("target", "tiny", "--coverage", "0.44", "--out", str(tmp_path / "plan"))
    assert done.returncode == 0, done.stderr
    (line,) = [text for text in done.stdout.splitlines() if text.startswith("same plan:")]
    assert line.endswith("--proportion-provincial 0.007 --proportion-prefectural 0.014 --proportion-county 0 "
                         "--set priorities.coverage_min=0.44")
    words = line.split("ewppt solve ", 1)[1].split()
    again = run_cli("solve", *words, "--out", str(tmp_path / "again"))
    assert again.returncode == 0, again.stderr
    assert json.loads((tmp_path / "again" / "run.json").read_text())["summary"]["people_lifted"] == pytest.approx(2024)
    done = run_cli("target", "tiny", "--people", "5000", "--out", str(tmp_path / "none"))
    assert done.returncode == 1
    assert "infeasible" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "none").exists()
    done = run_cli("target", "tiny", "--coverage", "0.9", "--out", str(tmp_path / "none"))
    assert done.returncode == 1 and "ewppt explain tiny" in done.stderr


@pytest.mark.parametrize("options", [[], ["--people", "5", "--coverage", "0.5"], ["--people", "-3"],
                                     ["--coverage", "0"], ["--coverage", "1.5"],
                                     ["--people", "5", "--set", "proportion.prefectural=0", "--set",
                                      "proportion.provincial=0"]])
def test_cli_bad_options_exit_2(options):
    done = run_cli("target", "tiny", *options)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "error:" in done.stderr and "Traceback" not in done.stderr
