"""Near-optimal alternatives (modelling to generate alternatives, MGA).

    from optimizer.analysis.alternatives import alternatives
    found = alternatives(instance, slack=0.02, count=3)
    found.optimum, found.alternatives, found.table
    found.write("results/alternatives")     # optimum/, alt-1/, alt-2/ ..., alternatives.csv

Plans within a fraction `slack` of the optimum that differ from it, and from each other, as
much as possible in recipient totals (or category totals), so that planners can negotiate
between genuinely different plans that cost little.

The method
----------
Let f(x) be the scenario's objective (maximised) and f* its optimum. The near-optimal set is

    X_slack = { x feasible :  f(x) >= f* - slack |f*| }

(one extra row, `alt_floor`, on the built model; it also holds when f* <= 0). A plan's profile
is r(x) in R^G with r_g = sum of the aid of the flows in group g over the plan: g a recipient
(default, million yuan) or a category (`space="categories"`); `alt_r[g]` are columns tied to x
by `alt_profile[g]`. The plans found so far are r^0 (the optimum), r^1, ..., r^(j-1).

Alternative j should maximise min_i ||r - r^i||_1 over X_slack: the least L1 distance to the
plans found so far. Maximising a convex function is not a linear program, but for any signs
s in {-1, +1}^G,

    ||r - r^i||_1  >=  s . (r - r^i),   with equality when s = sign(r - r^i),

so for sign vectors s^0, ..., s^(j-1) the linear program

    (D)  max t   s.t.  t <= s^i . (r(x) - r^i)  for i < j,   x in X_slack

gives a plan whose L1 distance to every earlier plan is at least t: t is a *certificate*.
Local ascent: solve (D), reset every s^i to sign(r - r^i) (a zero difference keeps its old
sign), solve again. The plan just found is feasible for the new (D) with value
min_i ||r - r^i||_1 >= t, so t never decreases; stop when the signs repeat, t stops rising
or after `MAX_ASCENT` rounds. The first signs are drawn from numpy's generator seeded with
`seed` (deterministic); `starts` ascents per alternative, the best certificate kept. An
ascent whose certificate is below `min_distance` (default 1e-4 of the optimum's total aid) has
found no new plan: another start is drawn, up to `MAX_TRIES` starts in all; when none succeeds
no further alternative is reported (the near-optimal set has no plan that far from the others
in the directions tried).

Second stage: with the chosen signs and t >= t_best (less 1e-7 relative), the scenario's own
objective is maximised by the ordinary `solve_model` (so an alternative wastes no aid that it
need not waste to keep its distance, and it is read back, evaluated and re-checked by
`optimizer/solving/recheck.py` like any plan). Each alternative is then within the slack (the floor
row) and at least t from every earlier plan in L1 distance of profiles (t less 1e-7 relative
is what is reported as `certified_distance`, in million yuan of the profile's space), which
`alternatives.csv` measures again from the allocation tables.

Whole decisions (MIP): the alternatives keep the optimum's funds, projects and cadres (pinned
by their bounds, as `optimizer.solving.mip` does) and move the aid only; each is then a plan of the
MIP within the slack of the MIP optimum. Alternatives that open other funds are not searched.

Distances reported (alternatives.csv): L1 on recipient totals (million yuan over the plan)
and L1 on category shares (share of the plan's aid in each category, 0 to 2), to the optimum
and to the nearest other alternative, all measured from the plans. `objective_vs_optimum` is
(f(x) - f*) / |f*|, a fraction (-0.02 at the edge of a 2% slack; the terminal prints -2.00%).
`certified_distance` (in the CSV only) is the search's guarantee t above: the alternative is
at least that far (L1 of profiles, million yuan) from the optimum and from every earlier
alternative; the measured distances are never smaller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from optimizer.data import numbers
from optimizer.data.io import Instance, atomic_write
from optimizer.data.output import result_folder
from optimizer.solving.mip import discrete_vars, free_bounds, pin, release
from optimizer.solving.results import Format, Result, round_figure
from optimizer.data.scaling import require_plain
from optimizer.data.schema import CATEGORIES, Scenario

MAX_ASCENT = 10  # sign updates per ascent
MAX_TRIES = 12  # starts per alternative when ascents find no distinct plan
KEEP = 1e-7  # relative room given to the certificate in the second stage
SPACES = ("recipients", "categories")
SPACE_NAME = {"recipients": "recipient", "categories": "category"}


@dataclass
class Alternatives:
    """The optimum, the alternatives found and the summary table (one row per plan)."""

    optimum: Result
    alternatives: list[Result] = field(default_factory=list)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    recipient_totals: pd.DataFrame = field(default_factory=pd.DataFrame)  # recipient x plan, million yuan
    category_shares: pd.DataFrame = field(default_factory=pd.DataFrame)  # category x plan
    message: str = ""
    slack: float = 0.0
    floor: float | None = None

    @property
    def plans(self) -> dict[str, Result]:
        return {"optimum": self.optimum, **{f"alt-{i}": r for i, r in enumerate(self.alternatives, 1)}}

    @property
    def failed(self) -> Result | None:
        """The first plan that did not solve to optimality (the optimum or an alternative)."""
        return next((r for r in self.plans.values() if not r.ok), None)

    def write(self, out_dir: str | Path, fmt: Format = "csv") -> list[Path]:
        """Each plan in its own folder (out_dir/optimum, out_dir/alt-1, ...) and the summary
        tables alternatives.csv, recipient_totals.csv and category_shares.csv; the folder is
        replaced as a whole."""
        out = Path(out_dir)
        names = list(self.plans)
        with result_folder(out) as folder:
            for name, result in self.plans.items():
                result.write(folder / name, fmt)
            if not self.table.empty:
                for name, table, index in (("alternatives", self.table, False),
                                           ("recipient_totals", self.recipient_totals, True),
                                           ("category_shares", self.category_shares, True)):
                    atomic_write(folder / f"{name}.csv", lambda tmp, t=table, i=index: t.to_csv(
                        tmp, index=i, float_format="%.10g", lineterminator="\n"))
                    names.append(f"{name}.csv")
        return [out / name for name in names]


def alternatives(instance: Instance, slack: float = 0.02, count: int = 3, scenario: Scenario | None = None,
                 space: str = "recipients", seed: int = 0, starts: int = 3,
                 min_distance: float | None = None) -> Alternatives:
    """The optimum and up to `count` plans within `slack` (a fraction of |optimum|) of it that
    are as far apart in L1 distance of recipient totals (`space="categories"`: category
    totals) as the method in this module's docstring finds. Deterministic for a given `seed`."""
    if not 0 < slack < 1:
        raise ValueError(f"slack must be in (0, 1), got {slack}")
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    if space not in SPACES:
        raise ValueError(f"space must be one of {SPACES}, got {space!r}")
    from models.assemble import build_model
    from optimizer.solving.solve import new_solver, solve_model

    scenario = scenario or instance.scenario
    if scenario is not instance.scenario:
        instance = instance.with_scenario(scenario)
    require_plain(instance, "alternatives")
    model = build_model(instance, scenario)
    opt = new_solver()
    optimum = solve_model(model, instance, scenario, opt)
    found = Alternatives(optimum=optimum, slack=slack)
    if not optimum.ok:
        found.message = f"no optimum to start from: {optimum.status}"
        return found

    pinned = []
    if model.integer:  # keep the optimum's whole decisions; move the aid only
        decisions = discrete_vars(model)
        pinned = free_bounds(decisions)
        for v in decisions:
            pin(v, round(v.value or 0.0))
    total = float(optimum.allocation["aid"].sum())
    threshold = max(min_distance if min_distance is not None else 1e-4 * total, 1e-6 * (1 + total))
    rng = np.random.default_rng(seed)
    certificates: dict[str, float] = {}
    search = None
    try:
        search = _Search(model, opt, instance, scenario, space, optimum, slack)
        found.floor = search.floor
        for j in range(1, count + 1):
            best = search.best_direction(rng, starts, threshold)
            if best is None:
                found.message = (f"found {j - 1} of {count}: no further plan within the slack is at least "
                                 f"{numbers.money(threshold)} million yuan (L1, {SPACE_NAME[space]} totals) from every plan found, in "
                                 f"{MAX_TRIES} tries")
                break
            signs, certificate = best
            kept = certificate - KEEP * (1 + abs(certificate))  # what the second stage keeps, and reports
            result = search.second_stage(signs, kept, solve_model)
            result.message = (f"alternative {j}: within {slack * 100:g}% of the optimum, at least {numbers.money(kept)} million "
                              f"yuan (L1, {SPACE_NAME[space]} totals) from every earlier plan; {result.message}")
            result.summary.update(alternative=j, slack=slack, objective_floor=search.floor,
                                  certified_distance=round_figure(kept), distance_space=space)
            found.alternatives.append(result)
            certificates[f"alt-{j}"] = kept
            if not result.ok:
                found.message = f"alternative {j}: {result.status}: {result.message}"
                break
            search.add_reference(result)
    finally:
        release(pinned)
        if search is not None:
            search.remove()
    if not found.message:
        found.message = f"found {len(found.alternatives)} of {count}"
    _summarise(found, instance, certificates)
    return found


