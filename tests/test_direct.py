"""Progressive hedging's scenario solves straight to HiGHS (optimizer/studies/direct.py) against
mpi-sppy's own solves through Pyomo's persistent interface: the same scenario objectives and
plan (non-anticipative) values, solve loop by solve loop, on tiny with 3 scenarios and on a
small generated instance, for the hub (PH with the linearized proximal term, the closed-form
cuts as HiGHS rows) and for the Lagrangian spoke's PHBase (prices W, no proximal term).
The classes hedging runs build no PH objective as Pyomo expressions (direct.OwnObjective): the
same loops are checked against the same classes with mpi-sppy's expressions built too.

Tolerance: both paths give HiGHS the same model, the same costs and the same starting basis,
so the solves agree to HiGHS's own tolerances (1e-9 relative on the objective, 1e-7 million
yuan on a flow, far below the 0.1 million of the cuts' spacing); in practice they agree
exactly. (The hub's direct re-solves price by Devex, direct.CUT_RESOLVE_OPTIONS, where Pyomo's
path keeps HiGHS's default; on these small LPs both land on the same vertices. At ewppt-2010
they may not: benchmarks/README.md.)

Runs in this process on one MPI rank (mpi-sppy with mpi4py's COMM_WORLD of size 1).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil

import numpy as np
import pytest

from tests.conftest import INSTANCES
from tests.test_hedging import UNCERTAINTY  # the three tiny scenarios hedging is tested on

HAVE_MPISPPY = all(importlib.util.find_spec(m) for m in ("mpi4py", "mpisppy"))
if not HAVE_MPISPPY and os.environ.get("EWPPT_REQUIRE_MPI"):
    raise RuntimeError("EWPPT_REQUIRE_MPI is set but mpi4py or mpi-sppy is missing")
pytestmark = pytest.mark.skipif(not HAVE_MPISPPY, reason="mpi4py/mpi-sppy not installed")

DRAWN_UNCERTAINTY = """
[uncertainty]
design = "lhs"
samples = 3
seed = 1

[[parameter]]
path = "effects.*.*.people_per_million"
bounds = [0.7, 1.3]

[[parameter]]
path = "recipients.*.poor_population"
bounds = [0.9, 1.1]
"""


@pytest.fixture(autouse=True)
def _highs_thread_pool_released():
    """HiGHS keeps one thread pool a process (see tests/test_proximal.py): released afterwards."""
    yield
    import highspy

    highspy.Highs.resetGlobalScheduler(True)


@pytest.fixture(scope="module", params=["tiny", "generated"])
def case(request, tmp_path_factory):
    """(instance folder as an LP, uncertainty file)."""
    scratch = tmp_path_factory.mktemp(request.param)
    if request.param == "tiny":
        folder, text = INSTANCES / "tiny", UNCERTAINTY
    else:
        from optimizer.data.generate import generate_instance

        folder = generate_instance(scratch / "g8", recipients=8, donors=2, instruments=5, years=2, seed=1)
        text = DRAWN_UNCERTAINTY
    target = scratch / "lp"
    shutil.copytree(folder, target)
    scenario = re.sub(r"(?m)^model\s*=.*$\n?", "", (target / "scenario.toml").read_text(encoding="utf-8"))
    (target / "scenario.toml").write_text(re.sub(r"(?m)^\[scenario\]$", '[scenario]\nmodel = "lp"', scenario, count=1),
                                          encoding="utf-8")
    uncertainty = scratch / "uncertainty.toml"
    uncertainty.write_text(text, encoding="utf-8")
    return str(target), str(uncertainty)


def _options(iterations: int) -> dict:
    from optimizer.studies.hedging import DEFAULT_RHO, PROXIMAL_TOLERANCE

    return {"solver_name": "highs", "PHIterLimit": iterations, "defaultPHrho": DEFAULT_RHO, "convthresh": -1.0,
            "verbose": False, "display_timing": False, "display_progress": False, "iter0_solver_options": {},
            "iterk_solver_options": {}, "linearize_proximal_terms": True,
            "proximal_linearization_tolerance": PROXIMAL_TOLERANCE}


def _snapshot(opt) -> dict:
    """Every local scenario's objective (the solve's, as mpi-sppy keeps it) and plan values."""
    return {k: (s._mpisppy_data.outer_bound, s._mpisppy_data.inner_bound,
                np.array([v._value for v in s._mpisppy_data.nonant_indices.values()], dtype=float))
            for k, s in opt.local_scenarios.items()}


def _kwargs(case) -> tuple[list[str], dict]:
    from optimizer.data.io import load_instance
    from optimizer.studies.hedging import _scenarios

    instance_path, uncertainty_path = case
    names = [f"scenario{s}" for s in range(len(_scenarios(instance_path, uncertainty_path).design))]
    return names, {"instance_path": instance_path, "uncertainty_path": uncertainty_path,
                   "objective": load_instance(instance_path).scenario.objective}


def _hub(case, solve: str, iterations: int = 4, snapshot=_snapshot, base=None):
    """The hub's PH run for `iterations`, and `snapshot(ph)` after every solve loop (`base`: the
    class, else hedging's for `solve`)."""
    from optimizer.studies.hedging import _closed_form_ph, scenario_creator

    names, kwargs = _kwargs(case)
    loops = []

    class Recorded(base or _closed_form_ph(solve=solve)):
        def solve_loop(self, *args, **kw):
            super().solve_loop(*args, **kw)
            loops.append(snapshot(self))

    ph = Recorded(_options(iterations), names, scenario_creator, scenario_creator_kwargs=kwargs)
    ph.ph_main()
    return ph, loops


