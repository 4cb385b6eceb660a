"""Regenerate the CSV tables of the ewppt-2010 instance from the figures and assumptions below.

    python instances/ewppt-2010/make_tables.py

Every number that ends up in a CSV starts here, with its source or the reason for an
illustrative choice; SOURCES.md explains them in prose. scenario.toml is written by hand
(its proportions are the PROPORTION constants below; keep the two in step).
Money is in million yuan throughout.
"""

from __future__ import annotations

import csv
from pathlib import Path

HERE = Path(__file__).resolve().parent
YEARS = [2011, 2012, 2013, 2014, 2015]
BASE_YEAR = 2010
GROWTH = 0.10  # illustrative nominal revenue growth per year from 2010

# Must equal [proportion] in scenario.toml.
PROPORTION = {"provincial": 0.0012, "prefectural": 0.0006, "county": 0.0004}

# ------------------------------------------------------------------------------------ donors
# 2010 local general budget revenue, million yuan: China Statistical Yearbook 2011,
# "General Budget Revenue of Local Governments by Region" (provinces), and the cities'
# statistical communiques / fiscal reports for the cities. APPROXIMATE, AS RECALLED.
PROVINCES = {  # id: (name, revenue 2010, municipality?)
    "beijing": ("Beijing", 235_400, True),
    "tianjin": ("Tianjin", 106_900, True),
    "shanghai": ("Shanghai", 287_400, True),
    "guangdong": ("Guangdong", 451_700, False),
    "jiangsu": ("Jiangsu", 408_000, False),
    "zhejiang": ("Zhejiang", 260_800, False),
    "shandong": ("Shandong", 274_900, False),
    "liaoning": ("Liaoning", 200_500, False),
    "fujian": ("Fujian", 115_100, False),
}
CITIES = {  # id: (name, province it lies in, revenue 2010)
    "dalian": ("Dalian", "liaoning", 50_000),
    "qingdao": ("Qingdao", "shandong", 45_000),
    "shenzhen": ("Shenzhen", "guangdong", 110_000),
    "ningbo": ("Ningbo", "zhejiang", 53_000),
    "xiamen": ("Xiamen", "fujian", 29_000),
    "zhuhai": ("Zhuhai", "guangdong", 12_000),
}
# Illustrative splits of a donor's revenue over the levels of government.
PROVINCE_SPLIT = {"provincial": 0.25, "prefectural": 0.40, "county": 0.35}
MUNICIPALITY_SPLIT = {"provincial": 0.50, "prefectural": 0.0, "county": 0.50}  # no prefecture level
CITY_SPLIT = {"provincial": 0.0, "prefectural": 0.60, "county": 0.40}  # city level / districts and counties

