"""The closed-form projection onto the parabola q = x^2 (optimizer/studies/proximal.py) that
updates progressive hedging's linearized proximal cuts, against scipy's least_squares on the
residuals mpi-sppy projects with, and the cuts it leads to against mpi-sppy's own managers.

mpi-sppy 0.14's own call gives least_squares the Jacobian (t, 2t) of the residuals
(t - x, t^2 - q), whose true Jacobian is (1, 2t) (mpisppy/utils/prox_approx.py, `_df_ls`), so
it stops short of the projection (e.g. at t = 3.73 for the point (24.81, 3.34), whose nearest
point on the parabola is at t = 2.72). The reference here is least_squares on mpi-sppy's
residuals `_f_ls` with the true Jacobian; test_mpisppy_own_call_is_no_nearer checks that the
closed form is never farther from the point than mpi-sppy's own call.
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

from optimizer.studies.proximal import project_onto_parabola

HAVE_MPISPPY = importlib.util.find_spec("mpisppy") is not None
if not HAVE_MPISPPY and os.environ.get("EWPPT_REQUIRE_MPI"):
    raise RuntimeError("EWPPT_REQUIRE_MPI is set but mpi-sppy is missing")
needs_mpisppy = pytest.mark.skipif(not HAVE_MPISPPY, reason="mpi-sppy not installed (pip install -e \".[hedging]\")")


@pytest.fixture(autouse=True)
def _highs_thread_pool_released():
    """HiGHS keeps one thread pool a process, sized by the first solve's `threads`; a later solve
    asking another number fails (the engine's solves then report numerical trouble). The test
    below solves through Pyomo's default HiGHS settings, so the pool is released afterwards for
    the tests that run next in this process."""
    yield
    import highspy

    highspy.Highs.resetGlobalScheduler(True)


def _points(kind: str, n: int = 1500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n) * 10 ** rng.uniform(-4, 3, n)
    if kind == "below":  # what the LP returns: q on or above the cuts, below the parabola
        q = x * x * rng.uniform(0, 1, n)
    elif kind == "above":
        q = x * x + rng.uniform(0, 1, n) * 10 ** rng.uniform(-3, 3, n)
    else:
        q = rng.uniform(-5, 50, n)
    return x, q


def _distance(t, x, q):
    return (t - x) ** 2 + (t * t - q) ** 2


def _no_farther(t, other, x, q):
    """t is at least as near the point as `other`, up to the rounding of the squared distances."""
    return _distance(t, x, q) <= _distance(other, x, q) * (1 + 1e-9) + 1e-14 * (x * x + q * q + 1)


@pytest.mark.parametrize("kind", ["below", "above", "anywhere"])
def test_closed_form_is_the_nearest_root_of_the_cubic(kind):
    x, q = _points(kind)
    t = project_onto_parabola(x, q)
    # a stationary point: the cubic 2t^3 + (1 - 2q) t - x = 0, to rounding
    assert np.all(np.abs(2 * t**3 + (1 - 2 * q) * t - x) <= 1e-12 * np.maximum(1, np.abs(x) + np.abs(t) ** 3 + np.abs(q * t)))
    # and the nearest of the cubic's real roots (numpy's eigenvalue roots, one point at a time)
    for xi, qi, ti in zip(x[:300], q[:300], t[:300]):
        roots = np.roots([2.0, 0.0, 1 - 2 * qi, -xi])
        real = roots[np.abs(roots.imag) <= 1e-7 * np.maximum(1, np.abs(roots))].real
        best = real[np.argmin(_distance(real, xi, qi))]
        assert _no_farther(ti, best, xi, qi)
        if xi != 0:
            assert ti == pytest.approx(best, rel=1e-7, abs=1e-9)


def test_closed_form_by_hand():
    # on the parabola: itself; at x = 0: 0 (where least_squares, started at 0, stops too)
    assert project_onto_parabola([3.0, -2.0, 0.0, 0.0], [9.0, 4.0, 5.0, -1.0]).tolist() == pytest.approx([3, -2, 0, 0])
    # (0.5, 0): 2t^3 + t - 0.5 = 0 has t = 0.3854... (Cardano: one real root)
    assert project_onto_parabola([0.5], [0.0])[0] == pytest.approx(0.38545, abs=1e-5)
    # symmetric in x
    x, q = _points("anywhere", 200, seed=3)
    assert np.array_equal(project_onto_parabola(-x, q), -project_onto_parabola(x, q))


@needs_mpisppy
@pytest.mark.parametrize("kind", ["below", "above", "anywhere"])
def test_closed_form_against_least_squares_on_mpisppys_residuals(kind):
    from mpisppy.utils.prox_approx import _f_ls
    from scipy.optimize import least_squares

    x, q = _points(kind, 600, seed=1)
    t = project_onto_parabola(x, q)
    jacobian = lambda v, x_pnt, y_pnt: ((1.0,), (2 * v[0],))  # noqa: E731 (the residuals' true Jacobian)
    agree = 0
    for xi, qi, ti in zip(x, q, t):
        # as mpi-sppy calls it (started at x, Levenberg-Marquardt), at its tightest tolerances
        found = least_squares(_f_ls, xi, args=(xi, qi), jac=jacobian, method="lm", x_scale="jac",
                              ftol=3e-16, xtol=3e-16, gtol=3e-16).x[0]
        if abs(found - ti) <= 1e-8 * max(1.0, abs(ti)):
            agree += 1
        else:  # least_squares stopped on its cost's relative change: the closed form is the nearer
            assert _no_farther(ti, found, xi, qi)
    # where the point lies below the parabola (all the LP returns), they agree to 1e-8 but where
    # least_squares stops on a cost change of 1e-16 relative
    assert agree >= 0.99 * len(x) if kind == "below" else agree >= 0.8 * len(x)


@needs_mpisppy
def test_mpisppy_own_call_is_no_nearer():
    from mpisppy.utils.prox_approx import _df_ls, _f_ls
    from scipy.optimize import least_squares

    x, q = _points("below", 300, seed=2)
    t = project_onto_parabola(x, q)
    own = np.array([least_squares(_f_ls, xi, args=(xi, qi), jac=_df_ls, method="lm", x_scale="jac").x[0]
                    for xi, qi in zip(x, q)])
    assert np.all(_no_farther(t, own, x, q))
    # and on such points it is often far from the projection (the Jacobian above)
    assert np.mean(np.abs(own - t) > 1e-3 * np.maximum(1, np.abs(t))) > 0.3


@needs_mpisppy
def test_the_cuts_are_mpisppys_at_the_projection():
    """ClosedFormUpdates on a scenario of mpi-sppy's own cut managers adds, for every variable,
    exactly the cuts mpi-sppy's manager adds at least_squares' projection (true Jacobian)."""
    from types import SimpleNamespace

    import pyomo.environ as pyo
    from mpisppy.utils.prox_approx import ProxApproxManager, _f_ls
    from scipy.optimize import least_squares

    from optimizer.studies.proximal import ClosedFormUpdates

    rng = np.random.default_rng(5)
    n = 200
    x, q = rng.uniform(0, 40, n), None
    q = x * x * rng.uniform(0.5, 1, n)

    def scenario():
        m = pyo.ConcreteModel()
        m.x = pyo.Var(range(n), bounds=(0, 50))
        m._mpisppy_model = pyo.Block()
        m._mpisppy_data = SimpleNamespace()
        keys = [(None, i) for i in range(n)]
        m._mpisppy_model.xsqvar = pyo.Var(keys, bounds=(0, None))
        m._mpisppy_model.xsqvar_cuts = pyo.Constraint(keys, pyo.Integers)
        m._mpisppy_model.xbars = pyo.Param(keys, initialize={k: rng.uniform(0, 40) for k in keys}, mutable=True)
        m._mpisppy_model.rho = pyo.Param(keys, initialize=1.0, mutable=True)
        m._mpisppy_model.W = pyo.Param(keys, initialize={k: rng.normal(0, 5) for k in keys}, mutable=True)
        m._mpisppy_data.nonant_cost_coeffs = {k: -1.0 for k in keys}
        m._mpisppy_data.xsqvar_prox_approx = {k: ProxApproxManager(m, m.x[k[1]], k) for k in keys}
        for i, k in enumerate(keys):
            m.x[i].set_value(x[i])
            m._mpisppy_model.xsqvar[k].set_value(q[i])
        m._solver_plugin = None
        return m

    state = rng.bit_generator.state
    ours = scenario()
    rng.bit_generator.state = state
    theirs = scenario()
    ClosedFormUpdates().update(SimpleNamespace(prox_approx_tol=np.sqrt(0.1), local_scenarios={"s": ours}))
    jacobian = lambda v, x_pnt, y_pnt: ((1.0,), (2 * v[0],))  # noqa: E731
    for i, manager in enumerate(theirs._mpisppy_data.xsqvar_prox_approx.values()):
        found = least_squares(_f_ls, x[i], args=(x[i], q[i]), jac=jacobian, method="lm", x_scale="jac",
                              ftol=3e-16, xtol=3e-16, gtol=3e-16).x[0]
        manager.add_cuts(found, np.sqrt(0.1), None)
    for a, b in zip(ours._mpisppy_data.xsqvar_prox_approx.values(), theirs._mpisppy_data.xsqvar_prox_approx.values()):
        assert len(a.cut_values) == len(b.cut_values)
        assert np.allclose(a.cut_values, b.cut_values, rtol=1e-8, atol=1e-8)
        assert a.xvarsqrd.value == pytest.approx(a.xvar.value**2)
    assert len(ours._mpisppy_model.xsqvar_cuts) == len(theirs._mpisppy_model.xsqvar_cuts) > n


@needs_mpisppy
def test_cuts_sent_to_highs_as_rows_are_mpisppys_constraints():
    """With Pyomo's HiGHS interface the cuts go into the HiGHS model as rows in one call; row for
    row they are the Pyomo constraints mpi-sppy's managers build at the same projections:
    q_i - 2 t x_i >= -t^2."""
    from types import SimpleNamespace

    import pyomo.environ as pyo
    from mpisppy.utils.prox_approx import ProxApproxManager
    from scipy import sparse

    from optimizer.studies.proximal import ClosedFormUpdates

    n = 60
    rng = np.random.default_rng(11)
    x = rng.uniform(0, 40, n)
    q = x * x * rng.uniform(0.5, 1, n)
    xbar, w = rng.uniform(0, 40, n), rng.normal(0, 5, n)

    def scenario(solver):
        m = pyo.ConcreteModel()
        m.x = pyo.Var(range(n), bounds=(0, 50))
        m.budget = pyo.Constraint(expr=sum(m.x[i] for i in range(n)) <= 30 * n)
        m._mpisppy_model = pyo.Block()
        m._mpisppy_data = SimpleNamespace()
        keys = [(None, i) for i in range(n)]
        m._mpisppy_model.xsqvar = pyo.Var(keys, bounds=(0, None))
        m._mpisppy_model.xsqvar_cuts = pyo.Constraint(keys, pyo.Integers)
        m._mpisppy_model.xbars = pyo.Param(keys, initialize=dict(zip(keys, xbar)), mutable=True)
        m._mpisppy_model.rho = pyo.Param(keys, initialize=1.0, mutable=True)
        m._mpisppy_model.W = pyo.Param(keys, initialize=dict(zip(keys, w)), mutable=True)
        m._mpisppy_data.nonant_cost_coeffs = {k: -1.0 for k in keys}
        m._mpisppy_data.xsqvar_prox_approx = {k: ProxApproxManager(m, m.x[k[1]], k) for k in keys}
        m.objective = pyo.Objective(expr=sum(-m.x[i] + m._mpisppy_model.xsqvar[k] for i, k in enumerate(keys)))
        m._solver_plugin = solver
        if solver is not None:
            solver.solve(m)  # as mpi-sppy's iteration 0: the model is in HiGHS
        for i, k in enumerate(keys):
            m.x[i].set_value(x[i])
            m._mpisppy_model.xsqvar[k].set_value(q[i])
        return m

    highs = pyo.SolverFactory("highs")
    ours = scenario(highs)
    rows_before = highs._solver_model.getNumRow()
    ClosedFormUpdates().update(SimpleNamespace(prox_approx_tol=np.sqrt(0.1), local_scenarios={"s": ours}))
    assert len(ours._mpisppy_model.xsqvar_cuts) == 0  # no Pyomo constraints
    lp = highs._solver_model.getLp()
    parts = (lp.a_matrix_.value_, lp.a_matrix_.index_, lp.a_matrix_.start_)
    rowwise = len(lp.a_matrix_.start_) == lp.num_row_ + 1 and len(lp.a_matrix_.start_) != lp.num_col_ + 1
    matrix = (sparse.csr_matrix(parts, shape=(lp.num_row_, lp.num_col_)) if rowwise
              else sparse.csc_matrix(parts, shape=(lp.num_row_, lp.num_col_)).tocsr())[rows_before:]
    column = {index: var for var_id, index in highs._pyomo_var_to_solver_var_map.items()
              for var in [v for v in ours.component_data_objects(pyo.Var) if id(v) == var_id]}
    sent = []
    for r in range(matrix.shape[0]):
        row = matrix.getrow(r)
        entries = {column[c].name: v for c, v in zip(row.indices, row.data)}
        (x_name, slope), = [(k, v) for k, v in entries.items() if k.startswith("x[")]
        (q_name, one), = [(k, v) for k, v in entries.items() if "xsqvar" in k]
        assert one == 1.0 and q_name == f"_mpisppy_model.xsqvar[None,{x_name[2:-1]}]"
        t = -slope / 2
        assert lp.row_lower_[rows_before + r] == pytest.approx(-t * t, rel=1e-12, abs=1e-12)
        assert lp.row_upper_[rows_before + r] >= 1e30
        sent.append((x_name, t))
    theirs = scenario(None)
    ClosedFormUpdates().update(SimpleNamespace(prox_approx_tol=np.sqrt(0.1), local_scenarios={"s": theirs}))
    built = []
    for cut in theirs._mpisppy_model.xsqvar_cuts.values():  # q - 2 t x + t^2 >= 0
        body = cut.body
        coefficients = {v.name: c for v, c in zip(body.linear_vars, body.linear_coefs)}
        (x_name, slope), = [(k, v) for k, v in coefficients.items() if k.startswith("x[")]
        assert pyo.value(body.constant) == pytest.approx(slope * slope / 4)
        built.append((x_name, -slope / 2))
    assert len(sent) == len(built) > n
    assert sorted(name for name, _ in sent) == sorted(name for name, _ in built)
    sent_by = sorted(sent)
    built_by = sorted(built)
    assert [a for a, _ in sent_by] == [a for a, _ in built_by]
    assert np.allclose([t for _, t in sent_by], [t for _, t in built_by], rtol=1e-12, atol=1e-12)
