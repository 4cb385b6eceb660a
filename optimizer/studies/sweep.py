"""Batch sensitivity studies: build once, re-solve many; local cores or a Dask cluster; resumable.

Each worker holds a `ScenarioRunner`: the Pyomo model built once and Pyomo's persistent HiGHS
interface. For a scenario it sets only the mutable Params the study moves, re-solves (HiGHS
warm-starts from the previous basis) and loads back only the aid variables. A structural
parameter (objective, scope) switches to a model built for that structure, kept for reuse.

Local workers take contiguous slices of the design (grid designs run in serpentine order, so
neighbouring scenarios differ by one step); Dask workers take scenarios as they free up.
The parent process writes every finished scenario to `OUT/scenarios/part-<id>.parquet`
(temporary file, then rename) before it hands out the next one, so a study killed at any
moment resumes with `resume=True` and has every scenario exactly once.
"""

from __future__ import annotations

import gc
import json
import logging
import multiprocessing
import operator
import os
import queue
import threading
import time
import traceback
import uuid
from types import SimpleNamespace
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, wait
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from models.parameters import BudgetFormula
from optimizer.solving import interrupt, progress
from optimizer.solving.quiet import quiet
from optimizer.data.errors import InvalidInstance, Problem
from optimizer.solving.evaluate import segment_people
from optimizer.data.io import Instance, atomic_write, atomic_write_text
from optimizer.data.scaling import require_plain
from optimizer.data.schema import Scenario, effect_weight
from optimizer.solving.mip import MipOutcome, release, solve_mip
from optimizer.solving.solve import STEADY_LEAST_SECONDS, STEADY_MIN_SECONDS, _equity_second_stage, _loaded, _run, new_solver
from optimizer.solving.steady import steady_plan
from optimizer.studies.study import (
    NEUTRAL_PRIORITY,
    ResolvedParameter,
    Study,
    design_points,
    resolve_parameters,
    study_record,
)

logger = logging.getLogger(__name__)

METRICS = ("objective", "people_lifted", "min_coverage", "total_aid", "leveraged_investment", "people_years",
           "people_lifted_by_plan_end")


def sweep_scenario(instance: Instance, parameters: list[ResolvedParameter]) -> Scenario:
    """The scenario the sweep's model is built from: a priority the study moves but the scenario
    leaves unset gets its neutral value, so its rows exist (and never bind until moved)."""
    changes = {}
    for parameter in parameters:
        if parameter.param in ("share_bound", "quota_growth_min", "coverage_min"):
            key = parameter.path.split(".")[1]
            if getattr(instance.scenario.priorities, key) is None:
                changes[f"priorities.{key}"] = NEUTRAL_PRIORITY[key]
    return instance.scenario.override(**changes) if changes else instance.scenario


FRESH_AFTER_BUDGETS_ROWS = 8000  # measured: even at 7,168 rows (100 counties), interior point 4x faster at 13,956
ITERATION_LIMIT_OFF = 2147483647  # HiGHS's default simplex_iteration_limit (HiGHS keeps options between solves)


class ScenarioRunner:
    """One worker's model and solver, re-solved for scenario after scenario."""

    def __init__(self, instance: Instance, parameters: list[ResolvedParameter], save_allocation: bool = False,
                 kept: "KeptModels | None" = None, instance_digest: str | None = None):
        """`kept`: the models a long-lived worker keeps between studies (see KeptModels); a
        model is taken from there when one was built for the same content, and left there
        for the next study. `instance_digest`: `instance.digest`, when the caller has it."""
        self.instance = instance
        self.parameters = [p for p in parameters if not p.structural]
        self.structural = [p for p in parameters if p.structural]
        self.base_scenario = sweep_scenario(instance, parameters)
        self.save_allocation = save_allocation
        self._models: dict[tuple, _BuiltModel] = {}
        self.builds = 0
        self.kept = kept
        self._instance_digest = instance_digest

    def _model_for(self, point: dict[str, Any]) -> "_BuiltModel":
        key = tuple((p.path, point[p.path]) for p in self.structural)
        if key not in self._models:
            changes = {p.path: point[p.path] for p in self.structural}
            scenario = self.base_scenario.override(**changes) if changes else self.base_scenario
            built = None
            if self.kept is not None:
                built = self.kept.take(self._content_key(scenario))
            if built is None:
                built = _BuiltModel(self.instance, scenario, self.parameters)
                self.builds += 1
                if self.kept is not None:
                    self.kept.keep(self._content_key(scenario), built)
            self._models[key] = built
        return self._models[key]

    def _content_key(self, scenario: Scenario) -> tuple:
        """Everything a built model depends on: the instance's content (its tables and
        scenario: `Instance.digest`), the scenario it was built for (the instance's, with the
        study's structural levels and neutral priorities) and the Params the study moves (which
        are mutable, at which indices, set or scaled). Not the values a study gives them."""
        if self._instance_digest is None:
            self._instance_digest = self.instance.digest
        moved = tuple((p.path, p.mode, p.param, p.indices) for p in self.parameters)
        return self._instance_digest, scenario.model_dump_json(), repr(moved)

    def run(self, scenario_id: int, point: dict[str, Any], stop: interrupt.StopRequest | None = None) -> dict[str, Any]:
        """Solve one design point; never raises (a failure is a record with its message).

        `stop` (an `interrupt.StopRequest`, as `solve` takes): `stop.request()` from another
        thread stops this point's solve only. A MIP stopped in branch and bound with a plan is
        a record with status "stopped", the plan's figures, `mip_gap` and `best_bound`; a stop
        before any plan raises `interrupt.Stopped` (the point was not solved: nothing to record).
        """
        started = time.perf_counter()
        builds = self.builds
        record: dict[str, Any] = {"scenario_id": int(scenario_id), **point}
        try:
            # a stage per point: what a Ctrl-C interrupted (the message names it), and where a
            # test holds the study; HiGHS's own notes are off in warm re-solves (_in_highs)
            with interrupt.controlled(stop), progress.stage(f"solving scenario {scenario_id}"):
                built = self._model_for(point)
                built.apply(point)
                record.update(built.solve(self.save_allocation))
        except interrupt.Stopped:
            raise
        except Exception as exc:  # noqa: BLE001 - a study records failures, it does not stop
            record.update(status="error", message=f"{type(exc).__name__}: {exc}",
                          detail=traceback.format_exc(limit=3))
            if self.kept is not None:  # a model left half-changed is not one to keep
                self.kept.forget(self._models.values())
        record["built_model"] = self.builds > builds
        record["seconds"] = time.perf_counter() - started
        record["worker"] = f"{os.getpid()}"
        return record


