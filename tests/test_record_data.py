"""The record instances' figures against the record (issue 16): the 2011 budgets are the recorded
2011 aid, the 2011 revenue of the donors checked is the yearbooks', the cadre bounds hold the
recorded numbers, and every figure has its provenance (docs/source.md gives the sources)."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest

from optimizer import load_instance
from optimizer.data.provenance import (PROVENANCE_FILE, STATUSES, figure_columns, read_provenance, row_key)
from optimizer.data.schema import TABLES
from tests.conftest import INSTANCES

RECORD = ["ewppt-1996", "ewppt-2002", "ewppt-2010", "history-2003-2007", "plan-2011-2015"]
AID_2011 = 840.264  # million yuan, China Poverty Alleviation Yearbook 2012
# 2011 local general budget revenue, million yuan: Tianjin Statistical Yearbook 2012 (8-1), Shandong
# Statistical Yearbook (8-4, Qingdao included), the Shenzhen, Dalian and Zhuhai 2011 reports.
REVENUE_2011 = {("tianjin",): 145_513.0, ("shandong", "qingdao"): 345_592.67, ("shenzhen",): 133_960.0,
                ("dalian",): 65_100.0, ("zhuhai",): 14_341.0}


@pytest.fixture(scope="module")
def loaded():
    return {name: load_instance(name) for name in RECORD}


def budget_of(instance, year: int) -> float:
    p = instance.scenario.proportion
    rows = instance.revenue[instance.revenue["year"] == year]
    return sum(getattr(p, lvl) * v for lvl, v in zip(rows["level"], rows["revenue"]))


@pytest.mark.parametrize("name", ["ewppt-2010", "plan-2011-2015"])
def test_2011_budget_is_the_recorded_2011_aid(name, loaded):
    assert budget_of(loaded[name], 2011) == pytest.approx(AID_2011, rel=0.10)
    assert budget_of(loaded[name], 2011) == pytest.approx(AID_2011, rel=0.01)  # calibrated, not merely close


@pytest.mark.parametrize("name", ["ewppt-2010", "plan-2011-2015"])
@pytest.mark.parametrize("donors", list(REVENUE_2011), ids="+".join)
def test_2011_revenue_is_the_yearbooks(name, donors, loaded):
    revenue = loaded[name].revenue
    rows = revenue[revenue["donor"].isin(donors) & (revenue["year"] == 2011)]
    assert rows["revenue"].sum() == pytest.approx(REVENUE_2011[donors], rel=0.02)


def test_level_splits_follow_the_found_shares(loaded):
    revenue = loaded["ewppt-2010"].revenue.set_index(["donor", "level", "year"])["revenue"]
    assert revenue["dalian", "prefectural", 2011] == pytest.approx(24_230, rel=1e-4)  # city level 37% of 65,100
    assert revenue["shenzhen", "prefectural", 2011] == pytest.approx(80_300, rel=1e-4)


def test_record_budgets_of_1996_2002_and_2003_2007(loaded):
    # 3.42 billion yuan in 1996-2002 (7.86 - 4.44), 5/7 of it in 1997-2001
    total_1996 = sum(budget_of(loaded["ewppt-1996"], t) for t in range(1997, 2002))
    assert total_1996 == pytest.approx(3420 * 5 / 7, rel=0.02)
    # Table 1's level rows in 2003-2007
    total_2002 = sum(budget_of(loaded["ewppt-2002"], t) for t in range(2003, 2008))
    assert total_2002 == pytest.approx(2148.7166, rel=0.02)


def test_cadre_bounds_hold_the_record(loaded):
    cadres = loaded["ewppt-2010"].cadres
    main = cadres[~cadres["recipient"].isin(["tibet", "xinjiang"])]
    # at least about the 2010 figure (191; 167 in 2009) every year, and room for the 473 of 2011
    assert 167 <= main["min_per_year"].sum() <= 200
    assert cadres["max_per_year"].sum() >= 473
    assert (main["min_per_year"] >= 1).all()


def test_ewppt_2010_proportions_equal_the_generators():
    import importlib.util

    spec = importlib.util.spec_from_file_location("ewppt_2010_tables", INSTANCES / "ewppt-2010" / "make_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    scenario = tomllib.loads((INSTANCES / "ewppt-2010" / "scenario.toml").read_text(encoding="utf-8"))
    assert scenario["proportion"] == module.PROPORTION


# ------------------------------------------------------------------------------ provenance


@pytest.mark.parametrize("name", RECORD)
def test_every_figure_has_its_provenance(name, loaded):
    """One provenance row per numeric, non-key cell of every table file, with the cell's value,
    and no row for a cell that does not exist."""
    rows, problems = read_provenance(INSTANCES / name)
    assert not problems
    given = {(r["table"], r["column"], r["key"]): r for r in rows}
    assert len(given) == len(rows), "a figure listed twice"
    expected = set()
    instance = loaded[name]
    for table, spec in TABLES.items():
        file = INSTANCES / name / spec.filename
        if not file.exists():
            continue
        header = file.read_text(encoding="utf-8").splitlines()[0].split(",")  # a column left out takes its default
        frame = instance.table(table)
        for record in frame.to_dict("records"):
            key = row_key(spec, record)
            for column in [c for c in figure_columns(spec) if c in header]:
                value = record[column]
                if value is None or value != value:
                    continue
                expected.add((table, column, key))
                row = given.get((table, column, key))
                assert row is not None, f"{name}: no provenance for {table}.{column} [{key}]"
                assert float(row["value"]) == pytest.approx(float(value), rel=1e-12, abs=1e-12), (table, column, key)
                assert row["status"] in STATUSES and row["source"]
    assert set(given) == expected


@pytest.mark.parametrize("name", RECORD)
def test_some_figures_are_verified(name):
    rows, _ = read_provenance(INSTANCES / name)
    assert any(r["status"] == "verified" for r in rows)


def test_validate_prints_the_counts():
    done = subprocess.run([sys.executable, "-m", "optimizer.cli", "validate", "ewppt-2010"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows, _ = read_provenance(INSTANCES / "ewppt-2010")
    counts = {s: sum(r["status"] == s for r in rows) for s in STATUSES}
    assert (f"figures: {counts['verified']:,} verified, {counts['derived']:,} derived, "
            f"{counts['illustrative']:,} illustrative") in done.stdout


def test_a_bad_provenance_row_is_named_not_a_traceback(tmp_path):
    import shutil

    folder = tmp_path / "tiny"
    shutil.copytree(INSTANCES / "tiny", folder)
    (folder / PROVENANCE_FILE).write_text("table,column,key,value,status,source\n"
                                          "revenue,revenue,a|provincial|2011,1,guessed,me\n"
                                          "revenue,revenue,a|provincial|2012,x,verified,\n"
                                          "revenue,revenue,a|provincial|2011,1,verified,me\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "optimizer.cli", "validate", str(folder)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    text = " ".join(done.stderr.split())
    assert "provenance.csv" in text and "row 2" in text and "status" in text and "guessed" in text
    assert "row 3" in text and "value" in text
    assert "row 4" in text and "also given in row 2" in text
    # loading the instance ignores the file: the model never reads it
    assert load_instance(folder).scenario.name


def test_the_proposal_study_scales_every_budget():
    from optimizer import load_study

    study = load_study(INSTANCES.parent / "studies" / "proposal-extraction.toml")
    assert [(p.path, p.mode) for p in study.parameter] == [("revenue.*.*.*", "factor")]
    assert list(study.parameter[0].values) == [1.0, 1.5, 2.0, 3.0]


def test_report_shows_the_counts():
    from optimizer.reports.report import provenance_rows

    rows = dict(provenance_rows({"figures": {"verified": 4, "derived": 45, "illustrative": 1684}}))
    assert rows["instance figures"] == "figures: 4 verified, 45 derived, 1,684 illustrative (provenance.csv)"
    assert "no provenance.csv" in dict(provenance_rows({}))["instance figures"]


def test_ewppt_2010_tables_are_what_make_tables_writes(tmp_path, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("ewppt_2010_tables_w", INSTANCES / "ewppt-2010" / "make_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.HERE = tmp_path
    module.main()
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(p.name for p in (INSTANCES / "ewppt-2010").glob("*.csv"))
    for name in written:
        assert (tmp_path / name).read_bytes() == (INSTANCES / "ewppt-2010" / name).read_bytes(), name


# ------------------------------------------------ issue 25: both revenue ends, the plan's line

# 2016 local revenue, million yuan: National Bureau of Statistics, annual data by province.
REVENUE_2016 = {"tianjin": 272_350.0, "shandong": 586_018.0}
WEST_YEARLY = (22.51 / 50.86) ** 0.25  # the western region's poor, 2012 to 2016, per year


def total_of(instance, donors, year: int) -> float:
    revenue = instance.revenue
    return revenue.loc[revenue["donor"].isin(donors) & (revenue["year"] == year), "revenue"].sum()


@pytest.mark.parametrize("name", ["ewppt-2010", "plan-2011-2015"])
@pytest.mark.parametrize("year", [2012, 2013, 2014, 2015])
def test_revenue_between_two_records_follows_the_recorded_path(name, year, loaded):
    """Tianjin: 2011 (Tianjin Statistical Yearbook 2012) to 2016 (NBS), geometric; Shandong with
    Qingdao: the yearbook's 2012, then 2012 to 2016."""
    tianjin = 145_513.0 * (REVENUE_2016["tianjin"] / 145_513.0) ** ((year - 2011) / 5)
    assert total_of(loaded[name], ["tianjin"], year) == pytest.approx(tianjin, abs=0.2)
    shandong = 405_943.01 * (REVENUE_2016["shandong"] / 405_943.01) ** ((year - 2012) / 4)
    assert total_of(loaded[name], ["shandong", "qingdao"], year) == pytest.approx(shandong, abs=0.5)
    rows, _ = read_provenance(INSTANCES / name)
    source = next(r["source"] for r in rows if r["table"] == "revenue" and r["key"] == f"tianjin|provincial|{year}")
    assert "recorded path 2011-2016" in source and "National Bureau of Statistics" in source


