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
        return f"{percent:.2g}%"
    return f"{percent:,.{digits}f}%"


def rate(value) -> str:
    """A per-unit figure such as people per million yuan: 62.7."""
    return MISSING if _missing(value) else f"{float(value):,.1f}"
