"""The budget factor: every budget scaled by one variable, for `ewppt target`.

The scenario's proportions p[l] are scaled by one factor phi >= 0 (a variable), so every
budget becomes phi * B[d,t], B[d,t] = sum_l p[l] R[d,l,t] being the scenario's
(`budget_amount`). `add_budget_factor` rewrites the rows of a built model whose bound is a
budget, in place, moving phi * B to the variable side (a variable cannot sit in a bound):

    budget[d,t]:               sum_{w,k} x[d,w,k,t] + sum_w kappa[d,w] c[d,w,t] - phi B[d,t] = 0
    priority_share[rule,g,t]:  aid of the rule - phi share[rule] B[g,t] >= 0   (<= 0 for public_goods_max)
                               (women_min is a share of household aid, not of B: unchanged)
    fund_max[w,k]:             F[w,k] - M[w,k] y[w,k] <= 0        (M taken at a factor, below)

and bounds 0 <= phi <= phi_max. Quotas, capacities, investment coupling, locks, the effect
rows, the coverage floor and the whole decisions' other rows do not involve B and stay as
built.

The funds' big-M. In the normal model M[w,k] = min(all budgets of w's donors over the plan,
the instrument's capacity over the plan) (models.parameters.fund_capital_limits). With the
budgets phi B it becomes M(phi), non-decreasing in phi, and M(phi) y is bilinear. The target
model's row reads a mutable Param instead, `factor_fund_capital_max`, set to M at a chosen
factor (`set_fund_capital_max`; M(phi_max) to begin with):

- With whole decisions (y binary) M(phi_max) is exact: it is at least M(phi) for every phi in
  range, and a fund's capital never exceeds its donors' budgets (the budget rows), so the
  model at any phi has exactly the plans of the normal model at proportions phi p.
- With y continuous (`model = "lp"`, the relaxation) the row F <= M(phi_max) y is weaker than
  the normal relaxation's F <= M(phi) y (it is the McCormick envelope of F <= B_w phi y over
  the box, the best a linear row can do), so its least factor is only a lower bound.
  optimizer/analysis/target.py closes the gap by re-solving with M taken at the bounds found: with
  M(lo), the model's plans are plans of the normal model at their own factor (a restriction,
  giving an upper bound hi); with M(hi), it relaxes every factor up to hi (a lower bound).
  The two meet in a few warm re-solves.

The target (`add_people_target`, or the scenario's coverage floor for a coverage target)
and the objective:

    people_target:     sum_w z[w] >= N
    target_objective:  max -phi          (the least factor)

The objective is written as a maximisation of -phi so that the MIP driver (optimizer/solving/mip.py:
relax and fix, whose gap is (bound - plan) / |plan| for a maximisation, and branch and bound,
which keeps the larger plan) applies unchanged. The scenario's own objective is deactivated.
"""

from __future__ import annotations

import pyomo.environ as pyo

from models.funds import fund_capital
from models.parameters import budgets, fund_capital_limits
from models.priorities import NATIONAL


def add_budget_factor(m: pyo.ConcreteModel, max_factor: float) -> None:
    """Scale every budget of a built model by the variable `budget_factor` (phi) in
    [0, max_factor]: the budget, priority share and fund_max rows as in the module docstring."""
    sets = m.index_sets
    m.budget_factor = pyo.Var(bounds=(0.0, max_factor))
    phi = m.budget_factor
    budget = {key: pyo.value(m.budget_amount[key]) for key in m.budget_amount}

    for (d, t), con in m.budget.items():
        con.set_value((0.0, con.body - phi * budget[d, t], 0.0))

    for (rule, g, t), con in m.priority_share.items() if m.component("priority_share") is not None else ():
        if rule == "women_min":  # a share of household aid, whatever the budget
            continue
        donors = sets.donors if g == NATIONAL else (g,)
        share_of_budget = pyo.value(m.share_bound[rule]) * sum(budget[d, t] for d in donors)
        scaled = con.body - phi * share_of_budget
        con.set_value((0.0, scaled, None) if con.has_lb() else (None, scaled, 0.0))

    if sets.fund_keys:
        m.factor_fund_capital_max = pyo.Param(sets.fund_keys, mutable=True, within=pyo.Reals, initialize=0.0)
        set_fund_capital_max(m, max_factor)
        for (w, k), con in m.fund_max.items():
            con.set_value((None, fund_capital(m, w, k) - m.factor_fund_capital_max[w, k] * m.y[w, k], 0.0))


def set_fund_capital_max(m: pyo.ConcreteModel, factor: float) -> bool:
    """Take the funds' big-M at a factor: M(factor) = fund_capital_limits at budgets factor B.
    Returns whether any value changed (False when every fund's M is its capacity's anyway)."""
    if m.component("factor_fund_capital_max") is None:
        return False
    scaled = {key: factor * value for key, value in budgets(m, m.index_sets).items()}
    changed = False
    for key, value in fund_capital_limits(m, m.index_sets, scaled).items():
        param = m.factor_fund_capital_max[key]
        if abs(pyo.value(param) - value) > 1e-12 * (1 + abs(value)):
            param.set_value(value)
            changed = True
    return changed


def add_people_target(m: pyo.ConcreteModel, people: float) -> None:
    """people_target:  sum_w z[w] >= N."""
    m.people_target = pyo.Constraint(expr=(people, sum(m.z[w] for w in m.recipients), None))


def add_target_objective(m: pyo.ConcreteModel) -> None:
    """max -phi (the least budget factor), in place of the scenario's objective."""
    m.objective.deactivate()
    m.target_objective = pyo.Objective(expr=-m.budget_factor, sense=pyo.maximize)
