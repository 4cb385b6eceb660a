"""The result of a solve: status, objective and tidy DataFrames, and how they are written.

Tables (all money in million yuan):
    allocation  donor, recipient, instrument, category, year, aid        (non-zero flows)
    kpis        recipient, name, poor_population, aid, people_lifted, coverage, leveraged_investment, people_years,
                people_lifted_by_plan_end
    duals       family, rule, donor, recipient, instrument, year, dual   (d objective / d right-hand side)
                (and family budget_worth: one more million of budget with its shares following)
    binding     family, rule, donor, recipient, instrument, year, slack, binding
    decisions   kind, donor, recipient, instrument, project, year, count, money
                (funds established with their capital, projects built with their cost,
                cadres sent with their cost; empty for a plan without whole decisions)
    ranging     family, rule, donor, recipient, instrument, year, segment, parameter, value,
                lower, upper, slope, objective_at_lower, objective_at_upper, exact
                (only when asked for: `solve(..., ranging=True)`, `ewppt solve --ranging`;
                see optimizer/solving/ranging.py)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import math

import pandas as pd
import pyomo.environ as pyo
from pyomo.core.base.var import VarData
from pyomo.core.expr import numeric_expr
from pyomo.core.expr.numvalue import as_numeric, native_types

from optimizer.data.io import Instance, atomic_write, atomic_write_text
from optimizer.data.output import result_folder
from optimizer.data.scaling import Scale, budgets, plain_figure
from optimizer.data.schema import Scenario
from optimizer.solving.evaluate import (people_by_category, people_lifted, people_lifted_by_plan_end, people_years,
                                        year_profile)

Status = Literal["optimal", "infeasible", "unbounded", "time_limit", "stopped", "numerical", "solver_missing", "error"]
Format = Literal["csv", "xlsx", "parquet"]

INDEX_COLUMNS = ("rule", "donor", "recipient", "instrument", "year")
TABLE_NAMES = ("allocation", "kpis", "duals", "binding", "decisions")
DECISION_COLUMNS = ["kind", "donor", "recipient", "instrument", "project", "year", "count", "money"]

# Each constraint family's index, by column name, so rows map back to the instance's terms.
FAMILY_INDEX: dict[str, tuple[str, ...]] = {
    "budget": ("donor", "year"),
    "quota": ("donor", "recipient", "year"),
    "quota_growth": ("donor", "recipient", "year"),
    "priority_share": ("rule", "donor", "year"),
    "capacity": ("recipient", "instrument", "year"),
    "effect_use": ("recipient", "instrument"),
    "people": ("recipient",),
    "poor_population_cap": ("recipient",),
    "effect_lag": ("recipient", "instrument"),
    "year_effect_lag": ("recipient", "instrument", "year"),
    "year_effect_use": ("recipient", "instrument", "year"),
    "year_people": ("recipient", "year"),
    "year_poor_population_cap": ("recipient", "year"),
    "investment": ("recipient", "year"),
    "equity_ratio": ("recipient",),
    "coverage_floor": ("recipient",),
    "fund_min": ("recipient", "instrument"),
    "fund_max": ("recipient", "instrument"),
    "admin_capacity_limit": ("recipient",),
    "project_spend": ("recipient", "instrument"),
    "project_timing": ("recipient", "instrument", "year"),
    "lock": ("donor", "recipient", "instrument", "year"),
}
# Families whose tightness a planner reads as "this priority or limit is binding".
BINDING_FAMILIES = ("quota", "quota_growth", "priority_share", "capacity", "investment", "poor_population_cap",
                    "admin_capacity_limit", "lock", "coverage_floor")

EMPTY_COLUMNS = {
    "allocation": ["donor", "recipient", "instrument", "category", "year", "aid"],
    "kpis": ["recipient", "name", "poor_population", "aid", "people_lifted", "coverage", "leveraged_investment",
             "people_years", "people_lifted_by_plan_end"],
    "duals": ["family", *INDEX_COLUMNS, "dual"],
    "binding": ["family", *INDEX_COLUMNS, "slack", "binding"],
    "decisions": DECISION_COLUMNS,
}


def empty_table(name: str) -> pd.DataFrame:
    return pd.DataFrame(columns=EMPTY_COLUMNS[name])


@dataclass
class Result:
    """What a solve returns. `status` is one of optimal, infeasible, unbounded, time_limit,
    stopped (a StopRequest or Ctrl-C in branch and bound: the best plan found, with its gap),
    numerical (HiGHS reported numerical trouble, or its plan failed the independent re-check),
    solver_missing (highspy cannot be loaded) or error (the sweep's record of an exception);
    `has_plan` says whether the tables hold a plan (always when optimal or stopped; at a time
    limit, when HiGHS found one)."""

    status: Status
    objective: float | None
    message: str
    scenario: dict[str, Any]
    instance_digest: str
    allocation: pd.DataFrame = field(default_factory=lambda: empty_table("allocation"))
    kpis: pd.DataFrame = field(default_factory=lambda: empty_table("kpis"))
    duals: pd.DataFrame = field(default_factory=lambda: empty_table("duals"))
    binding: pd.DataFrame = field(default_factory=lambda: empty_table("binding"))
    decisions: pd.DataFrame = field(default_factory=lambda: empty_table("decisions"))
    has_plan: bool = False  # optimal, or the best plan found at a time limit or a stop
    summary: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    solver: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    ranging: pd.DataFrame | None = None  # only when the solve was asked for it
    figures: dict[str, int] | None = None  # the instance's figures by status (provenance.csv), if it has one
    scenarios: pd.DataFrame | None = None  # a robust plan's people lifted per scenario (optimizer/studies/robust.py)
    robust: dict[str, Any] | None = None  # a robust plan's risk measures, VSS and EVPI
    by_category: dict[str, dict[str, float]] | None = None  # aid and people lifted per category (category_record)

    @property
    def ok(self) -> bool:
        return self.status == "optimal"

    def tables(self) -> dict[str, pd.DataFrame]:
        tables = {name: getattr(self, name) for name in TABLE_NAMES}
        if self.ranging is not None:
            tables["ranging"] = self.ranging
        if self.scenarios is not None:
            tables["scenarios"] = self.scenarios
        return tables

    def run_record(self) -> dict[str, Any]:
        """The provenance written to run.json (with a robust plan's record when there is one)."""
        return {**({"robust": self.robust} if self.robust is not None else {}),
            "status": self.status,
            "has_plan": self.has_plan,
            "objective": self.objective,
            "message": self.message,
            "summary": self.summary,
            "scenario": self.scenario,
            "instance_sha256": self.instance_digest,
            "figures": self.figures,
            "solver": self.solver,
            "packages": package_versions(),
            "warnings": self.warnings,
            "timings_seconds": self.timings,
            **({"by_category": self.by_category} if self.by_category is not None else {}),
        }

    def write(self, out_dir: str | Path, fmt: Format = "csv") -> list[Path]:
        """Write the tables and run.json into `out_dir`, replacing the folder as a whole (see
        optimizer/data/output.py); run.json records the format. Returns the paths."""
        if fmt not in ("csv", "xlsx", "parquet"):
            raise ValueError(f"unknown format {fmt!r}; expected csv, xlsx or parquet")
        out = Path(out_dir)
        names = [f"{name}.{fmt}" for name in self.tables()] if fmt != "xlsx" else ["results.xlsx"]
        with result_folder(out) as folder:
            if fmt == "csv":
                for name, table in self.tables().items():
                    atomic_write(folder / f"{name}.csv",
                                 lambda tmp, t=table: t.to_csv(tmp, index=False, float_format="%.10g", lineterminator="\n"))
            elif fmt == "parquet":
                for name, table in self.tables().items():
                    atomic_write(folder / f"{name}.parquet", lambda tmp, t=table: _to_parquet(t, tmp))
            else:
                atomic_write(folder / "results.xlsx", self._write_book)
            record = {**self.run_record(), "format": fmt}
            atomic_write_text(folder / "run.json", json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")
        return [out / name for name in [*names, "run.json"]]

    def _write_book(self, tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
            pd.DataFrame(list(self.summary.items()), columns=["kpi", "value"]).to_excel(
                xl, sheet_name="summary", index=False)
            for name, table in self.tables().items():
                table.to_excel(xl, sheet_name=name, index=False)
            # for planners: a bold, frozen header row and columns wide enough for their values
            from openpyxl.styles import Font

            for sheet in xl.book.worksheets:
                sheet.freeze_panes = "A2"
                for cells in sheet.iter_cols(max_row=min(sheet.max_row, 1000)):
                    cells[0].font = Font(bold=True)
                    width = max((len(str(c.value)) for c in cells if c.value is not None), default=8)
                    sheet.column_dimensions[cells[0].column_letter].width = min(width + 2, 60)


def _to_parquet(table: pd.DataFrame, path: Path) -> None:
    table.to_parquet(path, index=False, engine="pyarrow")


def read_results(out_dir: str | Path) -> dict[str, pd.DataFrame]:
    """Read the tables a `Result.write` produced (any format) back as DataFrames; ids and names
    come back as the text written (`001`, `1`, `NA`, `null`, `nan`), never as numbers or missing."""
    out = Path(out_dir)

    def names(written) -> list[str]:
        """Every table, and the ranging and scenarios tables when the run wrote them."""
        return [*TABLE_NAMES, *[name for name in ("ranging", "scenarios") if written(name)]]

    fmt = _recorded_format(out)
    if fmt == "xlsx":
        with pd.ExcelFile(out / "results.xlsx") as book:
            return {name: _read_text_ids(pd.read_excel, book, sheet_name=name)
                    for name in names(lambda n: n in book.sheet_names)}
    if fmt == "parquet":  # parquet keeps each column's type
        return {name: pd.read_parquet(out / f"{name}.parquet")
                for name in names(lambda n: (out / f"{n}.parquet").exists())}
    return {name: _read_text_ids(pd.read_csv, out / f"{name}.csv")
            for name in names(lambda n: (out / f"{n}.csv").exists())}


def _recorded_format(out: Path) -> str:
    """The format run.json records; for a folder written before it did, the one whose tables
    are there (a workbook first, as then)."""
    try:
        recorded = json.loads((out / "run.json").read_text(encoding="utf-8")).get("format")
    except (OSError, ValueError, AttributeError):
        recorded = None
    if recorded in ("csv", "xlsx", "parquet"):
        return recorded
    if (out / "results.xlsx").exists():
        return "xlsx"
    return "parquet" if (out / "allocation.parquet").exists() else "csv"


# Columns of ids and names, read as text; in every column only an empty cell is missing.
TEXT_COLUMNS = {"family", "rule", "donor", "recipient", "instrument", "project", "category", "kind", "name",
                "parameter"}


def _read_text_ids(read, source, **kwargs) -> pd.DataFrame:
    columns = read(source, nrows=0, **kwargs).columns
    return read(source, keep_default_na=False, dtype={c: str for c in columns if c in TEXT_COLUMNS},
                na_values={c: [""] for c in columns}, **kwargs)


def package_versions() -> dict[str, str]:
    versions = {}
    for package in ("ewppt", "pyomo", "highspy", "pandas", "pydantic", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


# ------------------------------------------------------------------------------ tables of a solved model

ZERO = 1e-9  # flows below this (million yuan) are reported as zero



def allocation_table(model: pyo.ConcreteModel) -> pd.DataFrame:
    sets = model.index_sets
    rows = [
        (d, w, k, sets.category[k], t, _clean(model.x[d, w, k, t].value))
        for (d, w, k, t) in sets.flows
    ]
    table = pd.DataFrame(rows, columns=["donor", "recipient", "instrument", "category", "year", "aid"])
    return table[table["aid"] > 0].reset_index(drop=True)


def decision_table(model: pyo.ConcreteModel) -> pd.DataFrame:
    """The plan's whole decisions: funds established (with their capital), projects built
    (with their cost) and cadres sent (with their cost). Zero decisions are left out; in an LP
    relaxation `count` may be a fraction."""
    sets = model.index_sets
    rows = []
    for w, k in sets.fund_keys:
        y = _clean(model.y[w, k].value)
        if y > 0:
            capital = sum(model.x[f].value or 0.0 for f in sets.flows_by_recipient_instrument.get((w, k), ()))
            rows.append(("fund", "", w, k, "", pd.NA, y, _clean(capital)))
    for q in sets.projects:
        v = _clean(model.v[q].value)
        if v > 0:
            w, k, _ = sets.project_of[q]
            rows.append(("project", "", w, k, q, pd.NA, v, round_figure(v * pyo.value(model.project_cost[q]))))
    for d, w, t in sets.cadre_keys:
        c = _clean(model.c[d, w, t].value)
        if c > 0:
            rows.append(("cadres", d, w, "", "", t, c, round_figure(c * pyo.value(model.cadre_cost[d, w]))))
    table = pd.DataFrame(rows, columns=DECISION_COLUMNS)
    return table.astype({"year": "Int64"}) if rows else empty_table("decisions")


def kpi_table(model: pyo.ConcreteModel, instance: Instance, allocation: pd.DataFrame) -> pd.DataFrame:
    """Per recipient: aid, people lifted (evaluated from the allocation and the whole
    decisions, as the objective counts them: effects after the plan discounted), coverage,
    leverage (set-up costs mobilise nothing), people-years, and people lifted by the plan's last
    year (only the aid in effect by then)."""
    sets = model.index_sets
    established = {key: model.y[key].value or 0.0 for key in sets.fund_keys}
    built = {q: model.v[q].value or 0.0 for q in sets.projects}
    lifted = people_lifted(instance, allocation, established, built)
    yearly = people_years(instance, allocation, established, built)
    by_end = people_lifted_by_plan_end(instance, allocation, established, built)
    inst = instance.instruments.set_index("instrument")
    leverage = inst["leverage"].astype(float)
    aid = allocation.groupby("recipient")["aid"].sum()
    leveraged = (allocation["aid"] * allocation["instrument"].map(leverage).astype(float)).groupby(allocation["recipient"]).sum()
    for (w, k), y in established.items():
        if y > ZERO and leverage[k] * inst.at[k, "setup_cost"] > 0:
            leveraged[w] = leveraged.get(w, 0.0) - leverage[k] * inst.at[k, "setup_cost"] * y
    rows = []
    for w, name, poor in instance.recipients[["recipient", "name", "poor_population"]].itertuples(index=False):
        people = round_figure(lifted[w])
        rows.append((w, name, float(poor), round_figure(aid.get(w, 0.0)), people,
                     round_figure(people / poor) if poor > 0 else math.nan, round_figure(leveraged.get(w, 0.0)),
                     round_figure(yearly[w]), round_figure(by_end[w])))
    return pd.DataFrame(rows, columns=EMPTY_COLUMNS["kpis"])


def category_record(model: pyo.ConcreteModel, instance: Instance, allocation: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per category: the plan's aid (million yuan) and the people that aid lifts (evaluate.people_by_category)."""
    sets = model.index_sets
    established = {key: model.y[key].value or 0.0 for key in sets.fund_keys}
    built = {q: model.v[q].value or 0.0 for q in sets.projects}
    return {name: {key: round_figure(value) for key, value in row.items()}
            for name, row in people_by_category(instance, allocation, established, built).items()}


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    """Index columns as text and a nullable integer year, whatever the family mix."""
    return table.astype({"year": "Int64"})


def _index_row(family: str, index: Any) -> dict[str, Any]:
    index = index if isinstance(index, tuple) else (index,)
    row = dict.fromkeys(INDEX_COLUMNS)
    row.update(zip(FAMILY_INDEX[family], index))
    return row


def dual_table(model: pyo.ConcreteModel, duals: dict) -> pd.DataFrame:
    """Duals in the sense d objective / d right-hand side, per family and index."""
    rows = []
    for family in FAMILY_INDEX:
        block = model.component(family)
        if block is None:
            continue
        for index, con in block.items():
            if con in duals:
                rows.append({"family": family, **_index_row(family, index), "dual": round_figure(duals[con])})
    rows += [{"family": BUDGET_WORTH, **_index_row("budget", key), "dual": round_figure(value)}
             for key, value in budget_worth(model, duals).items()]
    return _typed(pd.DataFrame(rows, columns=empty_table("duals").columns)) if rows else empty_table("duals")


# The "worth of a million" a planner means: one more million of donor d's budget in year t,
# with every priority share that is a share of that budget following it (a 30% minimum asks
# 0.3 million more) and the funds' capital limits that follow the budgets (as the model builds
# them). It is ranging's slope for the budget. The `budget` row's own dual holds the share
# rows fixed in million yuan instead: the other figure, kept in the duals table under its name.
BUDGET_WORTH = "budget_worth"


def budget_worth(model: pyo.ConcreteModel, duals: dict) -> dict[tuple[str, int], float]:
    """(donor, year) -> d objective / d B[d,t] with the shares following the budget:

        dual(budget[d,t]) + sum_{rules r of share x budget, g in {d, all donors}} share[r] dual(priority_share[r,g,t])
                          + sum_{funds (w,k) whose capital limit is d's budgets} dual(fund_max[w,k]) y[w,k]
    """
    from optimizer.solving.ranging import BUDGET_SHARE_RULES

    budget = model.component("budget")
    if budget is None:
        return {}
    sets = model.index_sets
    priority = model.component("priority_share")
    fund_max = model.component("fund_max")
    by_year: dict[int, list] = {}
    if priority is not None:
        for (rule, g, t), con in priority.items():
            if rule in BUDGET_SHARE_RULES and con in duals:
                by_year.setdefault(t, []).append((g, pyo.value(model.share_bound[rule]) * duals[con]))
    funds_of: dict[str, float] = {}  # donor -> sum over funds limited by its budgets of dual * y
    if fund_max is not None and sets.fund_keys:
        donors_of: dict[str, list[str]] = {}
        for d, w in sets.pairs:
            donors_of.setdefault(w, []).append(d)
        capacity = set(sets.capacity_keys)
        for w, k in sets.fund_keys:
            con = fund_max[w, k]
            if con not in duals or not duals[con]:
                continue
            budgets = sum(pyo.value(model.budget_amount[d, t]) for d in donors_of.get(w, ()) for t in sets.years)
            capped = all((w, k, t) in capacity for t in sets.years)
            if capped and sum(pyo.value(model.max_aid[w, k, t]) for t in sets.years) < budgets:
                continue
            for d in donors_of.get(w, ()):
                funds_of[d] = funds_of.get(d, 0.0) + duals[con] * float(model.y[w, k].value or 0.0)
    worth = {}
    for (d, t), con in budget.items():
        if con not in duals:
            continue
        worth[d, t] = (duals[con] + sum(v for g, v in by_year.get(t, ()) if g in (d, "*"))
                       + funds_of.get(d, 0.0))
    return worth


def binding_table(model: pyo.ConcreteModel) -> pd.DataFrame:
    """Slack of every inequality a planner sets (priorities, quotas, capacities, caps)."""
    rows = []
    for family in BINDING_FAMILIES:
        block = model.component(family)
        if block is None:
            continue
        for index, con in block.items():
            # con.body, con.lower, con.upper, con.has_lb() and con.has_ub() as Pyomo computes
            # them, from one standardisation of the constraint (each of those makes its own,
            # building the difference of the two sides again when both hold variables)
            lower, body_expr, upper = con.to_bounded_expression()
            has_lb = con._evaluate_bound(lower, -math.inf) is not None
            has_ub = con._evaluate_bound(upper, math.inf) is not None
            lower = as_numeric(lower) if lower.__class__ in native_types and lower is not None else lower
            upper = as_numeric(upper) if upper.__class__ in native_types and upper is not None else upper
            body = expression_value(as_numeric(body_expr) if body_expr.__class__ in native_types else body_expr)
            slacks = []
            if has_lb:
                slacks.append(body - pyo.value(lower))
            if has_ub:
                slacks.append(pyo.value(upper) - body)
            slack = max(0.0, min(slacks))
            scale = 1.0 + max(abs(pyo.value(b)) for b in (lower, upper) if b is not None)
            rows.append({"family": family, **_index_row(family, index), "slack": round_figure(slack),
                         "binding": bool(slack <= 1e-7 * scale)})
    return _typed(pd.DataFrame(rows, columns=empty_table("binding").columns)) if rows else empty_table("binding")


def expression_value(expr) -> Any:
    """pyo.value(expr), computed as Pyomo's evaluation visitor computes it (each node's
    `_apply_operation` on its arguments' values, in order: the same number to the bit) without
    the visitor's bookkeeping, for the node types of this engine's linear rows; any other node
    is evaluated by Pyomo itself."""
    expanded = _EXPANDED

    def evaluate(node):
        cls = node.__class__
        if cls in native_types:
            return node
        if cls is VarData:
            number = node.value
            return number if number is not None else pyo.value(node)  # (None: Pyomo's error)
        if cls in expanded:
            return node._apply_operation([evaluate(arg) for arg in node.args])
        return pyo.value(node)

    return evaluate(expr)


_EXPANDED = frozenset({numeric_expr.SumExpression, numeric_expr.LinearExpression, numeric_expr.MonomialTermExpression,
                       numeric_expr.NegationExpression, numeric_expr.ProductExpression})


def summarise(result: Result, scenario: Scenario, instance: Instance) -> dict[str, Any]:
    kpis = result.kpis
    steadiness = year_profile(result.allocation, budgets(instance.revenue, scenario), scenario.years)
    covered = kpis["coverage"].dropna()
    decisions = result.decisions
    mip = {key: result.solver.get(key) for key in ("best_bound", "mip_gap")} if result.solver.get("model") == "mip" else {}
    return {
        "model": result.solver.get("model", "lp"),
        **mip,
        "funds_established": round_figure(decisions.loc[decisions["kind"] == "fund", "count"].sum()),
        "projects_built": round_figure(decisions.loc[decisions["kind"] == "project", "count"].sum()),
        "cadre_years": round_figure(decisions.loc[decisions["kind"] == "cadres", "count"].sum()),
        "cadre_cost_million": round_figure(decisions.loc[decisions["kind"] == "cadres", "money"].sum()),
        "objective_name": scenario.objective,
        "objective": result.objective,
        "total_aid_million": round_figure(float(result.allocation["aid"].sum())),
        "people_lifted": round_figure(float(kpis["people_lifted"].sum())),
        "people_lifted_by_plan_end": round_figure(float(kpis["people_lifted_by_plan_end"].sum())),
        "min_coverage": round_figure(float(covered.min())) if len(covered) else None,
        "leveraged_investment_million": round_figure(float(kpis["leveraged_investment"].sum())),
        "people_years": round_figure(float(kpis["people_years"].sum())),
        "year_profile": scenario.scenario.year_profile,
        "aid_off_profile": round_figure(steadiness["aid_off_profile"]),
        "lines_with_an_empty_year": round_figure(steadiness["lines_with_an_empty_year"]),
        "binding_priorities": int(result.binding.loc[result.binding["family"] == "priority_share", "binding"].sum()),
        "binding_limits": int(result.binding["binding"].sum()),
        # a steady stage that did not run to its end (skipped: stopped or time limit, or HiGHS's status)
        **({"steady_stage": steady} if (steady := result.solver.get("steady_stage")) not in (None, "optimal") else {}),
    }


def round_figure(value: float | None) -> float | None:
    """Round away solver noise so that equal plans write equal files (None, NaN and infinities
    pass through)."""
    if value is None or not math.isfinite(value):
        return value
    value = round(float(value), 9)
    return 0.0 if value == 0 else value


def _clean(value: float | None) -> float:
    if value is None or abs(value) < ZERO:
        return 0.0
    return round_figure(value)


# ------------------------------------------------------------------------------ units

def unscaled(result, instance, scale: Scale, objective: str):
    """A result of the rescaled instance in the instance's own units (the same Result, changed).

    A dual is d objective / d right-hand side: it scales with the objective's unit over its
    row's. Ranging is not scaled back: it is dropped, with a warning."""
    if scale.plain:
        return result
    result.instance_digest = instance.digest
    unit = scale.objective(objective)
    if result.objective is not None:
        result.objective = plain_figure(result.objective * unit)
    if result.solver.get("best_bound") is not None:
        result.solver["best_bound"] = plain_figure(result.solver["best_bound"] * unit)
    _times(result.allocation, "aid", scale.money)
    _times(result.decisions, "money", scale.money)
    for column, factor in (("aid", scale.money), ("leveraged_investment", scale.money),
                           ("people_lifted", scale.people), ("people_years", scale.people),
                           ("people_lifted_by_plan_end", scale.people),
                           ("poor_population", scale.people)):
        _times(result.kpis, column, factor)
    if len(result.duals):
        _times(result.duals, "dual", unit / result.duals["family"].map(scale.family))
    if len(result.binding):
        _times(result.binding, "slack", result.binding["family"].map(scale.family))
    if result.ranging is not None:
        from optimizer.solving.ranging import empty_ranging

        result.ranging = empty_ranging()
        result.warnings.append("ranging: not available for an instance solved in rescaled units")
    result.solver["scale"] = {"money": scale.money, "people": scale.people}
    return result


def _times(table: pd.DataFrame, column: str, factor) -> None:
    if len(table):
        table[column] = (table[column].astype(float) * factor).map(plain_figure)
