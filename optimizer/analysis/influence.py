"""Which guesses matter: the instance's illustrative figures, by family, ranked by how much the
objective moves when the family is off by a stated share (10% by default) either way.

A family is the group of figures a planner verifies together (provenance.csv's rows, grouped):

    effects      one recipient-instrument effect curve: people_per_million of all its segments
    revenue      one donor's revenue: every level and year
    poor         one recipient's poor population
    quota        one pair's base quota
    capacity     one recipient-instrument capacity row: max_aid of every year
    demand       one recipient's investment_demand (the investment coupling's G[w])
    unlock       one recipient's infra_unlock (kappa[w])
    leverage     one instrument's leverage (not under the leveraged_investment objective)

Only a family's illustrative figures move (all of them, when the instance has no provenance.csv);
verified and derived figures stay. Other figure columns (segment widths, weights, lags, funds,
projects, cadres) are not ranked here: they are counted in `InfluenceResult.unranked`.

Method. The plan is solved once with ranging (optimizer/solving/ranging.py). Each family's
first-order move is the envelope theorem, sum over its figures of slope x share x value, where
the slope is d objective / d figure at the optimum: ranging's slope for an effect, a quota, a
capacity and a budget (a donor's budget is sum_l p[l] R[d,l,t], so a revenue figure's slope is
its budget's times p[l]), the duals of the poor-population caps for a poor population, and for
the investment coupling lent[w,t] <= G[w] + kappa[w] built[w,t] (models/investment.py) its
duals: sum_t dual for G[w], sum_t dual x built for kappa[w], minus sum dual x lending for a
leverage. It
is exact while the basis holds and the figure is not a coefficient of a basic column. The
`top` families with the largest first-order move are then re-solved at (1 - share) and
(1 + share) and reported with the re-solved moves, ordered by them; the others keep their
estimate (column `resolved` False). The move of a family is the larger of its two moves in
absolute value.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pandas as pd

from optimizer.data.errors import InvalidInstance
from optimizer.data.io import Instance
from optimizer.data.provenance import figure_columns, read_provenance, row_key
from optimizer.data.schema import TABLES
from optimizer.solving.solve import solve

# (table, column) -> (family kind, key columns of the family)
FAMILIES = {
    ("effects", "people_per_million"): ("effects", ("recipient", "instrument")),
    ("revenue", "revenue"): ("revenue", ("donor",)),
    ("recipients", "poor_population"): ("poor", ("recipient",)),
    ("pairs", "base_quota"): ("quota", ("donor", "recipient")),
    ("capacity", "max_aid"): ("capacity", ("recipient", "instrument")),
    ("recipients", "investment_demand"): ("demand", ("recipient",)),
    ("recipients", "infra_unlock"): ("unlock", ("recipient",)),
    ("instruments", "leverage"): ("leverage", ("instrument",)),
}
COLUMNS = ["rank", "family", "table", "column", "key", "what", "figures", "estimate_down", "estimate_up",
           "move_down", "move_up", "move", "resolved"]


@dataclass
class InfluenceResult:
    """The ranked families (`table`, one row each, largest move first) and what was not ranked."""

    table: pd.DataFrame
    share: float
    objective: str  # the objective in words ("people lifted")
    base: float  # the plan's objective
    unranked: dict[str, int] = field(default_factory=dict)  # "table.column" -> illustrative figures not ranked
    provenance: bool = True  # False: no provenance.csv, every figure counted as illustrative
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    instance_sha256: str = ""

    def csv_table(self) -> pd.DataFrame:
        """The table as influence.csv holds it: with the share, the plan's objective and the
        instance's digest on every row (the report shows it only beside a plan of that instance)."""
        return self.table.assign(share=self.share, objective=self.objective, base=self.base,
                                 instance_sha256=self.instance_sha256)

    def lines(self, top: int = 10) -> list[str]:
        """The planner's lines: the `top` families that move the objective, in words."""
        pct = f"{self.share:.0%}"
        out = [f"which guesses matter: the objective ({self.objective}, {_number(self.base, self.objective)}) "
               f"when each family of illustrative figures is {pct} lower or higher"
               + ("" if self.provenance else " (no provenance.csv: every figure is counted as illustrative)")]
        moving = self.table[self.table["move"].abs() > 0].head(top)
        for row in moving.itertuples():
            how = "re-solved" if row.resolved else "first-order estimate"
            out.append(f"{row.rank:>3}. {row.what}: a {pct} error moves {self.objective} by "
                       f"{_number(row.move, self.objective)} ({_signed(row.move_down, self.objective)} at -{pct}, "
                       f"{_signed(row.move_up, self.objective)} at +{pct}; {how})")
        more = int((self.table["move"].abs() > 0).sum()) - len(moving)
        if more:
            out.append(f"     {more:,} more families move it less (first-order estimates; "
                       "`--out DIR` writes them all to influence.csv)")
        still = int((self.table["move"].abs() == 0).sum())
        if still:
            out.append(f"     {still:,} other families do not move it at the optimum")
        if self.unranked:
            parts = ", ".join(f"{n:,} {name}" for name, n in self.unranked.items())
            out.append(f"     not ranked (no first-order figure here): {parts}")
        out += [f"     note: {n}" for n in self.notes]
        return out


