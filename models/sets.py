"""Index sets derived from an instance, computed once and shared by every family.

All lists are in a deterministic order (the order of the instance's tables), so a model built
twice from the same instance is the same model row by row.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from optimizer.io import Instance
from optimizer.schema import LEVELS

Flow = tuple[str, str, str, int]  # donor, recipient, instrument, year


@dataclass(frozen=True)
class IndexSets:
    donors: list[str]
    recipients: list[str]
    instruments: list[str]
    years: list[int]
    levels: tuple[str, ...]
    pairs: list[tuple[str, str]]
    flows: list[Flow]
    category: dict[str, str]
    segments: list[tuple[str, str, int]]
    effect_keys: list[tuple[str, str]]
    special_aid: frozenset[str]
    targets_women: frozenset[str]
    capacity_keys: list[tuple[str, str, int]]
    flows_by_donor_year: dict[tuple[str, int], list[Flow]] = field(default_factory=dict)
    flows_by_pair_year: dict[tuple[str, str, int], list[Flow]] = field(default_factory=dict)
    flows_by_recipient_instrument_year: dict[tuple[str, str, int], list[Flow]] = field(default_factory=dict)
    flows_by_recipient_instrument: dict[tuple[str, str], list[Flow]] = field(default_factory=dict)
    flows_by_recipient_year: dict[tuple[str, int], list[Flow]] = field(default_factory=dict)
    segments_by_effect: dict[tuple[str, str], list[tuple[str, str, int]]] = field(default_factory=dict)

    @property
    def paired_recipients(self) -> list[str]:
        paired = {w for _, w in self.pairs}
        return [w for w in self.recipients if w in paired]

    def in_category(self, flows: list[Flow], category: str) -> list[Flow]:
        return [f for f in flows if self.category[f[2]] == category]


def derive_sets(instance: Instance) -> IndexSets:
    years = list(instance.scenario.years)
    instruments = list(instance.instruments["instrument"])
    pairs = list(zip(instance.pairs["donor"], instance.pairs["recipient"]))
    flows: list[Flow] = [(d, w, k, t) for d, w in pairs for k in instruments for t in years]
    effects = instance.effects
    segments = list(zip(effects["recipient"], effects["instrument"], effects["segment"].astype(int)))
    capacity = instance.capacity
    capacity_keys = [
        (w, k, int(t)) for w, k, t in zip(capacity["recipient"], capacity["instrument"], capacity["year"]) if t in years
    ]
    sets = IndexSets(
        donors=list(instance.donors["donor"]),
        recipients=list(instance.recipients["recipient"]),
        instruments=instruments,
        years=years,
        levels=LEVELS,
        pairs=pairs,
        flows=flows,
        category=dict(zip(instance.instruments["instrument"], instance.instruments["category"])),
        segments=sorted(segments, key=lambda s: (s[0], s[1], s[2])),
        effect_keys=list(dict.fromkeys((w, k) for w, k, _ in segments)),
        special_aid=frozenset(instance.recipients.loc[instance.recipients["special_aid"], "recipient"]),
        targets_women=frozenset(instance.instruments.loc[instance.instruments["targets_women"], "instrument"]),
        capacity_keys=capacity_keys,
    )
    groups = {
        "flows_by_donor_year": lambda f: (f[0], f[3]),
        "flows_by_pair_year": lambda f: (f[0], f[1], f[3]),
        "flows_by_recipient_instrument_year": lambda f: (f[1], f[2], f[3]),
        "flows_by_recipient_instrument": lambda f: (f[1], f[2]),
        "flows_by_recipient_year": lambda f: (f[1], f[3]),
    }
    for name, key in groups.items():
        grouped: dict = defaultdict(list)
        for f in flows:
            grouped[key(f)].append(f)
        getattr(sets, name).update(grouped)
    by_effect: dict = defaultdict(list)
    for seg in sets.segments:
        by_effect[seg[:2]].append(seg)
    sets.segments_by_effect.update(by_effect)
    return sets