class _BuiltModel:
    """A model built for one structure, with the arrays that turn a solution into KPIs."""

    def __init__(self, instance: Instance, scenario: Scenario, parameters: list[ResolvedParameter]):
        from models.assemble import build_model
        from pyomo.common.gc_manager import PauseGC

        self.scenario = scenario
        self.parameters = parameters
        # Building and loading the model make hundreds of thousands of objects that all live on;
        # the garbage collector's passes over them find nothing to free (at 300 counties a
        # third of the build and load)
        with PauseGC():
            self.model = m = build_model(instance, scenario, mutable={p.param for p in parameters})
        self.opt = new_solver()
        self.solved = False  # the first solve uses the scenario's method, later ones warm-start simplex
        if self.opt is None:
            raise RuntimeError("HiGHS (highspy) is not installed or cannot be loaded")
        updates = self.opt.config.auto_updates
        # Nothing but Params changes between scenarios: skip Pyomo's structural scans.
        for flag in ("check_for_new_or_removed_constraints", "check_for_new_or_removed_vars",
                     "check_for_new_or_removed_params", "update_constraints", "update_named_expressions"):
            setattr(updates, flag, False)
        equity = scenario.objective == "equity"  # its second stage moves a bound and the objective
        for flag in ("check_for_new_objective", "update_objective"):
            setattr(updates, flag, equity)
        # a MIP's relax-and-fix fixes and frees the whole decisions (optimizer.solving.mip)
        updates.update_vars = equity or m.integer
        updates.update_parameters = True
        with PauseGC():
            _loaded(self.opt, m)  # HiGHS holds the model from here on (the first solve does not load it again)
            self._into_new_highs()  # given whole, as bare highspy's Highs is (the same kind of Highs on both sides)
            # every later change of a Param reaches HiGHS through the bulk updates, the first solve's too
            self.selective: _SelectiveUpdates | None = _SelectiveUpdates.attach(self.opt)
        self._param_data: dict[tuple, Any] = {}  # (param, index) -> its ParamData, found once (_data)
        self.base = {(p.param, i): pyo.value(self._data((p.param, i))) for p in parameters for i in p.indices}
        self.current = dict(self.base)
        self.changed: set[int] = set()  # ids of ParamData moved since the last solve
        self.budgets_moved = False  # since the last solve: every donor's budget row moved
        self.last_method = ""  # how the last scenario was solved (the benchmark reports it)
        self.direct = None  # HiGHS's solution of a solve run straight in HiGHS (_in_highs)
        self.budget_formula: BudgetFormula | None = None  # built at the first point that moves a budget

        sets = m.index_sets
        self.x_vars = [m.x[f] for f in sets.flows]
        effect_index = {key: n for n, key in enumerate(sets.effect_keys)}
        self.flow_effect = np.array([effect_index.get((f[1], f[2]), -1) for f in sets.flows], dtype=int)
        self.has_effect = self.flow_effect >= 0
        self.paid_effect = self.flow_effect[self.has_effect]  # the effect row of each flow that has one
        self.flow_instrument = np.array([sets.instruments.index(f[2]) for f in sets.flows], dtype=int)
        self.flow_year = np.array([f[3] for f in sets.flows], dtype=int)
        self.flow_lag = np.array([sets.lag[f[2]] for f in sets.flows], dtype=int)
        self.segment_effect = np.array([effect_index[seg[:2]] for seg in sets.segments], dtype=int)
        self.segment_recipient = np.array([sets.recipients.index(seg[0]) for seg in sets.segments], dtype=int)
        with_effect = {w for w, _ in sets.effect_keys}
        paired = set(sets.paired_recipients)
        self.coverage_mask = np.array([w in with_effect and w in paired for w in sets.recipients])
        # whole decisions the KPIs need: funds with effect rows (set-up cost) and projects
        self.y_vars = [m.y[key] for key in sets.fund_keys]
        fund_effect = np.array([effect_index.get(key, -1) for key in sets.fund_keys], dtype=int)
        self.fund_has_effect = fund_effect >= 0
        self.fund_effect = fund_effect[self.fund_has_effect]
        self.fund_instrument = np.array([sets.instruments.index(k) for _, k in sets.fund_keys], dtype=int)
        self.fund_setup = np.array([pyo.value(m.setup_cost[k]) for _, k in sets.fund_keys], dtype=float)
        self.v_vars = [m.v[q] for q in sets.projects]
        self.project_recipient = np.array([sets.recipients.index(sets.project_of[q][0]) for q in sets.projects], dtype=int)
        self.project_people = np.array([pyo.value(m.project_people[q]) for q in sets.projects], dtype=float)
        self.project_start = np.array([sets.project_of[q][2] for q in sets.projects], dtype=int)
        self.project_lag = np.array([sets.lag[sets.project_of[q][1]] for q in sets.projects], dtype=int)
        # KPI inputs as arrays; those a study moves are re-read after each change
        self.moving = {p.param for p in parameters}
        self._array_data: dict[str, list] = {}  # name -> the Param's entries in `_read`'s order, found once
        self.arrays = {name: self._read(name) for name in ("width", "people_per_million", "poor_population",
                                                           "leverage")}
        # `_people`'s rows (each plan year, then the plan as the objective counts it) laid end to end
        rows = np.arange(len(sets.years) + 1)[:, None]
        self.row_effect = (rows * len(sets.effect_keys) + self.flow_effect[self.has_effect]).ravel()
        self.row_recipient = (rows * len(sets.recipients) + self.segment_recipient).ravel()
        self.row_project = (rows * len(sets.recipients) + self.project_recipient).ravel()
        self._weights_for: float | None = None

    def _read(self, name: str) -> np.ndarray:
        entries = self._array_data.get(name)
        if entries is None:
            m = self.model
            index = {"width": m.index_sets.segments, "people_per_million": m.index_sets.segments,
                     "poor_population": m.index_sets.recipients, "leverage": m.index_sets.instruments}[name]
            component = m.component(name)
            entries = self._array_data[name] = [component[i] for i in index]  # ParamData, or numbers
        return np.array([pyo.value(e) for e in entries], dtype=float)

    def _data(self, key: tuple):
        """The ParamData of (param, index) (looked up in the model once: a Pyomo lookup per
        moved value was a tenth of a millisecond per point on ewppt-2010)."""
        data = self._param_data.get(key)
        if data is None:
            data = self._param_data[key] = _param(self.model, *key)
        return data

    def apply(self, point: dict[str, Any]) -> None:
        """Set the Params of a design point, compounding from the built values."""
        values = dict(self.base)
        for parameter in self.parameters:
            number = float(point[parameter.path])
            for index in parameter.indices:
                key = (parameter.param, index)
                values[key] = values[key] * number if parameter.mode == "factor" else number
        moved = set()  # the Params whose values this point changes
        for key, value in values.items():
            if value != self.current[key]:
                data = self._data(key)
                data.set_value(value)
                self.changed.add(id(data))
                moved.add(key[0])
        self.current = values
        # the budgets follow their inputs (recomputed by numpy, and only when one moved)
        if moved & {"proportion", "revenue", "max_aid"}:
            if self.budget_formula is None:
                self.budget_formula = BudgetFormula(self.model)
            for data, value in self.budget_formula.values(moved):
                if data.value != value:
                    data.set_value(value)
                    self.changed.add(id(data))
                    self.budgets_moved = True
        for name in self.arrays.keys() & moved:
            self.arrays[name] = self._read(name)

    def solve(self, save_allocation: bool) -> dict[str, Any]:
        with interrupt.controlled(time_limit=self.scenario.solver.time_limit):  # the steady stage's share
            return self._solve(save_allocation)

    def _solve(self, save_allocation: bool) -> dict[str, Any]:
        m = self.model
        if self.selective is not None:
            self.selective.update(self.changed)
        if m.integer:
            outcome, fixed = solve_mip(self.opt, m, self.scenario, _run)
        else:
            status, raw = self._resolve()
            outcome, fixed = MipOutcome(status=status, objective=raw.incumbent_objective,
                                        termination=raw.termination_condition.name), []
        self.changed, self.budgets_moved = set(), False
        if not self.solved and self.selective is None:  # (set_instance's fallback in start_afresh)
            self.selective = _SelectiveUpdates.attach(self.opt)
        self.solved = True
        try:
            if outcome.status == "stopped" and not outcome.has_plan:
                interrupt.stopped_without_plan()
            if outcome.status == "optimal" and self.scenario.objective == "equity":
                outcome, raw = _equity_second_stage(self.opt, m, self.scenario, outcome)
                if m.integer and outcome.status == "optimal":
                    raw.solution_loader.load_vars()
            if outcome.status not in ("optimal", "stopped"):
                return {"status": outcome.status, "message": f"HiGHS: {outcome.termination}"}
            steady = None
            if save_allocation and getattr(m, "steady_years", None) and outcome.status == "optimal":
                # a plan that is written is the steady one; HiGHS keeps the first stage for the next re-solve
                left = interrupt.time_left()
                limit = STEADY_MIN_SECONDS if left is None else min(STEADY_MIN_SECONDS, left)
                steady = (steady_plan(self.opt, m, self.scenario, limit).status if limit >= STEADY_LEAST_SECONDS
                          else "skipped: time limit")
            if m.integer or steady == "optimal":  # the plan is in the model's variables (see optimizer.solving.mip)
                aid, opened, built = (np.array([v.value or 0.0 for v in vs], dtype=float)
                                      for vs in (self.x_vars, self.y_vars, self.v_vars))
            else:  # an LP, or a MIP's relaxation (`scenario.model = "lp"`): fractional funds and projects
                columns = self._column_values()
                aid, opened, built = (self._values(raw, vs, cache, columns) if vs else np.zeros(0) for vs, cache in
                                      ((self.x_vars, "_x_columns"), (self.y_vars, "_y_columns"),
                                       (self.v_vars, "_v_columns")))
        finally:
            release(fixed)
        aid = np.maximum(aid, 0.0)
        message = "" if steady in (None, "optimal") else (f"the steady stage stopped ({steady}); the plan written "
                                                           "is the first stage's")
        record = {"status": outcome.status, "message": message, "objective": float(outcome.objective),
                  **self._kpis(aid, np.round(opened, 9), built)}
        if outcome.status == "stopped":
            stopped_by = interrupt.keep()
            record.update(message=f"{stopped_by}: the best plan found, within {outcome.gap:.2%} of the best bound"
                          if outcome.gap is not None else stopped_by, mip_gap=outcome.gap, best_bound=outcome.bound)
        if save_allocation:
            sets = m.index_sets
            keep = aid > 1e-9
            flows = [f for f, k in zip(sets.flows, keep) if k]
            record["allocation"] = pd.DataFrame(flows, columns=["donor", "recipient", "instrument", "year"]).assign(
                aid=aid[keep].round(9))
        return record

    def start_afresh(self) -> None:
        """Make the next solve the one a model just built would run: from scratch by the
        scenario's method, in a HiGHS that has solved nothing yet. (`clearSolver` is not
        enough: HiGHS keeps more than the basis between solves, and warm re-solves from the
        same basis then took other paths.) The LP as it stands goes into a new Highs
        (`_into_new_highs`); without the interface's internals (pyomo 6.10) Pyomo loads the
        model again. The Params keep the last study's values; `apply` moves them from there,
        as from the built ones."""
        self.solved, self.direct = False, None
        if getattr(self.opt, "_solver_model", None) is None:  # never solved: nothing to forget
            return
        if not self._into_new_highs():
            with quiet():  # HiGHS's notices
                self.opt.set_instance(self.model)
            self.selective = None  # its helpers were the old interface's

    def _into_new_highs(self) -> bool:
        """Move the LP HiGHS holds into a new Highs given it whole (`passModel`), and point
        Pyomo's interface and its update helpers at it; False (nothing done) where the
        interface's internals are not pyomo 6.9's or 6.10's.

        Done once the model is loaded, too: Pyomo's interface builds its Highs row by row
        (`addVars`, `addRows`), bare highspy's is given the LP whole; moved, both sides solve
        in the same kind of Highs. The records are the same to the bit (tests/test_sweep.py);
        a difference in speed was not measurable on the shared machine, where the same work
        swung by a fifth from run to run (benchmarks/README.md, issue 24)."""
        import highspy

        opt = self.opt
        old = opt._solver_model
        try:
            objective = opt._mutable_objective
            helpers = [h for hs in opt._mutable_helpers.values() for h in hs]
            helpers += [h for _, h in opt._mutable_bounds.values()]
            helpers += [objective, objective.constant, *objective.linear_coefs]
        except AttributeError:
            return False
        with quiet():  # HiGHS's notices
            fresh = highspy.Highs()
            fresh.passModel(old.getLp())
        for helper in helpers:
            if getattr(helper, "highs", None) is old:
                helper.highs = fresh
        opt._solver_model = fresh
        opt._sol = None
        if opt._last_results_object is not None:
            opt._last_results_object.solution_loader.invalidate()
        progress.watch(fresh)  # the first solve's progress notes, as _loaded gave the old one
        return True

    def _resolve(self):
        """One LP solve of the current scenario, by the method measured fastest
        (benchmarks/README.md, bench_sweep.py): the first solve, and on an LP of more than
        FRESH_AFTER_BUDGETS_ROWS rows a scenario that moved the budgets, by the scenario's method
        from scratch (at 200 counties a proportion step took the warm dual simplex 16,710
        iterations and 5.9 s against 1.3 s by interior point; at 800 counties more than 14
        minutes against 23 s; at 100 counties the two were even, and on ewppt-2010 warm is
        faster); any other change by the simplex method from the last basis (1 to 300
        iterations, 0.03 to 0.6 s at 100 to 800 counties). A warm
        start that needs more iterations than the LP has rows is abandoned for a fresh solve: a
        count, not a clock, so a study's results never depend on the machine's speed."""
        m = self.model
        large = self.solved and self.opt._solver_model.getNumRow() > FRESH_AFTER_BUDGETS_ROWS
        self.direct = None
        # straight in HiGHS when the bulk updates hold HiGHS to the Params (the equity objective's
        # second stage moves the objective through Pyomo)
        direct = self.selective is not None and self.scenario.objective != "equity"
        if self.solved and not (self.budgets_moved and large):
            limit = max(1000, self.opt._solver_model.getNumRow())
            if direct:
                status, raw = self._in_highs("simplex", limit, callbacks=False)
            else:
                status, raw = _run(self.opt, m, self.scenario, warm=True, simplex_iteration_limit=limit)
            if status == "optimal":
                self.last_method = "warm simplex"
                return status, raw
            self.last_method = f"warm simplex past {limit:,} iterations, then "
        else:
            self.last_method = ""
        self.last_method += self.scenario.solver.method
        if direct:
            status, raw = self._in_highs(self.scenario.solver.method, ITERATION_LIMIT_OFF)
            if status == "optimal":
                return status, raw
        # not optimal (or not straight in HiGHS): through Pyomo, which names the status
        self.direct = None
        return _run(self.opt, m, self.scenario, simplex_iteration_limit=ITERATION_LIMIT_OFF)

    def _in_highs(self, method: str, limit: int, callbacks: bool = True):
        """A solve straight in HiGHS by `method` ("simplex" from the last basis, or the
        scenario's), its simplex stopped past `limit` iterations. The bulk updates have pushed
        every change already, so Pyomo's solve would only add its own bookkeeping: on ewppt-2010
        about half of a 9 ms re-solve (its configuration, output capture and update scans), and
        0.03 s of the first solve. Its status is "optimal" or "numerical" (the caller then
        solves through Pyomo, which tells infeasible from unbounded)."""
        import highspy

        h = self.opt._solver_model
        time_limit = self.scenario.solver.time_limit
        options = [("output_flag", False), ("solver", method), ("simplex_iteration_limit", int(limit)),
                   ("run_crossover", "on"), ("time_limit", interrupt.run_limit(h, time_limit))]
        if self.scenario.solver.threads is not None:
            options.append(("threads", int(self.scenario.solver.threads)))
        for name, value in options:
            h.setOptionValue(name, value)
        self.opt._sol = None  # Pyomo's record of the last solution no longer holds
        with interrupt.solving(h, callbacks=callbacks):
            h.run()
        optimal = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        self.direct = h.getSolution() if optimal else None
        raw = SimpleNamespace(incumbent_objective=h.getInfo().objective_function_value if optimal else None,
                              termination_condition=SimpleNamespace(name=h.getModelStatus().name))
        return ("optimal" if optimal else "numerical"), raw

    def _column_values(self) -> np.ndarray | None:
        """HiGHS's column values of the last solve as one array (highspy hands them over as a
        list: converted once per solve, not once per kind of variable); None when Pyomo's
        interface holds no solution of its own to read."""
        solution = self.direct if self.direct is not None else getattr(self.opt, "_sol", None)
        if solution is None or getattr(self.opt, "_pyomo_var_to_solver_var_map", None) is None:
            return None
        values = solution.col_value
        return np.fromiter(values, dtype=float, count=len(values))

    def _values(self, raw, variables: list, cache: str, columns: np.ndarray | None) -> np.ndarray:
        """Values of `variables`, in order: from HiGHS's column values (`columns`) by the
        interface's column map (pyomo 6.10: about 12 ms saved per re-solve on ewppt-2010),
        otherwise through the solution loader."""
        at = getattr(self, cache, None)
        column_map = getattr(self.opt, "_pyomo_var_to_solver_var_map", None)
        if at is None and column_map is not None:
            at = np.array([column_map[id(v)] for v in variables], dtype=int)
            setattr(self, cache, at)
        if at is not None and columns is not None:
            return columns[at]
        primal = raw.solution_loader.get_vars(variables)
        return np.array([primal[v] for v in variables])

    def _kpis(self, aid: np.ndarray, opened: np.ndarray, built: np.ndarray) -> dict[str, float]:
        """People lifted from the plan under the current effect Params (as optimizer.solving.evaluate):
        set-up costs of the funds opened come out of their capital, aid counts by when it takes
        effect (in full by the plan's last year, discounted by the current discount_rate after
        it), built projects count from their earliest year plus the lag; people_lifted_by_plan_end
        and each year's people (summed: people_years) count only the aid in effect by then."""
        people = self._people(aid, opened, built)
        by_year, final = people[:-1], people[-1]
        poor, leverage = self.arrays["poor_population"], self.arrays["leverage"]
        covered = self.coverage_mask & (poor > 0)
        charge = self.fund_setup * opened
        return {
            "people_lifted": float(final.sum()),
            "min_coverage": float((final[covered] / poor[covered]).min()) if covered.any() else float("nan"),
            "total_aid": float(aid.sum()),
            "leveraged_investment": float(leverage[self.flow_instrument] @ aid - leverage[self.fund_instrument] @ charge),
            "people_years": float(sum(p.sum() for p in by_year)),
            "people_lifted_by_plan_end": float(by_year[-1].sum()),
        }

    def _people(self, aid: np.ndarray, opened: np.ndarray, built: np.ndarray) -> np.ndarray:
        """People lifted per recipient (columns), one row per plan year (by the aid that has
        taken effect by then) and a last row for the plan as the objective counts it (the aid
        taking effect after the plan discounted by the current discount_rate: schema.effect_weight),
        all at once: one bincount per quantity over the rows laid end to end."""
        m = self.model
        discount = 0.0 if m.beyond_plan == "ignored" else 1.0 / (1.0 + pyo.value(m.discount_rate))
        flow_weights, project_weights = self._weights(discount)
        widths, rates = self.arrays["width"], self.arrays["people_per_million"]
        poor = self.arrays["poor_population"]
        rows, count = flow_weights.shape[0], len(m.index_sets.effect_keys)
        paid = aid[self.has_effect]
        totals = np.bincount(self.paid_effect, weights=paid, minlength=count)
        counted = np.bincount(self.row_effect, weights=(flow_weights * paid).ravel(),
                              minlength=rows * count).reshape(rows, count)
        charge = self.fund_setup * opened
        totals[self.fund_effect] = np.maximum(totals[self.fund_effect] - charge[self.fund_has_effect], 0.0)
        # a fraction of a fund (a relaxation) has that fraction of each segment, as in the model
        share = np.ones(len(totals))
        share[self.fund_effect] = opened[self.fund_has_effect]
        lifted = segment_people(np.minimum(totals, counted), widths * share[self.segment_effect], rates,
                                self.segment_effect)
        size = rows * len(poor)
        people = np.bincount(self.row_recipient, weights=lifted.ravel(), minlength=size).reshape(rows, len(poor))
        people += np.bincount(self.row_project, weights=(self.project_people * built * project_weights).ravel(),
                              minlength=size).reshape(rows, len(poor))
        return np.minimum(people, poor)

    def _weights(self, discount: float) -> tuple[np.ndarray, np.ndarray]:
        """The weights of each flow with effect rows and of each project in the rows of `_people`
        (computed again only when the discount moves)."""
        if self._weights_for != discount:
            years = self.model.index_sets.years
            rows = [(t, 0.0) for t in years] + [(years[-1], discount)]
            paid, lag = self.flow_year[self.has_effect], self.flow_lag[self.has_effect]
            self._flow_weights = np.array([effect_weight(paid, lag, t, d) for t, d in rows], dtype=float)
            # a project starting after the plan is never built; weighted 1 as in the model
            self._project_weights = np.array(
                [np.where(self.project_start > years[-1], 1.0, effect_weight(self.project_start, self.project_lag, t, d))
                 for t, d in rows], dtype=float).reshape(len(rows), len(self.project_start))
            self._weights_for = discount
        return self._flow_weights, self._project_weights


