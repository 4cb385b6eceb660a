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

LEVELS = E10.LEVELS

# ---------------------------------------------------------------------------- the record
# Revenue: ewppt-2010/make_tables.py (FOUND, revenue_series), the values found in public
# statistics and, only for years without one, the national local revenue index.
# The source: free fiscal aid 1996-2010, million yuan (7.86 billion yuan), and the State Council's
# 2011 white paper: government aid 2003-2010, 4.44 billion yuan. So 1996-2002: 3.42 billion.
FREE_FISCAL_AID_1996_2010 = 7860.0
GOVERNMENT_AID_2003_2010 = 4440.0
AID_1996_2002 = FREE_FISCAL_AID_1996_2010 - GOVERNMENT_AID_2003_2010
# China Poverty Alleviation Yearbooks 2012 and 2013: East-West financial aid, million yuan.
AID_2011, AID_2012 = 840.264, 872.2
CADRES_2011 = 473
# Nominal GDP of China, 100 million yuan: 1997 and 2003 China Statistical Yearbook 2010, table 2-1;
# 2010 (not found; as recalled) scales the 2010 investment demand of the recipients back.
NATIONAL_GDP = {1997: 78_973.0, 2003: 135_823.0, 2010: 401_513.0}
# Rural poor, million people, under the official line of the time, at the end of the year before
# the plan: 2010 26.88 (1,274 yuan, white paper 2011); 1996 58.0 and 2002 28.2 as recalled (the
# LGOP counted 65 million in 1995 and 29 million in 2003 under the 637 yuan line).
NATIONAL_POOR = {1996: 58.0, 2002: 28.2, 2010: 26.88}
# Official rural poverty line, yuan per person-year, in the first plan year: 2003 637 (LGOP, 2004)
# and 2010 1,274 (white paper 2011); 1997 as recalled. People lifted per million yuan scale with
# 1274 / line (a lower line is a smaller gap to close per person).
POVERTY_LINE = {1997: 640.0, 2003: 637.0, 2010: 1274.0}

# Table 1 of the source (funding of the partnerships 2003-2007, million yuan), every cell as printed.
T1_YEARS = (2003, 2004, 2005, 2006, 2007)
TABLE1 = {  # row: (label in the table, [2003, ..., 2007], total)
    "government_funds": ("Government Funds", [343.795, 468.659, 482.952, 534.553, 547.239], 2377.197),
    "provincial": ("Provincial level", [144.35, 289.69, 274.02, 169.59, 354.559], 1232.209),
    "prefectural": ("Prefectural level", [117.93, 97.24, 136.631, 91.113, 109.428], 552.343),
    "county": ("County level", [84.1326, 81.7289, 72.301, 42.75, 83.2521], 364.1646),
    "enterprise_investments": ("Enterprise Investments", [24877.58, 105759.07, 64724.714, 41031.87, 155346.16],
                               391739.39),
    "real_investments": ("Real investments", [3457.66, 5991.5, 30138.4, 10092.459, 39941.216], 89621.235),
    "tax_payments": ("Taxes Payments", [96.75, 122.23, 77.0, 110.38, 1026.77], 1433.13),
    "social_donations": ("Social Donations", [50.463, 55.028, 80.154, 92.225, 121.47], 399.34),
    "total": ("Total", [29172.66, 112865.15, 95986.17, 52164.94, 197530.09], 487719.01),
}
# How the rows nest: (parent, sums_to_parent). Real investments are an "of which" row.
TABLE1_PARENT = {"government_funds": ("total", True), "provincial": ("government_funds", True),
                 "prefectural": ("government_funds", True), "county": ("government_funds", True),
                 "enterprise_investments": ("total", True), "real_investments": ("enterprise_investments", False),
                 "tax_payments": ("total", True), "social_donations": ("total", True), "total": ("", True)}
TABLE1_GOVERNMENT_FUNDS = {lvl: TABLE1[lvl][2] for lvl in LEVELS}


