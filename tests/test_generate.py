"""Synthetic instances (optimizer.data.generate): valid, solvable, deterministic, shaped as asked.

An 800-recipient instance is not solved here: with quota_growth_min = 0 HiGHS's dual simplex
takes minutes on it (see the generator's report). The sizes below are MIPs (funds, projects,
cadres) that HiGHS solves in a second to half a minute each.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import optimizer.data.generate as generate
from optimizer import load_instance, solve
from optimizer.data.generate import INSTRUMENTS, generate_instance
from optimizer.data.schema import CATEGORIES

FILES = ("scenario.toml", "donors.csv", "revenue.csv", "recipients.csv", "pairs.csv", "instruments.csv",
         "effects.csv", "capacity.csv", "projects.csv", "cadres.csv", "README.md")

# (recipients, donors, instruments, years, seed)
SIZES = [
    (5, 2, 4, 2, 0),
    (30, 10, 10, 5, 1),
    (20, 4, 13, 3, 2),
    (12, 3, 3, 2, 3),  # K < 4: no human resources instrument
    (10, 3, 1, 2, 4),  # enterprise finance only
    (24, 17, 16, 2, 5),  # synthetic donors and instruments
    (3, 6, 5, 2, 6),  # fewer ordinary recipients than donors
]


def _files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in FILES}


@pytest.mark.parametrize("recipients, donors, instruments, years, seed", SIZES)
def test_generated_instance_validates_and_solves(tmp_path, recipients, donors, instruments, years, seed):
    out = generate_instance(tmp_path / "inst", recipients=recipients, donors=donors, instruments=instruments,
                            years=years, seed=seed)
    assert out == tmp_path / "inst"
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    instance = load_instance(out)
    assert instance.warnings == ()
    assert len(instance.recipients) == recipients
    assert len(instance.donors) == donors
    assert len(instance.instruments) == instruments
    assert instance.scenario.years == tuple(range(2011, 2011 + years))
    result = solve(instance)
    assert result.status == "optimal", result.message
    assert result.objective > 0


def test_pairing(tmp_path):
    instance = load_instance(generate_instance(tmp_path / "inst", recipients=120, donors=7, seed=9))
    rec, pairs, donors = instance.recipients, instance.pairs, list(instance.donors["donor"])
    special = set(rec.loc[rec["special_aid"], "recipient"])
    assert len(special) == round(0.02 * 120)
    assert set(rec.loc[rec["special_aid"], "province"]) <= {"Tibet", "Xinjiang"}
    ordinary = pairs[~pairs["recipient"].isin(special)]
    # every ordinary recipient has exactly one donor, with a positive base quota
    assert sorted(ordinary["recipient"]) == sorted(set(rec["recipient"]) - special)
    assert (ordinary["base_quota"] > 0).all()
    # dealt evenly: donors' counts differ by at most one
    counts = ordinary["donor"].value_counts().reindex(donors, fill_value=0)
    assert counts.max() - counts.min() <= 1
    # every donor with every special aid recipient, base quota 0
    to_special = pairs[pairs["recipient"].isin(special)]
    assert set(zip(to_special["donor"], to_special["recipient"])) == {(d, w) for d in donors for w in special}
    assert (to_special["base_quota"] == 0).all()


def test_at_least_one_special_aid_recipient(tmp_path):
    instance = load_instance(generate_instance(tmp_path / "inst", recipients=5, donors=2, instruments=4, years=2))
    assert instance.recipients["special_aid"].sum() == 1


def test_same_seed_same_bytes_different_seed_different(tmp_path):
    args = dict(recipients=25, donors=6, instruments=9, years=3)
    first = _files(generate_instance(tmp_path / "a", seed=11, **args))
    again = _files(generate_instance(tmp_path / "b", seed=11, **args))
    assert first == again
    # writing over an existing instance gives the same files too
    assert _files(generate_instance(tmp_path / "a", seed=11, **args)) == first
    other = _files(generate_instance(tmp_path / "c", seed=12, **args))
    for name in ("recipients.csv", "pairs.csv", "effects.csv", "revenue.csv", "projects.csv", "cadres.csv"):
        assert other[name] != first[name], name


def test_ranges(tmp_path):
    instance = load_instance(generate_instance(tmp_path / "inst", recipients=200, donors=20, instruments=13,
                                               years=5, seed=3))
    rec = instance.recipients
    assert rec["recipient"].is_unique and rec["recipient"].str.endswith("_county").all()
    assert rec["poor_population"].between(5_000, 150_000).all()
    assert list(instance.donors["donor"][:3]) == ["beijing", "tianjin", "shanghai"]
    assert list(instance.donors["donor"][15:17]) == ["east_16", "east_17"]
    # yearly budgets: a few to a few hundred million yuan, growing every year
    p = instance.scenario.proportion.model_dump()
    rev = instance.revenue
    budget = (rev["revenue"] * rev["level"].map(p)).groupby([rev["donor"], rev["year"]]).sum().unstack()
    assert budget.min().min() > 1 and budget.max().max() < 1_000
    assert (budget.diff(axis=1).iloc[:, 1:] > 0).all().all()
    # K = 13: exactly the instruments of ewppt-2010
    assert set(instance.instruments["instrument"]) == set(INSTRUMENTS)
    assert instance.instruments["leverage"].max() == 5 and instance.instruments["targets_women"].sum() == 2


@pytest.mark.parametrize("k", range(1, 9))
def test_instruments_and_priorities(tmp_path, k):
    out = generate_instance(tmp_path / "inst", recipients=6, donors=2, instruments=k, years=2)
    instance = load_instance(out)
    present = set(instance.instruments["category"])
    if k >= 4:
        assert present == set(CATEGORIES)
    priorities = tomllib.loads((out / "scenario.toml").read_text())["priorities"]
    rules = {"enterprise_finance_min": "enterprise_finance", "household_finance_min": "household_finance",
             "public_goods_min": "public_goods", "public_goods_max": "public_goods",
             "human_resources_min": "human_resources"}
    for rule, category in rules.items():
        assert (rule in priorities) == (category in present), rule
    women = instance.instruments[(instance.instruments["category"] == "household_finance")
                                 & instance.instruments["targets_women"]]
    assert ("women_min" in priorities) == (len(women) > 0)
    assert priorities["special_aid_min"] == 0.02 and priorities["quota_growth_min"] == 0.0
    assert priorities["scope"] == "donor"
    assert instance.scenario.solver.threads == 1


def test_synthetic_instruments_cycle_categories(tmp_path):
    instance = load_instance(generate_instance(tmp_path / "inst", recipients=4, donors=2, instruments=21, years=1))
    extra = instance.instruments.iloc[13:]
    assert extra["instrument"].is_unique and not extra["instrument"].isin(list(INSTRUMENTS)).any()
    assert list(extra["category"]) == list(CATEGORIES) * 2


@pytest.mark.parametrize("segments", [1, 2, 5])
def test_segments(tmp_path, segments):
    instance = load_instance(generate_instance(tmp_path / "inst", recipients=8, donors=3, instruments=6, years=2,
                                               segments=segments))
    eff = instance.effects
    assert len(eff) == 8 * 6 * segments
    assert set(eff["segment"]) == set(range(1, segments + 1))
    assert solve(instance).status == "optimal"


def test_widths_exceed_expected_aid_and_capacity_leaves_each_category_open(tmp_path):
    instance = load_instance(generate_instance(tmp_path / "inst", recipients=60, donors=5, instruments=10, years=3,
                                               seed=2))
    width = instance.effects.groupby("recipient")["width"].sum()
    plan_budget = instance.revenue.assign(
        b=instance.revenue["revenue"] * instance.revenue["level"].map(instance.scenario.proportion.model_dump()))["b"].sum()
    # on average a recipient's widths are about three times its share of all budgets
    assert width.sum() > 2.5 * plan_budget
    cap = instance.capacity
    assert 0 < len(cap) < 0.4 * 60 * 10 * 3
    category = dict(zip(instance.instruments["instrument"], instance.instruments["category"]))
    count = instance.instruments["category"].value_counts()
    limited = cap.drop_duplicates(["recipient", "instrument"]).assign(category=lambda t: t["instrument"].map(category))
    per_category = limited.groupby(["recipient", "category"]).size()
    assert (per_category < per_category.index.get_level_values("category").map(count)).all()


def test_first_year(tmp_path):
    instance = load_instance(generate_instance(tmp_path / "inst", recipients=5, donors=2, instruments=4, years=3,
                                               first_year=2021))
    assert instance.scenario.years == (2021, 2022, 2023)
    assert sorted(set(instance.revenue["year"])) == [2021, 2022, 2023]


def test_readme_first_line(tmp_path):
    out = generate_instance(tmp_path / "inst", recipients=7, donors=3, instruments=5, years=2, seed=4)
    first = (out / "README.md").read_text().splitlines()[0]
    assert "synthetic" in first
    for part in ("recipients 7", "donors 3", "instruments 5", "years 2", "seed 4"):
        assert part in first


@pytest.mark.parametrize("bad", [dict(recipients=0), dict(donors=0), dict(instruments=0), dict(years=0),
                                 dict(segments=0), dict(seed=-1), dict(recipients=2.5), dict(first_year=2199)])
def test_bad_arguments(tmp_path, bad):
    with pytest.raises(ValueError):
        generate_instance(tmp_path / "inst", **bad)
    assert not (tmp_path / "inst").exists()


def test_capacity_table_may_be_empty(tmp_path):
    """With one instrument per category no instrument is ever limited; the file has its header."""
    out = generate_instance(tmp_path / "inst", recipients=5, donors=2, instruments=4, years=2)
    assert (out / "capacity.csv").read_text() == "recipient,instrument,year,max_aid\n"
    assert load_instance(out).capacity.empty


# ------------------------------------------------------------------------------ MIP data


def _mip_instance(tmp_path, **args):
    args = dict(recipients=80, donors=6, instruments=13, years=5, seed=7) | args
    return load_instance(generate_instance(tmp_path / "inst", **args))


def test_admin_capacity_range(tmp_path):
    instance = _mip_instance(tmp_path)
    inst = instance.instruments
    funds = int(((inst["min_fund_size"] > 0) | (inst["setup_cost"] > 0)).sum())
    assert funds == 9
    admin = instance.recipients["admin_capacity"]
    assert admin.notna().all() and admin.between(2, 5).all()
    assert set(admin) == {2, 3, 4, 5}  # 80 draws cover the range
    assert (admin < funds).all()  # so the limit can bind everywhere


@pytest.mark.parametrize("k, most", [(1, 2), (2, 2), (5, 2), (6, 3), (10, 5)])
def test_admin_capacity_below_the_number_of_funds(tmp_path, k, most):
    admin = _mip_instance(tmp_path, recipients=40, instruments=k, years=2).recipients["admin_capacity"]
    assert admin.min() >= 2 and admin.max() == most


def test_projects_reference_ordinary_counties_and_replace_effect_rows(tmp_path):
    instance = _mip_instance(tmp_path)
    projects, rec, inst = instance.projects, instance.recipients, instance.instruments
    assert not projects.empty and projects["project"].is_unique
    category = dict(zip(inst["instrument"], inst["category"]))
    assert set(projects["instrument"].map(category)) == {"public_goods"}
    special = set(rec.loc[rec["special_aid"], "recipient"])
    assert set(projects["recipient"]) <= set(rec["recipient"]) - special
    # 30-40% of the ordinary counties, 1-4 projects each, on one instrument
    per_county = projects.groupby("recipient")
    ordinary = len(rec) - len(special)
    assert 0.3 * ordinary - 1 <= per_county.ngroups <= 0.4 * ordinary + 1
    assert per_county.size().between(1, 4).all() and (per_county["instrument"].nunique() == 1).all()
    # named after the county, kind and number: lanping_school_1
    for q, w in zip(projects["project"], projects["recipient"]):
        stem, kind, number = q.rsplit("_", 2)
        assert stem == w.removesuffix("_county") and kind in {"school", "clinic", "road", "water", "bridge"}
        assert number.isdigit()
    assert projects["earliest_year"].isin(instance.scenario.years).all()
    assert (projects["earliest_year"] == 2011).mean() > 0.3  # mostly the first years
    assert (projects["cost"] > 0).all() and (projects["people"] > 0).all()
    # the projects' recipient-instruments have no effect rows; another public-goods instrument
    # of the county has effect rows and no capacity limit
    keys = set(zip(projects["recipient"], projects["instrument"]))
    effects = set(zip(instance.effects["recipient"], instance.effects["instrument"]))
    capped = set(zip(instance.capacity["recipient"], instance.capacity["instrument"]))
    public = [k for k, c in category.items() if c == "public_goods"]
    assert not keys & effects and not keys & capped
    for w, k in keys:
        assert any((w, other) in effects and (w, other) not in capped for other in public if other != k)
    assert instance.warnings == ()


def test_project_costs_and_people_are_in_scale(tmp_path):
    instance = _mip_instance(tmp_path)
    kpi_rate = instance.effects[instance.effects["segment"] == 1].groupby("recipient")["people_per_million"].max()
    projects = instance.projects
    rate = projects["people"] / projects["cost"]
    # people per million of a project: comparable to the county's effect rates, not beyond the best
    assert (rate > 10).all() and (rate <= 1.25 * projects["recipient"].map(kpi_rate)).all()
    # a project is a lump: 15-60% of the county's expected public-goods aid, so a few million yuan
    assert projects["cost"].min() > 0.05 and projects["cost"].max() < 1_000


def test_no_projects_with_a_single_public_goods_instrument(tmp_path):
    out = generate_instance(tmp_path / "inst", recipients=20, donors=3, instruments=6, years=2)
    assert (out / "projects.csv").read_text() == "project,recipient,instrument,cost,people,earliest_year\n"
    assert load_instance(out).projects.empty


def test_cadres_only_on_ordinary_pairs(tmp_path):
    instance = _mip_instance(tmp_path)
    cadres, pairs, rec = instance.cadres, instance.pairs, instance.recipients
    special = set(rec.loc[rec["special_aid"], "recipient"])
    ordinary_pairs = {(d, w) for d, w in zip(pairs["donor"], pairs["recipient"]) if w not in special}
    assert set(zip(cadres["donor"], cadres["recipient"])) == ordinary_pairs
    assert cadres["min_per_year"].isin([0, 1]).all() and cadres["max_per_year"].between(1, 3).all()
    assert (cadres["min_per_year"] <= cadres["max_per_year"]).all() and cadres["min_per_year"].sum() > 0
    assert cadres["cost_per_cadre"].between(0.1, 0.3).all() and cadres["capacity_per_cadre"].between(0.2, 0.5).all()
    # the cadres a donor must send cost at most 2% of its first-year budget
    p = instance.scenario.proportion.model_dump()
    rev = instance.revenue[instance.revenue["year"] == 2011]
    budget = (rev["revenue"] * rev["level"].map(p)).groupby(rev["donor"]).sum()
    least = (cadres["min_per_year"] * cadres["cost_per_cadre"]).groupby(cadres["donor"]).sum()
    assert (least <= 0.02 * budget[least.index] + 1e-12).all()


def test_mip_tables_use_their_own_random_streams(tmp_path, monkeypatch):
    """Other admin capacities, projects and cadres leave every other table's numbers alone."""
    args = dict(recipients=40, donors=5, instruments=10, years=3, seed=5)
    first = _files(generate_instance(tmp_path / "a", **args))
    monkeypatch.setattr(generate, "ADMIN_CAPACITY", (3, 3))
    monkeypatch.setattr(generate, "PROJECT_COUNTY_SHARE", (0.0, 0.0))
    monkeypatch.setattr(generate, "CADRE_MAX", (5, 5))
    other = _files(generate_instance(tmp_path / "b", **args))
    for name in ("donors.csv", "revenue.csv", "pairs.csv", "instruments.csv", "capacity.csv", "scenario.toml"):
        assert other[name] == first[name], name
    for name in ("projects.csv", "cadres.csv", "recipients.csv"):
        assert other[name] != first[name], name
    # recipients differ only in admin_capacity (the last column); effects only by the rows the
    # projects replaced (none now)
    def without_last_column(text):
        return [line.rsplit(b",", 1)[0] for line in text.splitlines()]

    assert without_last_column(other["recipients.csv"]) == without_last_column(first["recipients.csv"])
    assert set(first["effects.csv"].splitlines()) < set(other["effects.csv"].splitlines())


