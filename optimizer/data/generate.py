"""Synthetic instances of any size, for benchmarks and `ewppt generate`.

    from optimizer.data.generate import generate_instance
    generate_instance(Path("out/r800"), recipients=800, donors=12, instruments=10, years=5, seed=1)

The instance is a pure function of the arguments: the same arguments write byte-identical
files (random numbers come from `numpy.random.default_rng`, one independent stream per table,
so for example the donors do not change when only the number of recipients does). New tables
get new streams at the end of `STREAMS`, which leaves the older streams' numbers as they were:
the MIP tables (admin capacity, projects, cadres) changed the earlier tables only where they
must, namely recipients.csv gained the `admin_capacity` column, effects.csv lost the rows of the
recipient-instruments that have projects, capacity.csv no longer limits every women-targeting
household instrument of a county (3-4% of the counties lost one instrument's limits when
that rule came in), and instruments.csv's fund sizes shrink in instances whose counties are too
small for them (see Funds below; never at the default sizes). Every file is written atomically.
Figures follow the ranges of `instances/ewppt-2010` (see its SOURCES.md); they are
**synthetic**, not data.

How the numbers are made (million yuan throughout):

- Donors: the fifteen donors of the 2010 pairing first, with their approximate 2010 revenue by
  level from ewppt-2010, then synthetic ones (`east_16`, ...) with drawn revenue; revenue grows
  3-8% a year per donor. With the ewppt-2010 proportions (0.0012 / 0.0006 / 0.0004) a donor's
  yearly budget is a few to a few hundred million yuan.
- Recipients: western counties with pinyin-like names (`lanping_county`), a province drawn in
  proportion to its poor population, 5,000-150,000 poor people; about 2% (at least one) are
  special aid counties in Tibet or Xinjiang.
- Pairs: the ordinary counties are shuffled and dealt round-robin to the donors (each county has
  exactly one donor, the donors' counts differ by at most one); every donor is also paired with
  every special aid county (base quota 0). A base quota is 10-30% of an even share of the donor's
  first-year budget.
- Expected aid E[w,t] (sets the scale of widths, capacities and investment demand): an ordinary
  county expects an even share of 96% of its donor's budget; the special aid counties share
  4% of every donor's budget (all of it for a donor without ordinary counties).
- Instruments: the thirteen of ewppt-2010, ordered so that any four or more cover all four
  categories; beyond thirteen, synthetic ones with the categories in turn.
- Effects: people per million = base rate of the instrument x poverty depth of the county x a
  county multiplier for the kind of instrument x a non-increasing segment rate; the widths of a
  county add up to about 3 times its expected aid over the plan.
- Capacity: about 20% of the recipient-instruments get a limit in every plan year, at 0.6-2x the
  instrument's typical share of the county's expected aid; a category's instruments are never
  all limited in one county, nor are its women-targeting household instruments, so the limits
  cannot make the scenario infeasible.
- Investment demand: 2-4 times the county's expected aid in the last plan year (more when the
  instruments leave no choice but enterprise finance), plus 1 million, so that the enterprise
  minimum can always be met.

Whole decisions (the engine solves a MIP whenever these are present):

- Funds: the enterprise and household instruments have ewppt-2010's minimum fund sizes and
  set-up costs. Each county can run 2-5 funds (`admin_capacity`, uniform), capped at one less
  than the number of fund instruments (but at least 2), so the limit binds in some counties.
  When the counties are too small for the funds (many counties per small donor, or one or two
  plan years), every min_fund_size and setup_cost is multiplied by 1/2, 1/4, ... until a
  feasible plan is certain (`_fund_scale` gives the certificate); the README says so.
- Projects: in 30-40% of the ordinary counties (drawn per instance), 1-4 candidate projects on
  one public-goods instrument (schools and clinics for public_services, roads, water and
  bridges otherwise; named like `lanping_school_1`). Only counties with two or more
  public-goods instruments without a capacity limit get projects, and the projects take one
  of them, so the other stays divisible; special aid counties get none. A project costs
  15-60% of the county's expected public-goods aid over the plan; its people are its cost
  times the people per million that the county's effect curve for the instrument gives the
  cost of all its projects together, times 0.8-1.25. The earliest year is plan year i with
  probability proportional to 0.5^i (mostly the first years). The effect rows of those
  recipient-instruments are not written (the projects replace them).
- Cadres: a row for every ordinary pair (none for the special aid pairs): max_per_year 1-3,
  cost 0.10-0.30 million yuan per cadre-year, capacity 0.20-0.50 funds per cadre-year;
  min_per_year is 1 for about half the pairs, as long as the donor's least cadre cost stays
  within 2% of its first-year budget, else 0.
- Feasibility: with no project built and every cadre at its minimum, a plan meets every rule:
  32% of each county's aid to public goods and human resources (quotas and those categories),
  the rest to enterprise and household funds, either one of each per county or pooled in the
  counties with the most investment demand (`_fund_scale`).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from optimizer.data.io import atomic_write_text
from optimizer.data.schema import CATEGORIES, LEVELS

# ------------------------------------------------------------------------------- constants

BASE_YEAR = 2010  # the revenue figures below are for 2010
PROPORTION = {"provincial": 0.0012, "prefectural": 0.0006, "county": 0.0004}  # ewppt-2010 before issue 16
GROWTH = (0.03, 0.08)  # yearly revenue growth of a donor, drawn in this range

# The 2010 pairing's donors: 2010 revenue by level (provincial, prefectural, county), million
# yuan, cities taken out of their provinces; approximate, from instances/ewppt-2010/make_tables.py.
REAL_DONORS = (
    ("beijing", "Beijing", "province", (117_700, 0, 117_700)),
    ("tianjin", "Tianjin", "province", (53_450, 0, 53_450)),
    ("shanghai", "Shanghai", "province", (143_700, 0, 143_700)),
    ("guangdong", "Guangdong", "province", (112_925, 107_480, 109_295)),
    ("jiangsu", "Jiangsu", "province", (102_000, 163_200, 142_800)),
    ("zhejiang", "Zhejiang", "province", (65_200, 72_520, 70_080)),
    ("shandong", "Shandong", "province", (68_725, 82_960, 78_215)),
    ("liaoning", "Liaoning", "province", (50_125, 50_200, 50_175)),
    ("fujian", "Fujian", "province", (28_775, 28_640, 28_685)),
    ("dalian", "Dalian", "city", (0, 30_000, 20_000)),
    ("qingdao", "Qingdao", "city", (0, 27_000, 18_000)),
    ("shenzhen", "Shenzhen", "city", (0, 66_000, 44_000)),
    ("ningbo", "Ningbo", "city", (0, 31_800, 21_200)),
    ("xiamen", "Xiamen", "city", (0, 17_400, 11_600)),
    ("zhuhai", "Zhuhai", "city", (0, 7_200, 4_800)),
)
# Synthetic donors: share of cities, 2010 total revenue ranges and split over the levels.
CITY_SHARE = 0.4
SYNTHETIC_REVENUE = {"province": (40_000, 300_000), "city": (8_000, 100_000)}
SPLIT = {"province": (0.25, 0.40, 0.35), "city": (0.0, 0.60, 0.40)}

# Western provinces (display name, relative poor population) and the special aid regions.
WESTERN = (
    ("Guizhou", 4.0), ("Yunnan", 2.9), ("Gansu", 2.5), ("Sichuan", 2.0), ("Shaanxi", 1.6),
    ("Guangxi", 1.4), ("Chongqing", 0.6), ("Inner Mongolia", 0.5), ("Qinghai", 0.45), ("Ningxia", 0.3),
)
SPECIAL_REGIONS = ("Tibet", "Xinjiang")
SPECIAL_FRACTION = 0.02  # of the recipients, at least one
POOR = (5_000, 150_000)  # poor people per county
POOR_MEDIAN, POOR_SIGMA = 35_000, 0.7  # lognormal, clipped to POOR

SYLLABLES = (
    "an", "ba", "bai", "bao", "bei", "cang", "chang", "cheng", "chun", "da", "dan", "de", "ding", "dong",
    "du", "fen", "feng", "fu", "gan", "gao", "gu", "guan", "guang", "hai", "han", "he", "heng", "hong",
    "hua", "huai", "huang", "hui", "ji", "jia", "jian", "jiang", "jin", "jing", "kang", "lan", "lang",
    "le", "li", "lian", "lin", "ling", "liu", "long", "lu", "luo", "ma", "mei", "meng", "min", "ming",
    "mu", "nan", "ning", "pan", "ping", "pu", "qi", "qian", "qing", "qiu", "ren", "rong", "sha", "shan",
    "shang", "shi", "shou", "shui", "song", "tai", "tang", "tian", "tong", "wan", "wei", "wen", "wu",
    "xi", "xia", "xian", "xin", "xing", "xiu", "ya", "yan", "yang", "yi", "yin", "ying", "yong", "you",
    "yu", "yuan", "yue", "yun", "ze", "zhang", "zhao", "zhen", "zheng", "zhong", "zhou", "zhu", "zi",
)

# Instruments of ewppt-2010: category, leverage, targets_women, min_fund_size, setup_cost, base
# people per million, kind (segment shape). Listed so that the first four cover all categories.
INSTRUMENTS = {
    "loan_guarantee": ("enterprise_finance", 5.0, False, 5.0, 0.20, 50, "enterprise"),
    "cdf": ("household_finance", 1.0, True, 1.0, 0.05, 170, "household"),
    "infrastructure": ("public_goods", 0.0, False, 0.0, 0.0, 75, "infrastructure"),
    "human_resources": ("human_resources", 0.0, False, 0.0, 0.0, 200, "human_resources"),
    "risk_guarantee": ("enterprise_finance", 4.0, False, 5.0, 0.20, 40, "enterprise"),
    "household_discount": ("household_finance", 1.0, True, 1.0, 0.05, 130, "household"),
    "public_services": ("public_goods", 0.0, False, 0.0, 0.0, 85, "infrastructure"),
    "agri_security": ("household_finance", 0.0, False, 2.0, 0.10, 140, "household"),
    "sme_fund": ("enterprise_finance", 1.5, False, 3.0, 0.15, 45, "enterprise"),
    "market_system": ("human_resources", 0.0, False, 0.0, 0.0, 65, "market"),
    "investment_guarantee": ("enterprise_finance", 3.0, False, 5.0, 0.20, 35, "enterprise"),
    "discount_interest": ("enterprise_finance", 2.0, False, 2.0, 0.10, 30, "enterprise"),
    "household_loan_guarantee": ("household_finance", 3.0, False, 2.0, 0.10, 110, "household"),
}
SYNTHETIC_PREFIX = {"enterprise_finance": "enterprise_fund", "household_finance": "household_fund",
                    "public_goods": "public_works", "human_resources": "training"}
SYNTHETIC_KIND = {"enterprise_finance": "enterprise", "household_finance": "household",
                  "public_goods": "infrastructure", "human_resources": "human_resources"}

# Segment shapes of ewppt-2010 at the first, middle and last segment (interpolated for any
# number of segments): people-per-million multipliers (non-increasing) and width factors.
SEGMENT_RATE = {
    "enterprise": (1.0, 0.7, 0.4),
    "household": (1.0, 0.6, 0.3),
    "infrastructure": (1.0, 0.75, 0.5),
    "human_resources": (1.0, 0.35, 0.12),
    "market": (1.0, 0.6, 0.3),
}
SEGMENT_WIDTH = {"human_resources": (0.4, 0.8, 1.6)}
DEFAULT_WIDTH = (0.5, 0.8, 1.5)
WIDTH_TOTAL = 3.0  # a county's widths add up to about this many times its expected plan aid
TYPICAL_SHARE = {"enterprise_finance": 0.35, "household_finance": 0.30, "public_goods": 0.25,
                 "human_resources": 0.10}

SPECIAL_EXPECTED = 0.04  # share of a donor's budget expected to reach the special aid counties
QUOTA_SHARE = (0.10, 0.30)  # base quota as a share of an even share of the donor's budget
CAPACITY_SHARE = 0.20  # recipient-instruments with a capacity limit
CAPACITY_FACTOR = (0.6, 2.0)  # limit / (typical instrument share x expected aid)
DEMAND_FACTOR = (2.0, 4.0)  # investment demand / expected aid in the last year
DEMAND_FLOOR = 1.0  # million yuan a year
INFRA_UNLOCK = (0.5, 1.5)

PRIORITIES = {  # (rule, share, category that must be present, or None)
    "enterprise_finance_min": (0.25, "enterprise_finance"),
    "household_finance_min": (0.15, "household_finance"),
    "public_goods_min": (0.10, "public_goods"),
    "public_goods_max": (0.40, "public_goods"),
    "human_resources_min": (0.05, "human_resources"),
    "special_aid_min": (0.02, None),
}
WOMEN_MIN = 0.30
QUOTA_GROWTH_MIN = 0.0
ENTERPRISE_MIN = PRIORITIES["enterprise_finance_min"][0]

# MIP data (funds, projects, cadres).
ADMIN_CAPACITY = (2, 5)  # funds a county can run, drawn uniformly, below the number of fund instruments
PROJECT_COUNTY_SHARE = (0.30, 0.40)  # of the ordinary counties, drawn once per instance
PROJECTS_PER_COUNTY = (1, 4)
PROJECT_COST = (0.15, 0.60)  # of the county's expected public-goods aid over the plan
PROJECT_PEOPLE = (0.8, 1.25)  # x the people the same money lifts on the county's effect segments
PROJECT_YEAR_DECAY = 0.5  # P(earliest year = plan year i) is proportional to this ** i
PROJECT_KINDS = {"public_services": ("school", "clinic")}
DEFAULT_PROJECT_KINDS = ("road", "water", "bridge")
CADRE_MIN_PROBABILITY = 0.5  # a pair with min_per_year 1 (else 0) ...
CADRE_MIN_SHARE = 0.02  # ... while the donor's least cadre cost stays within this share of its budget
CADRE_MAX = (1, 3)
CADRE_COST = (0.10, 0.30)  # million yuan per cadre-year
CADRE_CAPACITY = (0.20, 0.50)  # funds per cadre-year
# Shares of a county's aid in the feasibility witness of _fund_scale (see its docstring).
WITNESS_SPENDING = 0.32  # public goods and human resources together
WITNESS_HOUSEHOLD_MIN = 0.16

# Independent random streams, one per table; new streams go at the end (SeedSequence.spawn gives
# the first ones the same children whatever the count), so the older tables keep their numbers.
STREAMS = ("donors", "recipients", "pairs", "instruments", "effects", "capacity", "admin", "projects", "cadres")


# ---------------------------------------------------------------------------------- public


def generate_instance(out: Path, recipients: int = 30, donors: int = 10, instruments: int = 10, years: int = 5,
                      seed: int = 0, segments: int = 3, first_year: int = 2011) -> Path:
    """Write a synthetic instance folder at `out` and return its path.

    The folder holds scenario.toml, the nine CSV tables (capacity.csv may have no rows when
    every category has a single instrument, projects.csv when fewer than seven instruments leave
    a single public-goods instrument, cadres.csv when no county is ordinary) and a README.md.
    Files already in the folder with these names are replaced; other files are left alone.
    """
    for name, value, least in (("recipients", recipients, 1), ("donors", donors, 1), ("instruments", instruments, 1),
                               ("years", years, 1), ("segments", segments, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
    if isinstance(first_year, bool) or not isinstance(first_year, (int, np.integer)) \
            or not 1900 <= first_year <= 2200 - (years - 1):
        raise ValueError(f"plan years must lie in 1900-2200, got {first_year}..{first_year + years - 1}")
    if segments > 1000:
        raise ValueError(f"segments must be at most 1000, got {segments}")

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} exists and is not a folder")
    rng = dict(zip(STREAMS, (np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(len(STREAMS)))))
    plan_years = list(range(int(first_year), int(first_year) + int(years)))

    donor_rows, revenue_rows, budget = _donors(rng["donors"], int(donors), plan_years)
    county_rows = _recipients(rng["recipients"], int(recipients))
    inst_rows = _instruments(rng["instruments"], int(instruments))
    donor_ids = [d for d, _, _ in donor_rows]
    pair_rows, expected = _pairs(rng["pairs"], donor_ids, county_rows, budget, plan_years)

    present = [c for c in CATEGORIES if any(row["category"] == c for row in inst_rows)]
    share = _instrument_shares(inst_rows, present)
    admin = _admin_capacity(rng["admin"], county_rows, inst_rows)
    recipient_rows = _recipient_table(county_rows, expected, inst_rows, present, plan_years, admin)
    effect_rows = _effects(rng["effects"], county_rows, inst_rows, share, expected, int(segments))
    capacity_rows = _capacity(rng["capacity"], county_rows, inst_rows, share, expected, plan_years)
    capped = {(w, k) for w, k, _, _ in capacity_rows}
    project_rows = _projects(rng["projects"], county_rows, inst_rows, share, expected, effect_rows, capped, plan_years)
    with_projects = {(w, k) for _, w, k, *_ in project_rows}
    effect_rows = [r for r in effect_rows if (r[0], r[1]) not in with_projects]  # the projects replace them
    special = {c["recipient"] for c in county_rows if c["special_aid"]}
    cadre_rows = _cadres(rng["cadres"], [p for p in pair_rows if p[1] not in special], budget, plan_years)
    demand = {row[0]: row[6] for row in recipient_rows}
    fund_scale = _fund_scale(county_rows, pair_rows, inst_rows, present, expected, demand, capped, plan_years)
    for r in inst_rows:
        r["min_fund_size"], r["setup_cost"] = r["min_fund_size"] * fund_scale, r["setup_cost"] * fund_scale

    name = f"synthetic-r{recipients}-d{donors}-k{instruments}-t{years}-s{seed}"
    files = {
        "donors.csv": _csv(["donor", "name", "kind"], donor_rows),
        "revenue.csv": _csv(["donor", "level", "year", "revenue"], revenue_rows),
        "recipients.csv": _csv(["recipient", "name", "province", "poor_population", "special_aid", "weight",
                                "investment_demand", "infra_unlock", "admin_capacity"], recipient_rows),
        "pairs.csv": _csv(["donor", "recipient", "base_quota"], pair_rows),
        "instruments.csv": _csv(["instrument", "category", "leverage", "targets_women", "min_fund_size", "setup_cost"],
                                [[r[c] for c in ("instrument", "category", "leverage", "targets_women", "min_fund_size",
                                                 "setup_cost")] for r in inst_rows]),
        "effects.csv": _csv(["recipient", "instrument", "segment", "width", "people_per_million"], effect_rows),
        "capacity.csv": _csv(["recipient", "instrument", "year", "max_aid"], capacity_rows),
        "projects.csv": _csv(["project", "recipient", "instrument", "cost", "people", "earliest_year"], project_rows),
        "cadres.csv": _csv(["donor", "recipient", "min_per_year", "max_per_year", "cost_per_cadre",
                            "capacity_per_cadre"], cadre_rows),
        "scenario.toml": _scenario_toml(name, plan_years, present, inst_rows),
    }
    args = dict(recipients=recipients, donors=donors, instruments=instruments, years=years, seed=seed,
                segments=segments, first_year=first_year)
    files["README.md"] = _readme(name, args, plan_years, county_rows, inst_rows, present, budget, pair_rows,
                                 capacity_rows, effect_rows, admin, project_rows, cadre_rows, fund_scale)
    out.mkdir(parents=True, exist_ok=True)
    for filename, text in files.items():
        atomic_write_text(out / filename, text)
    return out


# ---------------------------------------------------------------------------------- tables


def _donors(rng: np.random.Generator, n: int, plan_years: list[int]):
    """Donor rows, revenue rows and the yearly budget B[d][t] the model will compute."""
    specs = list(REAL_DONORS[:n])
    for i in range(len(specs), n):
        kind = "city" if rng.random() < CITY_SHARE else "province"
        lo, hi = SYNTHETIC_REVENUE[kind]
        total = math.exp(rng.uniform(math.log(lo), math.log(hi)))
        specs.append((f"east_{i + 1}", f"East {i + 1}", kind, tuple(round(total * s, -2) for s in SPLIT[kind])))
    donor_rows, revenue_rows, budget = [], [], {}
    for donor, name, kind, base in specs:
        growth = rng.uniform(*GROWTH)
        donor_rows.append([donor, name, kind])
        revenue = {(lvl, t): round(base[i] * (1 + growth) ** (t - BASE_YEAR), 1)
                   for i, lvl in enumerate(LEVELS) for t in plan_years}
        revenue_rows += [[donor, lvl, t, r] for (lvl, t), r in revenue.items()]
        budget[donor] = {t: sum(PROPORTION[lvl] * revenue[lvl, t] for lvl in LEVELS) for t in plan_years}
    return donor_rows, revenue_rows, budget


def _county_names(rng: np.random.Generator, n: int) -> list[str]:
    """n distinct pinyin-like names: two syllables while plenty are left, then three."""
    used: set[str] = set()
    names: list[str] = []
    two = len(SYLLABLES) ** 2
    while len(names) < n:
        k = 2 if len(used) < two // 2 else 3
        name = "".join(SYLLABLES[i] for i in rng.integers(0, len(SYLLABLES), size=k))
        if name not in used:
            used.add(name)
            names.append(name)
    return names


def _recipients(rng: np.random.Generator, n: int) -> list[dict[str, Any]]:
    """County attributes that do not depend on the pairing."""
    n_special = max(1, round(SPECIAL_FRACTION * n))
    names = _county_names(rng, n)
    weights = np.array([w for _, w in WESTERN])
    rows = []
    for i, name in enumerate(names):
        special = i >= n - n_special
        province = (SPECIAL_REGIONS[(i - (n - n_special)) % len(SPECIAL_REGIONS)] if special
                    else WESTERN[int(rng.choice(len(WESTERN), p=weights / weights.sum()))][0])
        poor = float(np.clip(rng.lognormal(math.log(POOR_MEDIAN), POOR_SIGMA), *POOR))
        depth = rng.uniform(0.85, 1.35)
        rows.append(dict(
            recipient=f"{name}_county", name=f"{name.capitalize()} County", province=province,
            poor_population=int(round(poor, -1)), special_aid=special, depth=depth,
            # county multipliers by kind of instrument (as ewppt-2010's econ / remote / hr)
            multiplier={"enterprise": rng.uniform(0.7, 1.15), "infrastructure": rng.uniform(0.9, 1.2),
                        "human_resources": rng.uniform(0.95, 1.25)},
            weight=1.5 if special or depth >= 1.25 else 1.0,
            infra_unlock=round(rng.uniform(*INFRA_UNLOCK), 1),
            demand_draw=rng.uniform(*DEMAND_FACTOR),
        ))
    return rows


def _pairs(rng: np.random.Generator, donor_ids: list[str], counties: list[dict], budget, plan_years):
    """Pair rows and the expected aid E[w][t] of every county."""
    ordinary = [c["recipient"] for c in counties if not c["special_aid"]]
    special = [c["recipient"] for c in counties if c["special_aid"]]
    order = [ordinary[i] for i in rng.permutation(len(ordinary))]
    main: dict[str, list[str]] = {d: [] for d in donor_ids}
    for i, w in enumerate(order):
        main[donor_ids[i % len(donor_ids)]].append(w)
    expected: dict[str, dict[int, float]] = {}
    to_special = {t: 0.0 for t in plan_years}
    for d in donor_ids:
        kept = 1 - SPECIAL_EXPECTED if main[d] else 0.0
        for t in plan_years:
            to_special[t] += (1 - kept) * budget[d][t]
        for w in main[d]:
            expected[w] = {t: kept * budget[d][t] / len(main[d]) for t in plan_years}
    for w in special:
        expected[w] = {t: to_special[t] / len(special) for t in plan_years}

    rows = []
    for d in donor_ids:  # ordinary pairs grouped by donor, counties in table order
        even = (1 - SPECIAL_EXPECTED) * budget[d][plan_years[0]] / max(1, len(main[d]))
        chosen = set(main[d])
        rows += [[d, w, _sig(rng.uniform(*QUOTA_SHARE) * even)] for w in ordinary if w in chosen]
    rows += [[d, w, 0.0] for w in special for d in donor_ids]
    return rows, expected


def _instruments(rng: np.random.Generator, k: int) -> list[dict[str, Any]]:
    rows = []
    for i, (name, (category, leverage, women, min_fund, setup, base, kind)) in enumerate(INSTRUMENTS.items()):
        if i < k:
            rows.append(dict(instrument=name, category=category, leverage=leverage, targets_women=women,
                             min_fund_size=min_fund, setup_cost=setup, base=float(base), kind=kind))
    for i in range(len(rows), k):
        category = CATEGORIES[(i - len(INSTRUMENTS)) % len(CATEGORIES)]
        if category == "enterprise_finance":
            leverage, women = round(rng.uniform(1.5, 5.0) * 2) / 2, False
            min_fund, setup, base = round(rng.uniform(2, 5)), round(rng.uniform(0.1, 0.2), 2), rng.uniform(30, 50)
        elif category == "household_finance":
            leverage, women = round(rng.uniform(0.0, 3.0) * 2) / 2, bool(i % 2)
            min_fund, setup, base = round(rng.uniform(1, 2)), round(rng.uniform(0.05, 0.1), 2), rng.uniform(110, 170)
        else:
            leverage, women, min_fund, setup = 0.0, False, 0.0, 0.0
            base = rng.uniform(70, 90) if category == "public_goods" else rng.uniform(65, 200)
        rows.append(dict(instrument=f"{SYNTHETIC_PREFIX[category]}_{i + 1}", category=category, leverage=float(leverage),
                         targets_women=women, min_fund_size=float(min_fund), setup_cost=float(setup),
                         base=round(float(base)), kind=SYNTHETIC_KIND[category]))
    return rows


def _instrument_shares(inst_rows: list[dict], present: list[str]) -> dict[str, float]:
    """Typical share of a county's aid per instrument: category shares over the categories
    present, normalised, split evenly among the category's instruments."""
    total = sum(TYPICAL_SHARE[c] for c in present)
    count = {c: sum(r["category"] == c for r in inst_rows) for c in present}
    return {r["instrument"]: TYPICAL_SHARE[r["category"]] / total / count[r["category"]] for r in inst_rows}


