"""Sets and decision variables, including the pairing rule.

Pairing:  x[d,w,k,t] exists only for (d,w) in P (pairs.csv), for every instrument k and plan
year t. Leaving the other flows out of the model is the same as the constraint
x[d,w,k,t] = 0 for (d,w) not in P, without the rows.

Variables:
    x[d,w,k,t] >= 0            aid from donor d to recipient w by instrument k in year t (million yuan)
    0 <= s[w,k,j] <= u[w,k,j]  aid of recipient-instrument (w,k) counted in effect segment j
    z[w] >= 0                  people lifted in recipient w
    zero = 0                   a column fixed at 0 (see `row`)
"""

from __future__ import annotations

import pyomo.environ as pyo
from pyomo.core.expr.numvalue import is_potentially_variable

from models.sets import IndexSets


def add_sets(m: pyo.ConcreteModel, sets: IndexSets) -> None:
    m.donors = pyo.Set(initialize=sets.donors, ordered=True)
    m.recipients = pyo.Set(initialize=sets.recipients, ordered=True)
    m.instruments = pyo.Set(initialize=sets.instruments, ordered=True)
    m.years = pyo.Set(initialize=sets.years, ordered=True)
    m.pairs = pyo.Set(initialize=sets.pairs, dimen=2, ordered=True)
    m.flows = pyo.Set(initialize=sets.flows, dimen=4, ordered=True)
    m.segments = pyo.Set(initialize=sets.segments, dimen=3, ordered=True)
    m.effect_keys = pyo.Set(initialize=sets.effect_keys, dimen=2, ordered=True)
    m.capacity_keys = pyo.Set(initialize=sets.capacity_keys, dimen=3, ordered=True)


def add_variables(m: pyo.ConcreteModel, sets: IndexSets) -> None:
    m.x = pyo.Var(m.flows, domain=pyo.NonNegativeReals)
    m.s = pyo.Var(m.segments, domain=pyo.NonNegativeReals, bounds=lambda m, w, k, j: (0, m.width[w, k, j]))
    m.z = pyo.Var(m.recipients, domain=pyo.NonNegativeReals)
    m.zero = pyo.Var(bounds=(0, 0))


def row(m: pyo.ConcreteModel, lower, body, upper) -> tuple:
    """A (lower, body, upper) row that stays a row when the data leaves its body empty.

    A donor without pairs, a category without instruments or a capacity row of an unpaired
    recipient gives a body with no variable; Pyomo would fold it to True or False and fail.
    Adding the fixed-zero column keeps it a row: HiGHS then finds it satisfied or reports the
    scenario infeasible, and the row keeps its name for explanations.
    """
    if not is_potentially_variable(body):
        body = body + m.zero
    return (lower, body, upper)
