"""What a plan does, computed from the allocation and the instance alone (no solver, no Pyomo).

People lifted by a plan: for each recipient-instrument, the plan total (less the set-up cost
of a fund that the plan establishes, that is, gives capital), but no more than its aid weighted
by when it takes effect (in full when paid in t with t + lag_years <= T, the plan's last year;
delta^(t + lag_years - T) after it, delta = 1 / (1 + [horizon] discount_rate), 0 when effects
beyond the plan are ignored: optimizer.data.schema.effect_weight), fills the effect segments in
order (segment j takes at most its width), each segment lifts people_per_million per million
yuan; a recipient-instrument with projects lifts the people of its built projects instead
(from their earliest year plus the lag on, discounted the same way when that is after T); and
the recipient's total is capped by its poor population. People lifted by the plan's end
(`people_lifted_by_plan_end`) counts only the aid in effect by T (the same figure with delta =
0), and people-years sum that figure, taken at each plan year, over the plan's years. This is the
effect the model maximises; reporting it from the allocation keeps the KPIs true for every
objective, including those (leveraged investment) that leave the model's effect variables free.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from optimizer.data.schema import effect_weight

ESTABLISHED = 1e-6  # million yuan: a fund with more capital than this is established (pays its set-up cost)


def segment_people(totals: np.ndarray, widths: np.ndarray, rates: np.ndarray, segment_effect: np.ndarray) -> np.ndarray:
    """People lifted by each segment when totals[e], the plan's aid to recipient-instrument e,
    fills e's segments in order. Segments are sorted by recipient-instrument, then segment;
    segment_effect[i] is the recipient-instrument of segment i. `totals` may have leading
    dimensions (one row of totals per year, say): the result has the same."""
    if not len(widths):
        return np.zeros((*np.shape(totals)[:-1], 0))
    ends = np.cumsum(widths)
    first = np.concatenate(([True], segment_effect[1:] != segment_effect[:-1]))
    group_start = np.maximum.accumulate(np.where(first, ends - widths, 0.0))
    lower = ends - widths - group_start  # where each segment starts within its group
    # (np.take, not totals[..., segment_effect]: the same values, a study's KPIs a few microseconds sooner)
    return np.clip(np.take(totals, segment_effect, axis=-1) - lower, 0.0, widths) * rates


class _Effects:
    """What people_lifted reads from an instance's tables and never from a plan, as arrays:
    the effect segments (sorted by recipient, instrument, segment; lines that projects replace
    left out), their recipient-instruments, each instrument's lag and set-up cost, the projects
    and the poor population per recipient."""

    def __init__(self, instance) -> None:
        instruments = instance.instruments.set_index("instrument")
        self.lag = instruments["lag_years"].astype(int)
        self.setup = instruments["setup_cost"].astype(float)
        projects = self.projects = instance.projects
        replaced = set(zip(projects["recipient"], projects["instrument"]))
        effects = instance.effects
        if replaced:
            effects = effects[[key not in replaced for key in zip(effects["recipient"], effects["instrument"])]]
        segments = effects.sort_values(["recipient", "instrument", "segment"])
        keys = pd.MultiIndex.from_frame(segments[["recipient", "instrument"]])
        self.effect_keys = keys.unique()
        self.position = {key: e for e, key in enumerate(self.effect_keys)}
        self.index = self.effect_keys.get_indexer(keys)  # each segment's recipient-instrument
        self.setup_of = self.setup.reindex(self.effect_keys.get_level_values(1)).to_numpy()
        self.widths = segments["width"].to_numpy(dtype=float)
        self.rates = segments["people_per_million"].to_numpy(dtype=float)
        self.poor = recipients_poor(instance)
        self.segment_recipient = self.poor.index.get_indexer(segments["recipient"])  # -1: not a recipient
        self.project_recipient = self.poor.index.get_indexer(projects["recipient"])
        self.project_ids = projects["project"].tolist()
        self.project_people = projects["people"].to_numpy(dtype=float)
        self.project_earliest = projects["earliest_year"].to_numpy(dtype=int)
        self.project_lag = projects["instrument"].map(self.lag).fillna(0).to_numpy(dtype=int)
        self.instrument_of_project = dict(zip(projects["project"], projects["instrument"]))

    def lines(self, allocation: pd.DataFrame) -> np.ndarray:
        """Each allocation row's recipient-instrument among the effect lines (-1: none)."""
        position = self.position
        # (as lists: iterating the text columns themselves went value by value through pyarrow)
        keys = zip(allocation["recipient"].tolist(), allocation["instrument"].tolist())
        return np.fromiter((position.get(key, -1) for key in keys), dtype=np.int64, count=len(allocation))


