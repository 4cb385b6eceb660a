"""`ewppt workbook` (issue 22, item 1): every bundled instance as the workbook a planner edits, read back
to the same instance and solved to the same plan; its README sheet, text ids and data validation; the
blank workbook; a real edit in LibreOffice; and the file layer of the web workbench (uploads and
downloads)."""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from optimizer import load_instance, solve
from optimizer.cli import app
from optimizer.data.errors import InvalidInstance, UploadRefused
from optimizer.data.io import bundled_instances
from optimizer.data.provenance import read_provenance
from optimizer.data.schema import TABLES, column_docs, scenario_docs
from optimizer.data.upload import load_upload
from optimizer.data.workbook import (instance_workbook_bytes, result_csv_zip_bytes, result_workbook_bytes,
                                     write_workbook)
from optimizer.solving.results import TABLE_NAMES, read_results
from tests.conftest import INSTANCES, ROOT
from tests.test_outputs import assert_same_table, run_cli


def assert_same_instance(loaded, original) -> None:
    """Every table equal (values, types, order) and the scenario equal."""
    for name in TABLES:
        pd.testing.assert_frame_equal(loaded.table(name).reset_index(drop=True),
                                      original.table(name).reset_index(drop=True), obj=name)
    assert loaded.scenario == original.scenario
    assert loaded.digest == original.digest


@pytest.mark.parametrize("name", bundled_instances())
def test_every_bundled_instance_reads_back_from_its_workbook(tmp_path, name):
    original = load_instance(name)
    book = tmp_path / f"{name}.xlsx"
    write_workbook(original, book)
    loaded = load_instance(book)
    assert_same_instance(loaded, original)
    assert [str(w).partition(": ")[2] for w in loaded.warnings] == [str(w).partition(": ")[2]
                                                                     for w in original.warnings]
    rows, problems = read_provenance(book)  # the provenance sheet reads as provenance.csv does
    assert problems == [] and rows == read_provenance(INSTANCES / name)[0]
    assert ("provenance" in openpyxl.load_workbook(book, read_only=True).sheetnames) == \
        (INSTANCES / name / "provenance.csv").exists()
    write_workbook(loaded, tmp_path / "again.xlsx")  # a workbook of the workbook: the same again
    assert_same_instance(load_instance(tmp_path / "again.xlsx"), original)
    assert read_provenance(tmp_path / "again.xlsx") == (rows, [])


def test_solving_the_workbook_gives_the_folders_plan(tmp_path):
    """`ewppt workbook tiny x.xlsx` then `ewppt solve x.xlsx`: the objective and every flow of
    `ewppt solve tiny`."""
    book = tmp_path / "tiny.xlsx"
    done = run_cli("workbook", "tiny", str(book))
    assert done.returncode == 0, done.stderr
    assert f"wrote {book}" in done.stdout
    for source, out in (("tiny", "folder"), (str(book), "book")):
        done = run_cli("solve", source, "--out", str(tmp_path / out), "--quiet", "--show", "0")
        assert done.returncode == 0, done.stderr
    runs = {out: json.loads((tmp_path / out / "run.json").read_text()) for out in ("folder", "book")}
    assert runs["book"]["objective"] == pytest.approx(runs["folder"]["objective"], rel=1e-9)
    assert runs["book"]["instance_sha256"] == runs["folder"]["instance_sha256"]
    plans = {out: read_results(tmp_path / out) for out in ("folder", "book")}
    for table in TABLE_NAMES:
        assert_same_table(plans["book"][table], plans["folder"][table])
    assert len(plans["book"]["allocation"]) > 0


def test_the_2010_workbook_solves_to_the_folders_plan(tmp_path):
    """ewppt-2010 (a MIP: funds, projects, cadres), solved in this process as `ewppt solve` solves
    it: the same objective, every flow and every whole decision. (The other bundled instances are
    compared table by table above: solving all of them both ways would take this file past 40 s
    on one core.)"""
    folder = load_instance("ewppt-2010")
    write_workbook(folder, tmp_path / "ewppt-2010.xlsx")
    plan, book_plan = solve(folder), solve(load_instance(tmp_path / "ewppt-2010.xlsx"))
    assert plan.status == book_plan.status == "optimal" and plan.summary["model"] == "mip"
    assert book_plan.objective == pytest.approx(plan.objective, rel=1e-9)
    for table in TABLE_NAMES:
        assert_same_table(getattr(book_plan, table), getattr(plan, table))
    assert book_plan.figures == plan.figures and sum(plan.figures.values()) > 0  # the provenance sheet, counted


