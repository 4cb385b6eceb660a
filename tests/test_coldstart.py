"""Progressive hedging's cold solves (optimizer/studies/coldstart.py): the scenario models loaded
into HiGHS in bulk, and a solve from no basis of a large LP by interior point with crossover.

The threshold is lowered to 0 columns here, so the tiny and small generated instances take the
large LPs' path: every cold solve (the hub's iteration 0 through Pyomo's interface, the
spoke's first round straight to HiGHS) must reach the same
optimal objective as mpi-sppy's own path by the dual simplex method (the plans may be other
optimal vertices: the LP is degenerate), and the solves after it run by the simplex method from
the basis again. At the default threshold the whole path is mpi-sppy's, solve for solve
(tests/test_direct.py, which runs the same classes: there the q columns that Pyomo's interface
would add after iteration 0, had it kept its maps, are appended by coldstart.objective_columns,
and every later solve agrees with Pyomo's own to 1e-9)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_direct import HAVE_MPISPPY, _highs_thread_pool_released, _hub, _spoke_rounds, case  # noqa: F401

pytestmark = pytest.mark.skipif(not HAVE_MPISPPY, reason="mpi4py/mpi-sppy not installed")


@pytest.fixture
def all_large(monkeypatch):
    """Every LP counts as large; only the cold solves by interior point."""
    from optimizer.studies import coldstart

    monkeypatch.setattr(coldstart, "COLD_IPM_COLUMNS", 0)
    monkeypatch.setattr(coldstart, "LARGE_ALWAYS_IPM", False)


def _objectives(opt) -> dict:
    return {k: s._mpisppy_data.inner_bound for k, s in opt.local_scenarios.items()}


def _methods(opt) -> dict:
    """Every scenario's last solve: (interior point iterations, simplex iterations)."""
    return {k: (s._solver_plugin._solver_model.getInfo().ipm_iteration_count,
                s._solver_plugin._solver_model.getInfo().simplex_iteration_count)
            for k, s in opt.local_scenarios.items()}


def _hub_loops(case, solve: str, iterations: int = 2):
    """The hub's run and, after every solve loop, each scenario's objective and methods."""
    return _hub(case, solve, iterations, snapshot=lambda ph: (_objectives(ph), _methods(ph)))


def test_hub_iteration_0_by_interior_point_reaches_the_same_optima(case, all_large):
    from optimizer.studies.coldstart import WARM_OPTIONS

    ours, ours_loops = _hub_loops(case, "direct")
    _, theirs_loops = _hub_loops(case, "pyomo")
    # the scenario models were loaded in bulk
    assert {type(s._solver_plugin).__name__ for s in ours.local_scenarios.values()} == {"LegacyBulkHighs"}
    (zero, zero_methods), (one, one_methods) = ours_loops[0], ours_loops[1]
    zero_p, zero_p_methods = theirs_loops[0]
    # iteration 0: the same optimum of every scenario's own objective, by interior point here
    assert zero.keys() == zero_p.keys()
    for k in zero:
        assert zero[k] == pytest.approx(zero_p[k], rel=1e-9, abs=1e-7), k
        assert zero_methods[k][0] > 0 and zero_p_methods[k][0] == 0, k
    # iteration 1 starts from iteration 0's basis (the same HiGHS model), by the simplex method
    assert all(ipm == 0 for ipm, _ in one_methods.values())
    assert all(np.isfinite(v) for v in one.values())
    for s in ours.local_scenarios.values():
        # Pyomo's interface let go of its maps after iteration 0; the direct solves kept the plan's columns
        assert s._solver_plugin._pyomo_var_to_solver_var_map == {} and s._solver_plugin._vars == {}
        lean = s._mpisppy_data.lean_columns
        assert all(id(v) in lean for v in s._mpisppy_data.nonant_indices.values())
        assert all(id(v) in lean for v in s._mpisppy_model.xsqvar.values())
        highs = s._solver_plugin._solver_model
        assert {key: highs.getOptionValue(key)[1] for key in WARM_OPTIONS} == WARM_OPTIONS
        assert "solver" not in s._solver_plugin.options


def test_spoke_first_round_by_interior_point_reaches_the_same_bound(case, all_large):
    """The Lagrangian spoke's PHBase: its first solves are cold (the same optimum), the next
    round starts from their bases by the simplex method."""
    from mpisppy.phbase import PHBase

    from optimizer.studies.hedging import _lagrangian_opt

    rounds = {solve: _spoke_rounds(case, base, 2, snapshot=lambda opt: (_objectives(opt), _methods(opt)))[1]
              for solve, base in (("direct", _lagrangian_opt("direct")), ("pyomo", PHBase))}
    for ((ours, _), bound), ((theirs, _), bound_p) in zip(rounds["direct"], rounds["pyomo"]):
        assert bound == pytest.approx(bound_p, rel=1e-9, abs=1e-7)
        for k in ours:
            assert ours[k] == pytest.approx(theirs[k], rel=1e-9, abs=1e-7), k
    assert all(ipm > 0 for ipm, _ in rounds["direct"][0][0][1].values())
    assert all(ipm == 0 for ipm, _ in rounds["direct"][1][0][1].values())


