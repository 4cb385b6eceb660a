"""EWPPT aid allocation engine: load an instance, build the Pyomo model, solve it with HiGHS.

    from optimizer import load_instance, solve
    instance = load_instance("instances/ewppt-2010")
    result = solve(instance, objective="equity")
    result.allocation, result.kpis, result.duals, result.binding

The package is in wings by purpose (docs/architecture.md): `data` (the instance format,
reading, checks, result folders), `solving` (one solve), `analysis` (a planner's questions
after a solve), `studies` (sensitivity studies), `reports` (the HTML report), and `cli` on top.
The public names below are imported on first use, so that `import optimizer.solving.interrupt`
(the first thing the command line does, to make Ctrl-C work while pandas and Pyomo load) stays
cheap.
"""

from importlib import import_module

_PUBLIC = {
    # data
    "EwpptError": "optimizer.data.errors",
    "InvalidInstance": "optimizer.data.errors",
    "InvalidScenario": "optimizer.data.errors",
    "Problem": "optimizer.data.errors",
    "Instance": "optimizer.data.io",
    "load_instance": "optimizer.data.io",
    "Scenario": "optimizer.data.schema",
    "generate_instance": "optimizer.data.generate",
    # solving
    "solve": "optimizer.solving.solve",
    "Result": "optimizer.solving.results",
    "read_results": "optimizer.solving.results",
    "StopRequest": "optimizer.solving.interrupt",
    "Stopped": "optimizer.solving.interrupt",
    # analysis
    "explain": "optimizer.analysis.explain",
    "frontier": "optimizer.analysis.frontier",
    "target": "optimizer.analysis.target",
    "alternatives": "optimizer.analysis.alternatives",
    "compare_results": "optimizer.analysis.compare",
    "influence": "optimizer.analysis.influence",
    # studies
    "load_study": "optimizer.studies.study",
    "sweep": "optimizer.studies.sweep",
    "read_sweep": "optimizer.studies.sweep",
    "write_sweep_report": "optimizer.studies.sweep_report",
    "robust": "optimizer.studies.robust",
    "load_uncertainty": "optimizer.studies.uncertainty",
    "hedge": "optimizer.studies.hedging",
    # reports
    "write_report": "optimizer.reports.report",
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
