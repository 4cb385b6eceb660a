"""One number style for what a person reads (issue 15, point 3): people whole with thousands
separators, money in million yuan with two decimals, shares, coverage and gaps as percentages,
never scientific notation; files keep full precision."""

from __future__ import annotations

import json
import re

import pytest

from optimizer.data import numbers
from optimizer.data.generate import generate_instance
from optimizer.reports.report import write_report
from tests.test_outputs import run_cli

SCIENTIFIC = re.compile(r"\d[eE][+-]?\d")


def test_plain_and_count_never_use_scientific_notation():
    assert numbers.plain(7.12586e-05) == "0.00007126"
    assert numbers.plain(1.00101e06) == "1,001,010"
    assert numbers.plain(51.8343) == "51.83" and numbers.plain(12.0) == "12" and numbers.plain(0) == "0"
    assert numbers.plain(float("inf")) == "infinite"
    assert numbers.count(105.0) == "105" and numbers.count(47.4549) == "47.5"
    assert numbers.per_million(51.834) == "51.8" and numbers.per_million(0) == "0.0"
    assert numbers.per_million(1.234e-5) == "0.0000123"  # coverage per million under equity, not 0.0
    # the existing styles are unchanged, and a tiny share keeps two figures without an exponent
    assert numbers.people(917201.4) == "917,201" and numbers.money(1834.04) == "1,834.04"
    assert numbers.share(0.00846559) == "0.8%" and numbers.share(0.0000713) == "0.0071%"
    assert numbers.share(1e-9) == "0.0000001%"
    for value in (1e-12, 3.3e-7, 2.5e-5, 1e7, 1.23456789e9):
        for text in (numbers.plain(value), numbers.share(value), numbers.summary_value("people_years", value),
                     numbers.summary_value("mip_gap", value), numbers.objective("equity", value)):
            assert not SCIENTIFIC.search(text), text


def test_summary_values_read_in_their_unit():
    assert numbers.summary_value("people_years", 1336781.2) == "1,336,781"
    assert numbers.summary_value("total_aid_million", 9024.384) == "9,024.38"
    assert numbers.summary_value("min_coverage", 0.00846559) == "0.8%"
    assert numbers.summary_value("mip_gap", 7.12586e-05) == "0.0071%"
    assert numbers.summary_value("objective", 0.00868, "equity") == "0.87%"
    assert numbers.summary_value("objective", 917277.4, "people_lifted") == "917,277"
    assert numbers.summary_value("model", "lp") == "lp" and numbers.summary_value("mip_gap", None) == "-"


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    """A synthetic 15-county plan (its people years pass a million), solved as an LP with ranging."""
    root = tmp_path_factory.mktemp("numbers")
    generate_instance(root / "r15", recipients=15)
    done = run_cli("solve", str(root / "r15"), "--model", "lp", "--ranging", "--show", "15", "--quiet",
                   "--out", str(root / "plan"))
    assert done.returncode == 0, done.stderr
    return root / "plan", done.stdout


def test_solve_prints_no_scientific_notation(solved):
    folder, stdout = solved
    run = json.loads((folder / "run.json").read_text())
    assert run["summary"]["people_years"] > 1e6  # what used to print as 1.33678e+06
    assert not SCIENTIFIC.search(stdout), [line for line in stdout.splitlines() if SCIENTIFIC.search(line)]
    assert re.search(r"people years\s+│ " + re.escape(numbers.people(run["summary"]["people_years"])), stdout)
    assert re.search(r"total aid \(million yuan\)\s+│ " + re.escape(numbers.money(run["summary"]["total_aid_million"])),
                     stdout)
    assert re.search(r"min coverage\s+│ " + re.escape(numbers.share(run["summary"]["min_coverage"])), stdout)
    assert f"people_lifted = {numbers.people(run['objective'])}" in stdout
    # the ranging table: million yuan with two decimals
    assert re.search(r"│ \w+\s+│ 2011 │\s+[\d,]+\.\d\d │", stdout)


def test_report_prints_no_scientific_notation(solved):
    folder, _ = solved
    page = write_report(folder, folder.parent / "page" / "report.html")[0]
    text = re.sub(r'src="data:[^"]*"|<style>.*?</style>', "", page.read_text(encoding="utf-8"), flags=re.S)
    text = re.sub(r"sha256</th><td>[0-9a-f]+", "", text)
    assert not SCIENTIFIC.search(text), SCIENTIFIC.findall(text)
    run = json.loads((folder / "run.json").read_text())
    assert f"<td class=\"number\">{numbers.share(run['summary']['aid_off_profile'])}</td>" in text
    assert f"<td class=\"number\">{numbers.count(run['summary']['funds_established'])}</td>" in text
