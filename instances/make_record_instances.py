"""Regenerate the CSV tables of the instances from the record.

    python instances/make_record_instances.py          # rewrites the CSVs, prints the budgets

Writes the tables of `ewppt-1996/`, `ewppt-2002/`, `history-2003-2007/` and `plan-2011-2015/`
(never their scenario.toml, README.md or SOURCES.md, which are written by hand). The figures
and conventions of `ewppt-2010/make_tables.py` (2010 revenue of the donors and its split by
level, recipients, instruments, the shape of the effect curves) are imported from that
script, not copied; only what differs per instance is set here, with its source or reason.
Each instance's SOURCES.md explains these constants in prose. Money is in million yuan.
"""

import csv
import importlib.util
import math
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("ewppt_2010_tables", HERE / "ewppt-2010" / "make_tables.py")
E10 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(E10)

LEVELS = ("provincial", "prefectural", "county")

# ---------------------------------------------------------------------------- the record
# Local general budget revenue of all local governments, 100 million yuan: China Statistical
# Yearbook, table "Central and Local Government Revenue" (APPROXIMATE, AS RECALLED). Used only
# as an index to carry the donors' 2010 revenue back to earlier years.
LOCAL_REVENUE = {
    1996: 3_746.92, 1997: 4_424.22, 1998: 4_983.95, 1999: 5_594.87, 2000: 6_406.06, 2001: 7_803.30,
    2002: 8_515.00, 2003: 9_849.98, 2004: 11_893.37, 2005: 15_100.76, 2006: 18_303.58, 2007: 23_572.62,
    2008: 28_649.79, 2009: 32_602.59, 2010: 40_613.04,
}
# The source: free fiscal aid 1996-2010, million yuan (7.86 billion yuan).
FREE_FISCAL_AID_1996_2010 = 7860.0
# Nominal GDP of China, 100 million yuan (APPROXIMATE, AS RECALLED, first releases): scales the
# 2010 investment demand of the recipients back to the first plan year.
NATIONAL_GDP = {1997: 78_973.0, 2003: 135_823.0, 2010: 401_513.0}
# Rural poor, million people, under the official line of the time, at the end of the year
# before the plan (APPROXIMATE, AS RECALLED: poverty monitoring reports / white papers):
# 1996 58.0 (line about 530 yuan), 2002 28.2 (absolute line 627 yuan), 2010 26.88 (1,274 yuan).
NATIONAL_POOR = {1996: 58.0, 2002: 28.2, 2010: 26.88}
# Official rural poverty line, yuan per person-year, in the first plan year (APPROXIMATE, AS
# RECALLED): people lifted per million yuan scale with 1274 / line (a lower line is a smaller
# gap to close per person).
POVERTY_LINE = {1997: 640.0, 2003: 637.0, 2010: 1274.0}

# Table 1 of the source (2003-2007, million yuan), as printed.
TABLE1_GOVERNMENT_FUNDS = {"provincial": 1232.209, "prefectural": 552.343, "county": 364.1646}
TABLE1_CONTEXT = [
    # item, parent, sums_to_parent, value, note
    ("government_funds", "total", True, 2377.197, "Table 1 row 'Government funds' (printed total of the three levels)"),
    ("provincial", "government_funds", True, 1232.209, "Table 1, government funds at provincial level"),
    ("prefectural", "government_funds", True, 552.343, "Table 1, government funds at prefectural (municipal) level"),
    ("county", "government_funds", True, 364.1646, "Table 1, government funds at county level"),
    ("enterprise_investments", "total", True, 391739.39, "Table 1 row 'Enterprise investments'"),
    ("real_investments", "enterprise_investments", False, 89621.235,
     "Table 1, real investments within enterprise investments: an 'of which' row, not a summand of the total"),
    ("tax_payments", "total", True, 1433.13, "Table 1 row 'Tax payments'"),
    ("social_donations", "total", True, 399.34, "Table 1 row 'Social donations'"),
    ("total", "", True, 487719.01, "Table 1 row 'Total', as printed"),
]
PLAN_CONTEXT = [
    ("free_fiscal_aid_1996_2010", "", True, 7860.0, "Source: free fiscal aid of the eastern donors, 1996-2010 (7.86 billion yuan)"),
    ("enterprise_investment_1996_2010", "", True, 697270.0,
     "Source: enterprise investment in the west under the partnerships, 1996-2010 (697.27 billion yuan)"),
    ("government_funds_2003_2007", "", True, 2377.197, "Table 1 of the source, government funds 2003-2007 as printed"),
]

