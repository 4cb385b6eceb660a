"""The result of a solve: status, objective and tidy DataFrames, and how they are written.

Tables (all money in million yuan):
    allocation  donor, recipient, instrument, category, year, aid        (non-zero flows)
    kpis        recipient, name, poor_population, aid, people_lifted, coverage, leveraged_investment
    duals       family, rule, donor, recipient, instrument, year, dual   (d objective / d right-hand side)
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

import pandas as pd

from optimizer.data.io import atomic_write, atomic_write_text
from optimizer.data.output import result_folder
from optimizer.data.scaling import Scale, plain_figure

Status = Literal["optimal", "infeasible", "unbounded", "time_limit", "numerical", "solver_missing", "error"]
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
    "kpis": ["recipient", "name", "poor_population", "aid", "people_lifted", "coverage", "leveraged_investment"],
    "duals": ["family", *INDEX_COLUMNS, "dual"],
    "binding": ["family", *INDEX_COLUMNS, "slack", "binding"],
    "decisions": DECISION_COLUMNS,
}


def empty_table(name: str) -> pd.DataFrame:
    return pd.DataFrame(columns=EMPTY_COLUMNS[name])


@dataclass
class Result:
    """What a solve returns. `status` is one of optimal, infeasible, unbounded, time_limit,
    numerical (HiGHS reported numerical trouble, or its plan failed the independent re-check),
    solver_missing (highspy cannot be loaded) or error (the sweep's record of an exception);
    `has_plan` says whether the tables hold a plan (always when optimal; at a time limit, when
    HiGHS found one)."""

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
    has_plan: bool = False  # optimal, or the best plan found at a time limit
    summary: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    solver: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    ranging: pd.DataFrame | None = None  # only when the solve was asked for it

    @property
    def ok(self) -> bool:
        return self.status == "optimal"

    def tables(self) -> dict[str, pd.DataFrame]:
        tables = {name: getattr(self, name) for name in TABLE_NAMES}
        if self.ranging is not None:
            tables["ranging"] = self.ranging
        return tables

    def run_record(self) -> dict[str, Any]:
        """The provenance written to run.json."""
        return {
            "status": self.status,
            "has_plan": self.has_plan,
            "objective": self.objective,
            "message": self.message,
            "summary": self.summary,
            "scenario": self.scenario,
            "instance_sha256": self.instance_digest,
            "solver": self.solver,
            "packages": package_versions(),
            "warnings": self.warnings,
            "timings_seconds": self.timings,
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
        """Every table, and the ranging table when the solve wrote one."""
        return [*TABLE_NAMES, *(["ranging"] if written("ranging") else [])]

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
                           ("people_lifted", scale.people), ("poor_population", scale.people)):
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
