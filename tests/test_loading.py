"""BulkHighs (optimizer/solving/loading.py) gives HiGHS exactly the LP Pyomo's own HiGHS
interface gives it, bit for bit, and keeps the same maps and helpers: loaded both ways, before
and after moving every mutable Param."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest
from pyomo.contrib.solver.solvers.highs import Highs

from models.assemble import SWEEPABLE, build_model
from optimizer import load_instance
from optimizer.data.generate import generate_instance
from optimizer.solving.loading import BulkHighs
from optimizer.solving.quiet import quiet
from optimizer.solving.solve import new_solver
from tests.conftest import INSTANCES


def lp_arrays(opt) -> dict:
    """Everything HiGHS holds of the LP, as bytes (so 0.0 and -0.0 differ)."""
    lp = opt._solver_model.getLp()
    a = lp.a_matrix_
    arrays = {name: np.asarray(getattr(lp, name)) for name in
              ("col_cost_", "col_lower_", "col_upper_", "row_lower_", "row_upper_")}
    arrays["integrality"] = np.array([int(x) for x in lp.integrality_], dtype=np.int64)
    arrays.update(start=np.asarray(a.start_), index=np.asarray(a.index_), value=np.asarray(a.value_))
    out = {name: (x.dtype.str, x.shape, x.tobytes()) for name, x in arrays.items()}
    out.update(format=str(a.format_), sense=str(lp.sense_), offset=float(lp.offset_).hex(),
               shape=(lp.num_col_, lp.num_row_))
    return out


def bookkeeping(opt) -> dict:
    """The interface's maps and helpers, in their order."""
    helpers = {}
    for con, hs in opt._mutable_helpers.items():
        helpers[con.name] = [(type(h).__name__, getattr(h, "pyomo_var_id", None),
                              str(getattr(h, "expr", None)), str(getattr(h, "lower_expr", None)),
                              str(getattr(h, "upper_expr", None))) for h in hs]
    return {
        "columns": list(opt._pyomo_var_to_solver_var_map.items()),
        "rows": [(c.name, i) for c, i in opt._pyomo_con_to_solver_con_map.items()],
        "rows back": [(i, c.name) for i, c in opt._solver_con_to_pyomo_con_map.items()],
        "helpers": helpers,
        "bounds": list(opt._mutable_bounds),
        "vars": [(k, v[1:]) for k, v in opt._vars.items()],
        "referenced": [(k, [c.name for c in r[0]], r[2] is None) for k, r in opt._referenced_variables.items()],
        "by row": [(c.name, [id(v) for v in vs]) for c, vs in opt._vars_referenced_by_con.items()],
        "active": [c.name for c in opt._active_constraints],
        "named": [(c.name, len(n)) for c, n in opt._named_expressions.items()],
        "objective": [id(v) for v in opt._vars_referenced_by_obj],
    }


def loaded_both_ways(model):
    plain, bulk = Highs(), BulkHighs()
    with quiet():
        plain.set_instance(model)
        bulk.set_instance(model)
    return plain, bulk


def move_params(model, factor: float) -> None:
    for param in model.component_objects(pyo.Param, descend_into=True):
        if param.mutable:
            for data in param.values():
                if data.value is not None:
                    data.set_value(data.value * factor)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return load_instance(generate_instance(tmp_path_factory.mktemp("loading") / "g100", recipients=100, donors=12,
                                           instruments=10, years=5, seed=7))


CASES = [("tiny", None, frozenset()), ("tiny", None, SWEEPABLE), ("ewppt-2010", "lp", frozenset()),
         ("ewppt-2010", "mip", frozenset()), ("ewppt-2010", "lp", SWEEPABLE), ("ewppt-2010", "mip", SWEEPABLE),
         ("g100", None, frozenset()), ("g100", None, SWEEPABLE)]


@pytest.mark.parametrize("name, kind, mutable", CASES,
                         ids=[f"{n}-{k or 'own'}-{'mutable' if m else 'fixed'}" for n, k, m in CASES])
def test_the_same_lp_both_ways(name, kind, mutable, generated):
    instance = generated if name == "g100" else load_instance(INSTANCES / name)
    scenario = instance.scenario if kind is None else instance.scenario.override(**{"scenario.model": kind})
    model = build_model(instance, scenario, mutable=mutable)
    plain, bulk = loaded_both_ways(model)
    assert lp_arrays(bulk) == lp_arrays(plain)
    assert bookkeeping(bulk) == bookkeeping(plain)
    if mutable:
        assert bulk._mutable_helpers  # the rows with Params went through Pyomo's own code
        # each interface pushes the moved Params by Pyomo's own helpers: the same LP again
        move_params(model, 1.25)
        with quiet():
            plain.update_parameters()
            bulk.update_parameters()
        assert lp_arrays(bulk) == lp_arrays(plain)
        # and a model loaded afresh after the move, both ways
        again_plain, again_bulk = loaded_both_ways(model)
        assert lp_arrays(again_bulk) == lp_arrays(again_plain)


def test_the_engine_loads_by_bulk():
    from optimizer.solving.loading import supported

    if not supported():  # the tests above say whether BulkHighs holds there: then add it to TESTED_PYOMO
        pytest.skip("pyomo is not one BulkHighs was written against: the engine loads by Pyomo's own code")
    assert isinstance(new_solver(), BulkHighs)


def binding_by_pyomo(model):
    """binding_table as it was written before (every value from Pyomo's own evaluation)."""
    from optimizer.solving.results import BINDING_FAMILIES, _index_row, _typed, empty_table, round_figure
    import pandas as pd

    rows = []
    for family in BINDING_FAMILIES:
        block = model.component(family)
        if block is None:
            continue
        for index, con in block.items():
            body = pyo.value(con.body)
            slacks = []
            if con.has_lb():
                slacks.append(body - pyo.value(con.lower))
            if con.has_ub():
                slacks.append(pyo.value(con.upper) - body)
            slack = max(0.0, min(slacks))
            scale = 1.0 + max(abs(pyo.value(b)) for b in (con.lower, con.upper) if b is not None)
            rows.append({"family": family, **_index_row(family, index), "slack": round_figure(slack),
                         "binding": bool(slack <= 1e-7 * scale)})
    return _typed(pd.DataFrame(rows, columns=empty_table("binding").columns)) if rows else empty_table("binding")


@pytest.mark.parametrize("name", ["tiny", "ewppt-2010", "g100"])
def test_body_values_and_binding_as_pyomo_computes_them(name, generated):
    """expression_value is pyo.value to the bit on every row of a solved model, and the binding
    table built with it is the one built by Pyomo's evaluation."""
    from optimizer.solving.results import binding_table, expression_value
    from optimizer.solving.solve import solve_model

    instance = generated if name == "g100" else load_instance(INSTANCES / name)
    model = build_model(instance, instance.scenario, mutable=SWEEPABLE if name == "tiny" else frozenset())
    result = solve_model(model, instance, instance.scenario)
    assert result.has_plan
    for con in model.component_data_objects(pyo.Constraint, active=True):
        ours, pyomos = expression_value(con.body), pyo.value(con.body)
        assert np.float64(ours).tobytes() == np.float64(pyomos).tobytes(), con.name
    ours, before = binding_table(model), binding_by_pyomo(model)
    assert ours.equals(before)
    assert ours["slack"].to_numpy().tobytes() == before["slack"].to_numpy().tobytes()
