"""Sensitivity studies: which values move (parameter paths) and how they are sampled (designs).

A study is a `study.toml` (or the same as Python objects):

    [study]
    name = "proportion-and-leverage"
    design = "grid"            # grid | oat | lhs | sobol
    samples = 64               # lhs: points; sobol: base sample N (N * (parameters + 2) points)
    seed = 1
    save_allocation = false    # also store each scenario's full allocation

    [[parameter]]
    path = "proportion.provincial"
    values = [0.001, 0.002]    # grid and one-at-a-time levels
    # bounds = [0.001, 0.002]  # lhs, sobol (and one-at-a-time low/high)
    # mode = "value"           # or "factor" (multiplies the instance's own values)
    # base = 0.0012            # one-at-a-time base (default: the scenario's value, or 1 for a factor)

Parameter paths address a scenario value or an instance column; `*` matches every key:

    proportion.<level>                                   value
    priorities.<share, quota_growth_min or coverage_min> value
    horizon.discount_rate                                value (or factor of the scenario's)
    instruments.<instrument|*>.leverage                  factor or value
    effects.<recipient|*>.<instrument|*>.<people_per_million|width>   factor
    revenue.<donor|*>.<level|*>.<year|*>                 factor or value
    recipients.<recipient|*>.<poor_population|weight|investment_demand|infra_unlock>
    pairs.<donor|*>.<recipient|*>.base_quota             factor or value
    capacity.<recipient|*>.<instrument|*>.<year|*>       factor or value (max_aid)
    scenario.objective, priorities.scope                 structural: the model is rebuilt

Each resolves, before any solve, to the mutable Pyomo Param and indices it moves, so a worker
builds its model once and only changes those Params between scenarios.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from optimizer.data.errors import InvalidInstance, Problem
from optimizer.data.io import Instance
from optimizer.data.schema import LEVELS, OBJECTIVES, PRIORITY_KEYS, TABLES

STRUCTURAL = {"scenario.objective": tuple(OBJECTIVES), "priorities.scope": ("donor", "national")}
# Neutral values of priorities a scenario leaves unset: the row exists but never binds.
NEUTRAL_PRIORITY = {**{k: 0.0 for k in PRIORITY_KEYS}, "public_goods_max": 1.0, "quota_growth_min": -1.0,
                    "coverage_min": 0.0}
RECIPIENT_COLUMNS = ("poor_population", "weight", "investment_demand", "infra_unlock")


class StudySection(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: str = "study"
    design: Literal["grid", "oat", "lhs", "sobol"] = "grid"
    samples: int = Field(16, ge=1, le=1_000_000)
    seed: int = 0
    save_allocation: bool = False


class ParameterSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    path: str = Field(min_length=1)
    mode: Literal["value", "factor"] | None = None
    values: tuple[float | str, ...] | None = None
    bounds: tuple[float, float] | None = None
    base: float | str | None = None

    @model_validator(mode="after")
    def _levels(self) -> "ParameterSpec":
        if self.values is None and self.bounds is None:
            raise ValueError(f"parameter '{self.path}' needs `values` (grid, oat) or `bounds` (lhs, sobol, oat)")
        if self.bounds is not None and self.bounds[0] > self.bounds[1]:
            raise ValueError(f"parameter '{self.path}': bounds {list(self.bounds)} must be [low, high]")
        return self


class Study(BaseModel):
    """A study: its design and its parameters, validated (frozen, unknown keys rejected)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    study: StudySection = StudySection()
    parameter: tuple[ParameterSpec, ...] = Field(min_length=1)

    @property
    def name(self) -> str:
        return self.study.name

    def digest(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()


def read_toml(path: Path, kind: str) -> dict:
    """The table of a TOML file a study or an uncertainty description is read from; a missing
    file, a folder or bad TOML is a Problem naming the file (`kind`: "study", "uncertainty")."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInstance([Problem(str(path), f"no such {kind} file")]) from None
    except IsADirectoryError:
        raise InvalidInstance([Problem(str(path), f"is a folder; expected the {kind} TOML file")]) from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInstance([Problem(str(path), f"not valid UTF-8 TOML: {exc}")]) from None


def read_validated(path: str | Path, kind: str, model: type[BaseModel], problem) -> BaseModel:
    """The TOML file at `path` read (read_toml) and validated as `model`; every validation error
    becomes `problem(file name, error)`, all of them in one InvalidInstance."""
    path = Path(path)
    try:
        return model.model_validate(read_toml(path, kind))
    except ValidationError as exc:
        raise InvalidInstance([problem(str(path), err) for err in exc.errors()]) from None


def load_study(path: str | Path) -> Study:
    """Read and validate a study.toml; problems name the key and the nearest valid one."""
    return read_validated(path, "study", Study, _study_problem)


def _study_problem(where: str, err: dict) -> Problem:
    loc = [str(p) for p in err["loc"]]
    key = ".".join(loc)
    if err["type"] == "extra_forbidden":
        valid = list(StudySection.model_fields) + list(ParameterSpec.model_fields) + ["study", "parameter"]
        near = difflib.get_close_matches(loc[-1], valid, n=1)
        return Problem(where, "unknown key" + (f"; did you mean '{near[0]}'?" if near else ""), key=key)
    return Problem(where, err["msg"].removeprefix("Value error, "), key=key)


# ------------------------------------------------------------------------ parameter paths


@dataclass(frozen=True)
class ResolvedParameter:
    """A parameter path bound to an instance: the Param it moves and at which indices."""

    path: str
    mode: str  # value | factor | structural
    param: str | None  # Pyomo Param component name (None for structural)
    indices: tuple[Any, ...]  # Param indices it moves
    spec: ParameterSpec
    table: str | None = None  # instance table it edits (None: the scenario)
    column: str | None = None
    rows: tuple[int, ...] = ()  # row labels of that table

    @property
    def structural(self) -> bool:
        return self.mode == "structural"


def resolve_parameters(study: Study, instance: Instance, where: str = "study.toml") -> list[ResolvedParameter]:
    """Resolve every path against the instance, or raise InvalidInstance naming the bad one."""
    problems, resolved = [], []
    for number, spec in enumerate(study.parameter, start=1):
        try:
            resolved.append(_resolve(spec, instance))
        except ValueError as exc:
            problems.append(Problem(where, str(exc), key=f"parameter[{number}].path", value=spec.path))
    paths = [p.path for p in resolved]
    for path in {p for p in paths if paths.count(p) > 1}:
        problems.append(Problem(where, "the same path appears twice", key="parameter.path", value=path))
    if problems:
        raise InvalidInstance(problems)
    return resolved


def _match(values: pd.Series, selector: str, what: str) -> pd.Series:
    if selector == "*":
        return pd.Series(True, index=values.index)
    as_text = values.astype(str)
    mask = as_text == selector
    if not mask.any():
        known = sorted(set(as_text))
        near = difflib.get_close_matches(selector, known, n=1)
        hint = f"; did you mean '{near[0]}'?" if near else f"; expected one of {', '.join(known[:12])}"
        raise ValueError(f"unknown {what} '{selector}'{hint}")
    return mask


def _resolve(spec: ParameterSpec, instance: Instance) -> ResolvedParameter:
    parts = spec.path.split(".")
    head = parts[0]
    scenario = instance.scenario

    def table_param(table: str, selectors: list[tuple[str, str]], column: str, param: str, index_columns: list[str],
                    default_mode: str) -> ResolvedParameter:
        frame = instance.table(table)
        if table == "revenue" or table == "capacity":
            frame = frame[frame["year"].isin(scenario.years)]
        mask = pd.Series(True, index=frame.index)
        for value_column, selector in selectors:
            mask &= _match(frame[value_column], selector, value_column)
        chosen = frame[mask]
        if chosen.empty:
            raise ValueError(f"'{spec.path}' matches no row of {table}.csv")
        indices = tuple(
            tuple(int(v) if c in ("year", "segment") else v for c, v in zip(index_columns, row))
            if len(index_columns) > 1 else row[0]
            for row in chosen[index_columns].itertuples(index=False, name=None)
        )
        mode = spec.mode or default_mode
        if table == "effects" and mode != "factor":
            raise ValueError(f"'{spec.path}': effects move by factor only (keeps people_per_million non-increasing)")
        return ResolvedParameter(spec.path, mode, param, indices, spec, table, column, tuple(chosen.index))

    if spec.path in STRUCTURAL:
        allowed = STRUCTURAL[spec.path]
        levels = list(spec.values or ())
        bad = [v for v in levels if v not in allowed]
        if spec.bounds is not None or bad or not levels:
            raise ValueError(f"'{spec.path}' changes the model's structure; give `values` from {', '.join(allowed)}")
        return ResolvedParameter(spec.path, "structural", None, (), spec)
    if head == "proportion" and len(parts) == 2:
        if parts[1] not in LEVELS:
            raise ValueError(f"unknown level '{parts[1]}'; expected one of {', '.join(LEVELS)}")
        return ResolvedParameter(spec.path, spec.mode or "value", "proportion", (parts[1],), spec)
    if head == "priorities" and len(parts) == 2:
        key = parts[1]
        if key in ("quota_growth_min", "coverage_min"):
            if (spec.mode or "value") == "factor" and getattr(scenario.priorities, key) is None:
                raise ValueError(f"priorities.{key} is not set in the scenario; a factor needs a base value")
            return ResolvedParameter(spec.path, spec.mode or "value", key, (None,), spec)
        if key not in PRIORITY_KEYS:
            near = difflib.get_close_matches(key, [*PRIORITY_KEYS, "quota_growth_min", "coverage_min", "scope"], n=1)
            raise ValueError(f"unknown priority '{key}'" + (f"; did you mean '{near[0]}'?" if near else ""))
        if (spec.mode or "value") == "factor" and getattr(scenario.priorities, key) is None:
            raise ValueError(f"priorities.{key} is not set in the scenario; a factor needs a base value")
        return ResolvedParameter(spec.path, spec.mode or "value", "share_bound", (key,), spec)
    if spec.path == "horizon.discount_rate":
        return ResolvedParameter(spec.path, spec.mode or "value", "discount_rate", (None,), spec)
    if head == "instruments" and len(parts) == 3 and parts[2] == "leverage":
        return table_param("instruments", [("instrument", parts[1])], "leverage", "leverage", ["instrument"], "factor")
    if head == "effects" and len(parts) == 4 and parts[3] in ("people_per_million", "width"):
        return table_param("effects", [("recipient", parts[1]), ("instrument", parts[2])], parts[3], parts[3],
                           ["recipient", "instrument", "segment"], "factor")
    if head == "revenue" and len(parts) == 4:
        return table_param("revenue", [("donor", parts[1]), ("level", parts[2]), ("year", parts[3])], "revenue",
                           "revenue", ["donor", "level", "year"], "factor")
    if head == "recipients" and len(parts) == 3 and parts[2] in RECIPIENT_COLUMNS:
        return table_param("recipients", [("recipient", parts[1])], parts[2], parts[2], ["recipient"], "factor")
    if head == "pairs" and len(parts) == 4 and parts[3] == "base_quota":
        return table_param("pairs", [("donor", parts[1]), ("recipient", parts[2])], "base_quota", "base_quota",
                           ["donor", "recipient"], "factor")
    if head == "capacity" and len(parts) == 4:
        return table_param("capacity", [("recipient", parts[1]), ("instrument", parts[2]), ("year", parts[3])],
                           "max_aid", "max_aid", ["recipient", "instrument", "year"], "factor")
    raise ValueError(
        f"unknown parameter path '{spec.path}'; expected proportion.<level>, priorities.<key>, "
        "instruments.<id|*>.leverage, effects.<recipient|*>.<instrument|*>.<people_per_million|width>, "
        "revenue.<donor|*>.<level|*>.<year|*>, recipients.<id|*>.<column>, pairs.<donor|*>.<recipient|*>.base_quota, "
        "capacity.<recipient|*>.<instrument|*>.<year|*>, horizon.discount_rate, scenario.objective or priorities.scope"
    )


def base_level(parameter: ResolvedParameter, instance: Instance) -> float | str:
    """The value a parameter has in the instance as given (1 for a factor)."""
    if parameter.spec.base is not None:
        return parameter.spec.base
    if parameter.mode == "factor":
        return 1.0
    scenario = instance.scenario
    if parameter.path == "scenario.objective":
        return scenario.objective
    if parameter.path == "priorities.scope":
        return scenario.priorities.scope
    if parameter.param == "proportion":
        return getattr(scenario.proportion, parameter.indices[0])
    if parameter.param == "discount_rate":
        return scenario.horizon.discount_rate
    if parameter.param in ("share_bound", "quota_growth_min", "coverage_min"):
        key = parameter.path.split(".")[1]
        value = getattr(scenario.priorities, key)
        return NEUTRAL_PRIORITY[key] if value is None else value
    values = instance.table(parameter.table).loc[list(parameter.rows), parameter.column].unique()
    if len(values) != 1:
        raise ValueError(f"'{parameter.path}' matches rows with different values; give `base` for a one-at-a-time design")
    return float(values[0])


# ----------------------------------------------------------------------------- designs


def design_points(study: Study, parameters: list[ResolvedParameter], instance: Instance) -> pd.DataFrame:
    """The scenarios of a study: one row per scenario (scenario_id, then one column per path)."""
    paths = [p.path for p in parameters]
    design = study.study.design
    if design == "grid":
        rows = snake_product([_levels(p) for p in parameters])
    elif design == "oat":
        base = [base_level(p, instance) for p in parameters]
        rows = [tuple(base)]
        for i, parameter in enumerate(parameters):
            for level in _levels(parameter):
                if level != base[i]:
                    rows.append(tuple(level if j == i else b for j, b in enumerate(base)))
    else:
        numeric = [p for p in parameters if not p.structural]
        if len(numeric) != len(parameters) or any(p.spec.bounds is None for p in parameters):
            raise InvalidInstance([Problem("study.toml", f"a {design} design needs `bounds` on every parameter "
                                                         "(and no structural ones)")])
        problem = salib_problem(parameters)
        if design == "lhs":
            from SALib.sample import latin

            matrix = latin.sample(problem, study.study.samples, seed=study.study.seed)
        else:
            from SALib.sample import sobol

            matrix = sobol.sample(problem, study.study.samples, calc_second_order=False, seed=study.study.seed)
        rows = [tuple(float(v) for v in row) for row in np.asarray(matrix)]
    frame = pd.DataFrame(rows, columns=paths)
    frame.insert(0, "scenario_id", range(len(frame)))
    _check_domain(frame, parameters)
    return frame


def snake_product(levels: list[list]) -> list[tuple]:
    """The full grid, ordered so that consecutive points differ in one parameter by one step
    (each dimension runs back and forth), which keeps HiGHS's warm starts short."""
    rows: list[tuple] = [()]
    for values in levels:
        rows = [prefix + (v,) for i, prefix in enumerate(rows) for v in (values if i % 2 == 0 else values[::-1])]
    return rows


def _levels(parameter: ResolvedParameter) -> list:
    if parameter.spec.values is not None:
        return list(parameter.spec.values)
    return list(parameter.spec.bounds)


def salib_problem(parameters: list[ResolvedParameter]) -> dict:
    return {"num_vars": len(parameters), "names": [p.path for p in parameters],
            "bounds": [list(p.spec.bounds) for p in parameters]}


def _check_domain(frame: pd.DataFrame, parameters: list[ResolvedParameter]) -> None:
    """Every sampled value must be one the scenario or the instance accepts."""
    problems = []
    for parameter in parameters:
        if parameter.structural:
            continue
        values = pd.to_numeric(frame[parameter.path], errors="coerce")
        if values.isna().any():
            problems.append(Problem("study.toml", "expected numbers", key=parameter.path))
            continue
        low, high = 0.0, np.inf
        if parameter.mode == "value" and parameter.param in ("proportion", "share_bound", "coverage_min"):
            high = 1.0
        if parameter.param in ("quota_growth_min", "discount_rate") and parameter.mode == "value":
            low, high = (-1.0, 10.0) if parameter.param == "quota_growth_min" else (0.0, 10.0)
        bad = values[(values < low) | (values > high)]
        if len(bad):
            problems.append(Problem("study.toml", f"values must lie in [{low:g}, {high:g}]", key=parameter.path,
                                    value=float(bad.iloc[0])))
    if problems:
        raise InvalidInstance(problems)


# --------------------------------------------------------------- applying to an instance


def apply_to_instance(instance: Instance, parameters: list[ResolvedParameter], point: dict[str, Any]) -> Instance:
    """The instance (tables and scenario) a design point describes; what a full rebuild solves.

    The persistent runner reaches the same model by changing Params instead.
    """
    tables = {name: instance.table(name).copy() for name in TABLES}
    overrides: dict[str, Any] = {}
    for parameter in parameters:
        value = point[parameter.path]
        if parameter.structural:
            overrides[parameter.path] = value
        elif parameter.table is None:
            current = base_level(parameter, instance) if parameter.mode == "factor" else None
            overrides[parameter.path] = float(value) if current is None else float(current) * float(value)
        else:
            frame = tables[parameter.table]
            rows = list(parameter.rows)
            if parameter.mode == "factor":
                frame.loc[rows, parameter.column] = frame.loc[rows, parameter.column].astype(float) * float(value)
            else:
                frame.loc[rows, parameter.column] = float(value)
    scenario = instance.scenario.override(**overrides) if overrides else instance.scenario
    from optimizer.data.checks import run_checks

    errors, warnings = run_checks(tables, scenario)
    if errors:
        raise InvalidInstance(errors)
    return Instance(path=instance.path, scenario=scenario, warnings=tuple(warnings), **tables)


def study_record(study: Study, instance: Instance) -> dict:
    return {"study": json.loads(study.model_dump_json()), "study_sha256": study.digest(),
            "instance_sha256": instance.digest, "instance_path": str(instance.path),
            "objective": instance.scenario.objective}  # the report names the objective in words