class _Search:
    """The near-optimal set on the built model, and the direction problem (D) over it."""

    def __init__(self, model, opt, instance: Instance, scenario: Scenario, space: str, optimum: Result, slack: float):
        self.model, self.opt, self.instance, self.scenario, self.space = model, opt, instance, scenario, space
        sets = model.index_sets
        if space == "recipients":
            self.groups = list(sets.recipients)
            key = {f: f[1] for f in sets.flows}
        else:
            self.groups = list(CATEGORIES)
            key = {f: sets.category[f[2]] for f in sets.flows}
        self.position = {g: n for n, g in enumerate(self.groups)}
        m = model
        m.alt_groups = pyo.Set(initialize=self.groups, ordered=True)
        m.alt_r = pyo.Var(m.alt_groups)
        members: dict[str, list] = {g: [] for g in self.groups}
        for f in sets.flows:
            members[key[f]].append(f)
        m.alt_profile = pyo.Constraint(m.alt_groups, rule=lambda m, g: m.alt_r[g] == sum(m.x[f] for f in members[g]))
        best = float(optimum.objective)
        # a little inside the floor, so that HiGHS's feasibility tolerance cannot take a plan past it
        margin = min(1e-7 * (1 + abs(best)), 0.5 * slack * abs(best))
        self.floor = best - slack * abs(best) + margin
        m.alt_floor = pyo.Constraint(expr=m.objective.expr >= self.floor)
        m.alt_t = pyo.Var()
        m.alt_objective = pyo.Objective(expr=m.alt_t, sense=pyo.maximize)
        m.alt_objective.deactivate()
        m.alt_distance = pyo.ConstraintList()
        self.references: list[np.ndarray] = []
        self.add_reference(optimum)

    def profile(self, result: Result) -> np.ndarray:
        alloc = result.allocation
        column = "recipient" if self.space == "recipients" else "category"
        sums = alloc.groupby(column)["aid"].sum() if len(alloc) else pd.Series(dtype=float)
        return np.array([float(sums.get(g, 0.0)) for g in self.groups])

    def add_reference(self, result: Result) -> None:
        self.references.append(self.profile(result))

    def _set_rows(self, signs: np.ndarray) -> None:
        """t <= s^i . (r - r^i) for every reference plan i (rows replaced each round)."""
        m = self.model
        m.del_component(m.alt_distance)
        m.del_component("alt_distance_index")
        m.alt_distance = pyo.ConstraintList()
        for s, ref in zip(signs, self.references):
            offset = float(s @ ref)
            m.alt_distance.add(m.alt_t - sum(float(s[n]) * m.alt_r[g] for n, g in enumerate(self.groups)) <= -offset)

    def _solve_direction(self, signs: np.ndarray) -> tuple[np.ndarray, float] | None:
        from optimizer.solving.solve import _run

        m = self.model
        self._set_rows(signs)
        m.objective.deactivate()
        m.alt_objective.activate()
        try:
            status, raw = _run(self.opt, m, self.scenario, warm=not m.integer, relaxation=True)
        finally:
            m.alt_objective.deactivate()
            m.objective.activate()
        if status != "optimal":
            return None
        variables = [m.alt_r[g] for g in self.groups] + [m.alt_t]
        values = raw.solution_loader.get_vars(variables)
        return np.array([values[v] for v in variables[:-1]]), float(values[m.alt_t])

    def _ascent(self, signs: np.ndarray) -> tuple[np.ndarray, float] | None:
        """Local ascent from the given signs; returns (signs, certificate) of the best round."""
        best = None
        for _ in range(MAX_ASCENT):
            solved = self._solve_direction(signs)
            if solved is None:
                return best
            r, t = solved
            if best is not None and t <= best[1] + 1e-9 * (1 + abs(best[1])):
                return best
            best = (signs, t)
            diff = r[None, :] - np.array(self.references)
            moved = np.where(np.abs(diff) > 1e-9 * (1 + np.abs(r[None, :])), np.sign(diff), signs)
            if np.array_equal(moved, signs):
                return best
            signs = moved
            # r keeps every new row with t' = min_i ||r - r^i||_1 >= t: the next round is no worse
            best = (signs, float(np.min(np.abs(diff).sum(axis=1))))
        return best

    def best_direction(self, rng: np.random.Generator, starts: int, threshold: float):
        best, good = None, 0
        for _ in range(MAX_TRIES):
            signs = np.where(rng.random((len(self.references), len(self.groups))) < 0.5, -1.0, 1.0)
            found = self._ascent(signs)
            if found is None or found[1] < threshold:
                continue
            if best is None or found[1] > best[1]:
                best = found
            good += 1
            if good >= starts:
                break
        return best

    def second_stage(self, signs: np.ndarray, kept: float, solve_model) -> Result:
        """The scenario's own objective with the distance kept: t >= kept."""
        m = self.model
        self._set_rows(signs)
        m.alt_t.setlb(kept)
        try:
            return solve_model(m, self.instance, self.scenario, self.opt)
        finally:
            m.alt_t.setlb(None)

    def remove(self) -> None:
        m = self.model
        for name in ("alt_distance", "alt_distance_index", "alt_objective", "alt_t", "alt_floor", "alt_profile",
                     "alt_r", "alt_groups"):
            if m.component(name) is not None:
                m.del_component(name)


