"""Synthetic instances of any size, for benchmarks and `ewppt generate`.

    from optimizer.generate import generate_instance
    generate_instance(Path("out/r800"), recipients=800, donors=12, instruments=10, years=5, seed=1)

The instance is a pure function of the arguments: the same arguments write byte-identical
files (random numbers come from `numpy.random.default_rng`, one independent stream per table,
so for example the donors do not change when only the number of recipients does). Every file is
written atomically. Figures follow the ranges of `instances/ewppt-2010` (see its SOURCES.md);
they are **synthetic**, not data.

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
  all limited in one county, so the limits cannot make the scenario infeasible.
- Investment demand: 2-4 times the county's expected aid in the last plan year (more when the
  instruments leave no choice but enterprise finance), plus 1 million, so that the enterprise
  minimum can always be met.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from optimizer.io import atomic_write_text
from optimizer.schema import CATEGORIES, LEVELS

# ------------------------------------------------------------------------------- constants

BASE_YEAR = 2010  # the revenue figures below are for 2010
PROPORTION = {"provincial": 0.0012, "prefectural": 0.0006, "county": 0.0004}  # as ewppt-2010
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

STREAMS = ("donors", "recipients", "pairs", "instruments", "effects", "capacity")


# ---------------------------------------------------------------------------------- public


def generate_instance(out: Path, recipients: int = 30, donors: int = 10, instruments: int = 10, years: int = 5,
                      seed: int = 0, segments: int = 3, first_year: int = 2011) -> Path:
    """Write a synthetic instance folder at `out` and return its path.

    The folder holds scenario.toml, the seven CSV tables (capacity.csv may have no rows when
    every category has a single instrument) and a README.md. Files already in the folder with
    these names are replaced; other files are left alone.
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
    recipient_rows = _recipient_table(county_rows, expected, inst_rows, present, plan_years)
    effect_rows = _effects(rng["effects"], county_rows, inst_rows, share, expected, int(segments))
    capacity_rows = _capacity(rng["capacity"], county_rows, inst_rows, share, expected, plan_years)

    name = f"synthetic-r{recipients}-d{donors}-k{instruments}-t{years}-s{seed}"
    files = {
        "donors.csv": _csv(["donor", "name", "kind"], donor_rows),
        "revenue.csv": _csv(["donor", "level", "year", "revenue"], revenue_rows),
        "recipients.csv": _csv(["recipient", "name", "province", "poor_population", "special_aid", "weight",
                                "investment_demand", "infra_unlock"], recipient_rows),
        "pairs.csv": _csv(["donor", "recipient", "base_quota"], pair_rows),
        "instruments.csv": _csv(["instrument", "category", "leverage", "targets_women", "min_fund_size", "setup_cost"],
                                [[r[c] for c in ("instrument", "category", "leverage", "targets_women", "min_fund_size",
                                                 "setup_cost")] for r in inst_rows]),
        "effects.csv": _csv(["recipient", "instrument", "segment", "width", "people_per_million"], effect_rows),
        "capacity.csv": _csv(["recipient", "instrument", "year", "max_aid"], capacity_rows),
        "scenario.toml": _scenario_toml(name, plan_years, present, inst_rows),
    }
    args = dict(recipients=recipients, donors=donors, instruments=instruments, years=years, seed=seed,
                segments=segments, first_year=first_year)
    files["README.md"] = _readme(name, args, plan_years, county_rows, inst_rows, present, budget, pair_rows,
                                 capacity_rows, effect_rows)
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


def _recipient_table(counties, expected, inst_rows, present, plan_years):
    # Enterprise lending the instruments force on a county per million of its aid: the enterprise
    # minimum at the least leverage, or everything when enterprise finance is the only category.
    levers = [r["leverage"] for r in inst_rows if r["category"] == "enterprise_finance"]
    forced = (1.0 if present == ["enterprise_finance"] else ENTERPRISE_MIN) * min(levers) if levers else 0.0
    scale = max(1.0, forced / (ENTERPRISE_MIN * 5.0))  # DEMAND_FACTOR is sized for 0.25 at leverage 5
    rows = []
    for c in counties:
        demand = DEMAND_FLOOR + c["demand_draw"] * scale * expected[c["recipient"]][plan_years[-1]]
        rows.append([c["recipient"], c["name"], c["province"], c["poor_population"], c["special_aid"], c["weight"],
                     _sig(demand), c["infra_unlock"]])
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
        for i, r in enumerate(inst_rows):
            if limited[i]:
                rows += [[w, r["instrument"], t, _sig(draws[i][1] * share[r["instrument"]] * expected[w][t])]
                         for t in plan_years]
    return rows


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
        f"# {name}: synthetic instance written by optimizer.generate (not real data).",
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


def _readme(name, args, plan_years, counties, inst_rows, present, budget, pair_rows, capacity_rows, effect_rows):
    params = ", ".join(f"{k} {v}" for k, v in args.items())
    n_special = sum(c["special_aid"] for c in counties)
    regions = [r for r in SPECIAL_REGIONS if any(c["special_aid"] and c["province"] == r for c in counties)]
    first = [budget[d][plan_years[0]] for d in budget]
    total_first = sum(first)
    missing = [c for c in CATEGORIES if c not in present]
    lines = [
        f"# {name}: synthetic instance ({params}), not real data",
        "",
        "Written by `optimizer.generate.generate_instance` (`ewppt generate`); the same parameters",
        "always write the same files. The figures are drawn in the ranges of `instances/ewppt-2010`",
        "(see its SOURCES.md and the docstring of `optimizer/generate.py`); names are made up.",
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
        "",
    ]
    return "\n".join(lines)