def test_the_workbook_is_laid_out_for_planners(tmp_path):
    book_path = tmp_path / "plan.xlsx"
    write_workbook(load_instance("ewppt-2010"), book_path)
    book = openpyxl.load_workbook(book_path)
    assert book.sheetnames == ["README", "scenario", *TABLES, "provenance"]
    for name in ["scenario", *TABLES, "provenance"]:
        sheet = book[name]
        assert sheet.freeze_panes == "A2", name
        for cell in sheet[1]:
            assert cell.font.b, (name, cell.value)
            assert sheet.column_dimensions[cell.column_letter].width > len(str(cell.value)), (name, cell.value)
    # ids and text are text cells, formatted as text, so that `001` stays `001` when retyped
    for cell in book["recipients"]["A"][1:]:
        assert cell.data_type == "s" and cell.number_format == "@"
    assert book["recipients"].column_dimensions["A"].number_format == "@"
    assert all(c.data_type == "n" for c in book["revenue"]["D"][1:])
    # the header's note says what the column means and allows
    assert "Poor population" in book["recipients"]["D1"].comment.text
    validations = {(sheet, str(dv.sqref).split(":")[0]): dv for sheet in TABLES
                   for dv in book[sheet].data_validations.dataValidation}
    donor = validations[("revenue", "A2")]
    assert donor.type == "list" and "donors!$A$2" in donor.formula1 and "COUNTA(donors!$A:$A)" in donor.formula1
    for sheet, cell, target in (("pairs", "B2", "recipients!$A$2"), ("effects", "B2", "instruments!$A$2"),
                                ("locks", "A2", "donors!$A$2"), ("cadres", "B2", "recipients!$A$2"),
                                ("context", "B2", "context!$A$2")):
        assert validations[(sheet, cell)].type == "list" and target in validations[(sheet, cell)].formula1
    category = validations[("instruments", "B2")]
    assert category.type == "list" and category.formula1 == '"enterprise_finance,household_finance,public_goods,' \
                                                            'human_resources"'
    people = validations[("recipients", "D2")]
    assert (people.type, people.operator, people.formula1, people.formula2) == ("decimal", "between", "0", "1e+10")
    year = validations[("revenue", "C2")]
    assert (year.type, year.formula1, year.formula2) == ("whole", "1900", "2200")
    assert validations[("recipients", "E2")].formula1 == '"true,false"'
    assert (validations[("projects", "D2")].operator, validations[("cadres", "C2")].operator) == ("between",
                                                                                                "greaterThanOrEqual")


def test_the_readme_sheet_describes_every_sheet_and_column_from_the_schema(tmp_path):
    book_path = tmp_path / "tiny.xlsx"
    write_workbook(load_instance("tiny"), book_path)
    readme = openpyxl.load_workbook(book_path)["README"]
    assert readme["A1"].value.startswith("An EWPPT instance")
    rows = [[c.value for c in row] for row in readme.iter_rows(min_row=5)]
    assert rows[0] == ["sheet", "column", "meaning", "unit", "allowed", "required", "default"]
    described = {(r[0], r[1]): dict(zip(rows[0], r)) for r in rows[1:]}
    for name, spec in TABLES.items():
        assert (name, None) in described, name
        for doc in column_docs(spec):
            row = described[(name, doc.name)]
            assert row["meaning"] == doc.meaning and (row["unit"] or "") == ("" if doc.unit == "-" else doc.unit)
    for doc in scenario_docs():
        assert described[("scenario", doc.name)]["meaning"] == doc.meaning
    assert described[("recipients", "poor_population")]["allowed"] == "a number from 0 to 1e+10"
    assert described[("recipients", "poor_population")]["unit"] == "people"
    assert described[("pairs", "donor")]["allowed"] == "a donor listed in column donor of sheet donors"
    assert described[("instruments", "lag_years")]["allowed"] == "a whole number from 0 to 100"
    assert described[("projects", "cost")]["allowed"] == "a number > 0 and <= 1e+15"
    assert described[("recipients", "special_aid")]["default"] == "False"
    assert described[("scenario", "proportion.provincial")]["allowed"] == "a number from 0 to 1"
    assert described[("scenario", "scenario.objective")]["allowed"] == \
        "one of people_lifted, weighted_people_lifted, equity, leveraged_investment, people_years"
    assert described[("scenario", "priorities.women_min")]["default"] is None  # no default: the rule is off