def table1_context() -> list[tuple]:
    """Every cell of Table 1: a tree per year (items `<row>_<year>`) and one for the Total column."""
    rows = []
    for i, year in enumerate([*T1_YEARS, None]):
        suffix = f"_{year}" if year else ""
        column = str(year) if year else "Total"
        for item, (label, cells, total) in TABLE1.items():
            parent, sums = TABLE1_PARENT[item]
            value = cells[i] if year else total
            rows.append((f"{item}{suffix}", f"{parent}{suffix}" if parent else "", sums, value,
                         f"Table 1 of the source study, row '{label}', column {column}"))
    return rows


PLAN_CONTEXT = [
    ("free_fiscal_aid_1996_2010", "", True, FREE_FISCAL_AID_1996_2010,
     "Source study: free fiscal aid of the eastern donors, 1996-2010 (7.86 billion yuan, LGOP statistics)"),
    ("enterprise_investment_1996_2010", "", True, 697270.0,
     "Source study: enterprise investment in the west under the partnerships, 1996-2010 (697.27 billion yuan)"),
    ("government_funds_2003_2007", "", True, 2377.197, "Table 1 of the source study, government funds 2003-2007 as printed"),
    ("government_aid_2003_2010", "", True, GOVERNMENT_AID_2003_2010,
     "State Council white paper 'New Progress in Development-oriented Poverty Reduction for Rural China' (2011): "
     "government aid 2003-2010, 4.44 billion yuan"),
    ("financial_aid_2011", "", True, AID_2011, "China Poverty Alleviation Yearbook 2012: East-West financial aid in 2011"),
    ("financial_aid_2012", "", True, AID_2012, "China Poverty Alleviation Yearbook 2013: East-West financial aid in 2012"),
]

# ---------------------------------------------------------------------------- the pairings
# docs/source.md (the pairings). 1996: nine provinces and four cities; 2002: plus Zhuhai and Xiamen
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


Cell = tuple[float, str, str]  # (value, status, source)


@dataclass
class Spec:
    """What makes one instance: its years, pairing, recipients, budgets and effect scale."""

    folder: str
    years: list[int]
    pairs: list[tuple[str, str]]
    recipients: dict[str, list[str]]
    revenue: dict[str, dict[str, dict[int, Cell]]]  # donor -> level -> year -> (million yuan, status, source)
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
    scale_why: str = ""  # how poor population, demand and effects are scaled from the 2010 figures
    poor: dict[str, Cell] | None = None  # recipient -> poor population (people, status, source), else the scaled 2010 rows
    effects_why: dict | None = None  # the provenance of effects.csv, else ewppt-2010's WHY_EFFECTS


def donors_of(pairs: list[tuple[str, str]]) -> list[str]:
    order = list(E10.PROVINCES) + list(E10.CITIES)
    present = {d for d, _ in pairs}
    return [d for d in order if d in present]


def revenue_of(donors: list[str], years: list[int]) -> dict[str, dict[str, dict[int, Cell]]]:
    """Revenue by donor, level and year from the found values (ewppt-2010/make_tables.py)."""
    return E10.revenue_series(donors, years)


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


def history_funds(donors: list[str], years: list[int]) -> dict[str, dict[str, dict[int, Cell]]]:
    """Every printed cell of Table 1's government funds by level and year, split over the donors
    in proportion to their revenue of that level in that year (revenue_of), to 0.0001 million,
    adding up to the printed cell exactly."""
    revenue = revenue_of(donors, years)
    funds: dict[str, dict[str, dict[int, Cell]]] = {d: {lvl: {} for lvl in LEVELS} for d in donors}
    for lvl in LEVELS:
        label, cells, _ = TABLE1[lvl]
        for t, printed in zip(T1_YEARS, cells):
            shares = {d: revenue[d][lvl][t][0] for d in donors}
            for d, v in largest_remainder(shares, printed, 4).items():
                why = (f"Table 1 of the source study, '{label}' {t} ({printed:g}, printed), split over the donors in "
                       f"proportion to their {lvl} revenue of {t}" if v else f"no {lvl} level of government")
                funds[d][lvl][t] = (v, "illustrative" if v else "derived", why)
    return funds


