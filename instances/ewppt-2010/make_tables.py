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
LEVELS = ("provincial", "prefectural", "county")

# Must equal [proportion] in scenario.toml. The mix 3 : 1.5 : 1 (provincial : prefectural : county)
# at the level that gives the recorded East-West aid of 2011, 840.264 million yuan (China Poverty
# Alleviation Yearbook 2012), in 2011: 848.1 million (main() prints the budgets), rounded to two
# significant digits.
PROPORTION = {"provincial": 0.00047, "prefectural": 0.00023, "county": 0.00016}

# ------------------------------------------------------------------------------------ donors
# Revenue means local general budget revenue (the yearbooks' 地方财政一般预算收入), million yuan.
# Every donor's series is built by revenue_series() below from the values FOUND in public
# statistics (each with its source); where no value was found for a year, the nearest found
# value is carried along the national local revenue index (LOCAL_REVENUE), and that figure is
# illustrative. docs/source.md and SOURCES.md list the sources in prose.
PROVINCES = {  # id: (name, municipality?)
    "beijing": ("Beijing", True),
    "tianjin": ("Tianjin", True),
    "shanghai": ("Shanghai", True),
    "guangdong": ("Guangdong", False),
    "jiangsu": ("Jiangsu", False),
    "zhejiang": ("Zhejiang", False),
    "shandong": ("Shandong", False),
    "liaoning": ("Liaoning", False),
    "fujian": ("Fujian", False),
}
CITIES = {  # id: (name, province it lies in)
    "dalian": ("Dalian", "liaoning"),
    "qingdao": ("Qingdao", "shandong"),
    "shenzhen": ("Shenzhen", "guangdong"),
    "ningbo": ("Ningbo", "zhejiang"),
    "xiamen": ("Xiamen", "fujian"),
    "zhuhai": ("Zhuhai", "guangdong"),
}
_TJ = "Tianjin Statistical Yearbook 2011, table 8-1"
_SD = "Shandong Statistical Yearbook, table 8-4"
_NBS07 = "China Statistical Yearbook 2008, table 7-7 (revenue by region, 2007)"
_CSY05 = "China Statistical Yearbook 2005, table 11-2 (cities including counties, 2004)"
# (region, year): (total revenue in million yuan, kind, source). A province's figure includes its
# cities. kind: verified = printed in the source; derived = computed from printed figures (how).
FOUND = {
    **{("tianjin", t): (v * 100, "verified", _TJ) for t, v in {
        1996: 76.02, 1997: 89.91, 1998: 101.40, 1999: 112.81, 2000: 133.61, 2001: 163.64, 2002: 171.83,
        2003: 204.53, 2004: 246.18, 2005: 331.85, 2006: 417.05, 2007: 540.44, 2008: 675.62, 2009: 821.99,
        2010: 1068.81}.items()},
    ("tianjin", 2011): (145_513.0, "verified", "Tianjin Statistical Yearbook 2012, table 8-1"),
    ("shandong", 2007): (167_540.0, "verified", _NBS07),
    ("shandong", 2009): (219_863.24, "verified", "Shandong Statistical Yearbook, table 8-5 (2009)"),
    ("shandong", 2010): (274_938.42, "verified", _SD),
    ("shandong", 2011): (345_592.67, "verified", _SD),
    ("shandong", 2012): (405_943.01, "verified", _SD),
    ("qingdao", 2009): (37_700.87, "verified", "Shandong Statistical Yearbook, table 8-5 (2009), Qingdao row"),
    ("shanghai", 2004): (111_972.0, "verified", _CSY05),
    ("shanghai", 2007): (207_448.0, "verified", _NBS07),
    ("shanghai", 2009): (254_030.0, "derived", "Shanghai Finance Bureau, local revenue December 2010: 287.36 less the "
                                               "33.33 billion rise over 2009"),
    ("shanghai", 2010): (287_360.0, "verified", "Shanghai Finance Bureau, local revenue December 2010"),
    ("zhejiang", 2007): (164_950.0, "verified", _NBS07),
    ("zhejiang", 2010): (260_800.0, "verified", "Zhejiang government work report 2011 (rounded to 100 million)"),
    ("beijing", 2001): (45_416.76, "verified", "China Statistical Yearbook 2002, table 8-19"),
    ("beijing", 2004): (74_448.74, "verified", _CSY05),
    ("beijing", 2006): (111_720.0, "verified", "Beijing statistical communique 2006"),
    ("beijing", 2007): (149_264.0, "verified", _NBS07),
    ("beijing", 2009): (202_680.0, "verified", "Beijing Finance Bureau (news, January 2010)"),
    ("jiangsu", 2007): (223_773.0, "verified", _NBS07),
    ("jiangsu", 2009): (322_900.0, "verified", "Jiangsu government work report 2010"),
    ("guangdong", 2007): (278_580.0, "verified", _NBS07),
    ("liaoning", 2007): (108_269.0, "verified", _NBS07),
    ("fujian", 2007): (69_946.0, "verified", _NBS07),
    ("dalian", 2000): (7_760.0, "verified", "Dalian statistical communique 2000"),
    ("dalian", 2002): (9_870.0, "verified", "Dalian statistical communique 2002"),
    ("dalian", 2003): (11_054.0, "verified", "news summary of Dalian's 2003 revenue"),
    ("dalian", 2004): (11_717.12, "verified", _CSY05),
    ("dalian", 2007): (26_800.0, "verified", "Dalian statistical communique 2007"),
    ("dalian", 2008): (33_910.0, "verified", "Dalian statistical communique 2008"),
    ("dalian", 2010): (50_077.0, "derived", "Dalian statistical communique 2011: 65,100 / 1.30 (up 30%)"),
    ("dalian", 2011): (65_100.0, "verified", "Dalian statistical communique 2011"),
    ("ningbo", 2004): (15_174.9, "verified", _CSY05),
    ("xiamen", 2000): (5_190.0, "verified", "Xinhua news: Xiamen's revenue in 2000"),
    ("xiamen", 2005): (10_300.0, "verified", "Xinhua news: Xiamen's revenue in 2005 ('about 10.3 billion')"),
    ("shenzhen", 2010): (110_711.0, "derived", "Shenzhen 2011 settlement news: 133,960 / 1.21"),
    ("shenzhen", 2011): (133_960.0, "verified", "Shenzhen 2011 year-end fiscal settlement (news, 1 January 2012)"),
    ("zhuhai", 2010): (11_697.4, "derived", "Zhuhai statistical communique 2011: 14,341 / 1.226"),
    ("zhuhai", 2011): (14_341.0, "verified", "Zhuhai statistical communique 2011"),
}
# Total local revenue of 2016 (million yuan), National Bureau of Statistics, annual data by
# province (data.stats.gov.cn, 分省年度数据, 地方财政收入: own-level revenue, debt excluded), as
# exported to the public GitHub repository Liushenwuzhu-Alpaca/province-economy
# (data/raw/nbs_exports/分省年度数据地方财政数据.csv). Used as the far anchor of the plan years
# only where the donor's 2011 is also recorded (REVENUE_LATER_RULE): Tianjin and Shandong. Since
# 2015 some government-fund items count in the general budget, so the 2016 figure is on a wider
# basis than 2011's; no per-province size of the moved items was found, so it is not corrected
# (SOURCES.md says what that does).
_NBS16 = "National Bureau of Statistics, annual data by province (data.stats.gov.cn), local revenue 2016"
FOUND_LATER = {(region, 2016): (v * 100, "verified", _NBS16) for region, v in {
    "beijing": 5081.26, "tianjin": 2723.50, "liaoning": 2200.49, "shanghai": 6406.13, "jiangsu": 8121.23,
    "zhejiang": 5301.98, "fujian": 2654.83, "shandong": 5860.18, "guangdong": 10390.35}.items()}
