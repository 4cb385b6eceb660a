"""Excel round trip (issue 7, item 6): the results workbook a planner opens, and an instance given
as one .xlsx workbook that solves, through the command line, to the same plan as its CSV twin."""

from __future__ import annotations

import openpyxl
import pytest

from optimizer import load_instance, solve
from optimizer.data.generate import generate_instance
from optimizer.data.io import write_instance_xlsx
from optimizer.reports.report import FIGURES
from optimizer.solving.results import TABLE_NAMES, read_results
from tests.conftest import INSTANCES
from tests.test_outputs import assert_same_table, run_cli
from tests.test_report import assert_report_renders


def test_results_workbook_opens_for_planners(tmp_path, tiny):
    result = solve(tiny)
    result.write(tmp_path, "xlsx")
    book = openpyxl.load_workbook(tmp_path / "results.xlsx")
    assert book.sheetnames == ["summary", *TABLE_NAMES]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        for cell in sheet[1]:
            assert cell.font.b, (sheet.title, cell.value)
            width = sheet.column_dimensions[cell.column_letter].width
            assert len(str(cell.value)) < width <= 62, (sheet.title, cell.value, width)
    allocation = book["allocation"]
    header = [c.value for c in allocation[1]]
    assert header == list(result.allocation.columns)
    rows = [dict(zip(header, (c.value for c in row))) for row in allocation.iter_rows(min_row=2)]
    assert sum(r["aid"] for r in rows) == pytest.approx(40)
    assert len(rows) == len(result.allocation)
    summary = {row[0].value: row[1].value for row in book["summary"].iter_rows(min_row=2)}
    assert summary["total_aid_million"] == pytest.approx(40) and summary["people_lifted"] == pytest.approx(2760)
    for name in TABLE_NAMES:
        assert_same_table(read_results(tmp_path)[name], getattr(result, name))


def test_workbook_instance_solves_to_the_csv_plan_and_reports(tmp_path, tiny):
    """`ewppt solve tiny.xlsx --format xlsx` writes the plan `ewppt solve tiny` writes, and
    `ewppt report` reads that workbook folder."""
    workbook = tmp_path / "tiny.xlsx"
    write_instance_xlsx(tiny, workbook)
    done = run_cli("solve", str(workbook), "--format", "xlsx", "--out", str(tmp_path / "from-xlsx"))
    assert done.returncode == 0, done.stderr
    from_csv = tmp_path / "from-csv"
    solve(load_instance(INSTANCES / "tiny")).write(from_csv)
    reloaded, expected = read_results(tmp_path / "from-xlsx"), read_results(from_csv)
    for name in TABLE_NAMES:
        assert_same_table(reloaded[name], expected[name])
    page = tmp_path / "from-xlsx" / "report.html"
    done = run_cli("report", str(tmp_path / "from-xlsx"))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "from-xlsx" / "report").iterdir()) == sorted(f"{k}.png" for k in FIGURES)
    assert '<tr id="kpi-total-aid"><th>total aid (million yuan)</th><td class="number">40.00</td></tr>' in \
        page.read_text(encoding="utf-8")
    assert_report_renders(page, tmp_path / "profile")


def test_workbook_twin_of_a_mip_instance_gives_the_same_plan(tmp_path):
    """A synthetic instance with funds, projects and cadres (the optional tables) as a workbook:
    the same digest, the same plan and the same whole decisions."""
    folder = generate_instance(tmp_path / "synthetic", recipients=6, donors=2, instruments=10, years=3, seed=1)
    instance = load_instance(folder)
    assert len(instance.table("projects")) and len(instance.table("cadres"))
    write_instance_xlsx(instance, tmp_path / "synthetic.xlsx")
    twin = load_instance(tmp_path / "synthetic.xlsx")
    assert twin.digest == instance.digest
    plan, twin_plan = solve(instance), solve(twin)
    assert plan.status == twin_plan.status == "optimal" and plan.summary["model"] == "mip"
    assert min(plan.summary[k] for k in ("funds_established", "projects_built", "cadre_years")) > 0
    assert twin_plan.objective == pytest.approx(plan.objective, rel=1e-9)
    for name in ("allocation", "decisions", "kpis"):
        assert_same_table(getattr(twin_plan, name), getattr(plan, name))
