"""An independent re-check of a plan against every rule, in the instance's own terms.

Reads only the instance's tables and the result's `allocation` and `decisions` tables (pandas,
no Pyomo, no solver) and recomputes each rule of docs/model.md from them: pairing, budgets
(with cadre costs), quotas and their growth, priority shares, capacity, investment coupling,
funds (minimum size, admin capacity), projects (all or nothing, timing) and cadre bounds.
`solve` calls it before it reports a plan "optimal": a plan that HiGHS calls optimal but that
breaks a rule beyond the tolerance is reported as numerical trouble instead.

Tolerance: a rule holds when it is violated by at most 1e-6 x (unit + |right-hand side|), the unit
being the instance's own size of money or people (`optimizer.data.scaling.scale_of`: 1 for plain data), so
that the same plan in other units is judged the same.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from optimizer.data.scaling import budgets, scale_of

RTOL = 1e-6
PRIORITY_CATEGORIES = {
    "enterprise_finance_min": ("enterprise_finance", 1),
    "household_finance_min": ("household_finance", 1),
    "public_goods_min": ("public_goods", 1),
    "public_goods_max": ("public_goods", -1),
    "human_resources_min": ("human_resources", 1),
}


def recheck(instance, allocation: pd.DataFrame, decisions: pd.DataFrame, whole: bool = True) -> list[str]:
    """Every violated rule, as one line each ("budget shanghai 2012: spent 30.5, budget 31");
    empty when the plan keeps every rule. `whole=False` (an LP relaxation, whose funds,
    projects and cadres may be fractions) skips the rules of the whole decisions."""
    scenario = instance.scenario
    years = list(scenario.years)
    violations: list[str] = []
    money = scale_of(instance).money


    def check(ok_margin: float, rhs: float, text: str) -> None:
        """ok_margin >= 0 means the rule holds; rhs sets the tolerance's scale."""
        if ok_margin < -RTOL * (money + abs(rhs)):
            violations.append(text)

    alloc = allocation.copy()
    alloc = alloc.astype({"year": int, "aid": float})  # typed also when the plan has no aid (no rows)
    if (alloc["aid"] < -RTOL * money).any():
        violations.append("negative aid in the allocation")
    pairs = set(zip(instance.pairs["donor"], instance.pairs["recipient"]))
    # a Series, not a list: an empty list would select no columns (a plan with no aid at all)
    unpaired = alloc[pd.Series([(d, w) not in pairs for d, w in zip(alloc["donor"], alloc["recipient"])],
                               index=alloc.index, dtype=bool)]
    violations += [f"pairing: {d} gives to {w}, not its pair" for d, w in set(zip(unpaired["donor"], unpaired["recipient"]))]
    outside = sorted(set(alloc["year"]) - set(years))
    if outside:
        violations.append(f"aid in years outside the plan: {outside}")

    # budgets, with cadre costs
    # (sums are read as dicts: one Series lookup per rule took most of the re-check's time)
    budget = budgets(instance.revenue, scenario)
    budget_of = budget.to_dict()
    spent = alloc.groupby(["donor", "year"])["aid"].sum().to_dict()
    cadres = decisions[decisions["kind"] == "cadres"] if len(decisions) else decisions
    cadre_cost = cadres.groupby(["donor", "year"])["money"].sum().to_dict() if len(cadres) else {}
    for d in instance.donors["donor"]:
        for t in years:
            b = float(budget_of.get((d, t), 0.0))
            used = float(spent.get((d, t), 0.0)) + float(cadre_cost.get((d, t), 0.0))
            check(-abs(used - b), b, f"budget {d} {t}: spent {used:.6g}, budget {b:.6g}")

    # quotas and growth
    pair_aid = alloc.groupby(["donor", "recipient", "year"])["aid"].sum().to_dict()
    growth = scenario.priorities.quota_growth_min
    for d, w, q in instance.pairs[["donor", "recipient", "base_quota"]].itertuples(index=False):
        for i, t in enumerate(years):
            a = float(pair_aid.get((d, w, t), 0.0))
            check(a - q, q, f"quota {d}->{w} {t}: {a:.6g} < base quota {q:.6g}")
            if growth is not None and i > 0:
                before = float(pair_aid.get((d, w, years[i - 1]), 0.0))
                check(a - (1 + growth) * before, before, f"quota growth {d}->{w} {t}: {a:.6g} < (1 + {growth:g}) x {before:.6g}")

    # priority shares, per donor-year or nationally per year
    category = dict(zip(instance.instruments["instrument"], instance.instruments["category"]))
    women = set(instance.instruments.loc[instance.instruments["targets_women"], "instrument"])
    special = set(instance.recipients.loc[instance.recipients["special_aid"], "recipient"])
    alloc["category"] = alloc["instrument"].map(category)
    national = scenario.priorities.scope == "national"
    group = pd.Series("*", index=alloc.index) if national else alloc["donor"]
    groups = ["*"] if national else list(instance.donors["donor"])
    group_budget = (budget.groupby(level=1).sum() if national else budget).to_dict()

    def totals(mask) -> dict:
        """Aid of the flows in `mask` per (group, year), summed once for every row of a rule."""
        return alloc["aid"].where(mask, 0.0).groupby([group, alloc["year"]]).sum().to_dict()

    def total(summed: dict, g, t) -> float:
        return float(summed.get((g, t), 0.0))

    everything = pd.Series(True, index=alloc.index)
    for rule, (cat, sense) in PRIORITY_CATEGORIES.items():
        share = getattr(scenario.priorities, rule)
        if share is None:
            continue
        in_category = totals(alloc["category"] == cat)
        for g in groups:
            for t in years:
                b = float(group_budget.get(t if national else (g, t), 0.0))
                amount = total(in_category, g, t)
                check(sense * (amount - share * b), share * b, f"{rule} {g} {t}: {cat} {amount:.6g} against {share:g} x {b:.6g}")
    for rule, mask, base in (("special_aid_min", alloc["recipient"].isin(special), everything),
                             ("women_min", alloc["instrument"].isin(women) & (alloc["category"] == "household_finance"),
                              alloc["category"] == "household_finance")):
        share = getattr(scenario.priorities, rule)
        if share is None:
            continue
        targeted, of = totals(mask), totals(base)
        for g in groups:
            for t in years:
                reference = float(group_budget.get(t if national else (g, t), 0.0)) if rule == "special_aid_min" \
                    else total(of, g, t)
                amount = total(targeted, g, t)
                check(amount - share * reference, share * reference,
                      f"{rule} {g} {t}: {amount:.6g} against {share:g} x {reference:.6g}")

    # capacity
    by_rik = alloc.groupby(["recipient", "instrument", "year"])["aid"].sum().to_dict()
    for w, k, t, cap in instance.capacity[["recipient", "instrument", "year", "max_aid"]].itertuples(index=False):
        if t in years:
            a = float(by_rik.get((w, k, int(t)), 0.0))
            check(cap - a, cap, f"capacity {w} {k} {t}: {a:.6g} > {cap:.6g}")

    # investment coupling
    leverage = dict(zip(instance.instruments["instrument"], instance.instruments["leverage"]))
    rec = instance.recipients.set_index("recipient")
    demand, unlock = rec["investment_demand"].to_dict(), rec["infra_unlock"].to_dict()  # (rec.at per cell was slow)
    paired = {w for _, w in pairs}
    lent = (alloc["aid"] * alloc["instrument"].map(leverage).astype(float))[alloc["category"] == "enterprise_finance"] \
        .groupby([alloc["recipient"], alloc["year"]]).sum().to_dict()
    built = alloc[alloc["category"] == "public_goods"].groupby(["recipient", "year"])["aid"].sum().to_dict()
    for w in paired:
        cumulative = 0.0
        for t in years:
            cumulative += float(built.get((w, t), 0.0))
            limit = float(demand[w]) + float(unlock[w]) * cumulative
            check(limit - float(lent.get((w, t), 0.0)), limit, f"investment {w} {t}: lending above {limit:.6g}")

    # locks: promised aid kept
    flow = alloc.groupby(["donor", "recipient", "instrument", "year"])["aid"].sum().to_dict()
    for d, w, k, t, aid, lo, hi in instance.locks[["donor", "recipient", "instrument", "year", "aid", "min_aid",
                                                    "max_aid"]].itertuples(index=False):
        x = float(flow.get((d, w, k, int(t)), 0.0))
        low, high = (aid, aid) if aid is not None and aid == aid else (lo, hi)
        if low is not None and low == low:
            check(x - low, low, f"lock {d}->{w} {k} {t}: {x:.6g} below {low:g}")
        if high is not None and high == high:
            check(high - x, high, f"lock {d}->{w} {k} {t}: {x:.6g} above {high:g}")

    # coverage floor: people lifted (evaluated from the plan, as the objective counts them: effects that
    # start after the plan discounted by the scenario's [horizon]) against the poor population
    floor = scenario.priorities.coverage_min
    if floor is not None:
        violations += _coverage(instance, alloc, decisions, floor, scale_of(instance).people)

    if whole:
        violations += _whole_decisions(instance, alloc, decisions, years, money)
    return violations