# ---------------------------------------------------------------------------- the pairings
# DESIGN.md section 1. 1996: nine provinces and four cities; 2002: plus Zhuhai and Xiamen
# helping Chongqing; 2010 (ewppt-2010/make_tables.py MAIN_PAIRS): the adjusted list.
PAIRS_1996 = [
    ("beijing", "inner_mongolia"), ("tianjin", "gansu"), ("shanghai", "yunnan"), ("guangdong", "guangxi"),
    ("jiangsu", "shaanxi"), ("zhejiang", "sichuan"), ("shandong", "xinjiang"), ("liaoning", "qinghai"),
    ("fujian", "ningxia"), ("dalian", "guizhou"), ("qingdao", "guizhou"), ("shenzhen", "guizhou"),
    ("ningbo", "guizhou"),
]
PAIRS_2002 = PAIRS_1996 + [("zhuhai", "chongqing"), ("xiamen", "chongqing")]
PAIRS_2010 = list(E10.MAIN_PAIRS)

# Recipients as areas of the 2010 table (ewppt-2010 RECIPIENTS): a recipient here may merge
# several 2010 rows (poor population and GDP add up; the multipliers are the first row's).
RECIPIENTS_1996 = {  # Chongqing was part of Sichuan until March 1997; Linxia and Liangshan not separate
    "inner_mongolia": ["inner_mongolia"], "gansu": ["gansu", "linxia"], "yunnan": ["yunnan"],
    "guangxi": ["guangxi"], "shaanxi": ["shaanxi"], "sichuan": ["sichuan", "liangshan", "chongqing"],
    "xinjiang": ["xinjiang"], "qinghai": ["qinghai"], "ningxia": ["ningxia"], "guizhou": ["guizhou"],
}
RECIPIENTS_2002 = {
    "inner_mongolia": ["inner_mongolia"], "gansu": ["gansu", "linxia"], "yunnan": ["yunnan"],
    "guangxi": ["guangxi"], "shaanxi": ["shaanxi"], "sichuan": ["sichuan", "liangshan"],
    "chongqing": ["chongqing"], "xinjiang": ["xinjiang"], "qinghai": ["qinghai"], "ningxia": ["ningxia"],
    "guizhou": ["guizhou"],
}


@dataclass
class Spec:
    """What makes one instance: its years, pairing, recipients, budgets and effect scale."""

    folder: str
    years: list[int]
    pairs: list[tuple[str, str]]
    recipients: dict[str, list[str]]
    revenue: dict[str, dict[str, dict[int, float]]]  # donor -> level -> year -> revenue (million yuan)
    proportion: dict[str, float]
    special: list[str] = field(default_factory=list)  # every donor also paired with these
    poor_scale: float = 1.0
    demand_scale: float = 1.0
    effect_scale: float = 1.0  # on every people_per_million
    enterprise_effect: float = 1.0  # extra factor on enterprise instruments
    capacity: bool = False
    lags: bool = False  # instruments.csv with ewppt-2010's lag_years (else no lag column: every lag 0)
    context: list[tuple] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)


def donors_of(pairs: list[tuple[str, str]]) -> list[str]:
    order = list(E10.PROVINCES) + list(E10.CITIES)
    present = {d for d, _ in pairs}
    return [d for d in order if d in present]


def revenue_base(donors: list[str]) -> dict[str, dict[str, float]]:
    """2010 revenue by donor and level (ewppt-2010's figures and splits), with only the cities
    that are donors here taken out of their provinces (a city that is not a donor stays in its
    province's revenue)."""
    by_donor: dict[str, dict[str, float]] = {}
    for d, (_, total, municipality) in E10.PROVINCES.items():
        split = E10.MUNICIPALITY_SPLIT if municipality else E10.PROVINCE_SPLIT
        by_donor[d] = {lvl: total * share for lvl, share in split.items()}
    for c, (_, province, total) in E10.CITIES.items():
        if c not in donors:
            continue
        by_donor[c] = {lvl: total * share for lvl, share in E10.CITY_SPLIT.items()}
        for lvl in ("prefectural", "county"):
            by_donor[province][lvl] -= by_donor[c][lvl]
    return {d: by_donor[d] for d in donors}


def indexed_revenue(donors: list[str], years: list[int]) -> dict[str, dict[str, dict[int, float]]]:
    """Revenue of year t = 2010 revenue x local revenue(t) / local revenue(2010), to 0.1 million."""
    base = revenue_base(donors)
    return {d: {lvl: {t: round(v * LOCAL_REVENUE[t] / LOCAL_REVENUE[2010], 1) for t in years}
                for lvl, v in levels.items()} for d, levels in base.items()}