def _number(value: float, objective: str) -> str:
    if "investment" in objective:
        return f"{abs(value):,.2f} million yuan"
    return f"{abs(value):,.0f}"


def _signed(value: float, objective: str) -> str:
    sign = "-" if value < 0 else "+"
    return sign + _number(value, objective)


WORDS = {  # a family in the instance's words, {0} and {1} its key
    "effects": "people lifted per million by {1} in {0}",
    "revenue": "revenue of {0} (every level and year)",
    "poor": "poor population of {0}",
    "quota": "base quota of {0} to {1}",
    "demand": "enterprise investment {0} absorbs a year",
    "unlock": "investment unlocked per million of public goods in {0}",
    "leverage": "leverage of {0}",
    "capacity": "capacity of {1} in {0} (every year)",
}


def _words(kind: str, key: tuple, names: dict[str, str]) -> str:
    """The family in the instance's words: donors and recipients by name, instruments spelled out."""
    key = tuple(names.get(str(k), str(k).replace("_", " ")) for k in key)
    return WORDS[kind].format(*key)


def _names(instance: Instance) -> dict[str, str]:
    names = {}
    for table, column in (("donors", "donor"), ("recipients", "recipient")):
        frame = instance.table(table)
        if "name" in frame.columns:
            names.update({str(k): str(v) for k, v in zip(frame[column], frame["name"]) if isinstance(v, str) and v})
    return names


def influence(instance: Instance, share: float = 0.1, top: int = 10) -> InfluenceResult:
    """Rank the instance's illustrative figure families by how much a `share` error moves the
    objective (first-order for all, re-solved for the `top`); see the module docstring."""
    if not 0 < share < 1:
        raise ValueError(f"share {share}: expected a fraction between 0 and 1, e.g. 0.1")
    if instance.scenario.objective == "equity":
        raise ValueError("the equity objective is ranked in two stages (least coverage, then people lifted); rank "
                         "the guesses under people_lifted or weighted_people_lifted instead")
    started = time.perf_counter()
    rows, problems = read_provenance(instance.path)
    if problems:
        raise InvalidInstance(problems)
    illustrative = None if rows is None else {(r["table"], r["column"], r["key"]) for r in rows
                                               if r["status"] == "illustrative"}
    families = dict(FAMILIES)
    if instance.scenario.objective == "leveraged_investment":  # leverage is in the objective too: not ranked
        del families[("instruments", "leverage")]
    unranked: dict[str, int] = {}
    if rows is not None:
        for r in rows:
            if r["status"] == "illustrative" and (r["table"], r["column"]) not in families:
                name = f"{r['table']}.{r['column']}"
                unranked[name] = unranked.get(name, 0) + 1
    else:
        for table, spec in TABLES.items():
            for column in figure_columns(spec):
                figures = int(instance.table(table)[column].notna().sum()) if column in instance.table(table) else 0
                if (table, column) not in families and figures:
                    unranked[f"{table}.{column}"] = figures

    base = solve(instance, ranging=True)
    if not base.ok or base.ranging is None:
        raise RuntimeError(f"the plan did not solve to optimal ({base.status}): nothing to rank"
                           + (" (`ewppt explain` says why)" if base.status == "infeasible" else ""))
    slope = _slopes(instance, base)

    # family -> its illustrative figures [(table, row label)] and first-order move at +share
    members: dict[tuple, list] = {}
    estimate: dict[tuple, float] = {}
    for (table, column), (kind, by) in families.items():
        spec = TABLES[table]
        frame = instance.table(table)
        for label, record in frame.iterrows():
            values = record.to_dict()
            if illustrative is not None and (table, column, row_key(spec, values)) not in illustrative:
                continue
            family = (kind, table, column, tuple(values[c] for c in by))
            members.setdefault(family, []).append(label)
            figure = float(values[column])
            estimate[family] = estimate.get(family, 0.0) + share * figure * slope(kind, values) + 0.0

    names = _names(instance)
    records = []
    for family, labels in members.items():
        kind, table, column, key = family
        up = estimate[family] + 0.0  # (no -0.0)
        records.append({"family": kind, "table": table, "column": column, "key": "|".join(map(str, key)),
                        "what": _words(kind, key, names), "figures": len(labels), "estimate_down": 0.0 - up,
                        "estimate_up": up, "move_down": 0.0 - up, "move_up": up, "move": abs(up), "resolved": False,
                        "_family": family})
    frame = pd.DataFrame(records, columns=COLUMNS[1:] + ["_family"])
    frame = frame.sort_values("move", ascending=False, kind="stable").reset_index(drop=True)

    notes: list[str] = []
    for i in frame.index[frame["move"] > 0][:top]:
        kind, table, column, _ = frame.at[i, "_family"]
        moved = []
        for factor in (1 - share, 1 + share):
            changed = _scaled(instance, table, column, members[frame.at[i, "_family"]], factor)
            if changed is None:
                notes.append(f"{frame.at[i, 'what']}: scaled by {factor:g} the instance is invalid; kept the estimate")
                break
            result = solve(changed)
            if not result.ok:
                notes.append(f"{frame.at[i, 'what']}: at {factor:g} the plan is {result.status}; kept the estimate")
                break
            moved.append(result.objective - base.objective)
        else:
            frame.loc[i, ["move_down", "move_up"]] = moved
            frame.at[i, "move"] = max(abs(moved[0]), abs(moved[1]))
            frame.at[i, "resolved"] = True
    frame = frame.drop(columns="_family")
    frame = frame.sort_values(["resolved", "move"], ascending=[False, False], kind="stable").reset_index(drop=True)
    frame.insert(0, "rank", range(1, len(frame) + 1))
    objective = instance.scenario.objective.replace("_", " ")
    return InfluenceResult(table=frame, share=share, objective=objective, base=float(base.objective),
                           unranked=unranked, provenance=rows is not None, notes=notes,
                           seconds=time.perf_counter() - started, instance_sha256=instance.digest)