# A year after the last recorded national local revenue (LOCAL_REVENUE_FOUND) lying between two
# recorded totals of the same donor, the later one at most this year, follows the donor's own
# recorded path between them (geometric interpolation: derived); the national index is an
# assumption there (INDEX_GROWTH), the donor's two records are not.
REVENUE_LATER_RULE = 2016

# Share of a city's revenue collected at the city level itself (市本级), the rest by its districts
# and counties: year: (share, kind, source).
CITY_LEVEL_FOUND = {
    "dalian": {2000: (3425 / 7760, "verified", "Dalian statistical communique 2000: city level 34.25 of 77.6"),
               2002: (4352 / 9870, "verified", "Dalian statistical communique 2002: city level 43.52 of 98.7"),
               2007: (12120 / 26800, "verified", "Dalian statistical communique 2007: city level 121.2 of 268"),
               2008: (15190 / 33910, "verified", "Dalian statistical communique 2008: city level 151.9 of 339.1"),
               2011: (24230 / 65100, "verified", "Dalian statistical communique 2011: city level 242.3 of 651")},
    "shenzhen": {2011: (80300 / 133960, "verified", "Shenzhen 2011 settlement news: city level 803 of 1,339.6")},
}
CITY_LEVEL_DEFAULT = 0.5  # illustrative: between Dalian's 37% (2011) and Shenzhen's 60% (2011)
# Share of a municipality's revenue collected at the municipal level (the rest by its districts
# and counties; a municipality has no prefectural level).
MUNICIPAL_LEVEL_FOUND = {"shanghai": (139_320 / 287_360, "derived",
                                      "Shanghai Finance Bureau, December 2010: municipal level 139.32 of 287.36 billion")}
