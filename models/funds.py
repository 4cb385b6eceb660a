"""Fund establishment: a recipient either establishes a fund, with real capital, or not."""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.data.io import Instance
from optimizer.data.schema import Scenario


def fund_capital(m: pyo.ConcreteModel, w: str, k: str):
    """F[w,k] = sum_{d,t} x[d,w,k,t]: the capital of fund k in w over the plan (never withdrawn)."""
    return sum(m.x[f] for f in m.index_sets.flows_by_recipient_instrument.get((w, k), ()))


def add_funds(m: pyo.ConcreteModel, instance: Instance, scenario: Scenario) -> None:
    """For every paired recipient w and fund instrument k (min_fund_size or setup_cost > 0):

        y[w,k] binary                                            fund k established in w
        fund_min[w,k]:  max(m[k], f[k]) y[w,k] <= F[w,k]           a fund holds real capital
        fund_max[w,k]:  F[w,k] <= M[w,k] y[w,k]                    no capital without a fund

    m is min_fund_size, f setup_cost (taken from the capital before it has effect, see
    effect_use), and M[w,k] the big-M from the data: all of w's donors' budgets over the plan,
    or the sum of the instrument's capacity limits when every year has one
    (models.parameters.fund_capital_limits). For every recipient with an admin_capacity A[w]:

        admin_capacity[w]:  sum_k y[w,k] <= A[w] + sum_{d,t} rho[d,w] c[d,w,t]

    where rho is capacity_per_cadre (cadres raise what a recipient can run). And, for every
    effect segment j of a fund:

        fund_effect[w,k,j]:  s[w,k,j] <= u[w,k,j] y[w,k]

    which every plan satisfies (no fund, no capital, no effect) but which tightens the LP
    relaxation: without it a fractional y as small as F / M (M being all the budgets) pays
    almost none of the set-up cost and uses almost none of the admin capacity. Under
    `model = "lp"` y is continuous in [0, 1].
    """
    sets = m.index_sets
    m.y = pyo.Var(sets.fund_keys, domain=pyo.Binary if m.integer else pyo.UnitInterval)
    m.fund_min = pyo.Constraint(
        sets.fund_keys,
        rule=lambda m, w, k: (None, max(pyo.value(m.min_fund_size[k]), pyo.value(m.setup_cost[k])) * m.y[w, k]
                              - fund_capital(m, w, k), 0.0),
    )
    m.fund_max = pyo.Constraint(
        sets.fund_keys, rule=lambda m, w, k: (None, fund_capital(m, w, k) - m.fund_capital_max[w, k] * m.y[w, k], 0.0)
    )
    # valid inequality: the tightening that makes the relaxation see set-up costs and admin
    # capacity (with only fund_max, y can be as small as F / M, and M is all the budgets)
    fund_segments = [seg for key in sets.fund_keys for seg in sets.segments_by_effect.get(key, ())]
    m.fund_effect = pyo.Constraint(
        fund_segments, rule=lambda m, w, k, j: (None, m.s[w, k, j] - m.width[w, k, j] * m.y[w, k], 0.0)
    )
    funds_of: dict[str, list[str]] = {}
    for w, k in sets.fund_keys:
        funds_of.setdefault(w, []).append(k)
    m.admin_capacity_limit = pyo.Constraint(
        sets.admin_recipients,
        rule=lambda m, w: (None, sum(m.y[w, k] for k in funds_of[w])
                           - sum(m.cadre_capacity[d, w] * m.c[d, w, t] for d, _, t in sets.cadres_by_recipient.get(w, ())),
                           m.admin_capacity[w]),
    )