# --------------------------------------------------------------------------------- recipients
# poor: rural poor under the 2010 line of 1,274 yuan (national total 26.88 million, white paper
# 2011). Province figures are ILLUSTRATIVE (see SOURCES.md): the western twelve together about
# 17.5 million (roughly two thirds of the national total), Guizhou, Yunnan, Gansu largest.
# Province rows EXCLUDE the two prefecture rows (Gansu 2.50 m incl. Linxia 0.35 m; Sichuan
# 2.00 m incl. Liangshan 0.40 m).
# gdp: 2010 GDP, billion yuan, approximate (scales investment demand); depth: poverty depth
# multiplier on every effect; remote: extra multiplier on infrastructure/public services;
# econ: multiplier on enterprise instruments; hr: multiplier on human resources;
# unlock: infra_unlock.
RECIPIENTS = {
    #                 name, province, poor, special, weight, gdp, depth, remote, econ, hr, unlock
    "inner_mongolia": ("Inner Mongolia Autonomous Region", "Inner Mongolia", 500_000, False, 1.0, 1167, 0.85, 1.00, 1.15, 0.95, 1.0),
    "gansu": ("Gansu", "Gansu", 2_150_000, False, 1.0, 412, 1.20, 1.10, 0.95, 1.05, 1.2),
    "yunnan": ("Yunnan", "Yunnan", 2_900_000, False, 1.0, 722, 1.20, 1.10, 1.00, 1.05, 1.2),
    "guangxi": ("Guangxi Zhuang Autonomous Region", "Guangxi", 1_400_000, False, 1.0, 957, 0.95, 1.00, 1.05, 1.00, 1.0),
    "shaanxi": ("Shaanxi", "Shaanxi", 1_600_000, False, 1.0, 1012, 1.00, 1.00, 1.10, 1.00, 1.0),
    "sichuan": ("Sichuan", "Sichuan", 1_600_000, False, 1.0, 1719, 0.95, 1.05, 1.15, 1.00, 1.0),
    "chongqing": ("Chongqing", "Chongqing", 600_000, False, 1.0, 793, 0.90, 1.00, 1.15, 0.95, 1.0),
    "qinghai": ("Qinghai", "Qinghai", 450_000, False, 1.0, 135, 1.15, 1.15, 0.85, 1.10, 0.8),
    "ningxia": ("Ningxia Hui Autonomous Region", "Ningxia", 300_000, False, 1.0, 169, 1.05, 1.05, 0.95, 1.05, 1.0),
    "guizhou": ("Guizhou", "Guizhou", 4_000_000, False, 1.0, 460, 1.25, 1.15, 0.95, 1.10, 1.5),
    "tibet": ("Tibet Autonomous Region", "Tibet", 300_000, True, 1.5, 51, 1.25, 0.90, 0.70, 1.20, 0.5),
    "xinjiang": ("Xinjiang Uygur Autonomous Region", "Xinjiang", 950_000, True, 1.5, 544, 1.10, 1.10, 1.00, 1.10, 1.0),
    "linxia": ("Linxia Hui Autonomous Prefecture", "Gansu", 350_000, False, 1.5, 14, 1.35, 1.10, 0.80, 1.20, 0.8),
    "liangshan": ("Liangshan Yi Autonomous Prefecture", "Sichuan", 400_000, False, 1.5, 85, 1.35, 1.20, 0.85, 1.25, 0.8),
}
DEMAND_FLOOR = 30.0  # million yuan/year every recipient can absorb whatever its size
DEMAND_PER_GDP = 0.35  # million yuan/year of leveraged lending per billion yuan of GDP

# ---------------------------------------------------------------------------------- pairing
MAIN_PAIRS = [
    ("beijing", "inner_mongolia"), ("tianjin", "gansu"), ("shanghai", "yunnan"), ("guangdong", "guangxi"),
    ("jiangsu", "shaanxi"), ("zhejiang", "sichuan"), ("shandong", "chongqing"), ("liaoning", "qinghai"),
    ("fujian", "ningxia"), ("dalian", "guizhou"), ("qingdao", "guizhou"), ("shenzhen", "guizhou"),
    ("ningbo", "guizhou"), ("xiamen", "linxia"), ("zhuhai", "liangshan"),
]
SPECIAL = ["tibet", "xinjiang"]
QUOTA_SHARE = 0.40  # illustrative: base quota = 40% of the donor's 2011 budget

# ------------------------------------------------------------------------------ instruments
# id, category, leverage, targets_women, min_fund_size, setup_cost, base people/million, kind:
# the generator's table (optimizer/data/generate.py), in this instance's order
from optimizer.data.generate import INSTRUMENTS as _INSTRUMENT_TABLE  # noqa: E402

INSTRUMENTS = [(name, *_INSTRUMENT_TABLE[name]) for name in (
    "loan_guarantee", "risk_guarantee", "investment_guarantee", "discount_interest", "sme_fund",
    "household_loan_guarantee", "household_discount", "cdf", "agri_security", "infrastructure", "public_services",
    "human_resources", "market_system")]
