"""EWPPT aid allocation engine: load an instance, build the Pyomo model, solve it with HiGHS.

    from optimizer import load_instance, solve
    instance = load_instance("instances/ewppt-2010")
    result = solve(instance, objective="equity")
    result.allocation, result.kpis, result.duals, result.binding
"""

from optimizer.errors import EwpptError, InvalidInstance, InvalidScenario, Problem
from optimizer.io import Instance, load_instance
from optimizer.results import Result
from optimizer.schema import Scenario
from optimizer.solve import solve

__all__ = ["EwpptError", "Instance", "InvalidInstance", "InvalidScenario", "Problem", "Result", "Scenario", "load_instance", "solve"]
