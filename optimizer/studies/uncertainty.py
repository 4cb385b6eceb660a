"""Uncertainty descriptions: which estimates are uncertain and the scenarios they may take.

An UNCERTAINTY.toml speaks the studies' language (optimizer/studies/study.py: the same
parameter paths, modes and SALib samplers):

    [uncertainty]
    name = "cdf-effects"
    design = "scenarios"          # scenarios | lhs | sobol
    probabilities = [0.5, 0.3, 0.2]   # scenarios: one per scenario (default: equally likely)
    # samples = 32                # lhs, sobol: N equally likely scenarios
    # seed = 1

    [[parameter]]
    path = "effects.*.cdf.people_per_million"
    values = [1.0, 0.8, 0.6]      # scenarios: the parameter's value in each scenario
    # bounds = [0.7, 1.3]         # lhs, sobol: the range sampled
    # mode = "factor"             # as in studies (effects move by factor only)

Explicit scenarios: every parameter's `values` has one entry per scenario (scenario i takes
the i-th value of each parameter), with the probabilities given (non-negative, summing to 1).
Sampled scenarios: `lhs` draws N points by SALib's Latin hypercube, `sobol` takes the first N
points of SALib's scrambled Sobol' sequence (the A matrix of its Saltelli sample); both seeded,
each point one scenario of probability 1/N.

What may be uncertain. A robust plan is one allocation kept in every scenario, so only the
figures that say what the plan achieves may differ between scenarios:

    effects.<r|*>.<k|*>.people_per_million, effects.<r|*>.<k|*>.width,
    recipients.<r|*>.poor_population, recipients.<r|*>.weight           (per-scenario outcomes)

Limits on what the plan may do (capacities) are taken at their worst value over the scenarios,
so the plan keeps them whichever scenario comes true:

    capacity.*.*.* (max_aid) and recipients.*.investment_demand at their smallest,
    recipients.*.infra_unlock at its smallest, instruments.*.leverage at its largest (the
    investment coupling row: more lending per yuan uses more of the demand).

Each is taken at its own worst, figure by figure; when several move together in one coupling
row the row is then at least as tight as in any scenario (conservative, never looser).

Refused (exit 2, naming the path): the figures of the plan's own rows, which a plan cannot
"hold under" because they define it: budgets (`proportion.*`, `revenue.*`), quotas
(`pairs.*.base_quota`), priority shares and floors (`priorities.*`), and the structural
paths (`scenario.objective`, `priorities.scope`). Run a study (`ewppt sweep`) over those.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from optimizer.data.errors import InvalidInstance, Problem
from optimizer.data.io import Instance
from optimizer.studies.study import ParameterSpec, read_validated, ResolvedParameter, Study, StudySection, apply_to_instance, \
    resolve_parameters, salib_problem, _check_domain

# Params whose values may differ between scenarios: the outcome of a plan.
OUTCOME_PARAMS = frozenset({"people_per_million", "width", "poor_population", "weight"})
# Params of plan rows taken at their worst over the scenarios: "min" or "max" of the column.
WORST = {"max_aid": ("capacity", "max_aid", "min"), "investment_demand": ("recipients", "investment_demand", "min"),
         "infra_unlock": ("recipients", "infra_unlock", "min"), "leverage": ("instruments", "leverage", "max")}
REFUSED = {
    "proportion": "a budget (proportion x revenue)",
    "revenue": "a budget (proportion x revenue)",
    "base_quota": "a quota",
    "share_bound": "a priority share",
    "quota_growth_min": "a quota's growth",
    "coverage_min": "the coverage floor",
}
PROBABILITY_TOLERANCE = 1e-9


class UncertaintySection(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: str = "uncertainty"
    design: Literal["scenarios", "lhs", "sobol"] = "scenarios"
    samples: int = Field(16, ge=1, le=100_000)
    seed: int = 0
    probabilities: tuple[float, ...] | None = None


class Uncertainty(BaseModel):
    """An uncertainty description, validated (frozen, unknown keys rejected)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    uncertainty: UncertaintySection = UncertaintySection()
    parameter: tuple[ParameterSpec, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> "Uncertainty":
        section = self.uncertainty
        if section.design == "scenarios":
            counts = {len(p.values) for p in self.parameter if p.values is not None}
            missing = [p.path for p in self.parameter if p.values is None]
            if missing:
                raise ValueError(f"explicit scenarios need `values` (one per scenario) on every parameter; "
                                 f"'{missing[0]}' has none")
            if len(counts) > 1:
                raise ValueError(f"every parameter needs one value per scenario; the parameters give "
                                 f"{', '.join(str(n) for n in sorted(counts))} values")
            count = counts.pop()
            if section.probabilities is not None:
                probabilities = section.probabilities
                if len(probabilities) != count:
                    raise ValueError(f"`probabilities` has {len(probabilities)} entries for {count} scenarios")
                if any(p < 0 for p in probabilities):
                    raise ValueError("probabilities must be >= 0")
                if abs(sum(probabilities) - 1.0) > 1e-6:
                    raise ValueError(f"probabilities must sum to 1 (they sum to {sum(probabilities):.9g})")
        else:
            if section.probabilities is not None:
                raise ValueError(f"a {section.design} design samples equally likely scenarios; "
                                 "`probabilities` is for design = \"scenarios\"")
            missing = [p.path for p in self.parameter if p.bounds is None]
            if missing:
                raise ValueError(f"a {section.design} design needs `bounds` on every parameter; '{missing[0]}' has none")
        return self

    @property
    def name(self) -> str:
        return self.uncertainty.name

    def digest(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()


def load_uncertainty(path: str | Path) -> Uncertainty:
    """Read and validate an UNCERTAINTY.toml; problems name the file, the key and the value."""
    return read_validated(path, "uncertainty", Uncertainty, _problem)


def _problem(where: str, err: dict) -> Problem:
    loc = [str(p) for p in err["loc"]]
    key = ".".join(loc) or None
    if err["type"] == "extra_forbidden":
        valid = list(UncertaintySection.model_fields) + list(ParameterSpec.model_fields) + ["uncertainty", "parameter"]
        near = difflib.get_close_matches(loc[-1], valid, n=1)
        return Problem(where, "unknown key" + (f"; did you mean '{near[0]}'?" if near else ""), key=key)
    value = err.get("input") if not isinstance(err.get("input"), (dict, list, tuple)) else None
    return Problem(where, err["msg"].removeprefix("Value error, "), key=key, value=value)


@dataclass(frozen=True)
class ScenarioSet:
    """The scenarios of an uncertainty bound to an instance.

    `design` has one row per scenario: scenario_id, probability, then one column per path.
    `plan_instance` is the instance the shared plan keeps: the instance as given, with each
    capacity at its worst over the scenarios.
    """

    uncertainty: Uncertainty
    parameters: list[ResolvedParameter]
    design: pd.DataFrame
    plan_instance: Instance
    where: str = "UNCERTAINTY.toml"

    @property
    def probabilities(self) -> np.ndarray:
        return self.design["probability"].to_numpy(dtype=float)

    @property
    def paths(self) -> list[str]:
        return [p.path for p in self.parameters]

    def point(self, scenario_id: int) -> dict:
        row = self.design.iloc[scenario_id]
        return {p: float(row[p]) for p in self.paths}

    def instance(self, scenario_id: int) -> Instance:
        """Scenario `scenario_id`'s instance: its outcome figures, the capacities at their worst."""
        return apply_to_instance(self.plan_instance, self.outcome_parameters, self.point(scenario_id))

    def own_instance(self, scenario_id: int, instance: Instance) -> Instance:
        """Scenario `scenario_id` as it is, its own capacities too (what its own optimum keeps)."""
        return apply_to_instance(instance, self.parameters, self.point(scenario_id))

    @property
    def outcome_parameters(self) -> list[ResolvedParameter]:
        return [p for p in self.parameters if p.param in OUTCOME_PARAMS]


def scenario_set(uncertainty: Uncertainty, instance: Instance, where: str = "UNCERTAINTY.toml") -> ScenarioSet:
    """Resolve the paths against the instance, refuse plan-row parameters, draw the scenarios and
    build the plan's instance (capacities at their worst). Raises InvalidInstance naming the file,
    key and value of every problem."""
    study = Study(study=StudySection(name=uncertainty.name), parameter=uncertainty.parameter)
    parameters = resolve_parameters(study, instance, where=where)
    problems = []
    for number, parameter in enumerate(parameters, start=1):
        if parameter.structural:
            problems.append(Problem(where, "changes the model's structure; a robust plan keeps one model "
                                           "(run a study over it: ewppt sweep)", key=f"parameter[{number}].path",
                                    value=parameter.path))
        elif parameter.param in REFUSED:
            problems.append(Problem(where, f"{REFUSED[parameter.param]} is a row of the plan itself, not an estimate "
                                           "a plan can hold under; only effects, poor populations, weights and "
                                           "capacities may be uncertain (run a study over it: ewppt sweep)",
                                    key=f"parameter[{number}].path", value=parameter.path))
        elif parameter.param not in OUTCOME_PARAMS and parameter.param not in WORST:
            problems.append(Problem(where, "cannot be uncertain in a robust plan", key=f"parameter[{number}].path",
                                    value=parameter.path))
        else:
            text = [v for v in (parameter.spec.values or ()) if isinstance(v, str)]
            if text:
                problems.append(Problem(where, "expected a number for each scenario", key=f"parameter[{number}].values",
                                        value=text[0]))
    if problems:
        raise InvalidInstance(problems)
    design = _design(uncertainty, parameters, where)
    try:
        _check_domain(design, parameters)
    except InvalidInstance as exc:  # the study's check names study.toml
        raise InvalidInstance([dataclasses.replace(p, file=where) for p in exc.problems]) from None
    plan = _plan_instance(instance, parameters, design)
    return ScenarioSet(uncertainty, parameters, design, plan, where)


def _design(uncertainty: Uncertainty, parameters: list[ResolvedParameter], where: str) -> pd.DataFrame:
    section = uncertainty.uncertainty
    paths = [p.path for p in parameters]
    if section.design == "scenarios":
        columns = {p.path: [float(v) for v in p.spec.values] for p in parameters}
        count = len(next(iter(columns.values())))
        probabilities = (np.asarray(section.probabilities, dtype=float) if section.probabilities is not None
                         else np.full(count, 1.0 / count))
        probabilities = probabilities / probabilities.sum()
        frame = pd.DataFrame(columns)
    else:
        problem = salib_problem(parameters)
        if section.design == "lhs":
            from SALib.sample import latin

            matrix = np.asarray(latin.sample(problem, section.samples, seed=section.seed))
        else:
            import warnings

            from SALib.sample import sobol

            with warnings.catch_warnings():  # SALib warns when N is not a power of 2; the points stay Sobol'
                warnings.simplefilter("ignore")
                saltelli = np.asarray(sobol.sample(problem, section.samples, calc_second_order=False,
                                                   seed=section.seed))
            matrix = saltelli[:: len(parameters) + 2]  # the A matrix: N points of the scrambled sequence
        frame = pd.DataFrame(matrix, columns=paths)
        probabilities = np.full(len(frame), 1.0 / len(frame))
    frame.insert(0, "probability", probabilities)
    frame.insert(0, "scenario_id", range(len(frame)))
    return frame


def _plan_instance(instance: Instance, parameters: list[ResolvedParameter], design: pd.DataFrame) -> Instance:
    """The instance with every uncertain capacity at its worst over the scenarios."""
    worst = [p for p in parameters if p.param in WORST]
    if not worst:
        return instance
    tables = {}
    for parameter in worst:
        table, column, how = WORST[parameter.param]
        frame = tables.get(table, instance.table(table).copy())
        values = design[parameter.path].astype(float)
        rows = list(parameter.rows)
        base = frame.loc[rows, column].astype(float)
        candidates = [base * v if parameter.mode == "factor" else pd.Series(v, index=base.index) for v in values]
        stacked = pd.concat(candidates, axis=1)
        frame[column] = frame[column].astype(float)
        frame.loc[rows, column] = stacked.min(axis=1) if how == "min" else stacked.max(axis=1)
        tables[table] = frame
    return dataclasses.replace(instance, **tables)


def risk_value(values: np.ndarray, probabilities: np.ndarray, risk: "Risk") -> float:
    """The risk measure of an outcome (people lifted per scenario): the expectation, the
    conditional value at risk (the mean of the worst `alpha` share of the probability), or the
    worst scenario."""
    values, probabilities = np.asarray(values, float), np.asarray(probabilities, float)
    if risk.kind == "expected":
        return float(probabilities @ values)
    if risk.kind == "worst":
        return float(values[probabilities > 0].min())
    order = np.argsort(values, kind="stable")
    left, total = risk.alpha, 0.0
    for i in order:
        take = min(probabilities[i], left)
        total += take * values[i]
        left -= take
        if left <= 0:
            break
    return float(total / risk.alpha)


@dataclass(frozen=True)
class Risk:
    """What the plan maximises over the scenarios' people lifted: `expected`, `cvar` at `alpha`
    (0 < alpha <= 1) or `worst`."""

    kind: Literal["expected", "cvar", "worst"]
    alpha: float = 1.0

    def __str__(self) -> str:
        return f"cvar:{self.alpha:g}" if self.kind == "cvar" else self.kind


def parse_risk(text: str | Risk) -> Risk:
    """expected | worst | cvar:ALPHA (0 < ALPHA <= 1); ValueError with the expected form otherwise."""
    if isinstance(text, Risk):
        return text
    text = str(text).strip().lower()
    if text in ("expected", "worst"):
        return Risk(text)
    if text.startswith("cvar:"):
        try:
            alpha = float(text.split(":", 1)[1])
        except ValueError:
            alpha = math.nan
        if 0 < alpha <= 1:
            return Risk("cvar", alpha)
    raise ValueError(f"unknown risk measure '{text}'; give expected, worst or cvar:ALPHA with 0 < ALPHA <= 1")