MUNICIPAL_LEVEL_DEFAULT = 0.5  # illustrative (Beijing, Tianjin)
# Provinces: provincial, prefectural and county levels, illustrative; Fujian's county-level units
# collected 58.1% of its revenue in the first half of 2010 (news of the provincial finance
# department), the other two levels keep the default ratio.
PROVINCE_SPLIT = {"provincial": 0.25, "prefectural": 0.40, "county": 0.35}
PROVINCE_SPLIT_FOUND = {"fujian": ({"provincial": 0.419 * 0.25 / 0.65, "prefectural": 0.419 * 0.40 / 0.65,
                                    "county": 0.581},
                                   "county-level units 58.1% of Fujian's revenue in the first half of 2010 (Fujian "
                                   "finance department, news); the rest split 25 : 40 as elsewhere")}
# Local general budget revenue of all local governments, 100 million yuan: China Statistical
# Yearbooks 1998 (table 8-12: 1996, 1997), 2008 (7-5), 2009 (7-5), 2010 (8-5), 2011 (8-5),
# 2012 (8-4: 2011). 1998-2006 were not found and are the series as recalled; 2012 on grow by
# INDEX_GROWTH. The index only carries a found figure to a year without one.
LOCAL_REVENUE = {
    1996: 3_746.92, 1997: 4_424.22, 1998: 4_983.95, 1999: 5_594.87, 2000: 6_406.06, 2001: 7_803.30,
    2002: 8_515.00, 2003: 9_849.98, 2004: 11_893.37, 2005: 15_100.76, 2006: 18_303.58, 2007: 23_572.62,
    2008: 28_649.79, 2009: 32_602.59, 2010: 40_613.04, 2011: 52_547.11,
}
LOCAL_REVENUE_FOUND = {1996, 1997, 2007, 2008, 2009, 2010, 2011}
INDEX_GROWTH = 0.10  # illustrative nominal growth of local revenue a year after 2011

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
# The plan's poverty line. The 2011-2015 plan ran under the national line adopted in November 2011:
# 2,300 yuan of net income per rural person-year at 2010 prices (People's Daily Overseas Edition,
# 2012-05-31; 2,536 yuan in 2011 prices). POOR_2300 counts each recipient's rural poor at that line
# at the end of 2011, the plan's first year and the line's first national count (122.38 million:
# 98.99 million at end-2012 plus the 23.39 million lifted in 2012, China Daily / Xinhua 2013-02-27).
# RECIPIENTS' `poor` (the 1,274-yuan line of 2010) stays for the history instances' scaling.
POVERTY_LINE_PLAN = "2,300 yuan per rural person-year at 2010 prices (national line from 2011), end-2011 count"
POVERTY_LINE_2010 = 1274.0  # yuan, the line of 2010 (white paper 2011)
POVERTY_LINE_2300 = 2300.0
# Counts at the line found for other years are carried to end-2011 by the western region's recorded
# yearly change: 50.86 million poor in 2012 and 22.51 million in 2016 (《中国西部地区农村扶贫成效及问题研究》,
# NBS figures), a factor (22.51 / 50.86)^(1/4) = 0.8156 a year.
WEST_POOR = {2012: 50.86e6, 2016: 22.51e6}
WEST_YEARLY = (WEST_POOR[2016] / WEST_POOR[2012]) ** (1 / 4)
POOR_YEAR = 2011
_WEST = "western region 50.86 million (2012) and 22.51 million (2016), 《中国西部地区农村扶贫成效及问题研究》"
# Provinces with a count at the 2,300 line: (count, year-end of the count, status of the count, source).
POOR_2300_FOUND = {
    "guizhou": (11.49e6, 2011, "verified", "People's Daily Overseas Edition, 2012-05-31, http://www.haiwainet.cn/n/2012/0531/"
                "c232604-17096794-3.html: Guizhou 1,149万 poor at the new 2,300-yuan line (the article's figures run to "
                "2011; taken as end-2011)"),
    "yunnan": (10.14e6, 2011, "derived", "China News Service, 2015-08-25 (copy at kunming.baogaosu.com): 574万 poor at "
               "end-2014 after 440万 lifted since end-2011, so 1,014万 at end-2011 (the article prints 2014万, which its "
               "own 574 + 440 contradict)"),
    "sichuan": (13.5676e6, 2010, "verified", "Ganzi prefecture government, 2012-06-25 (copy at https://m.pouringspot.com/"
                "10462/10464/10465/10595/2012/6/25/10215125.shtml): Sichuan 1,356.76万 rural poor at the 2,300-yuan line "
                "at end-2010 (20.41%)"),
    "gansu": (6.92e6, 2012, "verified", "periodical abstract (ppdoc.com): Gansu 692万 poor at end-2012 (33.2%)"),
    "guangxi": (5.38e6, 2014, "verified", "Guangxi Normal University, 2016, article 1674-0688(2016)07-0165-03 (copy at "
                "http://www.handmsg.com/page/2016/0530/22121751.shtml): Guangxi 538万 poor in 2014 (12.6%)"),
}
# Prefectures: no count at the 2,300 line was found for Linxia or Liangshan. Each is the share of its
# province's count that the earlier instance assumed (Linxia 0.35 of Gansu's 2.50 million, Liangshan
# 0.40 of Sichuan's 2.00 million; illustrative), and the province row is the rest. For scale:
# Ganzi, another minority prefecture of Sichuan, had 41.08% of its rural people poor at end-2010,
# 2.0 times Sichuan's 20.41% (Ganzi prefecture government, 2012-06-25).
PREFECTURE_OF = {"linxia": "gansu", "liangshan": "sichuan"}
# The western provinces without a count share what the western total leaves (end-2011) in proportion
# to their 1,274-line figures of RECIPIENTS (an assumed key, so illustrative).

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
# The effects: the generator's people per million (optimizer/data/generate.py, INSTRUMENTS) count
# people at the 1,274-yuan line of 2010. A person under the 2,300-yuan line is further from it, so
# the same money lifts fewer: people per million scale with 1,274 / line, as the record instances
# scale them to the lines of their years (make_record_instances.py). A derived calibration (two
# printed lines); docs/source.md sets the result beside the recorded aggregates, and
# studies/effects-1274-line.toml puts the old effects back (factor 2,300 / 1,274).
EFFECT_LINE_SCALE = POVERTY_LINE_2010 / POVERTY_LINE_2300
WHY_EFFECT_SCALE = (f"x {EFFECT_LINE_SCALE:.4f} = 1,274 / 2,300 (the 2010 line over the plan's line: a derived "
                    "calibration of the assumed 1,274-line effects)")
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

