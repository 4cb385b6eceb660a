"""One style for every number a person reads, on the terminal and in the report.

People are whole numbers with thousands separators, money is million yuan with two decimals,
shares, coverage and gaps are percentages. Files (CSV, run.json) keep full precision; these
functions are for what is printed or drawn.
"""

from __future__ import annotations

import math

MISSING = "-"


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def people(value) -> str:
    """917201.4 -> '917,201'."""
    return MISSING if _missing(value) else f"{float(value):,.0f}"


def money(value) -> str:
    """Million yuan: 1834.04 -> '1,834.04'."""
    return MISSING if _missing(value) else f"{float(value):,.2f}"


def share(value, digits: int = 1) -> str:
    """A fraction as a percentage: 0.00846559 -> '0.8%' (digits=1); tiny non-zero shares keep
    two significant figures so that they do not read as zero: 0.0000713 -> '0.0071%'."""
    if _missing(value):
        return MISSING
    percent = 100 * float(value)
    if percent != 0 and abs(percent) < 10 ** -digits:
        return f"{plain(percent, 2)}%"
    return f"{percent:,.{digits}f}%"


def rate(value) -> str:
    """A per-unit figure such as people per million yuan: 62.7."""
    return MISSING if _missing(value) else f"{float(value):,.1f}"


def per_million(value) -> str:
    """What one more million yuan is worth: rate() (62.7 people), except that a small non-zero
    figure keeps three significant digits instead of reading 0.0 (coverage per million under
    the equity objective: 0.0000123)."""
    if _missing(value) or value == 0 or abs(float(value)) >= 1:
        return rate(value)
    return plain(value, 3)


def plain(value, digits: int = 4) -> str:
    """A figure with no unit of its own, never in scientific notation: `digits` significant
    figures below 1,000 (7.12586e-05 -> '0.00007126', 51.8343 -> '51.83'), whole with
    thousands separators from 1,000 on (1.00101e+06 -> '1,001,010')."""
    if _missing(value):
        return MISSING
    number = float(value)
    if math.isinf(number):
        return "infinite" if number > 0 else "-infinite"
    if number == 0 or abs(number) >= 1000:
        return f"{number:,.0f}"
    decimals = min(max(digits - 1 - math.floor(math.log10(abs(number))), 0), 12)
    text = f"{number:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def count(value) -> str:
    """Funds, projects, cadre years: whole ('105'); an LP relaxation's fractional count keeps
    one decimal ('47.5') so that it does not pass for a whole one."""
    if _missing(value):
        return MISSING
    number = float(value)
    return f"{number:,.0f}" if abs(number - round(number)) < 1e-6 else f"{number:,.1f}"


# what each objective measures, and how its value reads
OBJECTIVE_STYLE = {"people_lifted": people, "weighted_people_lifted": people, "people_years": people,
                   "equity": lambda v: share(v, 2), "leveraged_investment": money}
OBJECTIVE_UNIT = {"people_lifted": "people", "weighted_people_lifted": "weighted people", "people_years": "people years",
                  "equity": "least coverage", "leveraged_investment": "million yuan"}


def objective(name: str | None, value) -> str:
    """An objective value in its own style: people lifted whole, equity (the least coverage) as a
    percentage, leveraged investment in million yuan."""
    return OBJECTIVE_STYLE.get(str(name), plain)(value)


# how each figure of a result's summary (run.json "summary") reads; keys not listed read plain()
SUMMARY_STYLE = {
    "funds_established": count, "projects_built": count, "cadre_years": count,
    "cadre_cost_million": money, "total_aid_million": money, "leveraged_investment_million": money,
    "people_lifted": people, "people_lifted_by_plan_end": people, "people_years": people, "poor_population": people,
    "min_coverage": share, "coverage_floor": share, "aid_off_profile": share, "lines_with_an_empty_year": share,
    "mip_gap": lambda v: share(v, 2), "integrality_gap": lambda v: share(v, 2), "slack": lambda v: share(v, 2),
    "binding_priorities": count, "binding_limits": count,
    # a robust plan's figures (optimizer/studies/robust.py): people lifted, or weighted people lifted
    **{f"{plan}_{measure}": people for plan in ("robust_plan", "point_estimate_plan")
       for measure in ("expected", "worst", "risk")},
    "vss": people, "evpi": people, "wait_and_see": people, "scenarios": count,
}
OBJECTIVE_KEYS = {"objective", "best_bound", "mip_objective", "objective_floor"}  # in the objective's own style


def summary_value(key: str, value, objective_name: str | None = None) -> str:
    """One figure of a result's summary as a person reads it; text (model, year_profile) as it is."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return MISSING if value is None else str(value)
    if key in OBJECTIVE_KEYS:
        return objective(objective_name, value)
    style = SUMMARY_STYLE.get(key)
    if style is not None:
        return style(value)
    return f"{value:,}" if isinstance(value, int) else plain(value)
