"""What a plan does, computed from the allocation and the instance alone (no solver, no Pyomo).

People lifted by a plan: for each recipient-instrument, the plan total fills the effect
segments in order (segment j takes at most its width), each segment lifts people_per_million
per million yuan, and the recipient's total is capped by its poor population. This is the
effect the model maximises; reporting it from the allocation keeps the KPIs true for every
objective, including those (leveraged investment) that leave the model's effect variables free.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def people_lifted(effects: pd.DataFrame, recipients: pd.DataFrame, allocation: pd.DataFrame) -> pd.Series:
    """People lifted per recipient (indexed by recipient, every recipient present)."""
    totals = allocation.groupby(["recipient", "instrument"])["aid"].sum()
    segments = effects.sort_values(["recipient", "instrument", "segment"])
    lifted = dict.fromkeys(recipients["recipient"], 0.0)
    for (recipient, instrument), group in segments.groupby(["recipient", "instrument"], sort=False):
        aid = float(totals.get((recipient, instrument), 0.0))
        widths = group["width"].to_numpy(dtype=float)
        ends = np.cumsum(widths)
        used = np.clip(aid - (ends - widths), 0.0, widths)  # aid falling in each segment
        lifted[recipient] += float(used @ group["people_per_million"].to_numpy(dtype=float))
    poor = dict(zip(recipients["recipient"], recipients["poor_population"]))
    return pd.Series({w: min(value, float(poor[w])) for w, value in lifted.items()}, name="people_lifted")
