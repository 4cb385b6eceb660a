"""Objectives, one function each; the scenario's `objective` picks one.

All maximise. Each function adds `m.objective` (and any helper variables and rows it needs).
"""

from __future__ import annotations

import pyomo.environ as pyo

from models.effects import add_yearly_effects
from optimizer.data.io import Instance
from optimizer.data.schema import Scenario


def add_people_lifted(m: pyo.ConcreteModel, instance: Instance, scenario: Scenario) -> None:
    """max sum_w z[w]"""
    m.objective = pyo.Objective(expr=sum(m.z[w] for w in m.recipients), sense=pyo.maximize)


def add_weighted_people_lifted(m: pyo.ConcreteModel, instance: Instance, scenario: Scenario) -> None:
    """max sum_w weight[w] * z[w]"""
    m.objective = pyo.Objective(expr=sum(m.weight[w] * m.z[w] for w in m.recipients), sense=pyo.maximize)


def equity_recipients(m: pyo.ConcreteModel) -> list[str]:
    """Recipients the equity objective looks at: paired, with effect rows and poor people."""
    with_effect = {w for w, _ in m.index_sets.effect_keys}
    return [w for w in m.index_sets.paired_recipients if w in with_effect and pyo.value(m.poor_population[w]) > 0]


def add_equity(m: pyo.ConcreteModel, instance: Instance, scenario: Scenario) -> None:
    """max theta  s.t.  equity_ratio[w]:  theta * N[w] <= z[w]   for every paired recipient w
    with effect rows and N[w] > 0 (theta is the least coverage z[w] / N[w]).

    The solve then keeps theta at its optimum and maximises people lifted among those plans
    (lexicographic), so the equity plan does not waste aid that could lift more people.
    """
    m.theta = pyo.Var(domain=pyo.NonNegativeReals, bounds=(0, 1))
    m.equity_ratio = pyo.Constraint(equity_recipients(m), rule=lambda m, w: m.theta * m.poor_population[w] <= m.z[w])
    m.objective = pyo.Objective(expr=m.theta, sense=pyo.maximize)
    m.secondary_objective = pyo.Objective(expr=sum(m.z[w] for w in m.recipients), sense=pyo.maximize)
    m.secondary_objective.deactivate()


def add_leveraged_investment(m: pyo.ConcreteModel, instance: Instance, scenario: Scenario) -> None:
    """max sum_{d,w,k,t} L[k] * x[d,w,k,t] - sum_{(w,k) funds} L[k] f[k] y[w,k]

    (loans and investment mobilised by all aid; a fund's set-up cost mobilises nothing)"""
    m.objective = pyo.Objective(
        expr=sum(m.leverage[f[2]] * m.x[f] for f in m.flows)
        - sum(m.leverage[k] * m.setup_cost[k] * m.y[w, k] for w, k in m.index_sets.fund_keys),
        sense=pyo.maximize)


def add_people_years(m: pyo.ConcreteModel, instance: Instance, scenario: Scenario) -> None:
    """max sum_{t,w} z_year[w,t]

    z_year[w,t] is the people lifted in w in plan year t by the aid that has taken effect by t
    (paid in tau with tau + lag[k] <= t; models/effects.add_yearly_effects), so help that takes
    effect earlier counts in more years. The end-of-plan z[w] (people_lifted) is z_year[w,T]."""
    add_yearly_effects(m)
    m.objective = pyo.Objective(expr=sum(m.z_year[w, t] for w in m.recipients for t in m.years), sense=pyo.maximize)


OBJECTIVES = {
    "people_lifted": add_people_lifted,
    "weighted_people_lifted": add_weighted_people_lifted,
    "equity": add_equity,
    "leveraged_investment": add_leveraged_investment,
    "people_years": add_people_years,
}


def add_objective(m: pyo.ConcreteModel, instance: Instance, scenario: Scenario) -> None:
    OBJECTIVES[scenario.objective](m, instance, scenario)