def _recipient_table(counties, expected, inst_rows, present, plan_years, admin):
    # Enterprise lending the instruments force on a county per million of its aid: the enterprise
    # minimum at the least leverage, or everything when enterprise finance is the only category.
    levers = [r["leverage"] for r in inst_rows if r["category"] == "enterprise_finance"]
    forced = (1.0 if present == ["enterprise_finance"] else ENTERPRISE_MIN) * min(levers) if levers else 0.0
    scale = max(1.0, forced / (ENTERPRISE_MIN * 5.0))  # DEMAND_FACTOR is sized for 0.25 at leverage 5
    rows = []
    for c in counties:
        demand = DEMAND_FLOOR + c["demand_draw"] * scale * expected[c["recipient"]][plan_years[-1]]
        rows.append([c["recipient"], c["name"], c["province"], c["poor_population"], c["special_aid"], c["weight"],
                     _sig(demand), c["infra_unlock"], admin[c["recipient"]]])
    return rows


def _interpolate(points: tuple[float, float, float], n: int) -> list[float]:
    """Values at n evenly spaced positions of a curve through points at 0, 0.5 and 1."""
    if n == 1:
        return [points[0]]
    return [float(np.interp(j / (n - 1), (0.0, 0.5, 1.0), points)) for j in range(n)]


