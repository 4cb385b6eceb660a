"""Locks: aid a planner has already promised (locks.csv, optional)."""

from __future__ import annotations

import pyomo.environ as pyo

from models.variables import row
from optimizer.data.io import Instance
from optimizer.data.schema import Scenario


def lock_bounds(instance: Instance) -> dict[tuple[str, str, str, int], tuple[float | None, float | None]]:
    """(d,w,k,t) -> (least, most) aid from locks.csv: `aid` fixes both, else min_aid/max_aid."""
    bounds = {}
    for d, w, k, t, aid, lo, hi in instance.locks[["donor", "recipient", "instrument", "year", "aid", "min_aid",
                                                    "max_aid"]].itertuples(index=False):
        given = (lambda v: None if v is None or v != v else float(v))
        bounds[d, w, k, int(t)] = (given(aid), given(aid)) if given(aid) is not None else (given(lo), given(hi))
    return bounds


def add_locks(m: pyo.ConcreteModel, instance: Instance, scenario: Scenario) -> None:
    """For every row (d,w,k,t) of locks.csv:

        lock[d,w,k,t]:  lo[d,w,k,t] <= x[d,w,k,t] <= hi[d,w,k,t]

    with lo = hi = aid when the row gives `aid` (a promise kept to the yuan), else min_aid and
    max_aid (either may be empty). Rows, not variable bounds, so that a lock that makes the
    scenario infeasible can be named, and its dual says what the promise costs.
    """
    bounds = lock_bounds(instance)
    m.lock = pyo.Constraint(list(bounds), rule=lambda m, d, w, k, t: row(m, bounds[d, w, k, t][0], m.x[d, w, k, t],
                                                                         bounds[d, w, k, t][1]))