def _coverage(instance, alloc: pd.DataFrame, decisions: pd.DataFrame, floor: float, people: float) -> list[str]:
    from optimizer.solving.evaluate import people_lifted

    funds = decisions[decisions["kind"] == "fund"] if len(decisions) else decisions
    projects = decisions[decisions["kind"] == "project"] if len(decisions) else decisions
    inst = instance.instruments
    fund_instruments = inst.loc[(inst["min_fund_size"] > 0) | (inst["setup_cost"] > 0), "instrument"]
    paired = set(instance.pairs["recipient"])
    # a fund the plan does not name is not established (it then has no capital, or the
    # whole-decision rules report it)
    established = {(w, k): 0.0 for w in paired for k in fund_instruments}
    established.update({(w, k): float(n) for w, k, n in zip(funds.get("recipient", []), funds.get("instrument", []),
                                                            funds.get("count", []))})
    built = {q: float(n) for q, n in zip(projects.get("project", []), projects.get("count", []))}
    lifted = people_lifted(instance, alloc, established, built)
    # the recipients the floor applies to, as in models/coverage.py: effect rows that projects do not replace
    project_lines = set(zip(instance.projects["recipient"], instance.projects["instrument"]))
    with_effect = {w for w, k in zip(instance.effects["recipient"], instance.effects["instrument"])
                   if (w, k) not in project_lines}
    violations = []
    for w, poor in zip(instance.recipients["recipient"], instance.recipients["poor_population"]):
        if w in paired and w in with_effect and poor > 0:
            need = floor * float(poor)
            if lifted[w] < need - RTOL * (people + need):
                violations.append(f"coverage {w}: {lifted[w]:.6g} people lifted < {floor:g} x {float(poor):.6g} poor")
    return violations