def _effects(rng, counties, inst_rows, share, expected, segments):
    rows = []
    shapes = {}
    for kind, rates in SEGMENT_RATE.items():
        widths = _interpolate(SEGMENT_WIDTH.get(kind, DEFAULT_WIDTH), segments)
        shapes[kind] = (_interpolate(rates, segments), [WIDTH_TOTAL * x / sum(widths) for x in widths])
    for c in counties:
        w = c["recipient"]
        plan_aid = sum(expected[w].values())
        for r in inst_rows:
            rates, widths = shapes[r["kind"]]
            factor = c["depth"] * c["multiplier"].get(r["kind"], 1.0) * rng.uniform(0.9, 1.1)
            scale = plan_aid * share[r["instrument"]] * rng.uniform(0.9, 1.2)
            for j, (rate, width) in enumerate(zip(rates, widths), 1):
                rows.append([w, r["instrument"], j, _sig(width * scale), round(r["base"] * factor * rate, 1)])
    return rows


def _capacity(rng, counties, inst_rows, share, expected, plan_years):
    rows = []
    for c in counties:
        w = c["recipient"]
        draws = [(rng.random() < CAPACITY_SHARE, rng.uniform(*CAPACITY_FACTOR)) for _ in inst_rows]
        limited = [hit for hit, _ in draws]
        # never limit every instrument of a category in a county: the category's minimum and
        # the budget always have somewhere to go
        for category in CATEGORIES:
            members = [i for i, r in enumerate(inst_rows) if r["category"] == category]
            if members and all(limited[i] for i in members):
                limited[members[-1]] = False
        # nor every women-targeting household instrument: women_min always has a fund to go to
        women = [i for i, r in enumerate(inst_rows) if r["category"] == "household_finance" and r["targets_women"]]
        if women and all(limited[i] for i in women):
            limited[women[-1]] = False
        for i, r in enumerate(inst_rows):
            if limited[i]:
                rows += [[w, r["instrument"], t, _sig(draws[i][1] * share[r["instrument"]] * expected[w][t])]
                         for t in plan_years]
    return rows


