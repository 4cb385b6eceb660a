"""Coverage floor: every recipient lifts at least a given fraction of its poor population."""

from __future__ import annotations

import pyomo.environ as pyo

from models.objectives import equity_recipients
from optimizer.data.io import Instance
from optimizer.data.schema import Scenario


def add_coverage(m: pyo.ConcreteModel, instance: Instance, scenario: Scenario) -> None:
    """When `[priorities] coverage_min` (c) is set, for every recipient w the equity objective
    looks at (paired, with effect rows and N[w] > 0):

        coverage_floor[w]:   z[w] >= c * N[w]

    The planner's equity guarantee ("no county below c of its poor lifted"), and the
    epsilon-constraint of the efficiency-equity frontier (optimizer/analysis/frontier.py), which moves
    c as a mutable Param of one built model. Off (no rows) when coverage_min is unset.
    """
    if scenario.priorities.coverage_min is None:
        return
    m.coverage_floor = pyo.Constraint(
        equity_recipients(m), rule=lambda m, w: (m.coverage_min * m.poor_population[w], m.z[w], None))