def test_tianjin_2014_is_no_longer_carried_by_the_national_index(loaded):
    assert total_of(loaded["ewppt-2010"], ["tianjin"], 2014) == pytest.approx(211_951.8, abs=0.2)  # was 193,677.8


@pytest.mark.parametrize("name", ["ewppt-2010", "plan-2011-2015"])
def test_the_plan_counts_the_poor_at_the_2300_line(name, loaded):
    instance = loaded[name]
    assert "2,300 yuan" in instance.scenario.scenario.poverty_line
    poor = instance.recipients.set_index("recipient")["poor_population"]
    rows, _ = read_provenance(INSTANCES / name)
    status = {r["key"]: r["status"] for r in rows if r["table"] == "recipients" and r["column"] == "poor_population"}
    assert poor["guizhou"] == 11_490_000 and status["guizhou"] == "verified"  # People's Daily Overseas, 2012
    assert poor["yunnan"] == 10_140_000 and status["yunnan"] == "derived"  # 574 + 440 (10,000 people)
    assert poor["guangxi"] == pytest.approx(5.38e6 / WEST_YEARLY ** 3, abs=500) and status["guangxi"] == "derived"
    assert poor["sichuan"] + poor["liangshan"] == pytest.approx(13.5676e6 * WEST_YEARLY, abs=1000)
    assert poor["gansu"] + poor["linxia"] == pytest.approx(6.92e6 / WEST_YEARLY, abs=1000)
    assert poor.sum() == pytest.approx(50.86e6 / WEST_YEARLY, abs=14 * 500)  # the western region, end-2011
    assert {status[w] for w in ("liangshan", "linxia", "sichuan", "gansu", "tibet")} == {"illustrative"}


def test_history_instances_keep_the_line_of_their_years(loaded):
    for name, line, national in (("ewppt-1996", "640 yuan", 58.0e6), ("ewppt-2002", "637 yuan", 28.2e6),
                                 ("history-2003-2007", "637 yuan", 28.2e6)):
        assert line in loaded[name].scenario.scenario.poverty_line
        assert loaded[name].recipients["poor_population"].sum() < national  # shares of the national count


@pytest.mark.parametrize("name", ["ewppt-2010", "plan-2011-2015"])
def test_effects_are_calibrated_to_the_plans_line(name):
    rows, _ = read_provenance(INSTANCES / name)
    sources = {r["source"] for r in rows if r["table"] == "effects" and r["column"] == "people_per_million"}
    assert sources and all("1,274 / 2,300" in s for s in sources)
    study = tomllib.loads((INSTANCES.parent / "studies" / "effects-1274-line.toml").read_text(encoding="utf-8"))
    assert study["parameter"][0]["values"][-1] == pytest.approx(2300 / 1274, abs=1e-4)