def values_of(revenue: dict[str, dict[str, dict[int, Cell]]]) -> dict[str, dict[str, dict[int, float]]]:
    return E10.values(revenue)


def budgets(spec: Spec) -> dict[str, dict[int, float]]:
    rev = values_of(spec.revenue)
    return {d: {t: sum(spec.proportion[lvl] * rev[d][lvl][t] for lvl in LEVELS) for t in spec.years} for d in rev}


def fmt(v, decimals: int = 10) -> str:
    if v is True or v is False:
        return "true" if v else "false"
    if isinstance(v, float):
        text = f"{v:.{decimals}f}".rstrip("0").rstrip(".")
        return text if text not in ("", "-0") else "0"
    return str(v)


def build(spec: Spec, root: Path = HERE) -> dict[str, dict[int, float]]:
    """Write the spec's CSV tables and provenance.csv into root/<folder>/; return the budgets B[d,t]."""
    folder = root / spec.folder
    folder.mkdir(parents=True, exist_ok=True)
    out = E10.Tables(folder, fmt)
    donors = list(spec.revenue)
    kinds = {d: "province" for d in E10.PROVINCES} | {c: "city" for c in E10.CITIES}
    names = {d: v[0] for d, v in E10.PROVINCES.items()} | {c: v[0] for c, v in E10.CITIES.items()}
    out.write("donors", ["donor", "name", "kind"], [[d, names[d], kinds[d]] for d in donors])
    out.write("revenue", ["donor", "level", "year", "revenue"],
              [[d, lvl, t, float(spec.revenue[d][lvl][t][0])] for d in donors for lvl in LEVELS for t in spec.years],
              {"revenue": lambda r: spec.revenue[r["donor"]][r["level"]][r["year"]][1:]})
    budget = budgets(spec)

    # recipients: merged 2010 rows
    table = E10.RECIPIENTS
    merged = {}
    for w, parts in spec.recipients.items():
        name, prov, _, special, weight, _, depth, remote, econ, hr, unlock = table[parts[0]]
        poor = sum(table[p][2] for p in parts)
        gdp = sum(table[p][5] for p in parts)
        poor = spec.poor[w][0] if spec.poor else round(poor * spec.poor_scale, -3)
        merged[w] = dict(name=spec.names.get(w, name), province=prov, poor=poor,
                         special=special, weight=weight, gdp=gdp, depth=depth, remote=remote, econ=econ, hr=hr,
                         unlock=unlock)
    why = dict(E10.WHY_RECIPIENTS)
    if spec.scale_why:
        why["poor_population"] = ("illustrative", f"{why['poor_population'][1]}; {spec.scale_why}")
        why["investment_demand"] = ("illustrative", f"{why['investment_demand'][1]}; {spec.scale_why}")
    if spec.poor:
        why["poor_population"] = lambda r: spec.poor[r["recipient"]][1:]
    out.write("recipients", ["recipient", "name", "province", "poor_population", "special_aid", "weight",
                             "investment_demand", "infra_unlock"],
              [[w, r["name"], r["province"], float(r["poor"]), r["special"], float(r["weight"]),
                E10.r1(spec.demand_scale * (E10.DEMAND_FLOOR + E10.DEMAND_PER_GDP * r["gdp"])), float(r["unlock"])]
               for w, r in merged.items()], why)

    first = spec.years[0]
    pairs = [[d, w, E10.r1(E10.QUOTA_SHARE * budget[d][first])] for d, w in spec.pairs]
    pairs += [[d, w, 0.0] for w in spec.special for d in donors]
    out.write("pairs", ["donor", "recipient", "base_quota"], pairs, E10.WHY_QUOTA)

    lag_column = ["lag_years"] if spec.lags else []
    out.write("instruments",
              ["instrument", "category", "leverage", "targets_women", "min_fund_size", "setup_cost", *lag_column],
              [[k, c, float(lev), women, float(m), float(f), *([E10.LAG_YEARS.get(k, 0)] if spec.lags else [])]
               for k, c, lev, women, m, f, _, _ in E10.INSTRUMENTS], E10.WHY_INSTRUMENTS)

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
    out.write("effects", ["recipient", "instrument", "segment", "width", "people_per_million"], rows,
              spec.effects_why or E10.WHY_EFFECTS)

    if spec.capacity:
        out.write("capacity", ["recipient", "instrument", "year", "max_aid"],
                  [[w, k, t, E10.r1(cap * (1 + E10.CAPACITY_GROWTH) ** (t - first))]
                   for (w, k), cap in E10.CAPACITY_2011.items() for t in spec.years], E10.WHY_CAPACITY)
    if spec.context:
        out.write("context", ["item", "parent", "sums_to_parent", "value", "unit", "note"],
                  [[item, parent, sums, float(value), "million yuan", note] for item, parent, sums, value, note in spec.context],
                  {"value": lambda r: ("verified", r["note"])})
    out.close()
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
    rev = values_of(spec.revenue)
    for lvl in LEVELS:
        plan = sum(spec.proportion[lvl] * rev[d][lvl][t] for d in rev for t in spec.years)
        print(f"- {lvl}: revenue over the plan {sum(rev[d][lvl][t] for d in rev for t in spec.years):,.4f}"
              f", budget over the plan {plan:,.4f}")
    counts = {}
    for line in (HERE / spec.folder / "provenance.csv").read_text(encoding="utf-8").splitlines()[1:]:
        status = next(s for s in ("verified", "derived", "illustrative") if f",{s}," in line)
        counts[status] = counts.get(status, 0) + 1
    print("- provenance:", counts)