_PARAM_VALUE = operator.attrgetter("_value")


class _SelectiveUpdates:
    """Push to HiGHS, in bulk, the coefficients, bounds and costs that read Params a scenario moved.

    The Params themselves hold the scenario's values (so everything that reads the Pyomo model
    later sees it); this reads them and pushes to HiGHS what depends on them, one call per kind:
    row bounds by `changeRowsBounds`, costs by `changeColsCost`, and the matrix entries in one
    tight loop of `changeCoeff` (highspy 1.16 has no bulk form of it). Pyomo's persistent HiGHS
    interface evaluates each mutable expression and pushes it by itself (3.4 ms for the 1,125
    leverage entries of ewppt-2010 alone). Column bounds that read Params (none in this
    engine's models) go through Pyomo's own helpers, which follow a MIP's fixing and freeing.

    `attach` (once the model is loaded into HiGHS, when Pyomo's interface holds its update
    helpers) compiles each helper's expression: almost all read one Param as a * p + b (`p`, `-p`,
    `c * p`), computed for all of them at once with numpy, bit for bit what Pyomo computes;
    any other expression is evaluated by Pyomo, only when a Param it reads moved. `update`
    pushes only the values that differ from what HiGHS holds. It turns off Pyomo's own
    parameter updates: HiGHS and the Params stay consistent through this class alone, so
    nothing re-pushes stale values. It relies on the interface's internals (`_mutable_helpers`,
    `_mutable_bounds`, `_mutable_objective` and the column and row maps of pyomo 6.9 to 6.10);
    when they are missing, `attach` returns None and Pyomo's own full update stays on.
    """

    def __init__(self, opt):
        self.opt = opt
        self.params: list = []  # the mutable ParamData the helpers read, by position
        self.position: dict[int, int] = {}  # id(ParamData) -> position
        self.fields: dict[str, _Field] = {}

    @classmethod
    def attach(cls, opt) -> "_SelectiveUpdates | None":
        try:
            opt._mutable_helpers, opt._mutable_bounds, opt._mutable_objective  # noqa: B018 - pyomo 6.9, 6.10
            opt._pyomo_con_to_solver_con_map, opt._pyomo_var_to_solver_var_map  # noqa: B018
        except AttributeError:
            return None
        self = cls(opt)
        self._compile()
        opt.config.auto_updates.update_parameters = False
        return self

    def _compile(self) -> None:
        opt = self.opt
        rows, cols = opt._pyomo_con_to_solver_con_map, opt._pyomo_var_to_solver_var_map
        entries, bounds = [], []
        for con, helpers in opt._mutable_helpers.items():
            for helper in helpers:
                if hasattr(helper, "pyomo_var_id"):  # a matrix entry
                    entries.append(((rows[con], cols[helper.pyomo_var_id]), helper.expr))
                else:  # a row's bounds
                    bounds.append((rows[con], helper.lower_expr, helper.upper_expr))
        self.fields = {
            "coefficient": _Field(self, [x for _, x in entries], [r for (r, _), _ in entries],
                                  [c for (_, c), _ in entries]),
            "row_lower": _Field(self, [lo for _, lo, _ in bounds], [r for r, _, _ in bounds]),
            "row_upper": _Field(self, [up for _, _, up in bounds], [r for r, _, _ in bounds]),
        }
        self._compile_costs()
        self.p = self._param_values()
        self.sizes = (len(rows), len(cols))

    def _compile_costs(self) -> None:
        """Compile the objective's costs: at attach, and whenever Pyomo has set a new objective
        (the equity objective's second stage), whose costs it pushed from the Params then."""
        objective = self.opt._mutable_objective
        columns = self.opt._pyomo_var_to_solver_var_map
        coefficients = objective.linear_coefs
        known = len(self.params)
        self.fields["cost"] = _Field(self, [c.expr for c in coefficients],
                                     [columns[c.pyomo_var_id] for c in coefficients])
        self.objective = objective
        if hasattr(self, "p") and len(self.params) > known:  # Params only the new objective reads
            self.p = np.append(self.p, [_PARAM_VALUE(d) for d in self.params[known:]])

    def index_of(self, data) -> int:
        key = id(data)
        if key not in self.position:
            self.position[key] = len(self.params)
            self.params.append(data)
        return self.position[key]

    def _param_values(self) -> np.ndarray:
        # ParamData._value (pyomo 6.9, 6.10) is what `.value` returns, read without its checks
        return np.fromiter(map(_PARAM_VALUE, self.params), dtype=float, count=len(self.params))

    def update(self, changed: set[int] | None = None) -> None:
        """Push what the Params' current values change. (`changed`, the ids of the ParamData a
        caller moved, is not needed: every Param the helpers read is compared with its value
        at the last push, which also catches a Param moved by anyone else.)"""
        opt = self.opt
        h = opt._solver_model
        if self.sizes != (len(opt._pyomo_con_to_solver_con_map), len(opt._pyomo_var_to_solver_var_map)):
            opt.update_parameters()  # rows or columns were added or removed: Pyomo pushes all, then re-index
            self._compile()
            return
        if opt._mutable_objective is not self.objective:  # a new objective, its costs pushed by Pyomo
            self._compile_costs()
        p = self._param_values()
        moved = np.flatnonzero(p != self.p)
        if not len(moved):
            return
        self.p = p
        opt._sol = None
        if opt._last_results_object is not None:
            opt._last_results_object.solution_loader.invalidate()
        moved_ids = {id(self.params[i]) for i in moved.tolist()}
        fields = {name: field.values(p, moved_ids) for name, field in self.fields.items()}
        coefficient = self.fields["coefficient"]
        changes = fields["coefficient"]
        if changes is not None:
            change = h.changeCoeff
            rows, columns = coefficient.index
            for r, c, v in zip(rows[changes].tolist(), columns[changes].tolist(),
                               coefficient.current[changes].tolist()):
                change(r, c, v)
        lower, upper = fields["row_lower"], fields["row_upper"]
        if lower is not None or upper is not None:
            at = np.union1d(*(np.zeros(0, dtype=int) if x is None else x for x in (lower, upper)))
            h.changeRowsBounds(len(at), self.fields["row_lower"].index[0][at], self.fields["row_lower"].current[at],
                               self.fields["row_upper"].current[at])
        cost = fields["cost"]
        if cost is not None:
            h.changeColsCost(len(cost), self.fields["cost"].index[0][cost], self.fields["cost"].current[cost])
        self.objective.constant.update()
        # column bounds that read Params (none in this engine's models): Pyomo's own helpers,
        # which follow the variables' fixing and freeing (a MIP's relax-and-fix)
        for _, helper in opt._mutable_bounds.values():
            helper.update()