def _is_fund(r: dict) -> bool:
    return r["min_fund_size"] > 0 or r["setup_cost"] > 0


def _least_capital(r: dict) -> float:
    """Least capital of an established fund: its minimum size, and at least its set-up cost."""
    return max(r["min_fund_size"], r["setup_cost"])


def _admin_capacity(rng, counties, inst_rows) -> dict[str, int]:
    """Funds each county can run: ADMIN_CAPACITY drawn uniformly, below the number of fund
    instruments (so that it binds somewhere) but never below 2 (an enterprise and a household
    fund, which every county may need)."""
    lo, hi = ADMIN_CAPACITY
    most = max(lo, sum(_is_fund(r) for r in inst_rows) - 1)
    return {c["recipient"]: min(int(rng.integers(lo, hi + 1)), most) for c in counties}


def _people_of(segments: list[tuple[float, float]], money: float) -> float:
    """People that `money` lifts when it fills the (width, people_per_million) segments in order."""
    people = 0.0
    for width, rate in segments:
        used = min(width, money)
        people += used * rate
        money -= used
        if money <= 0:
            break
    return people


def _projects(rng, counties, inst_rows, share, expected, effect_rows, capped, plan_years):
    """Candidate projects in PROJECT_COUNTY_SHARE of the ordinary counties, on one public-goods
    instrument of each. Only counties with two or more public-goods instruments free of a capacity
    limit qualify, and the projects take one of them: the other stays a divisible instrument, so
    the public-goods shares and the quotas never depend on which projects are built."""
    public = [r["instrument"] for r in inst_rows if r["category"] == "public_goods"]
    segments: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for w, k, _, width, rate in effect_rows:
        segments.setdefault((w, k), []).append((width, rate))
    ordinary = [c["recipient"] for c in counties if not c["special_aid"]]
    free = {w: [k for k in public if (w, k) not in capped] for w in ordinary}
    candidates = [w for w in ordinary if len(free[w]) >= 2]
    fraction = rng.uniform(*PROJECT_COUNTY_SHARE)
    n = min(len(candidates), round(fraction * len(ordinary)))
    chosen = sorted(rng.choice(len(candidates), size=n, replace=False)) if n else []
    years = len(plan_years)
    start = np.array([PROJECT_YEAR_DECAY ** i for i in range(years)])
    public_share = sum(share[k] for k in public)
    rows = []
    for i in chosen:
        w = candidates[i]
        k = free[w][int(rng.integers(len(free[w])))]
        expected_public = public_share * sum(expected[w].values())
        stem = w.removesuffix("_county")
        kinds = PROJECT_KINDS.get(k, DEFAULT_PROJECT_KINDS)
        lo, hi = PROJECTS_PER_COUNTY
        drawn = [(kinds[int(rng.integers(len(kinds)))], _sig(rng.uniform(*PROJECT_COST) * expected_public),
                  rng.uniform(*PROJECT_PEOPLE), plan_years[int(rng.choice(years, p=start / start.sum()))])
                 for _ in range(int(rng.integers(lo, hi + 1)))]
        total = sum(cost for _, cost, _, _ in drawn)
        rate = _people_of(segments[w, k], total) / total  # all the county's projects on its effect curve
        rows += [[f"{stem}_{kind}_{j}", w, k, cost, float(round(rate * cost * noise)), year]
                 for j, (kind, cost, noise, year) in enumerate(drawn, 1)]
    return rows