def recipient_totals(result: Result, instance: Instance) -> pd.Series:
    """Aid to each recipient over the plan (million yuan), every recipient of the instance."""
    sums = result.allocation.groupby("recipient")["aid"].sum() if len(result.allocation) else pd.Series(dtype=float)
    return pd.Series({w: float(sums.get(w, 0.0)) for w in instance.recipients["recipient"]})


def category_shares(result: Result) -> pd.Series:
    """Share of the plan's aid in each category (0 when the plan has no aid)."""
    alloc = result.allocation
    total = float(alloc["aid"].sum()) if len(alloc) else 0.0
    sums = alloc.groupby("category")["aid"].sum() if len(alloc) else pd.Series(dtype=float)
    return pd.Series({c: float(sums.get(c, 0.0)) / total if total > 0 else 0.0 for c in CATEGORIES})


def _summarise(found: Alternatives, instance: Instance, certificates: dict[str, float]) -> None:
    plans = {name: r for name, r in found.plans.items() if r.has_plan}
    if not plans:
        return
    totals = pd.DataFrame({name: recipient_totals(r, instance) for name, r in plans.items()})
    shares = pd.DataFrame({name: category_shares(r) for name, r in plans.items()})
    totals.index.name, shares.index.name = "recipient", "category"
    found.recipient_totals, found.category_shares = totals, shares
    best = found.optimum.objective
    names = list(plans)
    alternatives = [n for n in names if n != "optimum"]

    def l1(table: pd.DataFrame, a: str, b: str) -> float:
        return round_figure(float((table[a] - table[b]).abs().sum()))

    rows = []
    for name in names:
        result = plans[name]
        others = [o for o in alternatives if o != name]
        rows.append({
            "alternative": name,
            "status": result.status,
            "objective": result.objective,
            "objective_vs_optimum": round_figure((result.objective - best) / abs(best)) if best else 0.0,
            "people_lifted": result.summary.get("people_lifted"),
            "total_aid": result.summary.get("total_aid_million"),
            "distance_to_optimum": l1(totals, name, "optimum"),
            "share_distance_to_optimum": l1(shares, name, "optimum"),
            "min_distance_to_others": min((l1(totals, name, o) for o in others), default=math.nan),
            "min_share_distance_to_others": min((l1(shares, name, o) for o in others), default=math.nan),
            "certified_distance": round_figure(certificates.get(name, math.nan)),
        })
    found.table = pd.DataFrame(rows)