class _Field:
    """One kind of value HiGHS holds (matrix entries, row lower or upper bounds, costs), each a
    Pyomo expression of Params: `index` (a row or column, or for entries a pair of arrays),
    `current` (what HiGHS holds), and the compiled forms a * p + b of those that have one."""

    def __init__(self, owner: _SelectiveUpdates, exprs: list, *index: list):
        from pyomo.core.expr.visitor import identify_mutable_parameters

        self.index = tuple(np.array(i, dtype=np.int32) for i in index)  # (rows, columns) for entries
        self.current = np.array([pyo.value(x) for x in exprs], dtype=float)
        forms = [_linear_form(x, owner) for x in exprs]
        self.linear = np.array([f is not None for f in forms], dtype=bool)
        self.at = np.flatnonzero(self.linear)
        self.scale = np.array([f[0] for f in forms if f is not None], dtype=float)
        self.param = np.array([f[1] for f in forms if f is not None], dtype=int)
        self.offset = np.array([f[2] for f in forms if f is not None], dtype=float)
        # the rest: Pyomo evaluates them when a Param they read moved
        self.other: dict[int, list[int]] = {}  # id(ParamData) -> positions
        self.exprs = exprs
        for i in np.flatnonzero(~self.linear).tolist():
            for data in identify_mutable_parameters(exprs[i]):
                owner.index_of(data)  # compared at each update like the others
                self.other.setdefault(id(data), []).append(i)

    def values(self, p: np.ndarray, moved: set[int]) -> np.ndarray | None:
        """Bring `current` to the Params' values `p`; the positions that changed (None: none)."""
        new = self.current.copy()
        if len(self.at):
            new[self.at] = self.scale * p[self.param] + self.offset
        for i in sorted({i for key in moved & self.other.keys() for i in self.other[key]}):
            new[i] = pyo.value(self.exprs[i])
        changed = np.flatnonzero(new != self.current)
        self.current = new
        return changed if len(changed) else None


