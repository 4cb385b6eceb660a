"""Priority shares of the source's conclusion, per donor-year or nationally per year."""

from __future__ import annotations

import pyomo.environ as pyo

from models.variables import row
from optimizer.data.io import Instance
from optimizer.data.schema import Scenario

NATIONAL = "*"  # the donor index of a national (all donors) share row

# rule name -> (category whose aid is counted, sense)
CATEGORY_RULES = {
    "enterprise_finance_min": ("enterprise_finance", ">="),
    "household_finance_min": ("household_finance", ">="),
    "public_goods_min": ("public_goods", ">="),
    "public_goods_max": ("public_goods", "<="),
    "human_resources_min": ("human_resources", ">="),
}


def add_priorities(m: pyo.ConcreteModel, instance: Instance, scenario: Scenario) -> None:
    """For each rule the scenario sets, per group g and plan year t, where a group is one donor
    (`scope = "donor"`) or all donors together (`scope = "national"`, donor index "*"):

        category minimums:  sum_{flows of g,t in category c} x >= share[rule] * B[g,t]
        public_goods_max:   sum_{flows of g,t in public_goods} x <= share[rule] * B[g,t]
        special_aid_min:    sum_{flows of g,t to special aid recipients} x >= share[rule] * B[g,t]
        women_min:          sum_{flows of g,t to women-targeting household instruments} x
                                >= share[rule] * sum_{flows of g,t in household_finance} x

    with B[g,t] the budget of the group (sum over its donors). All rows live in one block,
    `priority_share[rule, group, t]`, so duals and binding reports name the rule.
    """
    sets = m.index_sets
    rules = [k for k in (*CATEGORY_RULES, "special_aid_min", "women_min") if getattr(scenario.priorities, k) is not None]
    if scenario.priorities.scope == "donor":
        groups = {d: [d] for d in sets.donors}
    else:
        groups = {NATIONAL: list(sets.donors)}
    keys = [(rule, g, t) for rule in rules for g in groups for t in sets.years]

    def flows_of(g: str, t: int):
        return [f for d in groups[g] for f in sets.flows_by_donor_year.get((d, t), ())]

    def rule_body(m, rule, g, t):
        flows = flows_of(g, t)
        budget = sum(m.budget_amount[d, t] for d in groups[g])
        share = m.share_bound[rule]
        # (lower, body, upper) keeps the Params on the bound side, so a row's dual is
        # d objective / d bound whatever Pyomo would otherwise move across
        if rule in CATEGORY_RULES:
            category, sense = CATEGORY_RULES[rule]
            aid = sum(m.x[f] for f in flows if sets.category[f[2]] == category)
            return row(m, None, aid, share * budget) if sense == "<=" else row(m, share * budget, aid, None)
        if rule == "special_aid_min":
            return row(m, share * budget, sum(m.x[f] for f in flows if f[1] in sets.special_aid), None)
        household = [f for f in flows if sets.category[f[2]] == "household_finance"]
        women = sum(m.x[f] for f in household if f[2] in sets.targets_women)
        return row(m, 0, women - share * sum(m.x[f] for f in household), None)

    m.priority_share = pyo.Constraint(keys, rule=rule_body)
