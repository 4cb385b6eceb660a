"""Small helpers shared by tests."""

from __future__ import annotations

import pandas as pd


def plan_totals(allocation: pd.DataFrame, by=("donor", "recipient", "instrument")) -> dict:
    """Aid summed over the plan years (and anything not in `by`), zero entries dropped."""
    totals = allocation.groupby(list(by))["aid"].sum()
    return {key: round(value, 9) for key, value in totals.items() if abs(value) > 1e-9}
