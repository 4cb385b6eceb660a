"""A planner's live plan: one instance's model built once, re-solved for every change of its knobs.

The workbench (optimizer/web) holds one `LivePlan` per browser session. A change of a knob
goes through the sweep engine's path: the knob's path resolves in `optimizer/studies/study.py`
to a mutable Param and its indices, `_BuiltModel.apply` moves those Params in the model built
once, and only the coefficients that read them are pushed to HiGHS (`_SelectiveUpdates`).
The solve itself is `optimizer.solving.solve.solve_model` on that model: the MIP driver, the
equity stage, the steady year-profile stage and the independent re-check, exactly as
`ewppt solve PATH --set key=value` runs them (a sweep scenario skips the steady stage unless it
saves its allocation; a plan a planner reads is always the steady one). So the page's plan is
the plan `ewppt solve` gives for the same settings.

A setting that changes the model's structure rebuilds it once (and the answer says so):
`scenario.objective`, `scenario.model`, `scenario.year_profile`, `priorities.scope`, a priority
set or unset (its rows exist only when set, as in `ewppt solve`), and the locks table.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from optimizer.data.errors import InvalidInstance, Problem
from optimizer.data.io import Instance
from optimizer.data.scaling import scale_of
from optimizer.data.schema import LEVELS, PRIORITY_KEYS, TABLES, Scenario
from optimizer.solving import interrupt
from optimizer.solving.results import Result
from optimizer.solving.solve import solve, solve_model
from optimizer.solving.steady import SteadyCopy
from optimizer.studies.study import ParameterSpec, ResolvedParameter, Study, apply_to_instance, base_level, \
    resolve_parameters
from optimizer.studies.sweep import _BuiltModel, _param

# Scenario keys a Param carries (moved in place); every other scenario key is read by the solve
# (solver.*) or changes the structure (see the module's docstring).
MOVED_PRIORITIES = (*PRIORITY_KEYS, "quota_growth_min", "coverage_min")
SOLVER_KEYS = ("solver.time_limit", "solver.mip_rel_gap", "solver.threads", "solver.method")
TABLE_HEADS = ("pairs", "capacity")  # table cells a planner edits in place: base quotas and capacities


@dataclass
class LiveSolve:
    """One solve of a live plan: the Result (as `ewppt solve` makes it), whether the model was
    rebuilt for it (and why), and how long the solve took."""

    result: Result
    scenario: Scenario
    instance: Instance  # the instance with the settings applied (its tables and scenario)
    rebuilt: str = ""  # why the model was built for this solve ("" when only Params moved)
    seconds: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)


class LivePlan:
    """An instance and its model, built once and re-solved for each set of settings.

    `settings` maps a path to a value: any scenario key of `ewppt solve --set` (for example
    `priorities.enterprise_finance_min`), a table cell `pairs.<donor>.<recipient>.base_quota`
    or `capacity.<recipient>.<instrument>.<year>` (million yuan), and `locks` (a DataFrame in
    the locks table's columns) for the locks table as a whole.
    """

    def __init__(self, instance: Instance):
        self.instance = instance
        self.plain = scale_of(instance).plain  # the sweep engine works in the instance's own units
        self._built: _BuiltModel | None = None
        self._steady: SteadyCopy | None = None  # the steady stage's LP, kept with the built model
        self._structure: tuple | None = None
        self._cells: dict[str, ResolvedParameter] = {}  # table paths moved so far
        self._file_values: dict[str, float] = {}  # their values in the files
        self.builds = 0

    # -------------------------------------------------------------------------------- settings

    def prepare(self, settings: dict[str, Any]) -> tuple[Instance, Scenario, dict[str, float]]:
        """The instance and scenario the settings describe, and the table cells they move;
        InvalidInstance (naming the path and value) when a setting is not one the files accept."""
        scenario_keys = {k: v for k, v in settings.items() if k != "locks" and k.split(".")[0] not in TABLE_HEADS}
        cells = {k: v for k, v in settings.items() if k.split(".")[0] in TABLE_HEADS}
        scenario = self.instance.scenario.override(**scenario_keys) if scenario_keys else self.instance.scenario
        base = self.instance
        if "locks" in settings:
            tables = {name: base.table(name) for name in TABLES}
            tables["locks"] = settings["locks"]
            base = Instance(path=base.path, scenario=base.scenario, warnings=base.warnings, **tables)
        instance = base.with_scenario(scenario)
        resolved = [self._cell(path) for path in cells]
        point = {}
        problems = []
        for path, value in cells.items():
            try:
                number = float(value)
            except (TypeError, ValueError):
                number = float("nan")
            if not 0.0 <= number < float("inf"):
                problems.append(Problem("settings", "expected a number of million yuan, 0 or more", key=path,
                                        value=value))
            point[path] = number
        if problems:
            raise InvalidInstance(problems)
        if resolved:
            instance = apply_to_instance(instance, resolved, point)
        return instance, scenario, point

    def _cell(self, path: str) -> ResolvedParameter:
        if path not in self._cells:
            spec = ParameterSpec(path=path, values=(0.0,), mode="value")
            try:
                [parameter] = resolve_parameters(Study(parameter=(spec,)), self.instance, where="settings")
            except InvalidInstance as exc:  # named by the setting, not by a study's parameter number
                raise InvalidInstance([Problem("settings", p.message, key=path) for p in exc.problems]) from None
            if parameter.param not in ("base_quota", "max_aid"):
                raise InvalidInstance([Problem("settings", "not a table cell the workbench edits", value=path)])
            self._cells[path] = parameter
            self._file_values[path] = float(base_level(parameter, self.instance))
        return self._cells[path]

    # ---------------------------------------------------------------------------------- solving

    def solve(self, settings: dict[str, Any], stop: interrupt.StopRequest | None = None) -> LiveSolve:
        """Solve the plan for `settings` (a full description: a key left out has the instance's
        own value). Raises InvalidInstance for a setting the files would refuse. `stop.request()`
        from another thread stops the solve: a MIP in branch and bound keeps its best plan
        (status "stopped", with its gap); before any plan `interrupt.Stopped` is raised."""
        started = time.perf_counter()
        instance, scenario, point = self.prepare(settings)
        if not self.plain:  # scaled units: the persistent model cannot take the planner's numbers
            result = solve(instance, scenario, stop=stop)
            return LiveSolve(result, scenario, instance, "the instance is solved in scaled units: each change "
                             "rebuilds its model", time.perf_counter() - started, dict(settings))
        structure = _structure(scenario, instance)
        rebuilt = ""
        if self._built is None or structure != self._structure:
            rebuilt = self._why(structure)
            self._build(instance, scenario)
            self._structure = structure
        built = self._built
        for path in point:
            self._extend(built, self._cells[path])
        built.scenario = scenario
        built.apply({p.path: self._value(p, scenario, point) if p.indices else 0.0 for p in built.parameters})
        if built.selective is not None:
            built.selective.update(built.changed)
        built.changed, built.budgets_moved = set(), False
        result = solve_model(built.model, instance, scenario, opt=built.opt, stop=stop, steady=self._steady)
        built.solved = True  # (its bulk updates were attached when it was built)
        seconds = time.perf_counter() - started
        result.timings = {**result.timings, "total": seconds}
        return LiveSolve(result, scenario, instance, rebuilt, seconds, dict(settings))

    def _why(self, structure: tuple) -> str:
        if self._structure is None:
            return "the model was built for this instance"
        names = ("objective", "model", "year profile", "priority scope", "priorities set", "locks")
        changed = [n for n, a, b in zip(names, structure, self._structure) if a != b]
        return f"the model was rebuilt: its structure changed ({', '.join(changed)})"

    def _build(self, instance: Instance, scenario: Scenario) -> None:
        parameters = [_scenario_parameter(f"proportion.{level}", "proportion", level) for level in LEVELS]
        for key in MOVED_PRIORITIES:
            if getattr(scenario.priorities, key) is not None:
                share = key not in ("quota_growth_min", "coverage_min")
                parameters.append(_scenario_parameter(f"priorities.{key}", "share_bound" if share else key,
                                                      key if share else None))
        # the table cells a planner may edit later: their Params mutable from the start
        parameters += [ResolvedParameter(f"{name} cells", "value", name, (), _spec(name)) for name in CELL_PARAMS]
        parameters += list(self._cells.values())
        self._built = _BuiltModel(instance, scenario, parameters)
        self._steady = SteadyCopy()
        self.builds += 1

    def _value(self, parameter: ResolvedParameter, scenario: Scenario, point: dict[str, float]) -> float:
        if parameter.table is not None:
            return point.get(parameter.path, self._file_values[parameter.path])
        section, key = parameter.path.split(".")
        return float(getattr(getattr(scenario, section), key))

    @staticmethod
    def _extend(built: _BuiltModel, parameter: ResolvedParameter) -> None:
        """Let a model built earlier move a table cell first edited now (its Param is mutable:
        built with every workbench Param mutable)."""
        if parameter in built.parameters:
            return
        built.parameters.append(parameter)
        for index in parameter.indices:
            key = (parameter.param, index)
            value = _param(built.model, *key).value
            built.base.setdefault(key, value)
            built.current.setdefault(key, value)


CELL_PARAMS = ("base_quota", "max_aid")


def _spec(path: str) -> ParameterSpec:
    return ParameterSpec(path=path, values=(0.0,), mode="value")


def _scenario_parameter(path: str, param: str, index: Any) -> ResolvedParameter:
    return ResolvedParameter(path, "value", param, (index,), _spec(path))


def _structure(scenario: Scenario, instance: Instance) -> tuple:
    priorities = tuple(k for k in MOVED_PRIORITIES if getattr(scenario.priorities, k) is not None)
    return (scenario.objective, scenario.scenario.model, scenario.scenario.year_profile, scenario.priorities.scope,
            priorities, instance.locks.to_csv(index=False))


def settings_for_changes(changes, settings: dict[str, Any], instance: Instance) -> dict[str, Any]:
    """The settings with explain's least change applied (`changes`: an Explanation's table, one
    row per value to change: file, section, donor, recipient, instrument, year, column, value).
    Raises InvalidInstance naming a change the workbench cannot make as a setting."""
    settings = dict(settings)
    problems = []
    for row in changes.to_dict("records"):
        file, column, value = row.get("file"), row.get("column"), row.get("value")
        if file == "scenario.toml":
            settings[f"{row.get('section')}.{column}"] = float(value)
        elif file == "pairs.csv" and column == "base_quota":
            settings[f"pairs.{row['donor']}.{row['recipient']}.base_quota"] = float(value)
        elif file == "capacity.csv" and column == "max_aid":
            settings[f"capacity.{row['recipient']}.{row['instrument']}.{int(row['year'])}"] = float(value)
        elif file == "locks.csv" and column in ("aid", "min_aid", "max_aid"):
            locks = settings.get("locks", instance.locks).copy()
            mask = ((locks["donor"] == row["donor"]) & (locks["recipient"] == row["recipient"])
                    & (locks["instrument"] == row["instrument"]) & (locks["year"].astype(int) == int(row["year"])))
            if column == "aid":  # an exact lock relaxed one way becomes a bound that way
                side = "min_aid" if float(value) < float(row["current"]) else "max_aid"
                locks.loc[mask, "aid"] = None
                locks.loc[mask, side] = float(value)
            else:
                locks.loc[mask, column] = float(value)
            settings["locks"] = locks
        else:
            problems.append(Problem(str(file), "a change the workbench cannot apply; edit the files instead",
                                    key=str(column), value=value))
    if problems:
        raise InvalidInstance(problems)
    return settings