def test_below_the_threshold_every_solve_is_highs_default(case):
    """At the default threshold the small LPs keep mpi-sppy's method: no interior point."""
    _, loops = _hub_loops(case, "direct", iterations=1)
    assert all(ipm == 0 for _, methods in loops for ipm, _ in methods.values())


def test_large_lps_solve_every_iteration_by_interior_point(case, all_large, monkeypatch):
    """With LARGE_ALWAYS_IPM (what the engine runs above the threshold) every solve of the hub
    runs by interior point (iteration 0 with crossover, the iterates without: see below),
    iteration 0 reaching mpi-sppy's optima, and HiGHS's options are its defaults again after each."""
    from optimizer.studies import coldstart

    monkeypatch.setattr(coldstart, "LARGE_ALWAYS_IPM", True)
    ours, loops = _hub_loops(case, "direct")
    _, theirs = _hub_loops(case, "pyomo")
    for k, value in loops[0][0].items():
        assert value == pytest.approx(theirs[0][0][k], rel=1e-9, abs=1e-7), k
    assert all(ipm > 0 for _, methods in loops for ipm, _ in methods.values())
    assert all(np.isfinite(v) for objectives, _ in loops for v in objectives.values())
    for s in ours.local_scenarios.values():
        assert s._solver_plugin._solver_model.getOptionValue("solver")[1] == "choose"


def _ends(opt) -> dict:
    """Every scenario's last solve: (its objective, whether HiGHS holds a basis after it: a
    solve by interior point leaves one only through crossover)."""
    return {k: (s._mpisppy_data.inner_bound, s._solver_plugin._solver_model.getBasis().valid)
            for k, s in opt.local_scenarios.items()}


@pytest.fixture
def iterates_without_crossover(monkeypatch):
    """Every LP large, every solve by interior point: what the engine runs above the threshold
    (the hub's PH iterates without crossover, coldstart.ITERATE_OPTIONS)."""
    from optimizer.studies import coldstart

    monkeypatch.setattr(coldstart, "COLD_IPM_COLUMNS", 0)
    monkeypatch.setattr(coldstart, "LARGE_ALWAYS_IPM", True)
    assert coldstart.ITERATE_OPTIONS == {"run_crossover": "off"}


def test_hub_iterates_run_without_crossover_and_iteration_0_with_it(case, iterates_without_crossover, monkeypatch):
    """coldstart.ITERATE_OPTIONS reach the hub's solves with the proximal term on, and only
    them: iteration 0 (its objective is the trivial bound) ends on a crossover's basis, every
    later solve without one; iteration 1 (the same prices and xbar either way) reaches the
    same optima as with crossover, and HiGHS's option is back at its default after each."""
    from optimizer.studies import coldstart

    ours, loops = _hub(case, "direct", iterations=3, snapshot=_ends)
    monkeypatch.setattr(coldstart, "ITERATE_OPTIONS", {})
    _, crossed = _hub(case, "direct", iterations=1, snapshot=_ends)
    assert len(loops) == 4
    assert all(valid for _, valid in loops[0].values())
    assert not any(valid for loop in loops[1:] for _, valid in loop.values())
    assert all(valid for loop in crossed for _, valid in loop.values())
    for k, (value, _) in loops[1].items():
        assert value == pytest.approx(crossed[1][k][0], rel=1e-6, abs=1e-6), k
    assert all(np.isfinite(value) for loop in loops for value, _ in loop.values())
    for s in ours.local_scenarios.values():
        assert s._solver_plugin._solver_model.getOptionValue("run_crossover")[1] == "on"


def test_spoke_keeps_crossover_and_its_bounds_stay_above_the_optimum(case, iterates_without_crossover):
    """The Lagrangian spoke's solves are bounds: never PH iterates, so crossover runs on every
    one of them, and every bound (prices summing to zero) is at least the extensive form's
    optimum (people lifted: the bound's sign turned)."""
    from optimizer import load_instance, robust
    from optimizer.studies.hedging import _lagrangian_opt

    instance_path, uncertainty_path = case
    optimum = robust(load_instance(instance_path), uncertainty_path, risk="expected", worth=False).objective
    _, rounds = _spoke_rounds(case, _lagrangian_opt("direct"), 3, snapshot=_ends)
    for ends, bound in rounds:
        assert all(valid for _, valid in ends.values())
        assert -bound >= optimum * (1 - 1e-9)


def test_an_iterate_highs_does_not_call_optimal_is_solved_again_with_crossover(case, iterates_without_crossover,
                                                                               monkeypatch):
    """Options under which HiGHS stops short of the optimum (one interior point iteration):
    the iterate is solved again with `cold_options` alone, to the optimum and its basis."""
    from optimizer.studies import coldstart

    _, crossed = _hub(case, "direct", iterations=1, snapshot=_ends)
    monkeypatch.setattr(coldstart, "ITERATE_OPTIONS", {"run_crossover": "off", "ipm_iteration_limit": 1})
    ours, loops = _hub(case, "direct", iterations=1, snapshot=_ends)
    for k, (value, valid) in loops[1].items():
        assert valid and value == pytest.approx(crossed[1][k][0], rel=1e-6, abs=1e-6), k  # HiGHS's tolerances
    for s in ours.local_scenarios.values():
        assert s._solver_plugin._solver_model.getOptionValue("ipm_iteration_limit")[1] > 1