def _cadres(rng, ordinary_pairs, budget, plan_years):
    """A cadres row for every ordinary pair; min_per_year is 1 with CADRE_MIN_PROBABILITY as long
    as the donor's least cadre cost stays within CADRE_MIN_SHARE of its first-year budget."""
    rows = []
    least: dict[str, float] = {}
    for d, w, _ in ordinary_pairs:
        wants = rng.random() < CADRE_MIN_PROBABILITY
        most = int(rng.integers(CADRE_MAX[0], CADRE_MAX[1] + 1))
        cost = round(rng.uniform(*CADRE_COST), 2)
        capacity = round(rng.uniform(*CADRE_CAPACITY), 2)
        fits = least.get(d, 0.0) + cost <= CADRE_MIN_SHARE * budget[d][plan_years[0]]
        low = 1 if wants and fits else 0
        least[d] = least.get(d, 0.0) + low * cost
        rows.append([d, w, low, most, cost, capacity])
    return rows


def _fund_scale(counties, pair_rows, inst_rows, present, expected, demand, capped, plan_years) -> float:
    """The factor (1, 1/2, 1/4, ...) on every fund's min_fund_size and setup_cost: 1 unless the
    counties are too small for the funds; then the largest factor under which a feasible plan
    exists for certain.

    The certificate is a plan with no project built and every cadre at its minimum (which costs
    at most CADRE_MIN_SHARE of a budget, so at least 98% of it is aid). A group is one donor's
    ordinary counties, or all special aid counties (which every donor shares); a county's aid is
    what it expects (E; at least 98% of it). WITNESS_SPENDING of that aid goes to public goods
    and human resources, evenly in every county, to instruments without projects or capacity
    limits: that meets every quota (at most 30% of E) and the categories' minimums. Enterprise
    finance gets a share a_e >= 0.26, household finance the rest (>= 0.16), all of it in
    women-targeting funds when women_min is set. A group's enterprise finance goes either
    (plain) to one fund in every county, an instrument without a capacity limit there whose
    minimum the county's a_e x plan aid covers and whose lending L a_e E fits the county's
    investment demand G; or (pooled) to one instrument k in the n counties with the largest G
    where k has no capacity limit, in proportion to G: L[k] a_e sum(E) <= sum(G) keeps each
    within its demand, and the smallest share must cover the minimum. Household finance goes
    either to one fund in every county (plain) or to one fund in one county (pooled). When every
    instrument is a fund (no spending instruments) both are plain, so every county has its own
    funds for its quota. Either way a county runs at most two funds, within admin_capacity (>= 2).
    As the factor shrinks the plain plan with a_e = 0.26 always qualifies (L <= 5 and G >= 1 + 2E),
    so the search ends.
    """
    if not any(_is_fund(r) for r in inst_rows):
        return 1.0
    women = any(r["category"] == "household_finance" and r["targets_women"] for r in inst_rows)
    enterprise = [r for r in inst_rows if r["category"] == "enterprise_finance"]
    household = [r for r in inst_rows if r["category"] == "household_finance" and (r["targets_women"] or not women)]
    spending = WITNESS_SPENDING if {"public_goods", "human_resources"} & set(present) else 0.0
    if household:
        shares = sorted({0.26, (1 - spending) / 2, 1 - spending - WITNESS_HOUSEHOLD_MIN})
        splits = [(a, 1 - spending - a) for a in shares]
    else:
        splits = [(1 - spending, 0.0)]
    last = plan_years[-1]
    plan = {w: (1 - CADRE_MIN_SHARE) * sum(e.values()) for w, e in expected.items()}
    special = [c["recipient"] for c in counties if c["special_aid"]]
    by_donor: dict[str, list[str]] = {}
    for d, w, _ in pair_rows:
        if w not in special:
            by_donor.setdefault(d, []).append(w)
    groups = [special, *by_donor.values()]

    def free(r, w):
        return (w, r["instrument"]) not in capped

    def enterprise_ok(group, scale, a_e) -> bool:
        if all(any(free(r, w) and _least_capital(r) * scale <= a_e * plan[w]
                   and r["leverage"] * a_e * expected[w][last] <= demand[w] for r in enterprise) for w in group):
            return True  # plain
        if not spending:
            return False
        aid, lending = sum(plan[w] for w in group), sum(expected[w][last] for w in group)
        for r in enterprise:  # pooled
            total = 0.0
            for g in sorted((demand[w] for w in group if free(r, w)), reverse=True):
                total += g
                if r["leverage"] * a_e * lending <= total and _least_capital(r) * scale <= a_e * aid * g / total:
                    return True
        return False

    def household_ok(group, scale, a_h) -> bool:
        if not a_h or all(any(free(r, w) and _least_capital(r) * scale <= a_h * plan[w] for r in household)
                          for w in group):
            return True  # none, or plain
        aid = sum(plan[w] for w in group)
        return bool(spending) and any(_least_capital(r) * scale <= a_h * aid and any(free(r, w) for w in group)
                                      for r in household)  # pooled

    scale = 1.0
    while not all(any(enterprise_ok(g, scale, a_e) and household_ok(g, scale, a_h) for a_e, a_h in splits)
                  for g in groups if g):
        scale /= 2
    return scale