# Cadre exchange on every pair (the source asks to institutionalise it). The record: 167 cadres went
# east to west in 2009 and 191 in 2010 (Table 2 of the source; 2,592 in 2003-2010, confirmed by the
# State Council's 2011 white paper), and 473 in 2011 (China Poverty Alleviation Yearbook 2012). A
# main pair sends at least its donor's share (by 2011 budget) of CADRES_RECORD_MIN a year and at
# most its share of CADRES_RECORD_MAX, at least one and one more than its least; so all main pairs
# together send from about the 2010 figure up to about the 2011 figure. Tibet and Xinjiang may
# receive a few more from every donor (dearer at altitude and distance). A cadre costs salary,
# allowances and housing for a year away (million yuan per cadre-year); ten cadre-years add one
# fund the recipient can run.
CADRES_RECORD_MIN = 191  # 2010 (Table 2)
CADRES_RECORD_MAX = 473  # 2011 (China Poverty Alleviation Yearbook 2012)
CADRE_COST = 0.25
CADRE_CAPACITY = 0.1
CADRE_MIN_WHY = "the donor's share (by 2011 budget) of the 191 cadres sent east to west in 2010 (Table 2), at least 1"
CADRE_MAX_WHY = "the donor's share (by 2011 budget) of the 473 cadres sent in 2011 (China Poverty Alleviation Yearbook 2012)"
CADRE_SPECIAL_WHY = "a few cadres for Tibet and Xinjiang from every donor (assumed)"
CADRES_SPECIAL = {"tibet": (0, 3, 0.35, 0.1), "xinjiang": (0, 3, 0.30, 0.1)}


def cadre_bounds(budget: dict[str, dict[int, float]]) -> dict[str, tuple[int, int]]:
    """(min, max) cadres a year per donor on its main pair, by its share of the 2011 budget."""
    total = sum(b[YEARS[0]] for b in budget.values())
    out = {}
    for d, b in budget.items():
        share = b[YEARS[0]] / total
        low = max(1, round(CADRES_RECORD_MIN * share))
        out[d] = (low, max(low + 1, round(CADRES_RECORD_MAX * share)))
    return out


def r1(x: float) -> float:
    return round(x, 1)


RANK = {"verified": 0, "derived": 1, "illustrative": 2}


def worst(*kinds: str) -> str:
    """The status of a figure computed from figures of these statuses."""
    return max(kinds, key=RANK.__getitem__)


def local_index(year: int) -> float:
    """National local revenue of a year (100 million yuan); after 2011 grown by INDEX_GROWTH."""
    if year in LOCAL_REVENUE:
        return LOCAL_REVENUE[year]
    return LOCAL_REVENUE[2011] * (1 + INDEX_GROWTH) ** (year - 2011)