def test_generated_instance_validates_on_the_command_line(tmp_path):
    out = generate_instance(tmp_path / "inst", recipients=40, donors=5, instruments=10, years=5, seed=1)
    done = subprocess.run([sys.executable, "-m", "optimizer.cli", "validate", str(out)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "valid" in done.stdout and "warning" not in done.stderr


def test_mip_instance_solves_with_every_kind_of_whole_decision(tmp_path):
    instance = _mip_instance(tmp_path, recipients=30, donors=5, instruments=10, years=3, seed=2)
    result = solve(instance)
    assert result.status == "optimal", result.message
    kinds = set(result.decisions["kind"])
    assert {"fund", "project", "cadres"} <= kinds


def test_fund_sizes_shrink_when_the_counties_are_too_small(tmp_path, monkeypatch):
    """100 counties dealt to 15 donors for one year: the smallest donors' counties cannot hold a
    5 million loan guarantee fund (with its lending). The generator scales the fund sizes down
    until a feasible plan is certain; at the usual sizes the instance is infeasible."""
    args = dict(recipients=100, donors=15, instruments=1, years=1, seed=0)
    out = generate_instance(tmp_path / "small", **args)
    instance = load_instance(out)
    assert instance.instruments["min_fund_size"].tolist() == [5.0 / 8]
    assert instance.instruments["setup_cost"].tolist() == [0.2 / 8]
    assert "0.125 of the usual ones" in (out / "README.md").read_text()
    assert solve(instance).status == "optimal"
    monkeypatch.setattr(generate, "_fund_scale", lambda *a, **k: 1.0)
    usual = load_instance(generate_instance(tmp_path / "usual", **args))
    assert solve(usual).status == "infeasible"


def test_default_sizes_keep_the_usual_fund_sizes(tmp_path):
    instance = _mip_instance(tmp_path, recipients=30, donors=10, instruments=10, years=5, seed=0)
    for k, m, f in zip(instance.instruments["instrument"], instance.instruments["min_fund_size"],
                       instance.instruments["setup_cost"]):
        assert (m, f) == INSTRUMENTS[k][3:5]