def _linear_form(expr, owner: _SelectiveUpdates) -> tuple[float, int, float] | None:
    """(a, position of p, b) when `expr` is a * p + b of one mutable Param p, in a form whose
    value numpy computes bit for bit as Pyomo does (p, -x, c * x, x + c for such x); else None."""
    from pyomo.core.base.param import ParamData
    from pyomo.core.expr import numeric_expr as ne

    if isinstance(expr, ParamData):
        return 1.0, owner.index_of(expr), 0.0  # only a mutable Param is a node of an expression
    if not getattr(expr, "is_expression_type", lambda: False)():
        return None
    args = expr.args
    if isinstance(expr, ne.NegationExpression):
        inner = _linear_form(args[0], owner)
        return None if inner is None else (-inner[0], inner[1], -inner[2])
    constant = [_constant(a) for a in args]
    if isinstance(expr, ne.ProductExpression) and len(args) == 2 and (constant[0] is None) != (constant[1] is None):
        c = constant[0] if constant[0] is not None else constant[1]
        inner = _linear_form(args[0] if constant[0] is None else args[1], owner)
        # c * (+-p) is (+-c) * p exactly; c * (a * p) is not always (c * a) * p
        return None if inner is None or abs(inner[0]) != 1.0 or inner[2] != 0.0 else (c * inner[0], inner[1], 0.0)
    if isinstance(expr, ne.SumExpression) and len(args) == 2 and (constant[0] is None) != (constant[1] is None):
        c = constant[0] if constant[0] is not None else constant[1]
        inner = _linear_form(args[0] if constant[0] is None else args[1], owner)
        return None if inner is None or inner[2] != 0.0 else (inner[0], inner[1], c)
    return None