def total_revenue(region: str, year: int) -> tuple[float, str, str]:
    """(revenue, status, source) of a province or city in a year, million yuan.

    A found figure as found. Otherwise the region's ratio to the national local revenue index at
    the found years on either side, interpolated geometrically (or the nearest found year's
    ratio when the year lies outside them), times the index of the year: illustrative."""
    if (region, year) in FOUND:
        return FOUND[region, year]
    recorded = {t: v for (r, t), v in {**FOUND, **FOUND_LATER}.items() if r == region and v[1] != "illustrative"}
    if year > max(LOCAL_REVENUE_FOUND) and (region, max(LOCAL_REVENUE_FOUND)) in FOUND:
        before = [t for t in recorded if t < year]
        after = [t for t in recorded if year < t <= REVENUE_LATER_RULE]
        if before and after:
            a, b = max(before), min(after)
            va, vb = recorded[a][0], recorded[b][0]
            value = va * (vb / va) ** ((year - a) / (b - a))
            name = (PROVINCES.get(region) or CITIES[region])[0]
            return value, "derived", (f"{name}'s recorded path {a}-{b}: {va:,.1f} x ({vb:,.1f} / {va:,.1f})^(({year} - {a}) "
                                      f"/ {b - a}) ({recorded[a][2]}; {recorded[b][2]})")
    anchors = sorted(t for r, t in FOUND if r == region)
    ratio = {t: FOUND[region, t][0] / local_index(t) for t in anchors}
    before = [t for t in anchors if t < year]
    after = [t for t in anchors if t > year]
    name = (PROVINCES.get(region) or CITIES[region])[0]
    if before and after:
        a, b = before[-1], after[0]
        w = (year - a) / (b - a)
        value = local_index(year) * ratio[a] ** (1 - w) * ratio[b] ** w
        how = f"{name}'s {a} and {b} figures, interpolated along the national local revenue index"
    else:
        a = before[-1] if before else after[0]
        value = local_index(year) * ratio[a]
        how = f"{name}'s {a} figure ({FOUND[region, a][2]}) carried to {year} by the national local revenue index"
    return value, "illustrative", how


def city_level_share(city: str, year: int) -> tuple[float, str, str]:
    """Share of a city's revenue collected at the city level: found, interpolated, or the default."""
    found = CITY_LEVEL_FOUND.get(city, {})
    if year in found:
        return found[year]
    if not found:
        return CITY_LEVEL_DEFAULT, "illustrative", f"city-level share {CITY_LEVEL_DEFAULT:.0%} assumed"
    years = sorted(found)
    before = [t for t in years if t < year]
    after = [t for t in years if t > year]
    if before and after:
        a, b = before[-1], after[0]
        share = found[a][0] + (found[b][0] - found[a][0]) * (year - a) / (b - a)
        return share, "illustrative", f"city-level share interpolated between {a} and {b} ({share:.1%})"
    a = before[-1] if before else after[0]
    return found[a][0], "illustrative", f"city-level share of {a} ({found[a][0]:.1%}: {found[a][2]})"


def level_shares(donor: str, year: int) -> dict[str, tuple[float, str, str]]:
    """The donor's split of its own revenue over the three levels: (share, status, source)."""
    if donor in CITIES:
        share, kind, source = city_level_share(donor, year)
        return {"provincial": (0.0, "derived", "a city has no provincial level"),
                "prefectural": (share, kind, source), "county": (1 - share, kind, source)}
    if PROVINCES[donor][1]:  # a municipality
        if donor in MUNICIPAL_LEVEL_FOUND:
            share, kind, source = MUNICIPAL_LEVEL_FOUND[donor]
            kind = kind if year == 2010 else "illustrative"
            source = f"municipal-level share {share:.1%} ({source})"
        else:
            share, kind, source = MUNICIPAL_LEVEL_DEFAULT, "illustrative", f"municipal-level share {MUNICIPAL_LEVEL_DEFAULT:.0%} assumed"
        return {"provincial": (share, kind, source), "prefectural": (0.0, "derived", "a municipality has no prefectural level"),
                "county": (1 - share, kind, source)}
    split, note = PROVINCE_SPLIT_FOUND.get(donor, (PROVINCE_SPLIT, "split 25% provincial, 40% prefectural, 35% county assumed"))
    return {lvl: (split[lvl], "illustrative", note) for lvl in split}