# lag_years, illustrative (issue 14): roads and water (infrastructure), schools and clinics
# (public services) are built in the year they are paid for and serve from the next; funds,
# guarantees, discounts and training act in the year they are paid (0). Longer lags (2 years
# for infrastructure, 1 for training and market systems) cost 1.5% of people lifted and forced a
# tenth of the aid off its year profile (the yearly priority shares then buy works that serve
# nobody within the plan).
LAG_YEARS = {"infrastructure": 1, "public_services": 1}
# Segment shape per kind: people/million multipliers (non-increasing) and width multipliers
# (of the recipient's expected aid in the instrument).
# (shared with the synthetic generator, which takes its shapes from this instance)
from optimizer.data.generate import DEFAULT_WIDTH, SEGMENT_RATE, SEGMENT_WIDTH  # noqa: E402
# Typical share of a recipient's aid per instrument (sets the scale of the widths only).
TYPICAL_SHARE = {"enterprise_finance": 0.35 / 5, "household_finance": 0.30 / 4, "public_goods": 0.25 / 2,
                 "human_resources": 0.10 / 2}
EXPECTED_MAIN = 0.90  # share of a main donor's plan budget expected to reach its main recipient
EXPECTED_SPECIAL = 0.07  # share of all donors' plan budget expected to reach Tibet, and Xinjiang

# ------------------------------------------------------------------------------- capacity
# Illustrative absorptive limits per year (million yuan), growing CAPACITY_GROWTH a year from 2011.
CAPACITY_GROWTH = 0.05
CAPACITY_2011 = {
    ("tibet", "infrastructure"): 60.0,
    ("tibet", "public_services"): 45.0,
    ("tibet", "sme_fund"): 8.0,
    ("linxia", "infrastructure"): 4.0,
    ("linxia", "public_services"): 3.0,
    ("linxia", "sme_fund"): 1.2,
    ("liangshan", "infrastructure"): 2.0,
    ("liangshan", "public_services"): 1.5,
    ("liangshan", "sme_fund"): 0.6,
}

# ------------------------------------------------------------------ MIP data (illustrative)
# admin_capacity: funds a recipient's administration can run at once, of the nine fund
# instruments: 2, plus one per ADMIN_PER_GDP billion yuan of 2010 GDP (RECIPIENTS), rounded, at
# most ADMIN_MAX. Larger economies have more banks, guarantee companies and trained staff.
ADMIN_BASE = 2
ADMIN_PER_GDP = 300.0  # billion yuan of GDP per extra fund
ADMIN_MAX = 7

# Candidate projects, built whole or not at all, on one public-goods instrument per recipient
# (the other stays divisible): schools (public_services), rural roads and drinking water
# (infrastructure). recipient: (instrument, [(kind, cost in million yuan, earliest year)]).
# Costs are 10-45% of the recipient's expected aid in the instrument over the plan (E x 0.125,
# see effects below) and fit the capacity limits of Tibet, Linxia and Liangshan from their
# earliest years on.
PROJECTS = {
    "inner_mongolia": ("infrastructure", [("road", 45.0, 2011), ("water", 30.0, 2012), ("road", 40.0, 2013)]),
    "gansu": ("infrastructure", [("water", 18.0, 2011), ("road", 25.0, 2012), ("water", 12.0, 2013)]),
    "yunnan": ("public_services", [("school", 50.0, 2011), ("school", 35.0, 2012), ("school", 45.0, 2013)]),
    "guangxi": ("infrastructure", [("road", 60.0, 2011), ("water", 35.0, 2012), ("road", 50.0, 2013)]),
    "shaanxi": ("public_services", [("school", 70.0, 2011), ("school", 45.0, 2012), ("school", 55.0, 2013)]),
    "sichuan": ("infrastructure", [("road", 35.0, 2011), ("water", 20.0, 2012), ("road", 30.0, 2013)]),
    "chongqing": ("public_services", [("school", 40.0, 2011), ("school", 30.0, 2013)]),
    "qinghai": ("infrastructure", [("water", 20.0, 2011), ("road", 30.0, 2012)]),
    "ningxia": ("infrastructure", [("water", 15.0, 2011), ("water", 10.0, 2012)]),
    "guizhou": ("infrastructure", [("road", 30.0, 2011), ("road", 25.0, 2012), ("water", 15.0, 2013)]),
    "tibet": ("public_services", [("school", 30.0, 2011), ("school", 20.0, 2013)]),
    "xinjiang": ("public_services", [("school", 30.0, 2011), ("school", 25.0, 2012), ("school", 20.0, 2013)]),
    "linxia": ("infrastructure", [("water", 4.0, 2011), ("road", 5.0, 2012)]),
    "liangshan": ("public_services", [("school", 2.0, 2011), ("school", 1.5, 2012)]),
}
# People a project lifts: its cost times the people per million that the recipient's effect
# curve for the instrument (the effect rows the projects replace) gives the cost of all its
# projects together (so diminishing returns carry over), times a factor by kind: drinking water
# reaches poor households at once, a school mostly after the plan.
PROJECT_PEOPLE_FACTOR = {"road": 1.0, "water": 1.15, "school": 0.9}