def _constant(expr) -> float | None:
    """The value of an expression that reads no mutable Param; None for one that does."""
    from pyomo.core.expr.visitor import identify_mutable_parameters

    if isinstance(expr, (int, float)):
        return float(expr)
    if next(iter(identify_mutable_parameters(expr)), None) is not None:
        return None
    return float(pyo.value(expr))


def _param(model: pyo.ConcreteModel, name: str, index: Any):
    component = model.component(name)
    return component if index is None else component[index]


# ------------------------------------------------------------------------------- the store


class SweepStore:
    """A study's folder: study.json, design.parquet, scenarios/ (one Parquet file per scenario)."""

    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.scenarios = self.out / "scenarios"
        self.allocations = self.out / "allocations"

    def open(self, record: dict, design: pd.DataFrame, resume: bool) -> set[int]:
        """Prepare the folder; returns the ids already done (resume) or refuses to overwrite."""
        study_file = self.out / "study.json"
        if study_file.exists():
            previous = json.loads(study_file.read_text())
            if not resume:
                raise InvalidInstance([Problem(str(self.out), "holds results of a study already; "
                                                              "use --resume to continue it, or another --out")])
            for key in ("study_sha256", "instance_sha256"):
                if previous.get(key) != record[key]:
                    raise InvalidInstance([Problem(str(self.out), f"--resume with a different {key.split('_')[0]} "
                                                                  "than the one these results came from")])
        self.scenarios.mkdir(parents=True, exist_ok=True)
        for stale in self.scenarios.glob(".part-*.tmp"):  # a write cut short by a kill
            stale.unlink(missing_ok=True)
        atomic_write_text(study_file, json.dumps(record, indent=2, sort_keys=True) + "\n")
        atomic_write(self.out / "design.parquet", lambda tmp: design.to_parquet(tmp, index=False))
        return self.done()

    def done(self) -> set[int]:
        return {int(p.stem.split("-")[1]) for p in self.scenarios.glob("part-*.parquet")}

    def write(self, record: dict) -> None:
        record = dict(record)
        allocation = record.pop("allocation", None)
        scenario_id = record["scenario_id"]
        if allocation is not None:
            self.allocations.mkdir(parents=True, exist_ok=True)
            atomic_write(self.allocations / f"part-{scenario_id:08d}.parquet",
                         lambda tmp: allocation.assign(scenario_id=scenario_id).to_parquet(tmp, index=False))
        frame = pd.DataFrame([record])
        atomic_write(self.scenarios / f"part-{scenario_id:08d}.parquet", lambda tmp: frame.to_parquet(tmp, index=False))

    def read(self) -> pd.DataFrame:
        return read_sweep(self.out)