def grown_revenue(donors: list[str], years: list[int]) -> dict[str, dict[str, dict[int, float]]]:
    """ewppt-2010's revenue exactly: 2010 figures grown by its GROWTH a year, to 0.1 million."""
    base = E10.revenue_2010()
    return {d: {lvl: {t: E10.r1(E10.revenue_in(t, v)) for t in years} for lvl, v in base[d].items()} for d in donors}


def largest_remainder(shares: dict, total: float, decimals: int) -> dict:
    """Split `total` in proportion to `shares`, rounded to `decimals`, adding up exactly."""
    unit = 10 ** decimals
    units = round(total * unit)
    weight = sum(shares.values())
    exact = {k: units * v / weight for k, v in shares.items()}
    floor = {k: math.floor(v) for k, v in exact.items()}
    left = units - sum(floor.values())
    for k in sorted(exact, key=lambda k: (floor[k] - exact[k], str(k)))[:left]:
        floor[k] += 1
    return {k: v / unit for k, v in floor.items()}


def history_funds(donors: list[str], years: list[int]) -> dict[str, dict[str, dict[int, float]]]:
    """Table 1's government funds of each level, split over donors and years in proportion to the
    donors' revenue of that level (indexed_revenue), to 0.0001 million, adding up exactly."""
    revenue = indexed_revenue(donors, years)
    funds: dict[str, dict[str, dict[int, float]]] = {d: {lvl: {} for lvl in LEVELS} for d in donors}
    for lvl, total in TABLE1_GOVERNMENT_FUNDS.items():
        shares = {(d, t): revenue[d][lvl][t] for d in donors for t in years}
        for (d, t), v in largest_remainder(shares, total, 4).items():
            funds[d][lvl][t] = v
    return funds


def budgets(spec: Spec) -> dict[str, dict[int, float]]:
    return {d: {t: sum(spec.proportion[lvl] * spec.revenue[d][lvl][t] for lvl in LEVELS) for t in spec.years}
            for d in spec.revenue}


def fmt(v, decimals: int = 10) -> str:
    if v is True or v is False:
        return "true" if v else "false"
    if isinstance(v, float):
        text = f"{v:.{decimals}f}".rstrip("0").rstrip(".")
        return text if text not in ("", "-0") else "0"
    return str(v)


def write(folder: Path, name: str, header: list[str], rows: list[list]) -> None:
    with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        for row in rows:
            w.writerow([fmt(v) for v in row])