_EFFECTS: dict[tuple, tuple] = {}  # id()s of the tables read -> (the tables, kept alive so ids stay theirs; _Effects)


def _effects(instance) -> _Effects:
    """The instance's _Effects, computed once for the same table objects (an instance's tables are
    not changed in place: a changed table is a new Instance)."""
    tables = (instance.instruments, instance.projects, instance.effects, instance.recipients)
    key = tuple(map(id, tables))
    found = _EFFECTS.get(key)
    if found is None:
        found = _EFFECTS[key] = (tables, _Effects(instance))
        while len(_EFFECTS) > 8:
            del _EFFECTS[next(iter(_EFFECTS))]
    return found[1]


def people_lifted(instance, allocation: pd.DataFrame, established: Mapping[tuple[str, str], float] | None = None,
                  built: Mapping[str, float] | None = None, year: int | None = None) -> pd.Series:
    """People lifted per recipient (indexed by recipient, every recipient present): by default
    as the plan's objective counts them (aid that takes effect after the plan's last year T
    discounted, or left out, by the scenario's [horizon]); with `year`, in that year by the aid
    that has taken effect by then (`year` = T: people_lifted_by_plan_end).

    `established[w,k]` and `built[q]` are the plan's fund and project decisions (1 or 0; a
    fraction in an LP relaxation, where a fraction y of a fund pays y of its set-up cost and
    has y of each effect segment, as in the model); by default a fund is established when it
    has capital and no project is built.
    """
    return _people_lifted(instance, allocation, established, built, year)


def _people_lifted(instance, allocation: pd.DataFrame, established, built, year: int | None,
                   line: np.ndarray | None = None) -> pd.Series:
    """people_lifted; `line` the allocation's rows' effect lines when known (_Effects.lines)."""
    fx = _effects(instance)
    years = list(instance.scenario.years)
    # aid in effect by `year` counts in full, later aid not at all; with no year, later aid is discounted
    last, discount = (years[-1], instance.scenario.horizon.discount) if year is None else (year, 0.0)
    n = len(fx.effect_keys)
    line = fx.lines(allocation) if line is None else line
    on = line >= 0
    aid = allocation["aid"].to_numpy(dtype=float)
    weight = effect_weight(allocation["year"].to_numpy(dtype=int),
                           allocation["instrument"].map(fx.lag).fillna(0).to_numpy(dtype=int), last, discount)
    totals = np.bincount(line[on], weights=aid[on], minlength=n)
    counted = np.bincount(line[on], weights=(aid * weight)[on], minlength=n)
    if established is None:
        opened = totals > ESTABLISHED
        share = 1.0
    else:
        opened = np.array([established.get(key, 0.0) for key in fx.effect_keys], dtype=float)
        # a fraction of a fund (an LP relaxation) has that fraction of each segment (the curve's
        # perspective, models/fund_effects.py)
        is_fund = np.array([key in established for key in fx.effect_keys], dtype=bool)
        share = np.where(is_fund, opened, 1.0)[fx.index]
    charge = fx.setup_of * opened
    lifted = segment_people(np.minimum(np.maximum(totals - charge, 0.0), counted), fx.widths * share, fx.rates,
                            fx.index)
    poor = fx.poor
    mine = fx.segment_recipient >= 0
    people = np.bincount(fx.segment_recipient[mine], weights=lifted[mine], minlength=len(poor))
    if len(fx.project_ids):
        chosen = np.array([float((built or {}).get(q, 0.0)) for q in fx.project_ids])
        chosen = np.nan_to_num(chosen, nan=0.0)
        # a project starting after the plan is never built (recheck), and weighted 1 as in the model
        serving = np.where(fx.project_earliest > years[-1], 1.0,
                           effect_weight(np.maximum(fx.project_earliest, years[0]), fx.project_lag, last, discount))
        served = fx.project_recipient >= 0
        people += np.bincount(fx.project_recipient[served], weights=(fx.project_people * chosen * serving)[served],
                              minlength=len(poor))
    return pd.Series(np.minimum(people, poor.to_numpy()), index=poor.index, name="people_lifted")


