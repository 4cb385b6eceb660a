"""Synthetic instances (optimizer.generate): valid, solvable, deterministic, shaped as asked.

An 800-recipient instance is not solved here: with quota_growth_min = 0 HiGHS's dual simplex
takes minutes on it (see the generator's report); the sizes below solve in about a second.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from optimizer import load_instance, solve
from optimizer.generate import INSTRUMENTS, generate_instance
from optimizer.schema import CATEGORIES

FILES = ("scenario.toml", "donors.csv", "revenue.csv", "recipients.csv", "pairs.csv", "instruments.csv",
         "effects.csv", "capacity.csv", "README.md")

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
    for name in ("recipients.csv", "pairs.csv", "effects.csv", "revenue.csv"):
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
