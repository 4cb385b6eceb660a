"""Absorptive capacity of a recipient per instrument and year (capacity.csv, optional)."""

from __future__ import annotations

import pyomo.environ as pyo

from models.variables import row
from optimizer.data.io import Instance
from optimizer.data.schema import Scenario


def add_capacity(m: pyo.ConcreteModel, instance: Instance, scenario: Scenario) -> None:
    """For every row (w,k,t) of capacity.csv in a plan year:

        sum_{d:(d,w) in P} x[d,w,k,t] <= C[w,k,t]      (max_aid)

    Rows for recipient-instrument-years without capacity data are not built (no limit).
    """
    sets = m.index_sets
    m.capacity = pyo.Constraint(
        m.capacity_keys,
        rule=lambda m, w, k, t: row(m, None, sum(m.x[f] for f in sets.flows_by_recipient_instrument_year.get((w, k, t), ())),
                                    m.max_aid[w, k, t]),
    )