def people_lifted_by_plan_end(instance, allocation: pd.DataFrame,
                              established: Mapping[tuple[str, str], float] | None = None,
                              built: Mapping[str, float] | None = None) -> pd.Series:
    """People lifted per recipient by the plan's last year T, by the aid that has taken effect by
    then (what the objective counted before issue 23; aid whose effect starts after T left out)."""
    return people_lifted(instance, allocation, established, built,
                         year=instance.scenario.years[-1]).rename("people_lifted_by_plan_end")


def people_years(instance, allocation: pd.DataFrame, established: Mapping[tuple[str, str], float] | None = None,
                 built: Mapping[str, float] | None = None) -> pd.Series:
    """People-years per recipient: the sum over plan years t of the people lifted in t by the
    aid that has taken effect by t (the `people_years` objective)."""
    line = _effects(instance).lines(allocation)
    return sum(_people_lifted(instance, allocation, established, built, t, line)
               for t in instance.scenario.years).rename("people_years")


def people_by_category(instance, allocation: pd.DataFrame, established: Mapping[tuple[str, str], float] | None = None,
                       built: Mapping[str, float] | None = None) -> dict[str, dict[str, float]]:
    """Per instrument category: the plan's aid (million yuan) and the people its aid lifts by the
    plan's last year (people_lifted on that category's aid, funds and projects alone, each capped
    by the recipient's poor population, so the categories add up to the plan's total whenever no
    recipient reaches its cap)."""
    category = instance.instruments.set_index("instrument")["category"]
    instrument_of = _effects(instance).instrument_of_project
    out = {}
    for name in sorted(category.unique()):
        mine = set(category.index[category == name])
        part = allocation[allocation["instrument"].isin(mine)]
        funds = {key: y for key, y in (established or {}).items() if key[1] in mine} if established is not None else None
        builds = {q: b for q, b in (built or {}).items() if instrument_of.get(q) in mine}
        people = people_lifted(instance, part, funds, builds).sum()
        out[name] = {"aid_million": float(part["aid"].sum()), "people_lifted": float(people)}
    return out


def recipients_poor(instance) -> pd.Series:
    return instance.recipients.set_index("recipient")["poor_population"].astype(float)


FUNDED = 1e-6  # million yuan: a line with less than this in a year has an empty year


def year_profile(allocation: pd.DataFrame, budget: pd.Series, years) -> dict[str, float]:
    """How steady a plan's funding lines (donor, recipient, instrument) are over the years, as a
    planner reads the plan: over every plan year.

    A line's profile gives it, in year t, the share B[d,t] / sum_tau B[d,tau] of its plan total
    (its donor's yearly budget, `budget` indexed by donor and year). `aid_off_profile` is the
    share of all aid above its line's profile (as much again is below it);
    `lines_with_an_empty_year` the share of funded lines with a plan year that has no aid.
    """
    years = list(years)
    if allocation.empty or len(years) < 2:
        return {"aid_off_profile": 0.0, "lines_with_an_empty_year": 0.0}
    aid = allocation.pivot_table(index=["donor", "recipient", "instrument"], columns="year", values="aid",
                                 aggfunc="sum").reindex(columns=years, fill_value=0.0).fillna(0.0)
    per_year = budget.unstack("year").reindex(columns=years).fillna(0.0)
    weights = per_year.reindex(aid.index.get_level_values("donor")).fillna(0.0).to_numpy()
    totals = weights.sum(axis=1, keepdims=True)
    shares = np.divide(weights, totals, out=np.full(weights.shape, 1.0 / len(years)), where=totals > 0)
    values = aid.to_numpy()
    excess = np.clip(values - shares * values.sum(axis=1, keepdims=True), 0.0, None).sum()
    total = values.sum()
    funded = values.sum(axis=1) > FUNDED
    empty = (values < FUNDED)[funded].any(axis=1)
    return {"aid_off_profile": float(excess / total) if total > 0 else 0.0,
            "lines_with_an_empty_year": float(empty.mean()) if funded.any() else 0.0}
