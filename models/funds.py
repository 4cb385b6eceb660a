"""Fund establishment: a recipient either establishes a fund, with real capital, or not."""

from __future__ import annotations

import math

import pyomo.environ as pyo

from models.fund_effects import add_fund_effects
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

    where rho is capacity_per_cadre (cadres raise what a recipient can run). A fund's effect
    is the perspective of its curve (no fund, no effect: models/fund_effects.py), which every
    plan satisfies but which tightens the LP relaxation: without it a fractional y as small as
    F / M (M being all the budgets) pays almost none of the set-up cost and uses almost none of
    the admin capacity. Under `model = "lp"` y is continuous in [0, 1].

    In a MIP, for every recipient w with an admin_capacity and cadres from one donor d (C[w] =
    sum_t c[d,w,t], whole, between T cmin and T cmax), the hull of the whole (Y, C) that
    admin_capacity allows (Y = sum_k y[w,k] <= min(K[w], floor(A[w] + rho C)), K[w] w's funds):

        admin_capacity_hull[w,i]:  sum_k y[w,k] <= a[w,i] + b[w,i] C[w]

    one row per edge i of the upper concave envelope of the points (C, min(K, floor(A + rho C)))
    (admin_capacity_edges). Every plan satisfies them; the relaxation no longer runs 0.45 of a
    fund on 0.45 of a capacity unit that no whole number of cadres gives.
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
    # valid inequalities: the tightening that makes the relaxation see set-up costs and admin
    # capacity (with only fund_max, y can be as small as F / M, and M is all the budgets)
    add_fund_effects(m, instance, scenario)
    funds_of: dict[str, list[str]] = {}
    for w, k in sets.fund_keys:
        funds_of.setdefault(w, []).append(k)
    hull = admin_capacity_edges(m) if m.integer else {}
    m.admin_capacity_hull = pyo.Constraint(
        list(hull),
        rule=lambda m, w, i: (None, sum(m.y[w, k] for k in funds_of[w])
                              - (hull[w, i][1] * sum(m.c[key] for key in sets.cadres_by_recipient[w]) if hull[w, i][1]
                                 else 0.0), hull[w, i][0]),
    )
    m.admin_capacity_limit = pyo.Constraint(
        sets.admin_recipients,
        rule=lambda m, w: (None, sum(m.y[w, k] for k in funds_of[w])
                           - sum(m.cadre_capacity[d, w] * m.c[d, w, t] for d, _, t in sets.cadres_by_recipient.get(w, ())),
                           m.admin_capacity[w]),
    )


def admin_capacity_edges(m: pyo.ConcreteModel) -> dict[tuple[str, int], tuple[float, float]]:
    """{(w, i): (a, b)}: the edges Y <= a + b C of the upper concave envelope of the whole points
    (C, min(K, floor(A + rho C))), C = T cmin .. T cmax, for each admin recipient w whose cadres
    all come from one donor (its cadre capacity rho the same in every year). An edge that the
    admin_capacity row or y <= 1 already gives is left out."""
    sets = m.index_sets
    funds = {}
    for w, _ in sets.fund_keys:
        funds[w] = funds.get(w, 0) + 1
    edges = {}
    for w in sets.admin_recipients:
        keys = sets.cadres_by_recipient.get(w, ())
        if not keys or len({d for d, _, _ in keys}) != 1:
            continue
        d = keys[0][0]
        rho, base = pyo.value(m.cadre_capacity[d, w]), pyo.value(m.admin_capacity[w])
        low = sum(int(m.c[key].lb or 0) for key in keys)
        high = sum(int(m.c[key].ub) for key in keys if m.c[key].ub is not None)
        if rho <= 0 or len(keys) != sum(1 for key in keys if m.c[key].ub is not None) or high < low:
            continue
        for i, edge in enumerate(capacity_hull(base, rho, low, high, funds[w])):
            edges[w, i] = edge
    return edges


def capacity_hull(base: float, rho: float, low: int, high: int, funds: int) -> list[tuple[float, float]]:
    """The edges (a, b), Y <= a + b C, of the upper concave envelope of the whole points
    (C, min(funds, floor(base + rho C))) for C = low .. high, but an edge at Y = funds (which
    y <= 1 gives). Every whole (Y, C) with Y <= base + rho C, Y <= funds and low <= C <= high
    satisfies all of them, and each point of the envelope meets one with equality. With one
    C (low = high) the one edge is Y <= floor(base + rho C) when that cuts anything."""
    points = [(C, min(funds, math.floor(base + rho * C + 1e-9))) for C in range(low, high + 1)]
    hull: list[tuple[int, int]] = []
    for point in points:  # the upper hull, left to right (Andrew's monotone chain)
        while len(hull) >= 2 and _turn(hull[-2], hull[-1], point) >= 0:
            hull.pop()
        hull.append(point)
    if len(hull) == 1:
        return [(float(hull[0][1]), 0.0)] if hull[0][1] < min(funds, base + rho * low) else []
    edges = []
    for (c1, p1), (c2, p2) in zip(hull, hull[1:]):
        if p1 == p2 == funds:
            continue
        slope = (p2 - p1) / (c2 - c1)
        edges.append((p1 - slope * c1, slope))
    return edges


def _turn(o: tuple, a: tuple, b: tuple) -> float:
    """> 0 when o, a, b turn left (counter-clockwise)."""
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