# Cadre exchange on every pair (the source asks to institutionalise it): (min_per_year,
# max_per_year, cost_per_cadre in million yuan per cadre-year, capacity_per_cadre in funds per
# cadre-year). A cadre costs salary, allowances and housing for a year away; ten cadre-years
# add one fund the recipient can run. Main pairs must send some cadres every year; Tibet and
# Xinjiang may receive a few from every donor (dearer at altitude and distance).
CADRES_MAIN = {"province": (3, 12, 0.25, 0.1), "city": (1, 4, 0.25, 0.1)}
CADRES_SPECIAL = {"tibet": (0, 3, 0.35, 0.1), "xinjiang": (0, 3, 0.30, 0.1)}


def r1(x: float) -> float:
    return round(x, 1)


def revenue_2010() -> dict[str, dict[str, float]]:
    """2010 revenue by donor and level, cities deducted from their province level by level."""
    by_donor: dict[str, dict[str, float]] = {}
    for d, (_, total, municipality) in PROVINCES.items():
        split = MUNICIPALITY_SPLIT if municipality else PROVINCE_SPLIT
        by_donor[d] = {lvl: total * share for lvl, share in split.items()}
    for c, (_, province, total) in CITIES.items():
        by_donor[c] = {lvl: total * share for lvl, share in CITY_SPLIT.items()}
        for lvl in ("prefectural", "county"):
            by_donor[province][lvl] -= by_donor[c][lvl]
            assert by_donor[province][lvl] > 0, (province, lvl)
    return by_donor


def admin_capacity(gdp: float) -> int:
    return min(ADMIN_MAX, ADMIN_BASE + round(gdp / ADMIN_PER_GDP))


def people_of(curve: list[tuple[float, float]], money: float) -> float:
    """People that `money` lifts when it fills the (width, people_per_million) segments in order."""
    people = 0.0
    for width, rate in curve:
        used = min(width, money)
        people, money = people + used * rate, money - used
    return people


def revenue_in(year: int, base: float) -> float:
    return base * (1 + GROWTH) ** (year - BASE_YEAR)


def budgets(rev: dict[str, dict[str, float]]) -> dict[str, dict[int, float]]:
    return {d: {t: sum(PROPORTION[lvl] * r1(revenue_in(t, v)) for lvl, v in levels.items()) for t in YEARS}
            for d, levels in rev.items()}