def _whole_decisions(instance, alloc: pd.DataFrame, decisions: pd.DataFrame, years: list[int], money: float) -> list[str]:
    violations: list[str] = []
    capital = alloc.groupby(["recipient", "instrument"])["aid"].sum()
    inst = instance.instruments.set_index("instrument")
    funds = decisions[decisions["kind"] == "fund"] if len(decisions) else decisions
    opened = {(w, k) for w, k in zip(funds.get("recipient", []), funds.get("instrument", []))}
    min_size, setup = inst["min_fund_size"].to_dict(), inst["setup_cost"].to_dict()  # (inst.at per fund was slow)
    for (w, k), amount in capital.items():
        least = max(float(min_size[k]), float(setup[k]))
        if least > 0 and amount > RTOL * (money + least):
            if (w, k) not in opened:
                violations.append(f"fund {w} {k}: capital {amount:.6g} without an established fund")
            elif amount < least - RTOL * (money + least):
                violations.append(f"fund {w} {k}: capital {amount:.6g} below its minimum {least:.6g}")
    # admin capacity, raised by cadre-years
    cadres = decisions[decisions["kind"] == "cadres"] if len(decisions) else decisions
    per_cadre = dict(zip(zip(instance.cadres["donor"], instance.cadres["recipient"]), instance.cadres["capacity_per_cadre"]))
    raised: dict[str, float] = defaultdict(float)
    for d, w, n in zip(cadres.get("donor", []), cadres.get("recipient", []), cadres.get("count", [])):
        raised[w] += float(n) * float(per_cadre.get((d, w), 0.0))
    count = defaultdict(int)
    for w, _ in opened:
        count[w] += 1
    for w, limit in zip(instance.recipients["recipient"], instance.recipients["admin_capacity"]):
        if limit is not None and limit == limit and count[w] > float(limit) + raised[w] + RTOL:
            violations.append(f"admin capacity {w}: {count[w]} funds > {limit} + {raised[w]:.6g} from cadres")
    # cadres whole and within bounds
    sent = {(d, w, int(t)): float(n) for d, w, t, n in
            zip(cadres.get("donor", []), cadres.get("recipient", []), cadres.get("year", []), cadres.get("count", []))}
    for d, w, lo, hi in instance.cadres[["donor", "recipient", "min_per_year", "max_per_year"]].itertuples(index=False):
        for t in years:
            n = sent.get((d, w, t), 0.0)
            if abs(n - round(n)) > RTOL or n < lo - RTOL or n > hi + RTOL:
                violations.append(f"cadres {d}->{w} {t}: {n:g} not a whole number in [{lo}, {hi}]")
    # projects: a line's aid is the cost of its built projects, paid from their years on
    projects = instance.projects
    built = set(decisions.loc[decisions["kind"] == "project", "project"]) if len(decisions) else set()
    by_year = alloc.groupby(["recipient", "instrument", "year"])["aid"].sum().to_dict()
    for (w, k), group in projects.groupby(["recipient", "instrument"]):
        chosen = group[[q in built for q in group["project"]]]  # (Series.isin on text, per line, was slow)
        cost = float(chosen["cost"].sum())
        aid = float(capital.get((w, k), 0.0))
        if abs(aid - cost) > RTOL * (money + cost):
            violations.append(f"projects {w} {k}: aid {aid:.6g} is not the cost {cost:.6g} of the projects built")
        for t in years[1:]:
            later = float(chosen.loc[chosen["earliest_year"] >= t, "cost"].sum())
            paid = sum(float(by_year.get((w, k, t2), 0.0)) for t2 in years if t2 >= t)
            if later > paid + RTOL * (money + later):
                violations.append(f"projects {w} {k}: projects from {t} cost {later:.6g}, aid from {t} only {paid:.6g}")
        late = chosen[chosen["earliest_year"] > years[-1]]
        violations += [f"project {q}: built but starts after the plan" for q in late["project"]]
    return violations