YEARS_1996 = [1997, 1998, 1999, 2000, 2001]
YEARS_2002 = list(T1_YEARS)
YEARS_PLAN = list(E10.YEARS)


def specs() -> list[Spec]:
    d1996, d2002, d2010 = donors_of(PAIRS_1996), donors_of(PAIRS_2002), donors_of(PAIRS_2010)
    gdp_ratio = {t: NATIONAL_GDP[t] / NATIONAL_GDP[2010] for t in (1997, 2003)}
    line_ratio = {t: POVERTY_LINE[2010] / POVERTY_LINE[t] for t in (1997, 2003)}
    why = {t: (f"2010 figures scaled by national rural poor {NATIONAL_POOR[t - 1]} / 26.88 million and by national "
               f"GDP {NATIONAL_GDP[t]:,.0f} / {NATIONAL_GDP[2010]:,.0f} (100 million yuan)") for t in (1997, 2003)}
    return [
        Spec("ewppt-1996", YEARS_1996, PAIRS_1996, RECIPIENTS_1996, revenue_of(d1996, YEARS_1996),
             PROPORTION_1996, poor_scale=NATIONAL_POOR[1996] / NATIONAL_POOR[2010], demand_scale=gdp_ratio[1997],
             effect_scale=line_ratio[1997], names={"sichuan": "Sichuan (including Chongqing, a separate municipality from 1997)"},
             scale_why=why[1997]),
        Spec("ewppt-2002", YEARS_2002, PAIRS_2002, RECIPIENTS_2002, revenue_of(d2002, YEARS_2002),
             PROPORTION_2002, poor_scale=NATIONAL_POOR[2002] / NATIONAL_POOR[2010], demand_scale=gdp_ratio[2003],
             effect_scale=line_ratio[2003], scale_why=why[2003]),
        Spec("history-2003-2007", YEARS_2002, PAIRS_2002, RECIPIENTS_2002, history_funds(d2002, YEARS_2002),
             {lvl: 1.0 for lvl in LEVELS}, poor_scale=NATIONAL_POOR[2002] / NATIONAL_POOR[2010],
             demand_scale=gdp_ratio[2003], effect_scale=line_ratio[2003], context=table1_context(), scale_why=why[2003]),
        Spec("plan-2011-2015", YEARS_PLAN, PAIRS_2010, {w: [w] for w in E10.RECIPIENTS}, revenue_of(d2010, YEARS_PLAN),
             PROPORTION_PLAN, special=["tibet", "xinjiang"], enterprise_effect=AGRI_GUIDANCE, capacity=True,
             lags=True, context=PLAN_CONTEXT, poor=E10.poor_2300(), effect_scale=E10.EFFECT_LINE_SCALE,
             effects_why=E10.WHY_EFFECTS_PLAN),
    ]