def write(name: str, header: list[str], rows: list[list]) -> None:
    with open(HERE / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        for row in rows:
            w.writerow(["true" if v is True else "false" if v is False else
                        (f"{v:.10g}" if isinstance(v, float) else v) for v in row])


def main() -> None:
    donors = [(d, name, "province") for d, (name, _, _) in PROVINCES.items()]
    donors += [(c, name, "city") for c, (name, _, _) in CITIES.items()]
    write("donors", ["donor", "name", "kind"], donors)

    rev = revenue_2010()
    write("revenue", ["donor", "level", "year", "revenue"],
          [[d, lvl, t, r1(revenue_in(t, rev[d][lvl]))] for d, _, _ in donors for lvl in PROPORTION for t in YEARS])
    budget = budgets(rev)

    rows = []
    for w, (name, prov, poor, special, weight, gdp, *_rest, unlock) in RECIPIENTS.items():
        rows.append([w, name, prov, poor, special, weight, r1(DEMAND_FLOOR + DEMAND_PER_GDP * gdp), unlock,
                     admin_capacity(gdp)])
    write("recipients", ["recipient", "name", "province", "poor_population", "special_aid", "weight",
                         "investment_demand", "infra_unlock", "admin_capacity"], rows)

    pairs = [[d, w, r1(QUOTA_SHARE * budget[d][YEARS[0]])] for d, w in MAIN_PAIRS]
    pairs += [[d, w, 0.0] for w in SPECIAL for d, _, _ in donors]
    write("pairs", ["donor", "recipient", "base_quota"], pairs)

    write("instruments",
          ["instrument", "category", "leverage", "targets_women", "min_fund_size", "setup_cost", "lag_years"],
          [[k, c, lev, women, m, f, LAG_YEARS.get(k, 0)] for k, c, lev, women, m, f, _, _ in INSTRUMENTS])

    plan_budget = {d: sum(b.values()) for d, b in budget.items()}
    total_plan = sum(plan_budget.values())
    expected = {w: EXPECTED_SPECIAL * total_plan for w in SPECIAL}
    for d, w in MAIN_PAIRS:
        expected[w] = expected.get(w, 0.0) + EXPECTED_MAIN * plan_budget[d]
    rows = []
    curves = {}  # (w,k) -> [(width, people_per_million)]
    for w, (_, _, _, _, _, _, depth, remote, econ, hr, _) in RECIPIENTS.items():
        for k, category, _, _, _, _, base, kind in INSTRUMENTS:
            factor = depth * {"enterprise": econ, "infrastructure": remote, "human_resources": hr}.get(kind, 1.0)
            scale = expected[w] * TYPICAL_SHARE[category]
            for j, (rate, width) in enumerate(zip(SEGMENT_RATE[kind], SEGMENT_WIDTH.get(kind, DEFAULT_WIDTH)), 1):
                curves.setdefault((w, k), []).append((r1(width * scale), r1(base * factor * rate)))
                if PROJECTS.get(w, (None,))[0] != k:  # projects replace the effect rows of their (w,k)
                    rows.append([w, k, j, r1(width * scale), r1(base * factor * rate)])
    write("effects", ["recipient", "instrument", "segment", "width", "people_per_million"], rows)

    rows = []
    for w, (k, listed) in PROJECTS.items():
        total = sum(cost for _, cost, _ in listed)
        rate = people_of(curves[w, k], total) / total  # people per million of all the projects together
        rows += [[f"{w}_{kind}_{j}", w, k, cost, float(round(PROJECT_PEOPLE_FACTOR[kind] * rate * cost, -1)), year]
                 for j, (kind, cost, year) in enumerate(listed, 1)]
    write("projects", ["project", "recipient", "instrument", "cost", "people", "earliest_year"], rows)

    kinds = {d: kind for d, _, kind in donors}
    write("cadres", ["donor", "recipient", "min_per_year", "max_per_year", "cost_per_cadre", "capacity_per_cadre"],
          [[d, w, *CADRES_MAIN[kinds[d]]] for d, w in MAIN_PAIRS]
          + [[d, w, *CADRES_SPECIAL[w]] for w in SPECIAL for d, _, _ in donors])

    write("capacity", ["recipient", "instrument", "year", "max_aid"],
          [[w, k, t, r1(cap * (1 + CAPACITY_GROWTH) ** (t - YEARS[0]))] for (w, k), cap in CAPACITY_2011.items() for t in YEARS])

    # The arithmetic SOURCES.md quotes.
    print(f"{'donor':<10}" + "".join(f"{t:>9}" for t in YEARS) + f"{'plan':>10}{'quota':>8}")
    for d, _, _ in donors:
        quota = next((q for dd, _, q in pairs if dd == d and q > 0), 0.0)
        print(f"{d:<10}" + "".join(f"{budget[d][t]:9.1f}" for t in YEARS) + f"{plan_budget[d]:10.1f}{quota:8.1f}")
    print(f"{'total':<10}" + "".join(f"{sum(budget[d][t] for d in budget):9.1f}" for t in YEARS) + f"{total_plan:10.1f}")
    for lvl in PROPORTION:
        print(lvl, "revenue 2010", round(sum(rev[d][lvl] for d in rev)),
              "budget 2010 basis", round(PROPORTION[lvl] * sum(rev[d][lvl] for d in rev), 1))
    print("expected plan aid by recipient:", {w: round(v) for w, v in expected.items()})


if __name__ == "__main__":
    main()
