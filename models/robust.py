"""The extensive form of a robust plan: one allocation, an outcome per scenario, a risk objective.

A robust model is the ordinary model (models/assemble.py) of the plan's instance, whose own
effect rows, variables and objective are scenario 0's outcome, plus one block per further
scenario with that scenario's outcome, and a risk objective over all of them. Everything that
is a decision (x, and a MIP's y, v, c) and every plan row (budgets, quotas, shares, capacities
at their worst, investment coupling, locks, funds, projects, cadres) exists once and is shared
by every scenario. With one scenario the model is the ordinary one, row for row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyomo.environ as pyo

from models.effects import aid_counted, effect_capital, line_aid, projects_counted, segments_by_recipient
from models.fund_effects import add_curve_perspective, curve_people, fund_lines, lines_by_recipient
from models.objectives import equity_recipients

RISK_OBJECTIVES = ("people_lifted", "weighted_people_lifted")


@dataclass(frozen=True)
class Outcome:
    """One further scenario's outcome figures, by the model's own indices."""

    people_per_million: dict  # (w, k, j) -> e
    width: dict  # (w, k, j) -> u
    poor_population: dict  # w -> N
    weight: dict  # w -> weight


def add_scenario_outcomes(m: pyo.ConcreteModel, outcomes: Sequence[Outcome]) -> None:
    """For every further scenario s = 1..S-1 (scenario 0 is the model's own s, z and rows), a block
    m.outcome[s] with its own effect segments and people lifted, read from the shared plan:

        0 <= s_s[w,k,j] <= u_s[w,k,j],   z_s[w] >= 0
        effect_use[w,k]:   sum_j s_s[w,k,j] <= sum_{d,t} x[d,w,k,t] - f[k] y[w,k]
        effect_lag[w,k]:   sum_j s_s[w,k,j] <= sum_{d,t} delta^max(0, t + lag[k] - T) x[d,w,k,t]   (lag[k] > 0)
        fund_effect[w,k,j]: s_s[w,k,j] <= u_s[w,k,j] y[w,k]    (funds: the perspective of the
                           curve; a line of 4 or more segments in the breakpoint form instead,
                           models/fund_effects.py: weights fund_curve_weight[w,k,b] on the
                           vertices of scenario s's curve, fund_curve_share[w,k], and the line's
                           aid and people in effect_use, effect_lag and people read from them)
        people[w]:         z_s[w] = sum_{k,j} e_s[w,k,j] s_s[w,k,j]
                                    + sum_{q in Q[w]} delta^max(0, e[q] + lag[k_q] - T) people[q] v[q]
        poor_population_cap[w]:  z_s[w] <= N_s[w]
        coverage_floor[w]: z_s[w] >= c N_s[w]               (when coverage_min is set: in every scenario)

    the rows of models/effects.py, models/funds.py and models/coverage.py with scenario s's
    figures (e_s, u_s, N_s) and the shared x, y, v (effects after the plan's last year T
    discounted as in models/effects.py, delta = 1 / (1 + [horizon] discount_rate)). Scenario s's people lifted is
    P_s = sum_w z_s[w] (people_lifted) or sum_w weight_s[w] z_s[w] (weighted_people_lifted).
    """
    sets = m.index_sets
    lagged = [key for key in sets.effect_keys if sets.lag[key[1]] > 0]
    lines = fund_lines(m)
    covered = equity_recipients(m) if m.component("coverage_floor") is not None else []
    m.outcome_scenarios = pyo.Set(initialize=range(1, len(outcomes) + 1), ordered=True)

    def block(b, s):
        o = outcomes[s - 1]
        b.s = pyo.Var(m.segments, domain=pyo.NonNegativeReals, bounds=lambda b, w, k, j: (0, o.width[w, k, j]))
        b.z = pyo.Var(m.recipients, domain=pyo.NonNegativeReals)
        curves = add_curve_perspective(
            b, "fund", "breakpoints", lines, segments=lambda line: sets.segments_by_effect[line],
            s=lambda line, seg: b.s[seg], y=lambda line: m.y[line], width=lambda seg: o.width[seg],
            rate=lambda seg: o.people_per_million[seg], weight_key=lambda line, j: (*line, j))
        used = lambda w, k: line_aid(b.s, b.fund_curve_weight, curves, sets, (w, k))  # noqa: E731
        b.effect_use = pyo.Constraint(m.effect_keys, rule=lambda b, w, k: used(w, k) <= effect_capital(m, w, k))
        b.effect_lag = pyo.Constraint(lagged, rule=lambda b, w, k: used(w, k) <= aid_counted(m, w, k))
        by_recipient, curve_lines = segments_by_recipient(sets, curves), lines_by_recipient(curves)
        b.people = pyo.Constraint(m.recipients, rule=lambda b, w: b.z[w] == sum(
            o.people_per_million[seg] * b.s[seg] for seg in by_recipient[w])
            + sum(curve_people(b.fund_curve_weight, curves[line]) for line in curve_lines.get(w, ()))
            + projects_counted(m, w))
        b.poor_population_cap = pyo.Constraint(m.recipients, rule=lambda b, w: (None, b.z[w], o.poor_population[w]))
        b.coverage_floor = pyo.Constraint(
            [w for w in covered if o.poor_population[w] > 0],
            rule=lambda b, w: (m.coverage_min * o.poor_population[w], b.z[w], None))

    m.outcome = pyo.Block(m.outcome_scenarios, rule=block)


def scenario_people(m: pyo.ConcreteModel, objective: str, outcomes: Sequence[Outcome]) -> list:
    """P_s for s = 0..S-1: each scenario's people lifted (weighted under weighted_people_lifted)."""
    if objective == "weighted_people_lifted":
        first = [sum(m.weight[w] * m.z[w] for w in m.recipients)]
        return first + [sum(o.weight[w] * m.outcome[s].z[w] for w in m.recipients)
                        for s, o in enumerate(outcomes, start=1)]
    return [sum(m.z[w] for w in m.recipients)] + [sum(m.outcome[s].z[w] for w in m.recipients)
                                                   for s in range(1, len(outcomes) + 1)]


def add_risk_objective(m: pyo.ConcreteModel, people: Sequence, probabilities: Sequence[float], kind: str,
                       alpha: float = 1.0) -> None:
    """Replace the objective by a risk measure of the scenarios' people lifted P_s (probability p_s):

        expected:  max sum_s p_s P_s
        worst:     max eta   s.t.  risk_worst[s]:  eta <= P_s                  for every s with p_s > 0
        cvar:      max eta - (1 / alpha) sum_s p_s u_s
                   s.t.  risk_shortfall[s]:  u_s >= eta - P_s,   u_s >= 0,   eta free

    The CVaR form is Rockafellar and Uryasev's: at the optimum eta is the alpha-quantile of P
    (its value at risk) and the objective the mean of P over the worst alpha share of the
    probability. At alpha = 1 it is the expectation; once alpha is at most the smallest
    probability it is the worst scenario.
    """
    m.objective.deactivate()
    m.del_component("objective")
    scenarios = range(len(people))
    if kind == "expected":
        m.objective = pyo.Objective(expr=sum(p * P for p, P in zip(probabilities, people)), sense=pyo.maximize)
        return
    m.risk_eta = pyo.Var(domain=pyo.Reals)
    if kind == "worst":
        m.risk_worst = pyo.Constraint([s for s in scenarios if probabilities[s] > 0],
                                      rule=lambda m, s: m.risk_eta - people[s] <= 0)
        m.objective = pyo.Objective(expr=m.risk_eta, sense=pyo.maximize)
        return
    if kind != "cvar" or not 0 < alpha <= 1:
        raise ValueError(f"unknown risk measure {kind!r} (alpha {alpha})")
    m.risk_shortfall_amount = pyo.Var(scenarios, domain=pyo.NonNegativeReals)
    m.risk_shortfall = pyo.Constraint(scenarios, rule=lambda m, s: m.risk_eta - people[s]
                                      - m.risk_shortfall_amount[s] <= 0)
    m.objective = pyo.Objective(
        expr=m.risk_eta - (1.0 / alpha) * sum(p * m.risk_shortfall_amount[s] for s, p in zip(scenarios, probabilities)),
        sense=pyo.maximize)