def _numbered_ids(folder: Path) -> Path:
    """tiny with recipient upland renamed 007: an id a spreadsheet would read as the number 7."""
    shutil.copytree(INSTANCES / "tiny", folder)
    for table in ("recipients", "pairs", "effects"):
        path = folder / f"{table}.csv"
        path.write_text(path.read_text().replace("upland,", "007,"))
    return folder


def test_ids_that_look_like_numbers_stay_text(tmp_path):
    original = load_instance(_numbered_ids(tmp_path / "numbered"))
    write_workbook(original, tmp_path / "numbered.xlsx")
    loaded = load_instance(tmp_path / "numbered.xlsx")
    assert "007" in loaded.recipients["recipient"].tolist()
    assert_same_instance(loaded, original)


def _ewppt(*args: str):
    """The command line in this process (typer's runner): exit code, standard output and error."""
    done = CliRunner().invoke(app, list(args), env={"COLUMNS": "1000"})
    return done.exit_code, done.stdout, done.stderr


def test_the_command_refuses_what_it_cannot_write(tmp_path):
    book = tmp_path / "plan.xlsx"
    assert _ewppt("workbook", "tiny", str(book))[0] == 0
    before = book.read_bytes()
    done = run_cli("workbook", "ewppt-2010", str(book))  # as a user runs it
    assert done.returncode == 2 and "plan.xlsx exists; give --force to replace it" in done.stderr
    assert book.read_bytes() == before
    code, stdout, stderr = _ewppt("workbook", "ewppt-2010", str(book), "--force")
    assert code == 0 and f"wrote {book}" in stdout, stderr
    assert load_instance(book).scenario.name == load_instance("ewppt-2010").scenario.name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.xlsx"]  # no temporary file left beside it
    (tmp_path / "folder.xlsx").mkdir()
    refused = {
        ("no-such-instance", "x.xlsx"): "no-such-instance: no such file or folder",
        ("tiny", "x.csv"): "x.csv: expected a workbook name ending in .xlsx",
        ("tiny", "folder.xlsx"): "folder.xlsx is a folder",
        ("tiny", "y.xlsx", "--donors", "a"): "--donors, --recipients and --years go with --blank",
        ("tiny",): "expected SOURCE and OUT.xlsx",
        ("--blank", "--donors", "a,a b", "--recipients", "x", "z.xlsx"):
            "--donors, value 'a b': expected an identifier without spaces",
        ("--blank", "--donors", "a,a", "--recipients", "x", "z.xlsx"): "--donors, value 'a': given twice",
        ("--blank", "--donors", "a", "--recipients", "x", "--years", "2027-2026", "z.xlsx"):
            "--years, value '': expected plan years",
        ("--blank", "--donors", "a", "--recipients", "x", "--years", "soon", "z.xlsx"):
            "--years, value 'soon': expected FIRST-LAST",
        ("--blank", "--donors", "a", "tiny", "z.xlsx"): "with --blank give OUT.xlsx alone",
    }
    for args, message in refused.items():
        args = [str(tmp_path / a) if a.endswith((".xlsx", ".csv")) else a for a in args]
        code, _, stderr = _ewppt("workbook", *args)
        assert code == 2 and message in " ".join(stderr.split()), (args, stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.xlsx", "plan.xlsx"]
    bad = tmp_path / "bad"
    shutil.copytree(INSTANCES / "tiny", bad)
    (bad / "recipients.csv").write_text((bad / "recipients.csv").read_text().replace(",2000,", ",lots,", 1))
    code, _, stderr = _ewppt("workbook", str(bad), str(tmp_path / "bad.xlsx"))
    assert code == 2 and "recipients.csv, row 2, column 'poor_population', value 'lots'" in stderr
    assert not (tmp_path / "bad.xlsx").exists()


def test_a_blank_workbook_filled_in_solves(tmp_path):
    book_path = tmp_path / "blank.xlsx"
    done = run_cli("workbook", "--blank", "--donors", "east1,east2", "--recipients", "001,west2,west3",
                   "--years", "2026-2027", str(book_path))
    assert done.returncode == 0, done.stderr
    book = openpyxl.load_workbook(book_path)
    assert book.sheetnames == ["README", "scenario", *TABLES]
    sheet = lambda name: [[c.value for c in row] for row in book[name].iter_rows(min_row=2)]  # noqa: E731
    assert sheet("donors") == [["east1", None, None], ["east2", None, None]]
    assert [r[0] for r in sheet("recipients")] == ["001", "west2", "west3"]
    assert len(sheet("revenue")) == 2 * 3 * 2 and {r[2] for r in sheet("revenue")} == {2026, 2027}
    assert {(r[0], r[1]) for r in sheet("instruments")} == {
        ("guarantee_fund", "enterprise_finance"), ("community_development_fund", "household_finance"),
        ("infrastructure", "public_goods"), ("training", "human_resources")}
    assert len(sheet("effects")) == 3 * 4 and sheet("pairs") == []
    readme = {(r[0].value, r[1].value): r[7].value for r in book["README"].iter_rows(min_row=6)}
    assert readme[("donors", None)] == "one row per donor id given: fill name and kind"
    # as written it is not an instance yet: every empty cell is named by sheet, row and column
    with pytest.raises(InvalidInstance) as caught:
        load_instance(book_path)
    assert "blank.xlsx [donors], row 2, column 'name', value '': empty cell; a value is required" in str(caught.value)

    # a planner fills it in
    for row in book["donors"].iter_rows(min_row=2):
        row[1].value, row[2].value = row[0].value.title(), "province"
    for row in book["revenue"].iter_rows(min_row=2):
        row[3].value = 1000 if row[1].value == "provincial" else 0
    for row in book["recipients"].iter_rows(min_row=2):
        row[1].value, row[2].value, row[3].value, row[6].value = f"R {row[0].value}", "West", 5000, 10
    for number, (donor, recipient) in enumerate([("east1", "001"), ("east1", "west2"), ("east2", "west3")], 2):
        book["pairs"].cell(number, 1, donor), book["pairs"].cell(number, 2, recipient)
    for row in book["effects"].iter_rows(min_row=2):
        row[3].value, row[4].value = 10, 50
    scenario = book["scenario"]
    for row in scenario.iter_rows(min_row=2):
        if row[0].value == "proportion.provincial":
            row[1].value = 0.01
    book.save(book_path)
    filled = load_instance(book_path)
    assert filled.recipients["recipient"].tolist() == ["001", "west2", "west3"]
    result = solve(filled)
    assert result.status == "optimal"
    # 2 donors x 2 years x 10 million; each recipient absorbs 4 instruments x 10 = 40 million
    assert result.summary["total_aid_million"] == pytest.approx(40)
    assert result.objective == pytest.approx(40 * 50)


def _libreoffice() -> str | None:
    """soffice and LibreOffice's Python-UNO (Debian: libreoffice-calc-nogui, python3-uno), or the
    reason the test cannot run."""
    soffice = shutil.which("soffice")
    python = shutil.which("python3", path="/usr/bin")
    if soffice is None:
        return "LibreOffice is not installed (Debian: apt-get install libreoffice-calc-nogui python3-uno)"
    if python is None or subprocess.run([python, "-c", "import uno"], capture_output=True).returncode != 0:
        return "LibreOffice's Python-UNO is not installed (Debian: apt-get install python3-uno)"
    return None


def test_a_workbook_edited_and_saved_in_libreoffice_loads_and_solves(tmp_path):
    """Real LibreOffice (headless) opens the workbook, a cell is changed through Calc's API (as
    typing would) and the document saved as .xlsx: it loads, ids like 007 are still text, and the
    change takes effect in the plan."""
    missing = _libreoffice()
    if missing:
        if os.environ.get("EWPPT_REQUIRE_LIBREOFFICE"):
            pytest.fail(f"{missing}; EWPPT_REQUIRE_LIBREOFFICE is set, so the workbook must be edited in LibreOffice")
        print(f"skipped: {missing}")
        pytest.skip(missing)
    original = load_instance(_numbered_ids(tmp_path / "numbered"))
    write_workbook(original, tmp_path / "written.xlsx")
    assert openpyxl.load_workbook(tmp_path / "written.xlsx")["revenue"]["D2"].value == 1000  # coastal 2011
    done = subprocess.run(["/usr/bin/python3", str(ROOT / "tests" / "libreoffice_edit.py"),
                           str(tmp_path / "written.xlsx"), str(tmp_path / "edited.xlsx"), "revenue", "D2", "2000",
                           str(tmp_path / "profile")], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    edited = load_instance(tmp_path / "edited.xlsx")
    assert edited.revenue["revenue"].tolist() == [2000, 1000, 500, 500]
    assert edited.recipients["recipient"].tolist() == ["007", "valley", "plateau"]
    expected = original.revenue.copy()
    expected.loc[expected.index[0], "revenue"] = 2000.0
    pd.testing.assert_frame_equal(edited.revenue.reset_index(drop=True), expected.reset_index(drop=True))
    for name in set(TABLES) - {"revenue"}:
        pd.testing.assert_frame_equal(edited.table(name).reset_index(drop=True),
                                      original.table(name).reset_index(drop=True), obj=name)
    assert edited.scenario == original.scenario
    done = run_cli("solve", str(tmp_path / "edited.xlsx"), "--out", str(tmp_path / "plan"), "--quiet")
    assert done.returncode == 0, done.stderr
    run = json.loads((tmp_path / "plan" / "run.json").read_text())
    # coastal's 2011 budget doubles (1% of 2000): 10 million more aid than the bundled plan's 40,
    # lifting 3,080 people instead of 2,760
    assert run["summary"]["total_aid_million"] == pytest.approx(50)
    assert run["objective"] == pytest.approx(3080)


# ----------------------------------------------------------------------------- uploads and downloads


def _zip(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return buffer.getvalue()


def _folder_members(folder: Path, prefix: str) -> dict[str, bytes]:
    return {f"{prefix}{p.name}": p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_an_uploaded_workbook_and_zipped_folder_load(tmp_path, tiny):
    work = tmp_path / "work"
    work.mkdir()
    loaded = load_upload(instance_workbook_bytes(tiny), "tiny.xlsx", work, max_bytes=1_000_000)
    assert_same_instance(loaded, tiny)
    for prefix in ("tiny/", ""):  # a zip of the folder, or of its files
        zipped = _zip({**_folder_members(INSTANCES / "tiny", prefix), "__MACOSX/._scenario.toml": b"\x00"})
        assert_same_instance(load_upload(zipped, "tiny.zip", work, max_bytes=1_000_000), tiny)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]


def test_a_bad_cell_in_an_uploaded_workbook_names_sheet_row_and_column(tmp_path, tiny):
    book = openpyxl.load_workbook(io.BytesIO(instance_workbook_bytes(tiny)))
    book["recipients"]["D3"] = "many"
    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(InvalidInstance) as caught:
        load_upload(buffer.getvalue(), "plan.xlsx", tmp_path, max_bytes=1_000_000)
    assert [str(p) for p in caught.value.problems] == [
        "plan.xlsx [recipients], row 3, column 'poor_population', value 'many': expected a valid number, "
        "unable to parse string as a number"]
    members = _folder_members(INSTANCES / "tiny", "tiny/")
    members["tiny/pairs.csv"] = members["tiny/pairs.csv"].replace(b"harbour,valley", b"harbour,vale")
    with pytest.raises(InvalidInstance) as caught:
        load_upload(_zip(members), "tiny.zip", tmp_path, max_bytes=1_000_000)
    assert "pairs.csv, row 4, column 'recipient', value 'vale': unknown recipient" in str(caught.value)


@pytest.mark.parametrize("member, why", [
    ("../evil", "a path out of the folder ('..')"),
    ("tiny/../../evil", "a path out of the folder ('..')"),
    ("/tmp/evil", "an absolute path"),
    ("C:\\evil", "an absolute path"),
])
def test_a_zip_that_would_write_outside_its_folder_is_refused(tmp_path, member, why):
    work = tmp_path / "work"
    work.mkdir()
    zipped = _zip({**_folder_members(INSTANCES / "tiny", "tiny/"), member: b"evil"})
    with pytest.raises(UploadRefused) as caught:
        load_upload(zipped, "tiny.zip", work, max_bytes=1_000_000)
    assert str(caught.value) == f"tiny.zip: refused: the member {member!r} is {why}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"] and list(work.iterdir()) == []
    assert not Path("/tmp/evil").exists()


def test_a_zip_with_a_symbolic_link_is_refused(tmp_path):
    members = {k: v for k, v in _folder_members(INSTANCES / "tiny", "tiny/").items() if k != "tiny/donors.csv"}
    zipped = _zip(members, links={"tiny/donors.csv": "/etc/passwd"})
    with pytest.raises(UploadRefused, match="'tiny/donors.csv' is a symbolic link"):
        load_upload(zipped, "tiny.zip", tmp_path, max_bytes=1_000_000)
    assert list(tmp_path.iterdir()) == []


def test_uploads_over_the_limit_are_refused(tmp_path, tiny):
    data = instance_workbook_bytes(tiny)
    with pytest.raises(UploadRefused) as caught:
        load_upload(data, "tiny.xlsx", tmp_path, max_bytes=len(data) - 1)
    assert str(caught.value) == f"tiny.xlsx: the upload is {len(data):,} bytes, more than the {len(data) - 1:,} allowed"
    bomb = _zip({"tiny/scenario.toml": b"#" * 50_000_000})  # 50 MB of one byte: about 50 kB zipped
    assert len(bomb) < 100_000
    with pytest.raises(UploadRefused, match="unpacks to 50,000,000 bytes, more than the 2,000,000 allowed"):
        load_upload(bomb, "bomb.zip", tmp_path, max_bytes=100_000)
    with pytest.raises(UploadRefused, match="unpacks to 50,000,000 bytes"):  # an .xlsx is a zip too
        load_upload(bomb, "bomb.xlsx", tmp_path, max_bytes=100_000)
    with pytest.raises(UploadRefused, match="expected an .xlsx workbook or a .zip of an instance folder"):
        load_upload(b"donor,name\n", "donors.csv", tmp_path, max_bytes=100_000)
    with pytest.raises(UploadRefused, match="not a readable .zip archive"):
        load_upload(b"not a zip", "plan.zip", tmp_path, max_bytes=100_000)
    assert list(tmp_path.iterdir()) == []


def test_an_upload_never_takes_its_path_from_the_file_name(tmp_path, tiny):
    work = tmp_path / "work"
    work.mkdir()
    loaded = load_upload(instance_workbook_bytes(tiny), "../../outside.xlsx", work, max_bytes=1_000_000)
    assert loaded.path.is_relative_to(work) and loaded.path.name == "outside.xlsx"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]


def test_downloads_are_what_the_commands_write(tmp_path, tiny):
    assert_same_instance(load_upload(instance_workbook_bytes(tiny), "t.xlsx", tmp_path, 10**7), tiny)
    result = solve(tiny)
    (tmp_path / "book.xlsx").write_bytes(result_workbook_bytes(result))
    result.write(tmp_path / "written", "xlsx")
    with pd.ExcelFile(tmp_path / "book.xlsx") as downloaded, pd.ExcelFile(tmp_path / "written" / "results.xlsx") as w:
        assert downloaded.sheet_names == w.sheet_names == ["summary", *TABLE_NAMES]
        for sheet in w.sheet_names:
            pd.testing.assert_frame_equal(pd.read_excel(downloaded, sheet), pd.read_excel(w, sheet))
    result.write(tmp_path / "csv", "csv")
    with zipfile.ZipFile(io.BytesIO(result_csv_zip_bytes(result))) as archive:
        names = archive.namelist()
        assert sorted(names) == sorted(f"result/{n}" for n in [*(f"{t}.csv" for t in result.tables()), "run.json"])
        for name in names:
            if name.endswith(".csv"):
                assert archive.read(name) == (tmp_path / "csv" / Path(name).name).read_bytes(), name