def revenue_series(donors: list[str], years: list[int]) -> dict[str, dict[str, dict[int, tuple[float, str, str]]]]:
    """Revenue by donor, level and year, (value to 0.1 million, status, source).

    A city that is a donor is taken out of its province level by level (its city level from the
    province's prefectural level, its districts and counties from the county level); a city that
    is not a donor stays in its province."""
    out: dict[str, dict[str, dict[int, tuple[float, str, str]]]] = {d: {lvl: {} for lvl in LEVELS} for d in donors}
    for t in years:
        parts: dict[str, dict[str, tuple[float, str, str]]] = {}
        for d in donors:
            total, kind, source = total_revenue(d, t)
            name = (PROVINCES.get(d) or CITIES[d])[0]
            parts[d] = {lvl: (total * share, worst(kind, share_kind),
                              f"{name} {t} total {total:,.1f} ({source}); {share_source}") if share else
                        (0.0, "derived", share_source)
                        for lvl, (share, share_kind, share_source) in level_shares(d, t).items()}
        for c in donors:
            if c not in CITIES:
                continue
            province = CITIES[c][1]
            if province not in parts:
                continue
            for lvl in ("prefectural", "county"):
                v, k, s = parts[province][lvl]
                cv, ck, _ = parts[c][lvl]
                parts[province][lvl] = (v - cv, worst(k, ck), f"{s}; less {CITIES[c][0]}'s {lvl} revenue")
                assert parts[province][lvl][0] > 0, (province, lvl, t)
        for d in donors:
            for lvl in LEVELS:
                v, k, s = parts[d][lvl]
                out[d][lvl][t] = (r1(v), k, s)
    return out


def values(series: dict) -> dict[str, dict[str, dict[int, float]]]:
    """The values of revenue_series, without status and source."""
    return {d: {lvl: {t: cell[0] for t, cell in by_year.items()} for lvl, by_year in levels.items()}
            for d, levels in series.items()}


def poor_2300() -> dict[str, tuple[float, str, str]]:
    """Rural poor of every recipient at the 2,300-yuan line, end-2011: (people, status, source)."""
    carried = {}
    for prov, (count, year, kind, source) in POOR_2300_FOUND.items():
        if year == POOR_YEAR:
            carried[prov] = (count, kind, source)
        else:
            value = count * WEST_YEARLY ** (POOR_YEAR - year)
            carried[prov] = (value, "derived", f"{count / 1e6:g} million at end-{year} ({source}) x {WEST_YEARLY:.4f}^"
                             f"({POOR_YEAR} - {year}), the western region's yearly change ({_WEST})")
    west = WEST_POOR[2012] / WEST_YEARLY
    rest = [w for w in RECIPIENTS if w not in carried and w not in PREFECTURE_OF]
    left = west - sum(v for v, _, _ in carried.values())
    key = sum(RECIPIENTS[w][2] for w in rest)
    out = {}
    for w in rest:
        out[w] = (left * RECIPIENTS[w][2] / key, "illustrative",
                  f"the western region's end-2011 count {west / 1e6:.2f} million (2012's {WEST_POOR[2012] / 1e6:g} million / "
                  f"{WEST_YEARLY:.4f}; {_WEST}) less the {len(carried)} provinces with a count ({(west - left) / 1e6:.2f} "
                  f"million), shared over the other {len(rest)} by their assumed 1,274-line figures ({RECIPIENTS[w][2]:,} of {key:,})")
    for pref, prov in PREFECTURE_OF.items():
        value, kind, source = carried[prov]
        share = RECIPIENTS[pref][2] / (RECIPIENTS[pref][2] + RECIPIENTS[prov][2])
        out[pref] = (value * share, "illustrative", f"{share:.0%} (assumed) of {RECIPIENTS[prov][0]}'s end-2011 count "
                     f"{value / 1e6:.3f} million ({source})")
        out[prov] = (value * (1 - share), "illustrative", f"{RECIPIENTS[prov][0]}'s end-2011 count {value / 1e6:.3f} million "
                     f"({source}) less {RECIPIENTS[pref][0]} ({share:.0%} of it, assumed)")
    for w, cell in carried.items():
        out.setdefault(w, cell)
    return {w: (float(round(out[w][0], -3)), out[w][1], out[w][2]) for w in RECIPIENTS}


def admin_capacity(gdp: float) -> int:
    return min(ADMIN_MAX, ADMIN_BASE + round(gdp / ADMIN_PER_GDP))


def people_of(curve: list[tuple[float, float]], money: float) -> float:
    """People that `money` lifts when it fills the (width, people_per_million) segments in order."""
    people = 0.0
    for width, rate in curve:
        used = min(width, money)
        people, money = people + used * rate, money - used
    return people


def budgets(rev: dict[str, dict[str, dict[int, float]]], proportion: dict[str, float] | None = None
            ) -> dict[str, dict[int, float]]:
    p = proportion or PROPORTION
    return {d: {t: sum(p[lvl] * levels[lvl][t] for lvl in LEVELS) for t in YEARS} for d, levels in rev.items()}


