"""robust(instance, uncertainty, risk) -> Result: one plan for every scenario, and what it is worth.

The extensive form (models/robust.py) is built in Pyomo and solved by HiGHS through the same
path as `solve` (optimizer.solving.solve.solve_model): a MIP's whole decisions by the same
rounding and branch and bound, then the steady year-profile stage, which needs nothing of its
own here because it works on HiGHS's copy of whatever LP was solved (it holds the risk measure
at its optimum by complementary slackness and steadies the shared allocation), then the
independent re-check of the plan against the instance's rules, with capacities at their worst.

What it is worth, computed from the plans alone (optimizer.solving.evaluate, no solver):

- each scenario's people lifted by the robust plan and by the point-estimate plan: `solve` of
  the instance as given (its point estimates), with the capacities at their worst so that both
  plans keep the same rows (with no uncertain capacity, exactly `solve`'s plan);
- the value of the stochastic solution, VSS = risk(robust plan) - risk(point-estimate plan), on
  the chosen risk measure over the same scenarios; never negative, since the point-estimate
  plan is one of the plans the robust model chose among;
- the expected value of perfect information, EVPI = sum_s p_s OPT_s - E[robust plan], where
  OPT_s is scenario s's own optimum (each solved by the sweep engine,
  optimizer/studies/sweep.py, with its own capacities); never negative, since every scenario's
  optimum is at least what the robust plan does in it. Under `expected` it is the textbook EVPI;
  under cvar or worst it also holds what the robust plan gives up in expectation for safety.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from optimizer.data.errors import InvalidInstance, Problem
from optimizer.data.io import Instance
from optimizer.data.scaling import require_plain
from optimizer.solving import progress
from optimizer.solving.evaluate import people_lifted, people_lifted_by_plan_end
from optimizer.solving.results import Result, kpi_table, round_figure, summarise
from optimizer.solving.solve import solve, solve_model
from optimizer.studies.uncertainty import (Risk, ScenarioSet, Uncertainty, load_uncertainty, parse_risk, risk_value,
                                           scenario_set)

NOISE = 1e-7  # relative: a VSS or EVPI within this of 0 is solver noise, reported as 0


def robust(instance: Instance, uncertainty: Uncertainty | str | Path, risk: str | Risk = "expected",
           worth: bool = True, workers: int | None = 1, where: str | None = None) -> Result:
    """The plan that maximises `risk` (expected | cvar:ALPHA | worst) of people lifted over the
    scenarios of `uncertainty` (an Uncertainty or the path of an UNCERTAINTY.toml).

    The Result is `solve`'s (allocation, decisions, duals of the extensive form, binding rows,
    kpis at the point estimates) with `result.scenarios` (people lifted in every scenario by
    the robust plan, the point-estimate plan and the scenario's own optimum) and
    `result.robust` (risk measures, VSS, EVPI). `worth=False` skips the point-estimate plan and
    the own optima (the plan alone); `workers` solves the own optima in that many processes.
    """
    if not isinstance(uncertainty, Uncertainty):
        where = where or str(uncertainty)
        uncertainty = load_uncertainty(uncertainty)
    try:
        risk = parse_risk(risk)
    except ValueError as exc:
        raise InvalidInstance([Problem("--risk", str(exc), value=str(risk))]) from None
    where = where or "UNCERTAINTY.toml"
    require_plain(instance, "robust")
    scenario = instance.scenario
    from models.robust import RISK_OBJECTIVES

    if scenario.objective not in RISK_OBJECTIVES:
        raise InvalidInstance([Problem("scenario.toml", "a robust plan maximises people lifted across the scenarios; "
                                       f"expected {' or '.join(RISK_OBJECTIVES)}", key="scenario.objective",
                                       value=scenario.objective)])
    started = time.perf_counter()
    with progress.stage("drawing the scenarios"):
        scenarios = scenario_set(uncertainty, instance, where)
        instances = [scenarios.instance(s) for s in range(len(scenarios.design))]
    with progress.stage(f"building the extensive form ({len(instances)} scenarios)"):
        model = build_extensive_form(instances, scenarios.probabilities, risk)
    built = time.perf_counter()
    result = solve_model(model, instances[0], scenario)
    result.timings = {"build": built - started, **result.timings}
    if not result.has_plan:
        result.robust = _record(uncertainty, scenarios, risk, {})
        return result
    point_instance = scenarios.plan_instance
    result.kpis = kpi_table(model, point_instance, result.allocation)
    result.summary = summarise(result, scenario, point_instance)
    result.summary["objective_name"] = f"{risk} of {scenario.objective}"

    figures: dict = {}
    table = scenarios.design.copy()
    robust_values = evaluate_plan(result, instances, scenario.objective)
    table["robust_plan"] = robust_values["objective"]
    table["robust_plan_people_lifted"] = robust_values["people_lifted"]
    table["robust_plan_people_lifted_by_plan_end"] = robust_values["people_lifted_by_plan_end"]
    probabilities = scenarios.probabilities
    figures.update(_measures("robust_plan", robust_values["objective"], probabilities, risk))
    notes = []
    if worth:
        with progress.stage("the point-estimate plan"):
            point = solve(point_instance)
        if point.has_plan and point.status == "optimal":
            point_values = evaluate_plan(point, instances, scenario.objective)
            table["point_estimate_plan"] = point_values["objective"]
            table["point_estimate_plan_people_lifted"] = point_values["people_lifted"]
            table["point_estimate_plan_people_lifted_by_plan_end"] = point_values["people_lifted_by_plan_end"]
            figures.update(_measures("point_estimate_plan", point_values["objective"], probabilities, risk))
            figures["vss"] = _noise(figures["robust_plan_risk"] - figures["point_estimate_plan_risk"],
                                    figures["robust_plan_risk"])
        else:
            notes.append(f"the point-estimate plan is {point.status}: no VSS")
        with progress.stage(f"each scenario's own optimum ({len(instances)} solves, the sweep engine)"):
            own = own_optima(instance, scenarios, workers)
        if (own["status"] == "optimal").all():
            table["own_optimum"] = own["objective"].to_numpy(dtype=float)
            figures["wait_and_see"] = float(probabilities @ table["own_optimum"].to_numpy())
            figures["evpi"] = _noise(figures["wait_and_see"] - figures["robust_plan_expected"], figures["wait_and_see"])
        else:
            bad = own[own["status"] != "optimal"]
            notes.append(f"scenario {int(bad['scenario_id'].iloc[0])}'s own optimum is {bad['status'].iloc[0]}: no EVPI")
    result.scenarios = table.map(lambda v: round_figure(v) if isinstance(v, float) else v)
    result.robust = _record(uncertainty, scenarios, risk, figures)
    result.summary.update({key: round_figure(value) for key, value in figures.items()})
    result.summary.update(risk=str(risk), scenarios=len(instances))
    result.warnings += notes
    result.timings["total"] = time.perf_counter() - started
    return result


def build_extensive_form(instances: list[Instance], probabilities, risk: Risk) -> pyo.ConcreteModel:
    """The model of scenario 0's instance, a block per further scenario, the risk objective."""
    from models.assemble import build_model
    from models.robust import add_risk_objective, add_scenario_outcomes, scenario_people

    scenario = instances[0].scenario
    model = build_model(instances[0], scenario)
    outcomes = [outcome_of(model, other) for other in instances[1:]]
    add_scenario_outcomes(model, outcomes)
    add_risk_objective(model, scenario_people(model, scenario.objective, outcomes), list(probabilities), risk.kind,
                       risk.alpha)
    return model


def outcome_of(model: pyo.ConcreteModel, instance: Instance):
    """A scenario's outcome figures by the model's indices."""
    from models.robust import Outcome

    effects = instance.effects
    keys = list(zip(effects["recipient"], effects["instrument"], effects["segment"].astype(int)))
    used = set(model.index_sets.segments)
    recipients = instance.recipients.set_index("recipient")
    return Outcome(
        people_per_million={k: float(e) for k, e in zip(keys, effects["people_per_million"]) if k in used},
        width={k: float(u) for k, u in zip(keys, effects["width"]) if k in used},
        poor_population=recipients["poor_population"].astype(float).to_dict(),
        weight=recipients["weight"].astype(float).to_dict())


def evaluate_plan(result: Result, instances: list[Instance], objective: str) -> dict[str, np.ndarray]:
    """A plan's people lifted in each scenario (as the objective counts them, and by the plan's
    last year alone), and its objective there (weighted when the objective is), from its
    allocation and whole decisions alone."""
    decisions = result.decisions
    funds = decisions[decisions["kind"] == "fund"]
    established = {(w, k): float(c) for w, k, c in funds[["recipient", "instrument", "count"]].itertuples(index=False)}
    projects = decisions[decisions["kind"] == "project"]
    built = {q: float(c) for q, c in projects[["project", "count"]].itertuples(index=False)}
    people, values, by_end = [], [], []
    for instance in instances:
        lifted = people_lifted(instance, result.allocation, established, built)
        people.append(float(lifted.sum()))
        by_end.append(float(people_lifted_by_plan_end(instance, result.allocation, established, built).sum()))
        if objective == "weighted_people_lifted":
            weight = instance.recipients.set_index("recipient")["weight"].astype(float)
            values.append(float((lifted * weight.reindex(lifted.index)).sum()))
        else:
            values.append(float(lifted.sum()))
    return {"people_lifted": np.array(people), "objective": np.array(values),
            "people_lifted_by_plan_end": np.array(by_end)}


def own_optima(instance: Instance, scenarios: ScenarioSet, workers: int | None = 1) -> pd.DataFrame:
    """Each scenario's own optimum (its own capacities too), solved by the sweep engine."""
    from optimizer.studies.sweep import sweep_points

    design = scenarios.design.drop(columns="probability")
    return sweep_points(instance, scenarios.parameters, design, workers=workers)


def _measures(prefix: str, values: np.ndarray, probabilities: np.ndarray, risk: Risk) -> dict[str, float]:
    return {f"{prefix}_expected": risk_value(values, probabilities, Risk("expected")),
            f"{prefix}_worst": risk_value(values, probabilities, Risk("worst")),
            f"{prefix}_risk": risk_value(values, probabilities, risk)}


def _noise(value: float, scale: float) -> float:
    return 0.0 if abs(value) <= NOISE * max(1.0, abs(scale)) else value


def _record(uncertainty: Uncertainty, scenarios: ScenarioSet, risk: Risk, figures: dict) -> dict:
    from optimizer.studies.uncertainty import WORST

    return {"uncertainty": uncertainty.model_dump(mode="json"), "uncertainty_sha256": uncertainty.digest(),
            "risk": str(risk), "scenarios": int(len(scenarios.design)),
            "worst_capacities": [p.path for p in scenarios.parameters if p.param in WORST],
            **{key: round_figure(value) for key, value in figures.items()}}
