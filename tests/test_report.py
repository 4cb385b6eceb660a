"""`ewppt report RESULT_DIR`: the HTML report, loaded in a real headless Chromium (issue 7, item 5)."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image
import pytest

from optimizer import load_instance, solve
from optimizer.data.errors import InvalidInstance
from optimizer.reports.report import FIGURES, budget_duals, load_result, share_tables, write_report
from tests.conftest import INSTANCES
from tests.test_outputs import run_cli

# tiny with national priority bounds: the same plan as plain tiny (2,760 people), bounds drawn
PRIORITIES = {"priorities.scope": "national", "priorities.household_finance_min": 0.3,
              "priorities.public_goods_max": 0.8, "priorities.special_aid_min": 0.1}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    instance = load_instance(INSTANCES / "tiny")
    plan = solve(instance, **PRIORITIES)
    assert plan.status == "optimal"
    plan.write(root / "plan")
    infeasible = solve(instance, **{"priorities.quota_growth_min": 0.5})
    assert infeasible.status == "infeasible"
    infeasible.write(root / "infeasible")
    return {"plan": root / "plan", "infeasible": root / "infeasible", "result": plan}


class _Tags(HTMLParser):
    """The attributes of every <body> and <img> tag of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.body: dict[str, str] = {}
        self.images: list[dict[str, str]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "body":
            self.body = dict(attrs)
        elif tag == "img":
            self.images.append(dict(attrs))


def render_in_chromium(page: Path, profile: Path) -> _Tags:
    """Load `page` in headless Chromium, let its scripts run, and parse the DOM it ends with."""
    chromium = shutil.which("chromium")
    if chromium is None:
        message = "chromium is not installed (Debian: apt-get install chromium)"
        if os.environ.get("EWPPT_REQUIRE_CHROMIUM"):
            pytest.fail(f"{message}; EWPPT_REQUIRE_CHROMIUM is set, so the report must be checked in a browser")
        pytest.skip(message)
    done = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    tags = _Tags()
    tags.feed(done.stdout)
    return tags


def _kpi(page: str, row_id: str) -> str:
    match = re.search(rf'<tr id="kpi-{row_id}"><th>[^<]*</th><td[^>]*>([^<]*)</td></tr>', page)
    assert match, f"no kpi-{row_id} row in the report"
    return match.group(1)


def assert_report_renders(page: Path, profile: Path) -> _Tags:
    """Every figure is in the page, embedded, decoded by the browser, and written beside it as a
    non-blank PNG with the same bytes."""
    text = page.read_text(encoding="utf-8")
    assert not re.search(r'(src|href)="(?!data:)', text), "the report must not load anything from outside"
    tags = render_in_chromium(page, profile)
    assert tags.body.get("data-has-plan") == "true"
    assert {img["id"]: img["alt"] for img in tags.images} == {f"img-{key}": alt for key, alt in FIGURES.items()}
    assert tags.body.get("data-images-total") == str(len(FIGURES)), "the page's load script did not run"
    assert tags.body.get("data-images-decoded") == str(len(FIGURES)), "an image did not decode"
    for img in tags.images:
        assert int(img["data-natural-width"]) > 500, img["id"]
        key = img["id"].removeprefix("img-")
        png = page.with_suffix("") / f"{key}.png"
        assert png.read_bytes() == base64.b64decode(img["src"].removeprefix("data:image/png;base64,"))
        pixels = matplotlib.image.imread(png)
        assert pixels.shape[1] == int(img["data-natural-width"]) and pixels[..., :3].std() > 0.05, key
    for key in FIGURES:
        assert f'<figure id="fig-{key}">' in text
    return tags


@pytest.fixture(scope="module")
def page(results):
    """`ewppt report PLAN --out elsewhere/director.html`: the page, its figures in elsewhere/director/."""
    page = results["plan"].parent / "elsewhere" / "director.html"
    done = run_cli("report", str(results["plan"]), "--out", str(page))
    assert done.returncode == 0, done.stderr
    assert "director.html" in done.stdout and "Traceback" not in done.stderr
    return page


def test_report_renders_in_headless_chromium(page, tmp_path):
    assert sorted(p.name for p in page.with_suffix("").iterdir()) == sorted(f"{key}.png" for key in FIGURES)
    assert_report_renders(page, tmp_path / "profile")


def test_report_numbers_match_the_tables(results, page):
    plan, result = results["plan"], results["result"]
    text = page.read_text(encoding="utf-8")
    assert _kpi(text, "total-aid") == f"{result.allocation['aid'].sum():,.2f}" == "40.00"
    assert _kpi(text, "people-lifted") == f"{result.kpis['people_lifted'].sum():,.0f}" == "2,760"
    assert _kpi(text, "objective") == "2,760" and _kpi(text, "status") == "optimal"
    assert _kpi(text, "poor-population") == "4,600" and _kpi(text, "min-coverage") == "46.0%"
    assert result.instance_digest in text and "highspy" in text
    # the figures' data: shares of each budget over the plan add up to 1 (tiny has no cadres), and
    # with scope national the all-donors row respects the bounds every year
    run, tables = load_result(plan)
    shares, low, high = share_tables(tables["allocation"], tables["decisions"])
    assert list(shares.index) == ["all donors", "coastal", "harbour"]
    assert shares.sum(axis=1).tolist() == pytest.approx([1, 1, 1])
    assert low.at["all donors", "household_finance"] >= 0.3 - 1e-9
    assert high.at["all donors", "public_goods"] <= 0.8 + 1e-9
    # what one more million is worth: 40 people for coastal, 50 for harbour, each year (tiny README)
    assert budget_duals(tables["duals"]).to_dict(orient="index") == {
        "coastal": {2011: pytest.approx(40), 2012: pytest.approx(40)},
        "harbour": {2011: pytest.approx(50), 2012: pytest.approx(50)}}
    # plateau, the special-aid recipient, gets its 6 million as 3 a year (steady profiles): above 10%
    # of the 20 each year, so the rule binds in neither year
    assert re.search(r"<td>special_aid_min</td><td>[^<]*</td><td[^>]*>10.0%</td><td[^>]*>0 of 2</td>", text)


def test_infeasible_result_gives_a_page_that_says_so(results, tmp_path):
    folder = results["infeasible"]
    done = run_cli("report", str(folder))
    assert done.returncode == 0, done.stderr
    assert "no plan" in done.stdout
    text = (folder / "report.html").read_text(encoding="utf-8")
    assert "No plan: the result is infeasible." in text and "ewppt explain" in text
    assert 'data-has-plan="false"' in text and "<img" not in text
    assert _kpi(text, "status") == "infeasible" and _kpi(text, "objective") == "-"
    assert not (folder / "report").exists() or not any((folder / "report").iterdir())


def test_a_folder_that_is_not_a_result_exits_2(tmp_path):
    missing = tmp_path / "missing"
    done = run_cli("report", str(missing))
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert f"error: {missing}: not a result folder" in done.stderr and "Traceback" not in done.stderr
    assert not missing.exists()
    with pytest.raises(InvalidInstance, match="not a result folder"):
        write_report(INSTANCES / "tiny")  # an instance, not a result
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "run.json").write_text("{not json")
    with pytest.raises(InvalidInstance, match="run.json: not readable as JSON"):
        write_report(broken)
    (broken / "run.json").write_text('{"status": "optimal"}')
    with pytest.raises(InvalidInstance, match="not a result folder"):
        write_report(broken)
    assert not (broken / "report.html").exists() and not (INSTANCES / "tiny" / "report.html").exists()