class Tables:
    """Writes the CSV tables of an instance folder and, beside them, provenance.csv: a row for
    every figure (numeric, non-key cell) with its status and source. `why` gives a column's
    (status, source), or a function of the row giving it, or, with `cells`, one per row."""

    def __init__(self, folder: Path, fmt=None):
        self.folder = folder
        self.fmt = fmt or (lambda v: "true" if v is True else "false" if v is False else
                           (f"{v:.10g}" if isinstance(v, float) else str(v)))
        self.provenance: list[list[str]] = []

    def write(self, name: str, header: list[str], rows: list[list], why: dict | None = None) -> None:
        from optimizer.data.provenance import figure_columns, row_key
        from optimizer.data.schema import TABLES

        spec = TABLES[name]
        figures = [c for c in figure_columns(spec) if c in header]
        with open(self.folder / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(header)
            for row in rows:
                text = [self.fmt(v) for v in row]
                w.writerow(text)
                cells = dict(zip(header, text))
                for col in figures:
                    if cells[col] == "":
                        continue
                    rule = (why or {}).get(col)
                    status, source = rule(dict(zip(header, row))) if callable(rule) else rule
                    assert status in RANK, (name, col, status)
                    self.provenance.append([name, col, row_key(spec, cells), cells[col], status, source])

    def close(self) -> None:
        with open(self.folder / "provenance.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["table", "column", "key", "value", "status", "source"])
            w.writerows(self.provenance)


ILL = "illustrative"
WHY_RECIPIENTS = {
    "poor_population": (ILL, "no province-level count of the rural poor was found at any poverty line; shares of the "
                             "national 26.88 million (2010, 1,274 yuan line, white paper 2011) assumed"),
    "weight": (ILL, "priority weight assumed: 1.5 for Tibet, Xinjiang and the two prefectures, else 1"),
    "investment_demand": (ILL, "30 million + 0.35 million per billion yuan of approximate 2010 GDP (assumed)"),
    "infra_unlock": (ILL, "assumed by remoteness"),
    "admin_capacity": (ILL, "2 funds + 1 per 300 billion yuan of approximate 2010 GDP, at most 7 (assumed)"),
}
WHY_INSTRUMENTS = {
    "leverage": (ILL, "instrument table of the synthetic generator (assumed)"),
    "min_fund_size": (ILL, "instrument table of the synthetic generator (assumed)"),
    "setup_cost": (ILL, "instrument table of the synthetic generator (assumed)"),
    "lag_years": (ILL, "roads, water, schools and clinics serve from the year after payment (assumed)"),
}
WHY_EFFECTS = {
    "width": (ILL, "segment widths scaled by the recipient's expected aid (assumed)"),
    "people_per_million": (ILL, "people lifted per million yuan by instrument and recipient (assumed)"),
}
WHY_EFFECTS_PLAN = WHY_EFFECTS | {"people_per_million": (ILL, "people lifted per million yuan by instrument and "
                                                              f"recipient at the 1,274-yuan line (assumed), {WHY_EFFECT_SCALE}")}
WHY_CAPACITY = {"max_aid": (ILL, "absorptive limit of 2011 grown 5% a year (assumed)")}
WHY_QUOTA = {"base_quota": (ILL, "40% of the donor's budget in the first plan year (assumed); 0 for special aid pairs")}


def main() -> None:
    donors = [(d, name, "province") for d, (name, _) in PROVINCES.items()]
    donors += [(c, name, "city") for c, (name, _) in CITIES.items()]
    out = Tables(HERE)
    out.write("donors", ["donor", "name", "kind"], donors)

    series = revenue_series([d for d, _, _ in donors], YEARS)
    rev = values(series)
    out.write("revenue", ["donor", "level", "year", "revenue"],
              [[d, lvl, t, rev[d][lvl][t]] for d, _, _ in donors for lvl in LEVELS for t in YEARS],
              {"revenue": lambda r: series[r["donor"]][r["level"]][r["year"]][1:]})
    budget = budgets(rev)

    rows = []
    poor = poor_2300()
    for w, (name, prov, _, special, weight, gdp, *_rest, unlock) in RECIPIENTS.items():
        rows.append([w, name, prov, poor[w][0], special, weight, r1(DEMAND_FLOOR + DEMAND_PER_GDP * gdp), unlock,
                     admin_capacity(gdp)])
    out.write("recipients", ["recipient", "name", "province", "poor_population", "special_aid", "weight",
                             "investment_demand", "infra_unlock", "admin_capacity"], rows,
              WHY_RECIPIENTS | {"poor_population": lambda r: poor[r["recipient"]][1:]})

    pairs = [[d, w, r1(QUOTA_SHARE * budget[d][YEARS[0]])] for d, w in MAIN_PAIRS]
    pairs += [[d, w, 0.0] for w in SPECIAL for d, _, _ in donors]
    out.write("pairs", ["donor", "recipient", "base_quota"], pairs, WHY_QUOTA)

    out.write("instruments",
              ["instrument", "category", "leverage", "targets_women", "min_fund_size", "setup_cost", "lag_years"],
              [[k, c, lev, women, m, f, LAG_YEARS.get(k, 0)] for k, c, lev, women, m, f, _, _ in INSTRUMENTS],
              WHY_INSTRUMENTS)

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
            factor *= EFFECT_LINE_SCALE
            scale = expected[w] * TYPICAL_SHARE[category]
            for j, (rate, width) in enumerate(zip(SEGMENT_RATE[kind], SEGMENT_WIDTH.get(kind, DEFAULT_WIDTH)), 1):
                curves.setdefault((w, k), []).append((r1(width * scale), r1(base * factor * rate)))
                if PROJECTS.get(w, (None,))[0] != k:  # projects replace the effect rows of their (w,k)
                    rows.append([w, k, j, r1(width * scale), r1(base * factor * rate)])
    out.write("effects", ["recipient", "instrument", "segment", "width", "people_per_million"], rows, WHY_EFFECTS_PLAN)

    rows = []
    for w, (k, listed) in PROJECTS.items():
        total = sum(cost for _, cost, _ in listed)
        rate = people_of(curves[w, k], total) / total  # people per million of all the projects together
        rows += [[f"{w}_{kind}_{j}", w, k, cost, float(round(PROJECT_PEOPLE_FACTOR[kind] * rate * cost, -1)), year]
                 for j, (kind, cost, year) in enumerate(listed, 1)]
    out.write("projects", ["project", "recipient", "instrument", "cost", "people", "earliest_year"], rows,
              {"cost": (ILL, "candidate project cost (assumed)"),
               "people": (ILL, "cost times the people per million of the recipient's effect curve, times a factor by "
                               "kind (assumed)"),
               "earliest_year": (ILL, "first year the project may be paid (assumed)")})

    bounds = cadre_bounds(budget)
    out.write("cadres", ["donor", "recipient", "min_per_year", "max_per_year", "cost_per_cadre", "capacity_per_cadre"],
              [[d, w, *bounds[d], CADRE_COST, CADRE_CAPACITY] for d, w in MAIN_PAIRS]
              + [[d, w, *CADRES_SPECIAL[w]] for w in SPECIAL for d, _, _ in donors],
              {"min_per_year": lambda r: (ILL, CADRE_MIN_WHY if r["recipient"] not in SPECIAL else CADRE_SPECIAL_WHY),
               "max_per_year": lambda r: (ILL, CADRE_MAX_WHY if r["recipient"] not in SPECIAL else CADRE_SPECIAL_WHY),
               "cost_per_cadre": (ILL, "salary, allowances and housing for a year away (assumed)"),
               "capacity_per_cadre": (ILL, "ten cadre-years let a recipient run one more fund (assumed)")})

    out.write("capacity", ["recipient", "instrument", "year", "max_aid"],
              [[w, k, t, r1(cap * (1 + CAPACITY_GROWTH) ** (t - YEARS[0]))] for (w, k), cap in CAPACITY_2011.items()
               for t in YEARS], WHY_CAPACITY)
    out.close()

    # The arithmetic SOURCES.md quotes.
    print(f"{'donor':<10}" + "".join(f"{t:>9}" for t in YEARS) + f"{'plan':>10}{'quota':>8}{'cadres':>9}")
    for d, _, _ in donors:
        quota = next((q for dd, _, q in pairs if dd == d and q > 0), 0.0)
        print(f"{d:<10}" + "".join(f"{budget[d][t]:9.1f}" for t in YEARS) + f"{plan_budget[d]:10.1f}{quota:8.1f}"
              f"{bounds[d][0]:>5}-{bounds[d][1]}")
    print(f"{'total':<10}" + "".join(f"{sum(budget[d][t] for d in budget):9.1f}" for t in YEARS) + f"{total_plan:10.1f}"
          f"{'':8}{sum(b[0] for b in bounds.values()):>5}-{sum(b[1] for b in bounds.values())}")
    for lvl in LEVELS:
        print(lvl, "revenue 2011", round(sum(rev[d][lvl][2011] for d in rev)),
              "budget 2011", round(PROPORTION[lvl] * sum(rev[d][lvl][2011] for d in rev), 1))
    print("expected plan aid by recipient:", {w: round(v) for w, v in expected.items()})


if __name__ == "__main__":
    main()