# ---------------------------------------------------------------------------------- writing


def _sig(x: float, digits: int = 4) -> float:
    """Round to significant digits (money spans 0.01 to 10,000 million yuan)."""
    return float(f"{x:.{digits}g}") if x else 0.0


def _cell(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.10g}"
    return str(v)


def _csv(header: list[str], rows: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return buffer.getvalue()


def _scenario_toml(name: str, plan_years: list[int], present: list[str], inst_rows: list[dict]) -> str:
    lines = [
        f"# {name}: synthetic instance written by optimizer.data.generate (not real data).",
        "[scenario]",
        f'name = "{name}"',
        f"years = [{', '.join(map(str, plan_years))}]",
        'objective = "people_lifted"',
        "",
        "# The ewppt-2010 proportions: a donor's budget is a few to a few hundred million yuan a year.",
        "[proportion]",
        *(f"{lvl} = {PROPORTION[lvl]}" for lvl in LEVELS),
        "",
        "# Shares of each donor's yearly budget, only for the categories the instruments cover.",
        "[priorities]",
        'scope = "donor"',
    ]
    for rule, (value, category) in PRIORITIES.items():
        if category is None or category in present:
            lines.append(f"{rule} = {value}")
    if any(r["category"] == "household_finance" and r["targets_women"] for r in inst_rows):
        lines.append(f"women_min = {WOMEN_MIN}")
    lines += [f"quota_growth_min = {QUOTA_GROWTH_MIN}", "", "[solver]", "threads = 1", ""]
    return "\n".join(lines)


def _readme(name, args, plan_years, counties, inst_rows, present, budget, pair_rows, capacity_rows, effect_rows,
            admin, project_rows, cadre_rows, fund_scale):
    params = ", ".join(f"{k} {v}" for k, v in args.items())
    n_special = sum(c["special_aid"] for c in counties)
    regions = [r for r in SPECIAL_REGIONS if any(c["special_aid"] and c["province"] == r for c in counties)]
    first = [budget[d][plan_years[0]] for d in budget]
    total_first = sum(first)
    missing = [c for c in CATEGORIES if c not in present]
    lines = [
        f"# {name}: synthetic instance ({params}), not real data",
        "",
        "Written by `optimizer.data.generate.generate_instance` (`ewppt generate`); the same parameters",
        "always write the same files. The figures are drawn in the ranges of `instances/ewppt-2010`",
        "(see its SOURCES.md and the docstring of `optimizer/data/generate.py`); names are made up.",
        "",
        f"- {len(budget)} donors ({min(len(budget), len(REAL_DONORS))} named after the 2010 pairing's donors), "
        f"budgets {min(first):,.1f}-{max(first):,.1f} million yuan in {plan_years[0]} "
        f"({total_first:,.1f} in all), revenue growing 3-8% a year.",
        f"- {len(counties)} western counties, {n_special} of them special aid ({', '.join(regions)}); "
        f"{sum(c['poor_population'] for c in counties):,} poor people.",
        f"- {len(pair_rows)} pairs: each ordinary county with one donor, every donor with every special aid county.",
        f"- {len(inst_rows)} instruments covering {', '.join(present)}"
        + (f" (no {', '.join(missing)}; its priorities are left out)" if missing else "") + ".",
        f"- {len(effect_rows)} effect segments, {len(capacity_rows)} capacity rows.",
        f"- Plan years {plan_years[0]}-{plan_years[-1]}; objective people_lifted; shares per donor-year.",
    ]
    funds = [r for r in inst_rows if _is_fund(r)]
    least, most = min(admin.values()), max(admin.values())
    lines += [
        "",
        "Whole decisions (a MIP by default; `[scenario] model = \"lp\"` solves the relaxation):",
        "",
        f"- {len(funds)} fund instruments (minimum size or set-up cost); each county can run "
        f"{least if least == most else f'{least}-{most}'} funds (`admin_capacity`)"
        + (f"; the funds' minimum sizes and set-up costs are {fund_scale:g} of the usual ones, because the "
           f"counties are small for them" if fund_scale < 1 else "") + ".",
        f"- {len(project_rows)} candidate projects in {len({r[1] for r in project_rows})} counties "
        "(`projects.csv`, all or nothing; they replace those counties' effect rows for that instrument).",
        f"- {len(cadre_rows)} cadre rows, one per ordinary pair; {sum(r[2] for r in cadre_rows)} of them require a "
        "cadre every year (`cadres.csv`).",
        "",
    ]
    return "\n".join(lines)