def test_the_poverty_line_stands_beside_every_coverage_figure_and_the_record_beside_the_effects(tmp_path):
    """Issue 25, points 2 and 3: with `scenario.poverty_line` set, the summary's poor population and
    lowest coverage and the people figure's caption name the line; the plan's people per 10,000
    yuan, overall and by category, stand beside the recorded aggregates."""
    from optimizer.data.record import RECORDED_EFFECTS

    line = "2,300 yuan per rural person-year (2010 prices)"
    plan = solve(load_instance(INSTANCES / "tiny"), **{"scenario.poverty_line": line})
    plan.write(tmp_path / "plan")
    page = write_report(tmp_path / "plan")[0].read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)).replace("&#x27;", "'")
    assert f"lowest coverage of a recipient (poor at {line})" in text
    assert f"poor population (poor at {line})" in text
    assert f"Poor population and coverage count the poor at {line}." in text
    by_category = plan.by_category
    assert sum(v["people_lifted"] for v in by_category.values()) == pytest.approx(2760, abs=0.5)
    people, aid = 2760, sum(v["aid_million"] for v in by_category.values())
    assert f"this plan, all aid {people / aid / 100:.2g}" in text
    for name, v in by_category.items():
        if v["aid_million"] > 0:
            assert f"this plan, {name.replace('_', ' ')} " in text
    for recorded in RECORDED_EFFECTS:
        assert f"record, {recorded.period}" in text and recorded.source in text
    done = run_cli("solve", str(INSTANCES / "tiny"), "--set", f"scenario.poverty_line={line}", "--out",
                   str(tmp_path / "cli"))
    assert done.returncode == 0, done.stderr
    assert f"min coverage (poor at {line})" in re.sub(r"[│\s]+", " ", done.stdout)


def test_target_and_frontier_name_the_poverty_line_beside_coverage(tmp_path):
    line = "2,300 yuan per rural person-year (2010 prices)"
    done = run_cli("target", str(INSTANCES / "tiny"), "--people", "2000", "--set", f"scenario.poverty_line={line}",
                   "--out", str(tmp_path / "t"))
    assert done.returncode == 0, done.stderr
    assert f"least coverage 0.3 (poor at {line})" in done.stdout + done.stderr
    done = run_cli("frontier", str(INSTANCES / "tiny"), "--points", "2", "--set", f"scenario.poverty_line={line}",
                   "--out", str(tmp_path / "f"))
    assert done.returncode == 0, done.stderr
    assert f"worst-covered recipient, poor at {line};" in re.sub(r"\s+", " ", done.stdout)