def _assert_same(ours: dict, theirs: dict) -> None:
    assert ours.keys() == theirs.keys()
    for k in ours:
        (outer, inner, x), (outer_p, inner_p, x_p) = ours[k], theirs[k]
        assert inner == pytest.approx(inner_p, rel=1e-9, abs=1e-9), k
        assert outer == pytest.approx(outer_p, rel=1e-9, abs=1e-9), k
        assert np.allclose(x, x_p, rtol=0, atol=1e-7), (k, float(np.max(np.abs(x - x_p))))


def test_hub_solves_straight_with_highs_as_through_pyomo(case):
    direct, direct_loops = _hub(case, "direct")
    pyomo, pyomo_loops = _hub(case, "pyomo")
    # iteration 0 and 4 iterations: 5 solve loops each
    assert len(direct_loops) == len(pyomo_loops) == 5
    for ours, theirs in zip(direct_loops, pyomo_loops):
        _assert_same(ours, theirs)
    # every scenario's iterations went straight to HiGHS (iteration 0 through Pyomo: no W yet)
    assert set(direct._direct) == set(direct.local_scenarios)
    assert not getattr(pyomo, "_direct", {})
    # the hub adds its cuts as rows before every re-solve: Devex pricing there (direct.CUT_RESOLVE_OPTIONS)
    for held in direct._direct.values():
        assert held.highs.getOptionValue("simplex_dual_edge_weight_strategy")[1] == 1
    # the same cuts, the same consensus and convergence metric at the end
    cuts = [sum(m.cut_index for m in s._mpisppy_data.xsqvar_prox_approx.values()) for s in
            (direct.local_scenarios[k] for k in sorted(direct.local_scenarios))]
    assert cuts == [sum(m.cut_index for m in s._mpisppy_data.xsqvar_prox_approx.values()) for s in
                    (pyomo.local_scenarios[k] for k in sorted(pyomo.local_scenarios))]
    assert float(direct.conv) == pytest.approx(float(pyomo.conv), rel=1e-9, abs=1e-12)
    for k, s in direct.local_scenarios.items():
        xbar = [p._value for p in s._mpisppy_model.xbars.values()]
        assert np.allclose(xbar, [p._value for p in pyomo.local_scenarios[k]._mpisppy_model.xbars.values()],
                           rtol=0, atol=1e-7)
    # mpi-sppy's expected PH objective, evaluated by Pyomo from the values the direct path loaded
    assert direct.Eobjective() == pytest.approx(pyomo.Eobjective(), rel=1e-9, abs=1e-9)