def build(spec: Spec, root: Path = HERE) -> dict[str, dict[int, float]]:
    """Write the spec's CSV tables into root/<folder>/ and return the budgets B[d,t]."""
    folder = root / spec.folder
    folder.mkdir(parents=True, exist_ok=True)
    donors = list(spec.revenue)
    kinds = {d: "province" for d in E10.PROVINCES} | {c: "city" for c in E10.CITIES}
    names = {d: v[0] for d, v in E10.PROVINCES.items()} | {c: v[0] for c, v in E10.CITIES.items()}
    write(folder, "donors", ["donor", "name", "kind"], [[d, names[d], kinds[d]] for d in donors])
    write(folder, "revenue", ["donor", "level", "year", "revenue"],
          [[d, lvl, t, float(spec.revenue[d][lvl][t])] for d in donors for lvl in LEVELS for t in spec.years])
    budget = budgets(spec)

    # recipients: merged 2010 rows
    table = E10.RECIPIENTS
    merged = {}
    for w, parts in spec.recipients.items():
        name, prov, _, special, weight, _, depth, remote, econ, hr, unlock = table[parts[0]]
        poor = sum(table[p][2] for p in parts)
        gdp = sum(table[p][5] for p in parts)
        merged[w] = dict(name=spec.names.get(w, name), province=prov, poor=round(poor * spec.poor_scale, -3),
                         special=special, weight=weight, gdp=gdp, depth=depth, remote=remote, econ=econ, hr=hr,
                         unlock=unlock)
    write(folder, "recipients", ["recipient", "name", "province", "poor_population", "special_aid", "weight",
                                      "investment_demand", "infra_unlock"],
          [[w, r["name"], r["province"], float(r["poor"]), r["special"], float(r["weight"]),
            E10.r1(spec.demand_scale * (E10.DEMAND_FLOOR + E10.DEMAND_PER_GDP * r["gdp"])), float(r["unlock"])]
           for w, r in merged.items()])

    first = spec.years[0]
    pairs = [[d, w, E10.r1(E10.QUOTA_SHARE * budget[d][first])] for d, w in spec.pairs]
    pairs += [[d, w, 0.0] for w in spec.special for d in donors]
    write(folder, "pairs", ["donor", "recipient", "base_quota"], pairs)

    lag_column = ["lag_years"] if spec.lags else []
    write(folder, "instruments",
          ["instrument", "category", "leverage", "targets_women", "min_fund_size", "setup_cost", *lag_column],
          [[k, c, float(lev), women, float(m), float(f), *([E10.LAG_YEARS.get(k, 0)] if spec.lags else [])]
           for k, c, lev, women, m, f, _, _ in E10.INSTRUMENTS])

    # effects: ewppt-2010's formula, widths scaled by this instance's expected aid
    plan_budget = {d: sum(b.values()) for d, b in budget.items()}
    total_plan = sum(plan_budget.values())
    expected = {w: E10.EXPECTED_SPECIAL * total_plan for w in spec.special}
    for d, w in spec.pairs:
        expected[w] = expected.get(w, 0.0) + E10.EXPECTED_MAIN * plan_budget[d]
    rows = []
    for w, r in merged.items():
        for k, category, _, _, _, _, base, kind in E10.INSTRUMENTS:
            factor = r["depth"] * {"enterprise": r["econ"], "infrastructure": r["remote"],
                                   "human_resources": r["hr"]}.get(kind, 1.0)
            factor *= spec.effect_scale * (spec.enterprise_effect if kind == "enterprise" else 1.0)
            scale = expected[w] * E10.TYPICAL_SHARE[category]
            for j, (rate, width) in enumerate(zip(E10.SEGMENT_RATE[kind], E10.SEGMENT_WIDTH.get(kind, E10.DEFAULT_WIDTH)), 1):
                rows.append([w, k, j, E10.r1(width * scale), E10.r1(base * factor * rate)])
    write(folder, "effects", ["recipient", "instrument", "segment", "width", "people_per_million"], rows)

    if spec.capacity:
        write(folder, "capacity", ["recipient", "instrument", "year", "max_aid"],
              [[w, k, t, E10.r1(cap * (1 + E10.CAPACITY_GROWTH) ** (t - first))]
               for (w, k), cap in E10.CAPACITY_2011.items() for t in spec.years])
    if spec.context:
        write(folder, "context", ["item", "parent", "sums_to_parent", "value", "unit", "note"],
              [[item, parent, sums, float(value), "million yuan", note] for item, parent, sums, value, note in spec.context])
    return budget


def report(spec: Spec, budget: dict[str, dict[int, float]]) -> None:
    """The budget table each SOURCES.md quotes (million yuan)."""
    print(f"\n## {spec.folder}: budget B[d,t] (million yuan)")
    first = spec.years[0]
    print("| donor | " + " | ".join(map(str, spec.years)) + " | plan | base quota |")
    print("| --- |" + " ---: |" * (len(spec.years) + 2))
    quota = {d: E10.r1(E10.QUOTA_SHARE * budget[d][first]) for d in budget}
    for d, b in budget.items():
        print(f"| {d} | " + " | ".join(f"{b[t]:,.1f}" for t in spec.years) + f" | {sum(b.values()):,.1f} | {quota[d]:,.1f} |")
    totals = [sum(b[t] for b in budget.values()) for t in spec.years]
    print("| **total** | " + " | ".join(f"**{v:,.1f}**" for v in totals) + f" | **{sum(totals):,.1f}** | |")
    for lvl in LEVELS:
        plan = sum(spec.proportion[lvl] * spec.revenue[d][lvl][t] for d in spec.revenue for t in spec.years)
        print(f"- {lvl}: revenue over the plan {sum(spec.revenue[d][lvl][t] for d in spec.revenue for t in spec.years):,.4f}"
              f", budget over the plan {plan:,.4f}")


