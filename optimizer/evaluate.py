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


def segment_people(totals: np.ndarray, widths: np.ndarray, rates: np.ndarray, segment_effect: np.ndarray) -> np.ndarray:
    """People lifted by each segment when totals[e], the plan's aid to recipient-instrument e,
    fills e's segments in order. Segments are sorted by recipient-instrument, then segment;
    segment_effect[i] is the recipient-instrument of segment i."""
    if not len(widths):
        return np.zeros(0)
    ends = np.cumsum(widths)
    first = np.r_[True, segment_effect[1:] != segment_effect[:-1]]
    group_start = np.maximum.accumulate(np.where(first, ends - widths, 0.0))
    lower = ends - widths - group_start  # where each segment starts within its group
    return np.clip(totals[segment_effect] - lower, 0.0, widths) * rates


def people_lifted(effects: pd.DataFrame, recipients: pd.DataFrame, allocation: pd.DataFrame) -> pd.Series:
    """People lifted per recipient (indexed by recipient, every recipient present)."""
    segments = effects.sort_values(["recipient", "instrument", "segment"])
    keys = pd.MultiIndex.from_frame(segments[["recipient", "instrument"]])
    effect_keys = keys.unique()
    totals = allocation.groupby(["recipient", "instrument"])["aid"].sum().reindex(effect_keys, fill_value=0.0)
    lifted = segment_people(totals.to_numpy(dtype=float), segments["width"].to_numpy(dtype=float),
                            segments["people_per_million"].to_numpy(dtype=float), effect_keys.get_indexer(keys))
    by_recipient = pd.Series(lifted, index=segments["recipient"].to_numpy()).groupby(level=0).sum()
    poor = recipients.set_index("recipient")["poor_population"].astype(float)
    people = by_recipient.reindex(poor.index, fill_value=0.0)
    return np.minimum(people, poor).rename("people_lifted")