def _spoke_rounds(case, base, rounds: int, snapshot=_snapshot):
    """The Lagrangian spoke's PHBase (`base`): W switched on, no proximal term; `rounds` rounds
    of random prices summing to zero over the scenarios, as the hub's do. Returns the opt and,
    per round, (snapshot(opt), its expected bound)."""
    from optimizer.studies.hedging import scenario_creator

    names, kwargs = _kwargs(case)
    opt = base(_options(1), names, scenario_creator, scenario_creator_kwargs=kwargs)
    opt.PH_Prep(attach_prox=False, defer_attach=False)
    opt._reenable_W()
    opt._create_solvers()
    rng = np.random.default_rng(7)
    found = []
    for _ in range(rounds):
        prices = rng.normal(0, 5, (len(names), len(next(iter(opt.local_scenarios.values()))._mpisppy_model.W)))
        prices -= prices.mean(axis=0)
        for row, s in zip(prices, opt.local_scenarios.values()):
            for p, value in zip(s._mpisppy_model.W.values(), row):
                p._value = float(value)
        opt.solve_loop(solver_options={}, need_solution=True)
        found.append((snapshot(opt), opt.Ebound()))
    return opt, found


def test_spoke_solves_straight_with_highs_as_through_pyomo(case):
    """The Lagrangian spoke's PHBase: W switched on, no proximal term; three rounds of prices."""
    from mpisppy.phbase import PHBase

    from optimizer.studies.direct import direct_solve_class

    rounds = {solve: _spoke_rounds(case, base, 3)
              for solve, base in (("direct", direct_solve_class(PHBase)), ("pyomo", PHBase))}
    (direct, ours), (_, theirs) = rounds["direct"], rounds["pyomo"]
    assert set(direct._direct) == set(direct.local_scenarios)  # all but the first round went straight
    for held in direct._direct.values():  # no rows added between the spoke's solves: HiGHS's default pricing
        assert held.highs.getOptionValue("simplex_dual_edge_weight_strategy")[1] == -1
    for (a, bound_a), (b, bound_b) in zip(ours, theirs):
        _assert_same(a, b)
        assert bound_a == pytest.approx(bound_b, rel=1e-9, abs=1e-9)


def _ph_objective_built(s) -> bool:
    """Whether mpi-sppy's PH objective is in the scenario's Pyomo model as expressions."""
    from pyomo.core.expr.visitor import identify_mutable_parameters

    from optimizer.studies.direct import _active_objective

    model = s._mpisppy_model
    return (model.component("WExpr") is not None or model.component("ProxExpr") is not None
            or any(True for _ in identify_mutable_parameters(_active_objective(s).expr)))


def _built(base):
    """`base` (a class of direct.direct_solve_class) with mpi-sppy's own attach_PH_to_objective."""
    return type(f"Built{base.__name__}", (base,), {"build_ph_objective": True})