def specs() -> list[Spec]:
    years_1996 = [1997, 1998, 1999, 2000, 2001]
    years_2002 = [2003, 2004, 2005, 2006, 2007]
    years_plan = list(E10.YEARS)
    d1996, d2002, d2010 = donors_of(PAIRS_1996), donors_of(PAIRS_2002), donors_of(PAIRS_2010)
    gdp_ratio = {t: NATIONAL_GDP[t] / NATIONAL_GDP[2010] for t in (1997, 2003)}
    line_ratio = {t: POVERTY_LINE[2010] / POVERTY_LINE[t] for t in (1997, 2003)}
    return [
        Spec("ewppt-1996", years_1996, PAIRS_1996, RECIPIENTS_1996, indexed_revenue(d1996, years_1996),
             PROPORTION_1996, poor_scale=NATIONAL_POOR[1996] / NATIONAL_POOR[2010], demand_scale=gdp_ratio[1997],
             effect_scale=line_ratio[1997], names={"sichuan": "Sichuan (including Chongqing, a separate municipality from 1997)"}),
        Spec("ewppt-2002", years_2002, PAIRS_2002, RECIPIENTS_2002, indexed_revenue(d2002, years_2002),
             PROPORTION_2002, poor_scale=NATIONAL_POOR[2002] / NATIONAL_POOR[2010], demand_scale=gdp_ratio[2003],
             effect_scale=line_ratio[2003]),
        Spec("history-2003-2007", years_2002, PAIRS_2002, RECIPIENTS_2002, history_funds(d2002, years_2002),
             {lvl: 1.0 for lvl in LEVELS}, poor_scale=NATIONAL_POOR[2002] / NATIONAL_POOR[2010],
             demand_scale=gdp_ratio[2003], effect_scale=line_ratio[2003], context=TABLE1_CONTEXT),
        Spec("plan-2011-2015", years_plan, PAIRS_2010, {w: [w] for w in E10.RECIPIENTS}, grown_revenue(d2010, years_plan),
             PROPORTION_PLAN, special=["tibet", "xinjiang"], enterprise_effect=AGRI_GUIDANCE, capacity=True,
             lags=True, context=PLAN_CONTEXT),
    ]


# ------------------------------------------------------------------------- the proportions
# Must equal [proportion] in each scenario.toml (SOURCES.md gives the reasoning).
# ewppt-2002: Table 1's government funds by level over 2003-2007 divided by the donors' revenue
# of that level over the same years (indexed_revenue), rounded to two significant digits
# (main() prints the calibration).
PROPORTION_2002 = {"provincial": 0.00086, "prefectural": 0.00042, "county": 0.00021}
# ewppt-1996: the same 4 : 2 : 1 mix at the level that spends the estimate of free fiscal aid
# in 1997-2001 (about 1,120 million yuan; estimate_yearly_aid below, SOURCES.md). Illustrative.
PROPORTION_1996 = {"provincial": 0.0012, "prefectural": 0.0006, "county": 0.0003}
# plan-2011-2015: ewppt-2010's mix (0.0012 : 0.0006 : 0.0004) scaled by about 5/6 and rounded, so
# that the 2011 total (1,495 million) is in the range of the recent actual aid (the estimate for
# 2010 is about 1,550 million; estimate_yearly_aid below, SOURCES.md).
PROPORTION_PLAN = {"provincial": 0.0010, "prefectural": 0.0005, "county": 0.0003}
# plan-2011-2015: enterprises guided to agricultural and biological resources lift more poor
# people per yuan than the average enterprise (the source's conclusion); illustrative factor.
AGRI_GUIDANCE = 1.2


def estimate_yearly_aid() -> dict[int, float]:
    """Free fiscal aid by year, illustrative: the source's 7.86 billion (1996-2010) less Table 1's
    printed government funds 2003-2007 (2,377.197), spread over the other ten years in proportion
    to local revenue (LOCAL_REVENUE); 2003-2007 spread the same way within their own total."""
    inside = [t for t in LOCAL_REVENUE if 2003 <= t <= 2007]
    outside = [t for t in LOCAL_REVENUE if t not in inside]
    printed = TABLE1_CONTEXT[0][3]
    rest = FREE_FISCAL_AID_1996_2010 - printed
    estimate = {t: rest * LOCAL_REVENUE[t] / sum(LOCAL_REVENUE[s] for s in outside) for t in outside}
    estimate |= {t: printed * LOCAL_REVENUE[t] / sum(LOCAL_REVENUE[s] for s in inside) for t in inside}
    return dict(sorted(estimate.items()))


def main(root: Path = HERE, quiet: bool = False) -> None:
    for spec in specs():
        budget = build(spec, root)
        if not quiet:
            report(spec, budget)
    if quiet:
        return
    # the calibration of PROPORTION_2002 (see SOURCES.md of ewppt-2002)
    revenue = indexed_revenue(donors_of(PAIRS_2002), [2003, 2004, 2005, 2006, 2007])
    for lvl, funds in TABLE1_GOVERNMENT_FUNDS.items():
        total = sum(revenue[d][lvl][t] for d in revenue for t in revenue[d][lvl])
        print(f"calibration {lvl}: Table 1 {funds} / revenue {total:,.1f} = {funds / total:.6g}")
    estimate = estimate_yearly_aid()
    print("estimated free fiscal aid by year:", {t: round(v, 1) for t, v in estimate.items()})
    print("  1997-2001:", round(sum(estimate[t] for t in range(1997, 2002)), 1),
          " 2008-2010:", round(sum(estimate[t] for t in range(2008, 2011)), 1))


if __name__ == "__main__":
    main()
