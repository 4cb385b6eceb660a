"""EWPPT aid allocation engine: load an instance, build the Pyomo model, solve it with HiGHS.

    from optimizer import load_instance, solve
    instance = load_instance("instances/ewppt-2010")
    result = solve(instance, objective="equity")
    result.allocation, result.kpis, result.duals, result.binding

The names below are imported on first use, so that `import optimizer.interrupt` (the first
thing the command line does, to make Ctrl-C work while pandas and Pyomo load) stays cheap.
"""

import sys
from importlib import import_module
from types import ModuleType

_PUBLIC = {
    "EwpptError": "optimizer.errors",
    "InvalidInstance": "optimizer.errors",
    "InvalidScenario": "optimizer.errors",
    "Problem": "optimizer.errors",
    "Instance": "optimizer.io",
    "load_instance": "optimizer.io",
    "Result": "optimizer.results",
    "Scenario": "optimizer.schema",
    "solve": "optimizer.solve",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'optimizer' has no attribute {name!r}")
    value = getattr(import_module(_PUBLIC[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(ModuleType):
    """`optimizer.solve` is both a module and the function `solve` in it. Importing the module
    sets the package's attribute to the module; this keeps `from optimizer import solve` the
    function (the module stays in sys.modules, as `importlib.import_module("optimizer.solve")`)."""

    @property
    def solve(self):
        from optimizer.solve import solve

        return solve

    @solve.setter
    def solve(self, module) -> None:
        pass


sys.modules[__name__].__class__ = _Package