def read_sweep(out: str | Path) -> pd.DataFrame:
    """All scenario records of a study folder, in scenario order."""
    files = sorted((Path(out) / "scenarios").glob("part-*.parquet"))
    if not files:
        return pd.DataFrame(columns=["scenario_id", "status"])
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True).sort_values("scenario_id",
                                                                                         ignore_index=True)


# ------------------------------------------------------------------------------ executors

MODELS_KEPT = 2  # built models one thread of a long-lived Dask worker keeps between studies (the latest used)


class KeptModels:
    """The models one thread of a long-lived worker built, kept for the next studies of the
    same content (`ScenarioRunner._content_key`): a study of the same instance, options and
    moved Params takes its model from here instead of building it. A model taken is started
    afresh (`_BuiltModel.start_afresh`), so a study's results do not depend on what ran before
    it. At most `size` models; the least recently used goes first. `taken` and `built` count
    what happened, for the worker's log and the tests."""

    def __init__(self, size: int = MODELS_KEPT):
        self.size = size
        self.models: dict[tuple, _BuiltModel] = {}  # in order of use, the latest last
        self.taken = 0

    def take(self, key: tuple) -> "_BuiltModel | None":
        built = self.models.pop(key, None)
        if built is None:
            return None
        built.start_afresh()
        self.models[key] = built
        self.taken += 1
        logger.info("sweep: model kept from an earlier study reused (instance %s)", key[0][:12])
        return built

    def keep(self, key: tuple, built: "_BuiltModel") -> None:
        self.models.pop(key, None)
        self.models[key] = built
        while len(self.models) > self.size:
            del self.models[next(iter(self.models))]

    def forget(self, models) -> None:
        dropped = {id(m) for m in models}
        for key in [k for k, m in self.models.items() if id(m) in dropped]:
            del self.models[key]


_LOCAL = threading.local()


def _local_worker(instance: Instance, parameters: list[ResolvedParameter], save_allocation: bool,
                  items: list[tuple[int, dict]], results, parent_pid: int) -> None:
    """A local worker process: one runner, its own contiguous slice of the design, each record
    sent to the parent as soon as it is solved. It ends with its parent, however the parent
    ends (a parent killed by SIGKILL runs no clean-up), and leaves Ctrl-C to the parent."""
    interrupt.forget_in_child()
    interrupt.die_with_parent(parent_pid)
    runner = ScenarioRunner(instance, parameters, save_allocation)
    for scenario_id, point in items:
        results.put(runner.run(scenario_id, point))
    results.put(None)


