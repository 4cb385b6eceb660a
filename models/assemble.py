"""Assemble the allocation model: sets, parameters, variables, constraint families, objective."""

from __future__ import annotations

import pyomo.environ as pyo

from models.budget import add_budget
from models.cadres import add_cadres
from models.capacity import add_capacity
from models.coverage import add_coverage
from models.effects import add_effects
from models.funds import add_funds
from models.investment import add_investment_coupling
from models.locks import add_locks
from models.objectives import add_objective
from models.parameters import add_parameters
from models.priorities import add_priorities
from models.projects import add_projects
from models.sets import derive_sets, wants_integers
from models.stability import add_stability
from models.steadiness import add_year_profile
from models.variables import add_sets, add_variables
from optimizer.data.io import Instance
from optimizer.data.schema import Scenario

# Constraint families in build order; each name is also the Pyomo component it creates
# (stability and priorities create `quota`/`quota_growth` and `priority_share`, coverage
# `coverage_floor`; funds adds a fund's effect through models/fund_effects.py). The MIP
# families come first: they declare the whole decisions (c, y, v) that the others read.
FAMILIES = (
    add_cadres,
    add_funds,
    add_projects,
    add_budget,
    add_stability,
    add_priorities,
    add_capacity,
    add_effects,
    add_coverage,
    add_investment_coupling,
    add_locks,
)


# Every Param a study may move (see models/parameters.py).
SWEEPABLE = frozenset({"proportion", "revenue", "base_quota", "quota_growth_min", "share_bound", "leverage", "width",
                       "people_per_million", "poor_population", "weight", "investment_demand", "infra_unlock",
                       "max_aid", "coverage_min", "discount_rate"})


def build_model(instance: Instance, scenario: Scenario | None = None,
                mutable: frozenset[str] | set[str] = frozenset(), segment_rows: bool = False) -> pyo.ConcreteModel:
    """The model for an instance under a scenario (the instance's own by default): a MIP when
    `model_kind` says so (funds, projects and cadres are whole decisions), else an LP.

    `mutable` names the Params to keep mutable for persistent re-solves (any of SWEEPABLE);
    the others become plain numbers, which builds and re-solves faster. `segment_rows` builds
    every fund's effect in the segment form (models/fund_effects.py), a column a segment whose
    people per million sits in the people row alone, as ranging moves it; the same optimum.
    """
    unknown = set(mutable) - SWEEPABLE
    if unknown:
        raise ValueError(f"not sweepable Params: {sorted(unknown)}")
    scenario = scenario or instance.scenario
    if scenario is not instance.scenario:
        instance = instance.with_scenario(scenario)
    sets = derive_sets(instance)
    m = pyo.ConcreteModel(name=f"ewppt:{scenario.name}")
    m.index_sets = sets
    m.integer = model_kind(scenario, sets) == "mip"
    m.segment_rows = segment_rows
    add_sets(m, sets)
    add_parameters(m, instance, scenario, sets, frozenset(mutable))
    add_variables(m, sets)
    for add_family in FAMILIES:
        add_family(m, instance, scenario)
    add_objective(m, instance, scenario)
    add_year_profile(m, instance, scenario)  # after the objective: its steady stage keeps it
    return m


def model_kind(scenario: Scenario, sets) -> str:
    """`[scenario] model`, or by default mip whenever the data asks for a whole decision."""
    return scenario.scenario.model or ("mip" if wants_integers(sets) else "lp")