def test_hub_builds_no_ph_objective_and_takes_the_same_path(case):
    """The hub's direct class prices W and the proximal term straight into HiGHS without mpi-sppy's
    PH objective as Pyomo expressions (direct.OwnObjective): solve loop by solve loop the same as
    the same class with the expressions built, and as mpi-sppy's own path."""
    from optimizer.studies.hedging import _closed_form_ph

    lean, lean_loops = _hub(case, "direct")
    built, built_loops = _hub(case, "direct", base=_built(_closed_form_ph(solve="direct")))
    _, pyomo_loops = _hub(case, "pyomo")
    assert len(lean_loops) == len(built_loops) == len(pyomo_loops) == 5
    for ours, built_ones, theirs in zip(lean_loops, built_loops, pyomo_loops):
        _assert_same(ours, built_ones)
        _assert_same(ours, theirs)
    for k, s in lean.local_scenarios.items():
        assert not _ph_objective_built(s) and s._mpisppy_data.own_objective.prox
        assert _ph_objective_built(built.local_scenarios[k]) and not hasattr(built.local_scenarios[k]._mpisppy_data,
                                                                              "own_objective")
        # what the proximal cuts read is there: q a plan variable, a cut manager each, the same cuts
        assert len(s._mpisppy_model.xsqvar) == len(s._mpisppy_data.nonant_indices)
        assert [m.cut_index for m in s._mpisppy_data.xsqvar_prox_approx.values()] == \
               [m.cut_index for m in built.local_scenarios[k]._mpisppy_data.xsqvar_prox_approx.values()]
        assert s._mpisppy_data.nonant_cost_coeffs == built.local_scenarios[k]._mpisppy_data.nonant_cost_coeffs
    assert float(lean.conv) == pytest.approx(float(built.conv), rel=1e-9, abs=1e-12)
    # mpi-sppy's expected PH objective: the closed form against Pyomo's evaluation of the expressions
    assert lean.Eobjective() == pytest.approx(built.Eobjective(), rel=1e-9, abs=1e-9)
    lean._disable_prox()  # mpi-sppy's switches still reach it
    built._disable_prox()
    assert lean.Eobjective() == pytest.approx(built.Eobjective(), rel=1e-9, abs=1e-9)


def test_spoke_builds_no_ph_objective_and_gives_the_same_bounds(case):
    from optimizer.studies.hedging import _lagrangian_opt

    lean, ours = _spoke_rounds(case, _lagrangian_opt("direct"), 3)
    built, theirs = _spoke_rounds(case, _built(_lagrangian_opt("direct")), 3)
    assert set(lean._direct) == set(lean.local_scenarios)
    for (a, bound_a), (b, bound_b) in zip(ours, theirs):
        _assert_same(a, b)
        assert bound_a == pytest.approx(bound_b, rel=1e-9, abs=1e-9)
    for k, s in lean.local_scenarios.items():
        assert not _ph_objective_built(s) and not s._mpisppy_data.own_objective.prox
        assert _ph_objective_built(built.local_scenarios[k])


def test_the_ph_objective_is_built_where_a_solve_would_not_go_direct(case):
    """A quadratic proximal term (not linearized) is solved by mpi-sppy through Pyomo: its PH
    objective is built as mpi-sppy builds it."""
    from optimizer.studies.hedging import _closed_form_ph, scenario_creator

    names, kwargs = _kwargs(case)
    for linearized in (True, False):
        options = {**_options(1), "linearize_proximal_terms": linearized}
        ph = _closed_form_ph(solve="direct")(options, names, scenario_creator, scenario_creator_kwargs=kwargs)
        ph.PH_Prep(attach_prox=True, defer_attach=False)
        for s in ph.local_scenarios.values():
            assert _ph_objective_built(s) is not linearized
            assert (getattr(s._mpisppy_data, "own_objective", None) is None) is not linearized


def test_a_solve_that_cannot_go_direct_without_the_ph_objective_raises(case, tmp_path):
    """Where the PH objective was not built, Pyomo's model holds the scenario's own objective
    only: a solve that could not go straight to HiGHS after all (here: solver log files asked for
    afterwards) raises rather than solve that objective."""
    from optimizer.studies.hedging import _lagrangian_opt

    opt, _ = _spoke_rounds(case, _lagrangian_opt("direct"), 1)
    opt.options["solver_log_dir"] = str(tmp_path)
    opt._direct.clear()
    with pytest.raises(RuntimeError, match="not built as Pyomo expressions"):
        opt.solve_loop(solver_options={}, need_solution=True)