def _run_local_pool(instance: Instance, parameters: list[ResolvedParameter], save_allocation: bool,
                    items: list[tuple[int, dict]], workers: int, finished: Callable[[dict], None]) -> None:
    """Split the design into one contiguous slice per worker (neighbouring points keep HiGHS's
    warm starts short) and write each record as it arrives. The parent process is the first
    worker: it starts the others first, then builds its own model and solves its slice while
    they start and build theirs, writing their records between its own scenarios. A worker
    that dies leaves its unsolved scenarios recorded as errors, never dropped."""
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    results = context.Queue()
    slices = [list(chunk) for chunk in np.array_split(np.arange(len(items)), workers) if len(chunk)]
    if not slices:
        return
    processes = [context.Process(target=_local_worker, daemon=True,
                                 args=(instance, parameters, save_allocation, [items[i] for i in chunk], results,
                                       os.getpid()))
                 for chunk in slices[1:]]
    gc.freeze()  # a forked worker's garbage collector leaves the parent's objects alone (no copy-on-write)
    try:
        for process in processes:
            process.start()
    finally:
        gc.unfreeze()
    pending = {sid for sid, _ in items}
    running = len(processes)

    def receive(block: bool) -> None:
        """Write what the other workers sent; with `block`, until they have all finished."""
        nonlocal running
        while running:
            try:
                record = results.get(timeout=1.0) if block else results.get_nowait()
            except queue.Empty:
                if not block:
                    return
                if not any(p.is_alive() for p in processes):
                    return  # a worker died without saying goodbye
                continue
            if record is None:
                running -= 1
                continue
            pending.discard(record["scenario_id"])
            finished(record)

    try:
        runner = ScenarioRunner(instance, parameters, save_allocation)
        for scenario_id, point in (items[i] for i in slices[0]):
            record = runner.run(scenario_id, point)
            pending.discard(scenario_id)
            finished(record)
            receive(block=False)
        receive(block=True)
    except BaseException:  # Ctrl-C or an error: the workers stop now, not after their scenarios
        for process in processes:
            process.kill()
        raise
    finally:
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
    points = dict(items)
    for scenario_id in sorted(pending):
        finished({"scenario_id": scenario_id, **points[scenario_id], "status": "error",
                  "message": "the worker process died before solving this scenario", "built_model": False,
                  "seconds": 0.0, "worker": ""})


def _run_dask(setup: tuple, run: str, scenario_id: int, point: dict[str, Any]) -> dict[str, Any]:
    """A Dask task. Each worker thread keeps the study's runner between the study's tasks
    (`run`: one id per `sweep` call), and the models it built between studies (KeptModels):
    a long-lived cluster builds a model once per instance and options, not once per study."""
    if getattr(_LOCAL, "run", None) != run:
        instance, parameters, save_allocation, digest = setup
        if getattr(_LOCAL, "kept", None) is None:
            _LOCAL.kept = KeptModels()
        _LOCAL.runner = ScenarioRunner(instance, parameters, save_allocation, kept=_LOCAL.kept,
                                       instance_digest=digest)
        _LOCAL.run = run
    return _LOCAL.runner.run(scenario_id, point)


def _points(design: pd.DataFrame, skip: set[int]) -> Iterator[tuple[int, dict]]:
    paths = [c for c in design.columns if c != "scenario_id"]
    for row in design.itertuples(index=False):
        scenario_id = int(row[0])
        if scenario_id not in skip:
            yield scenario_id, {p: _plain(v) for p, v in zip(paths, row[1:])}


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _bounded(submit: Callable, points: Iterator, width: int, on_done: Callable, wait_for: Callable = wait) -> None:
    """Keep at most `width` scenarios in flight; hand each result to `on_done` before the next.

    `wait_for` is concurrent.futures.wait, or distributed.wait for Dask futures.
    """
    pending = set()
    for _ in range(width):
        item = next(points, None)
        if item is None:
            break
        pending.add(submit(*item))
    while pending:
        finished, pending = wait_for(pending, return_when=FIRST_COMPLETED)
        for future in finished:
            on_done(future.result())
            item = next(points, None)
            if item is not None:
                pending.add(submit(*item))


def sweep(
    instance: Instance,
    study: Study,
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    on_result: Callable[[dict], None] | None = None,
    on_start: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Run a study; returns one row per scenario (parameters, status, objective, KPIs).

    With `out`, each finished scenario is written there before the next is handed out and
    `resume=True` skips those already written. `workers` defaults to all cores (local
    processes); `scheduler` ("tcp://host:port") runs on an existing Dask cluster instead.
    `on_start(total, already_done)` and `on_result(record)` report progress.
    """
    require_plain(instance, "sweep")
    parameters = resolve_parameters(study, instance)
    design = design_points(study, parameters, instance)
    save_allocation = study.study.save_allocation
    store = SweepStore(out) if out is not None else None
    done = store.open(study_record(study, instance), design, resume) if store else set()
    records: list[dict] = []

    def finished(record: dict) -> None:
        if store is not None:
            store.write(record)
        else:
            records.append(record)
        if on_result is not None:
            on_result(record)

    if on_start is not None:
        on_start(len(design), len(done))
    points = _points(design, done)
    workers = workers or os.cpu_count() or 1
    if scheduler:
        from distributed import Client
        from distributed import wait as dask_wait

        with Client(scheduler, timeout="30s") as client:
            [setup] = client.scatter([(instance, parameters, save_allocation, instance.digest)], broadcast=True)
            run = uuid.uuid4().hex
            width = 2 * max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))
            _bounded(lambda sid, point: client.submit(_run_dask, setup, run, sid, point, pure=False), points, width,
                     finished, dask_wait)
    elif workers == 1:
        runner = ScenarioRunner(instance, parameters, save_allocation)
        for scenario_id, point in points:
            finished(runner.run(scenario_id, point))
    else:
        _run_local_pool(instance, parameters, save_allocation, list(points), workers, finished)

    if store is not None:
        return store.read()
    frame = pd.DataFrame([{k: v for k, v in r.items() if k != "allocation"} for r in records])
    return frame.sort_values("scenario_id", ignore_index=True) if len(frame) else frame


def sweep_points(instance: Instance, parameters: list[ResolvedParameter], design: pd.DataFrame,
                 workers: int | None = 1, on_result: Callable[[dict], None] | None = None) -> pd.DataFrame:
    """The sweep engine over given points (`design`: scenario_id, then one column per path), in
    memory on local processes: what `sweep` does for a study's design, for a caller that has its
    own points (a robust plan's scenarios, optimizer/studies/robust.py)."""
    require_plain(instance, "sweep")
    records: list[dict] = []

    def finished(record: dict) -> None:
        records.append(record)
        if on_result is not None:
            on_result(record)

    columns = ["scenario_id", *(p.path for p in parameters)]
    items = list(_points(design[columns], set()))
    workers = max(1, min(workers or os.cpu_count() or 1, len(items)))
    if workers == 1:
        runner = ScenarioRunner(instance, parameters)
        for scenario_id, point in items:
            finished(runner.run(scenario_id, point))
    else:
        _run_local_pool(instance, parameters, False, items, workers, finished)
    frame = pd.DataFrame(records)
    return frame.sort_values("scenario_id", ignore_index=True) if len(frame) else frame