# ------------------------------------------------------------------------- the proportions
# Must equal [proportion] in each scenario.toml (SOURCES.md gives the reasoning); main() prints
# each calibration. Rounded to two significant digits.
# ewppt-2002: Table 1's government funds of each level over 2003-2007 divided by the donors'
# revenue of that level over the same years.
PROPORTION_2002 = {"provincial": 0.00082, "prefectural": 0.00042, "county": 0.00019}
# ewppt-1996: the 3.42 billion yuan of 1996-2002 taken as even over the seven years (no yearly
# figure was found), so 5/7 of it (2,442.9 million) in 1997-2001, with Table 1's mix by level
# (57.3% provincial, 25.7% prefectural, 16.9% county), divided by the donors' revenue of each level.
PROPORTION_1996 = {"provincial": 0.0025, "prefectural": 0.0013, "county": 0.00058}
# plan-2011-2015: the mix 10 : 5 : 3 (provincial : prefectural : county) at the level that gives
# the recorded aid of 2011 (840.264 million yuan) in 2011.
PROPORTION_PLAN = {"provincial": 0.00048, "prefectural": 0.00024, "county": 0.00014}
# plan-2011-2015: enterprises guided to agricultural and biological resources lift more poor
# people per yuan than the average enterprise (the source's conclusion); illustrative factor.
AGRI_GUIDANCE = 1.2


def calibration() -> dict[str, dict[str, float]]:
    """The unrounded proportions that the constants above round."""
    out = {}
    rev = values_of(revenue_of(donors_of(PAIRS_2002), YEARS_2002))
    out["ewppt-2002"] = {lvl: TABLE1[lvl][2] / sum(rev[d][lvl][t] for d in rev for t in YEARS_2002) for lvl in LEVELS}
    rev = values_of(revenue_of(donors_of(PAIRS_1996), YEARS_1996))
    target = AID_1996_2002 * len(YEARS_1996) / 7
    levels = sum(TABLE1_GOVERNMENT_FUNDS.values())
    out["ewppt-1996"] = {lvl: target * TABLE1_GOVERNMENT_FUNDS[lvl] / levels
                         / sum(rev[d][lvl][t] for d in rev for t in YEARS_1996) for lvl in LEVELS}
    rev = values_of(revenue_of(donors_of(PAIRS_2010), YEARS_PLAN))
    mix = {"provincial": 10, "prefectural": 5, "county": 3}
    k = AID_2011 / sum(mix[lvl] * sum(rev[d][lvl][2011] for d in rev) for lvl in LEVELS)
    out["plan-2011-2015"] = {lvl: k * mix[lvl] for lvl in LEVELS}
    return out


def record_aid() -> dict[str, float]:
    """Government aid by period from the record (million yuan)."""
    table1 = sum(TABLE1["government_funds"][1])
    return {"1996-2002 (7,860 - 4,440)": AID_1996_2002, "1996-2002 per year": AID_1996_2002 / 7,
            "2003-2007 (Table 1, printed yearly government funds)": table1,
            "2008-2010 (4,440 - Table 1 total 2,377.197)": GOVERNMENT_AID_2003_2010 - TABLE1["government_funds"][2],
            "2010 (840.264 / 1.218)": AID_2011 / 1.218, "2011": AID_2011, "2012": AID_2012}


def main(root: Path = HERE, quiet: bool = False) -> None:
    for spec in specs():
        budget = build(spec, root)
        if not quiet:
            report(spec, budget)
    if quiet:
        return
    for name, props in calibration().items():
        print(f"calibration {name}:", {lvl: f"{v:.4g}" for lvl, v in props.items()})
    print("record aid:", {k: round(v, 3) for k, v in record_aid().items()})


if __name__ == "__main__":
    main()