def _slopes(instance: Instance, base):
    """d objective / d figure at the optimum, for a figure of each family kind."""
    ranging = base.ranging
    effects = {(r.recipient, r.instrument, int(r.segment)): float(r.slope)
               for r in ranging[ranging["family"] == "effects"].itertuples()}
    budgets = {(r.donor, int(r.year)): float(r.slope)
               for r in ranging[ranging["family"] == "budget"].itertuples()}
    quota = ranging[(ranging["family"] == "quota") & ranging["year"].isna()]
    quotas = {(r.donor, r.recipient): float(r.slope) for r in quota.itertuples()}
    capacity = {(r.recipient, r.instrument, int(r.year)): float(r.slope)
                for r in ranging[ranging["family"] == "capacity"].itertuples()}
    duals = base.duals
    caps: dict[str, float] = {}
    for r in duals[duals["family"].isin(["poor_population_cap", "year_poor_population_cap"])].itertuples():
        caps[r.recipient] = caps.get(r.recipient, 0.0) + float(r.dual)
    proportion = instance.scenario.proportion.model_dump()
    # the investment coupling, lent[w,t] <= G[w] + kappa[w] built[w,t]: its duals, the public
    # goods built by each year and the lending of each instrument
    coupling = {(r.recipient, int(r.year)): float(r.dual) for r in duals[duals["family"] == "investment"].itertuples()}
    aid = base.allocation.groupby(["recipient", "instrument", "category", "year"], as_index=False)["aid"].sum()
    goods = aid[aid["category"] == "public_goods"].groupby(["recipient", "year"])["aid"].sum()
    built = {(w, t): float(goods[(goods.index.get_level_values(0) == w) & (goods.index.get_level_values(1) <= t)].sum())
             for w, t in coupling}
    lent = {}
    for r in aid[aid["category"] == "enterprise_finance"].itertuples():
        lent[r.instrument] = lent.get(r.instrument, 0.0) - coupling.get((r.recipient, int(r.year)), 0.0) * float(r.aid)

    def slope(kind: str, v: dict) -> float:
        if kind == "effects":
            return effects.get((v["recipient"], v["instrument"], int(v["segment"])), 0.0)
        if kind == "revenue":
            return budgets.get((v["donor"], int(v["year"])), 0.0) * float(proportion[v["level"]])
        if kind == "poor":
            return caps.get(v["recipient"], 0.0)
        if kind == "quota":
            return quotas.get((v["donor"], v["recipient"]), 0.0)
        if kind == "demand":
            return sum(dual for (w, _), dual in coupling.items() if w == v["recipient"])
        if kind == "unlock":
            return sum(dual * built[(w, t)] for (w, t), dual in coupling.items() if w == v["recipient"])
        if kind == "leverage":
            return lent.get(v["instrument"], 0.0)
        return capacity.get((v["recipient"], v["instrument"], int(v["year"])), 0.0)

    return slope


def _scaled(instance: Instance, table: str, column: str, labels: list, factor: float) -> Instance | None:
    """The instance with the family's figures times `factor` (None when that is invalid)."""
    from optimizer.data.checks import run_checks

    tables = {name: instance.table(name).copy() for name in TABLES}
    frame = tables[table]
    frame[column] = frame[column].astype(float)
    frame.loc[labels, column] = frame.loc[labels, column] * factor
    errors, warnings = run_checks(tables, instance.scenario)
    if errors:
        return None
    return Instance(path=instance.path, scenario=instance.scenario, warnings=tuple(warnings), **tables)
