"""Money and people in units HiGHS can solve in: rescale an instance before the solve, the plan after.

HiGHS's tolerances are absolute (a row holds within 1e-7, matrix entries below 1e-9 are dropped),
so the same plan in other units is not the same LP to it: `instances/tiny` with every money
figure x1e12 and people_per_million x1e-12 came back "optimal" lifting 1,200 people instead of
2,760 (its effect coefficients, 1e-10, were dropped). `solve` therefore solves the instance in
scaled units and writes the plan back in the instance's own:

- money is divided by a power of ten chosen from the budgets, so that the largest lands in
  [100, 1000) million yuan;
- people are divided by a power of ten chosen so that the largest people_per_million, in the
  scaled money, lands in [100, 1000).

Each factor is 1 when its figures are already in a plain range (largest budget 0.1 to 1e5
million yuan, largest people_per_million 1e-2 to 1e6: every bundled instance), so those solve
exactly as before. Which columns are money or people comes from their declared units
(optimizer/data/schema.py).
"""

from __future__ import annotations

import dataclasses
import math

import pandas as pd

from optimizer.data.errors import InvalidInstance, Problem
from optimizer.data.schema import TABLES

PLAIN_BUDGET = (0.1, 1e5)  # largest budget (million yuan) solved as it is
PLAIN_RATE = (1e-2, 1e6)  # largest people_per_million (after the money's scaling) solved as it is


def _columns(test) -> dict[str, list[str]]:
    found = {name: [column for column, f in spec.row.model_fields.items()
                    if test((f.json_schema_extra or {}).get("unit", ""))] for name, spec in TABLES.items()}
    return {name: columns for name, columns in found.items() if columns}


# million yuan (per year, per cadre-year), not million yuan per million yuan (a ratio)
MONEY_COLUMNS = _columns(lambda unit: unit.startswith("million yuan") and not unit.endswith("per million yuan"))
PEOPLE_COLUMNS = _columns(lambda unit: unit == "people")
RATE_COLUMNS = _columns(lambda unit: unit == "people per million yuan")
SCALED_COLUMNS = {t: MONEY_COLUMNS.get(t, []) + PEOPLE_COLUMNS.get(t, []) + RATE_COLUMNS.get(t, [])
                  for t in MONEY_COLUMNS.keys() | PEOPLE_COLUMNS.keys() | RATE_COLUMNS.keys()}
# the unit of each family's right-hand side (and slack); admin capacity counts funds
MONEY_FAMILIES = frozenset({"budget", "budget_worth", "quota", "quota_growth", "priority_share", "capacity", "effect_use", "investment",
                            "effect_lag", "year_effect_lag", "year_effect_use", "fund_min", "fund_max", "project_spend", "project_timing", "lock"})
PEOPLE_FAMILIES = frozenset({"people", "poor_population_cap", "coverage_floor", "equity_ratio", "year_people",
                             "year_poor_population_cap"})


@dataclasses.dataclass(frozen=True)
class Scale:
    """The instance is solved in units of `money` million yuan and `people` people."""

    money: float = 1.0
    people: float = 1.0

    @property
    def plain(self) -> bool:
        return self.money == 1 and self.people == 1

    def objective(self, name: str) -> float:
        """The unit of an objective: people, money (leveraged investment) or a ratio (equity)."""
        return {"leveraged_investment": self.money, "equity": 1.0}.get(name, self.people)

    def family(self, family: str) -> float:
        return self.money if family in MONEY_FAMILIES else self.people if family in PEOPLE_FAMILIES else 1.0


def budgets(revenue: pd.DataFrame, scenario) -> pd.Series:
    """B[d,t] = sum_l p[l] R[d,l,t] over the plan years, per (donor, year)."""
    proportion = scenario.proportion.model_dump()
    revenue = revenue[revenue["year"].isin(scenario.years)]
    extracted = revenue["revenue"].astype(float) * revenue["level"].map(proportion).astype(float)
    return extracted.groupby([revenue["donor"], revenue["year"]]).sum()


def _power(largest: float, plain: tuple[float, float]) -> float:
    """1 for a figure in the plain range (or none), else the power of ten that brings it to [100, 1000)."""
    if not largest > 0 or plain[0] <= largest <= plain[1]:
        return 1.0
    return 10.0 ** (math.floor(math.log10(largest)) - 2)


def _largest(instance, columns: dict[str, list[str]]) -> float:
    values = [pd.to_numeric(instance.table(t)[c], errors="coerce").max() for t, cs in columns.items() for c in cs
              if len(instance.table(t))]
    return max([float(v) for v in values if v == v] + [0.0])


def scale_of(instance) -> Scale:
    """The units an instance is solved in: money from the largest budget (or, when nothing is
    extracted, the largest money figure), people from the largest people_per_million."""
    budget = budgets(instance.revenue, instance.scenario)
    money = _power(float(budget.max()) if len(budget) and budget.max() > 0 else _largest(instance, MONEY_COLUMNS),
                   PLAIN_BUDGET)
    return Scale(money, _power(_largest(instance, RATE_COLUMNS) * money, PLAIN_RATE))


def require_plain(instance, command: str) -> None:
    """Studies build their models in the instance's own units: refuse data that `solve` would
    rescale (HiGHS's absolute tolerances could call a wrong plan optimal) instead of solving it."""
    scale = scale_of(instance)
    if not scale.plain:
        raise InvalidInstance([Problem(str(instance.path), f"figures far from million yuan and people (`ewppt solve` "
                                       f"rescales them to units of {scale.money:g} million yuan and {scale.people:g} "
                                       f"people); `ewppt {command}` does not yet: give money in million yuan")])


def rescaled(instance, scale: Scale):
    """The instance in the scale's units (itself when plain)."""
    if scale.plain:
        return instance
    factors = {**dict.fromkeys(_flat(MONEY_COLUMNS), 1 / scale.money),
               **dict.fromkeys(_flat(PEOPLE_COLUMNS), 1 / scale.people),
               **dict.fromkeys(_flat(RATE_COLUMNS), scale.money / scale.people)}
    tables = {}
    for name, columns in SCALED_COLUMNS.items():
        table = instance.table(name).copy()
        for column in columns:
            factor = factors[(name, column)]
            table[column] = table[column].map(lambda v: v * factor if v is not None and v == v else v)
        tables[name] = table
    return dataclasses.replace(instance, **tables)


def _flat(columns: dict[str, list[str]]) -> list[tuple[str, str]]:
    return [(t, c) for t, cs in columns.items() for c in cs]


def plain_figure(value: float) -> float:
    """12 significant digits: no float noise from the scaling in the files."""
    return float(f"{value:.12g}")
