"""Index sets derived from an instance, computed once and shared by every family.

All lists are in a deterministic order (the order of the instance's tables), so a model built
twice from the same instance is the same model row by row.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from optimizer.data.io import Instance
from optimizer.data.schema import LEVELS, takes_effect

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
    lag: dict[str, int]  # instrument -> lag_years (aid paid in t takes effect from t + lag on)
    segments: list[tuple[str, str, int]]
    effect_keys: list[tuple[str, str]]
    special_aid: frozenset[str]
    targets_women: frozenset[str]
    capacity_keys: list[tuple[str, str, int]]
    fund_keys: list[tuple[str, str]]  # (w,k): paired recipient, fund instrument (min size or set-up cost)
    admin_recipients: list[str]  # recipients with funds to choose and an admin_capacity
    projects: list[str]
    project_of: dict[str, tuple[str, str, int]]  # project -> recipient, instrument, earliest plan year
    project_keys: list[tuple[str, str]]  # (w,k) whose aid turns into projects
    project_timing_keys: list[tuple[str, str, int]]  # (w,k,t): projects from year t on, t after the first year
    cadre_keys: list[tuple[str, str, int]]  # (d,w,t)
    flows_by_donor_year: dict[tuple[str, int], list[Flow]] = field(default_factory=dict)
    flows_by_pair_year: dict[tuple[str, str, int], list[Flow]] = field(default_factory=dict)
    flows_by_recipient_instrument_year: dict[tuple[str, str, int], list[Flow]] = field(default_factory=dict)
    flows_by_recipient_instrument: dict[tuple[str, str], list[Flow]] = field(default_factory=dict)
    flows_by_recipient_year: dict[tuple[str, int], list[Flow]] = field(default_factory=dict)
    segments_by_effect: dict[tuple[str, str], list[tuple[str, str, int]]] = field(default_factory=dict)
    projects_by_key: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    projects_by_recipient: dict[str, list[str]] = field(default_factory=dict)
    cadres_by_donor_year: dict[tuple[str, int], list[tuple[str, str, int]]] = field(default_factory=dict)
    cadres_by_recipient: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)

    @property
    def paired_recipients(self) -> list[str]:
        paired = {w for _, w in self.pairs}
        return [w for w in self.recipients if w in paired]

    def flows_in_effect(self, w: str, k: str, year: int) -> list[Flow]:
        """(w,k)'s flows whose aid has taken effect by `year` (schema.takes_effect)."""
        return [f for f in self.flows_by_recipient_instrument.get((w, k), ()) if takes_effect(f[3], self.lag[k], year)]

    def project_in_effect(self, q: str, year: int) -> bool:
        """Does built project q lift its people in `year`? From its earliest year plus its
        instrument's lag on (the earliest year clamped to the first plan year)."""
        _, k, earliest = self.project_of[q]
        return takes_effect(earliest, self.lag[k], year)

    def in_category(self, flows: list[Flow], category: str) -> list[Flow]:
        return [f for f in flows if self.category[f[2]] == category]


def fund_instruments(instance: Instance) -> list[str]:
    """Instruments that are funds: established or not, with a least size or a set-up cost."""
    inst = instance.instruments
    return list(inst.loc[(inst["min_fund_size"] > 0) | (inst["setup_cost"] > 0), "instrument"])


def derive_sets(instance: Instance) -> IndexSets:
    years = list(instance.scenario.years)
    instruments = list(instance.instruments["instrument"])
    pairs = list(zip(instance.pairs["donor"], instance.pairs["recipient"]))
    paired = {w for _, w in pairs}
    funds = fund_instruments(instance)
    fund_keys = [(w, k) for w in instance.recipients["recipient"] if w in paired for k in funds]
    admin = dict(zip(instance.recipients["recipient"], instance.recipients["admin_capacity"]))
    with_funds = {w for w, _ in fund_keys}
    proj = instance.projects
    # a project may use aid from its earliest year on; one starting before the plan, from the first year
    project_of = {q: (w, k, max(int(e), years[0]))
                  for q, w, k, e in proj[["project", "recipient", "instrument", "earliest_year"]].itertuples(index=False)}
    project_keys = list(dict.fromkeys((w, k) for w, k, _ in project_of.values()))
    timing = sorted({(w, k, e) for w, k, e in project_of.values() if years[0] < e <= years[-1]},
                    key=lambda key: (project_keys.index(key[:2]), key[2]))
    # effect rows of a recipient-instrument with projects are replaced by its projects
    with_projects = set(project_keys)
    effects = instance.effects
    segments = [seg for seg in zip(effects["recipient"], effects["instrument"], effects["segment"].astype(int))
                if seg[:2] not in with_projects]
    cadres = instance.cadres
    cadre_keys = [(d, w, t) for d, w in zip(cadres["donor"], cadres["recipient"]) for t in years]
    flows: list[Flow] = [(d, w, k, t) for d, w in pairs for k in instruments for t in years]
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
        lag={k: int(lag) for k, lag in zip(instance.instruments["instrument"], instance.instruments["lag_years"])},
        segments=sorted(segments, key=lambda s: (s[0], s[1], s[2])),
        effect_keys=list(dict.fromkeys((w, k) for w, k, _ in segments)),
        special_aid=frozenset(instance.recipients.loc[instance.recipients["special_aid"], "recipient"]),
        targets_women=frozenset(instance.instruments.loc[instance.instruments["targets_women"], "instrument"]),
        capacity_keys=capacity_keys,
        fund_keys=fund_keys,
        admin_recipients=[w for w in instance.recipients["recipient"] if w in with_funds and not _missing(admin[w])],
        projects=list(project_of),
        project_of=project_of,
        project_keys=project_keys,
        project_timing_keys=timing,
        cadre_keys=cadre_keys,
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
    for q, (w, k, _) in project_of.items():
        sets.projects_by_key.setdefault((w, k), []).append(q)
        sets.projects_by_recipient.setdefault(w, []).append(q)
    for d, w, t in cadre_keys:
        sets.cadres_by_donor_year.setdefault((d, t), []).append((d, w, t))
        sets.cadres_by_recipient.setdefault(w, []).append((d, w, t))
    return sets


def _missing(value) -> bool:
    return value is None or value != value  # None or NaN


def wants_integers(sets: IndexSets) -> bool:
    """Does the data ask for a whole decision (a fund, a project or cadres)?"""
    return bool(sets.fund_keys or sets.projects or sets.cadre_keys)
