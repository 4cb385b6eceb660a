"""Bad input is reported, never crashes: every case below breaks the `tiny` instance in one way.

Each case copies `instances/tiny` into a temporary folder (or builds a workbook from it),
applies one mutation, runs the CLI and checks that it

- exits with code 2 (bad input),
- prints no traceback and no "internal error",
- prints a message naming the file, the row as a spreadsheet shows it, the column (or the
  scenario key) and the value, plus what was expected.

Most cases run the command in-process through typer's CliRunner (fast). The cases whose id
ends in `-subprocess` run `python -m optimizer.cli` in a real child process, to prove that nothing
escapes `main()` and the exit code reaches the shell.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.data.io import load_instance, write_instance_xlsx

TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny"
EXIT_BAD_INPUT = 2

Mutation = Callable[[Path], None]
Expected = str | re.Pattern


# ----------------------------------------------------------------------------- mutations
# Each returns a function that changes one file of an instance folder in place.


def replace(file: str, old: str, new: str) -> Mutation:
    """Replace the one occurrence of `old` in `file` by `new`."""

    def mutate(folder: Path) -> None:
        path = folder / file
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"test setup: {old!r} should occur once in {file}"
        path.write_text(text.replace(old, new), encoding="utf-8")

    return mutate


def delete(file: str) -> Mutation:
    def mutate(folder: Path) -> None:
        (folder / file).unlink()

    return mutate


def append(file: str, line: str) -> Mutation:
    def mutate(folder: Path) -> None:
        path = folder / file
        text = path.read_text(encoding="utf-8")
        path.write_text(text.rstrip("\n") + "\n" + line + "\n", encoding="utf-8")

    return mutate


def remove_line(file: str, line: str) -> Mutation:
    def mutate(folder: Path) -> None:
        path = folder / file
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines.count(line) == 1, f"test setup: {line!r} should be a line of {file}"
        lines.remove(line)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    return mutate


def drop_column(file: str, column: str) -> Mutation:
    """Remove a column (header and cells) from a CSV table (tiny has no quoted cells)."""

    def mutate(folder: Path) -> None:
        path = folder / file
        rows = [line.split(",") for line in path.read_text(encoding="utf-8").splitlines()]
        index = rows[0].index(column)
        path.write_text("\n".join(",".join(r[:index] + r[index + 1:]) for r in rows) + "\n", encoding="utf-8")

    return mutate


def duplicate_column(file: str, column: str) -> Mutation:
    """Repeat a column at the end of the table (header and cells)."""

    def mutate(folder: Path) -> None:
        path = folder / file
        rows = [line.split(",") for line in path.read_text(encoding="utf-8").splitlines()]
        index = rows[0].index(column)
        path.write_text("\n".join(",".join(r + [r[index]]) for r in rows) + "\n", encoding="utf-8")

    return mutate


def header_only(file: str) -> Mutation:
    def mutate(folder: Path) -> None:
        path = folder / file
        header = path.read_text(encoding="utf-8").splitlines()[0]
        path.write_text(header + "\n", encoding="utf-8")

    return mutate


def write_bytes(file: str, data: bytes) -> Mutation:
    def mutate(folder: Path) -> None:
        (folder / file).write_bytes(data)

    return mutate


def insert_blank_line_after_header(file: str) -> Mutation:
    def mutate(folder: Path) -> None:
        path = folder / file
        header, rest = path.read_text(encoding="utf-8").split("\n", 1)
        path.write_text(header + "\n\n" + rest, encoding="utf-8")

    return mutate


# ----------------------------------------------------------------------------- inputs
# A setup builds the input under tmp_path and returns the instance argument of the command.

Setup = Callable[[Path], str]


def folder(*mutations: Mutation) -> Setup:
    """A copy of tiny with the mutations applied."""

    def setup(tmp_path: Path) -> str:
        target = tmp_path / "tiny"
        shutil.copytree(TINY, target)
        for mutate in mutations:
            mutate(target)
        return str(target)

    return setup


def workbook(edit: Callable[[openpyxl.Workbook], None]) -> Setup:
    """tiny written as one .xlsx workbook, then edited with openpyxl."""

    def setup(tmp_path: Path) -> str:
        path = tmp_path / "tiny.xlsx"
        write_instance_xlsx(load_instance(TINY), path)
        book = openpyxl.load_workbook(path)
        edit(book)
        book.save(path)
        return str(path)

    return setup


def delete_sheet(name: str) -> Callable[[openpyxl.Workbook], None]:
    def edit(book: openpyxl.Workbook) -> None:
        del book[name]

    return edit


def set_cell(sheet: str, row: int, column: int, value: object) -> Callable[[openpyxl.Workbook], None]:
    def edit(book: openpyxl.Workbook) -> None:
        book[sheet].cell(row=row, column=column).value = value

    return edit


def set_scenario_value(key: str, value: str) -> Callable[[openpyxl.Workbook], None]:
    def edit(book: openpyxl.Workbook) -> None:
        sheet = book["scenario"]
        for row in sheet.iter_rows(min_row=2):
            if row[0].value == key:
                row[1].value = value
                return
        raise AssertionError(f"test setup: no key {key!r} in the scenario sheet")

    return edit


def as_given(argument: str) -> Setup:
    return lambda tmp_path: argument


def file_with(name: str, data: bytes) -> Setup:
    def setup(tmp_path: Path) -> str:
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)

    return setup


# ----------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    setup: Setup
    expect: tuple[Expected, ...]
    command: tuple[str, ...] = ("validate", "{instance}")
    forbid: tuple[str, ...] = ()
    subprocess: bool = False


def case(id: str, setup: Setup, *expect: Expected, command: tuple[str, ...] = ("validate", "{instance}"),
         forbid: tuple[str, ...] = (), subprocess: bool = False):
    return pytest.param(Case(setup, expect, command, forbid, subprocess), id=f"{id}-subprocess" if subprocess else id)


SOLVE = ("solve", "{instance}", "--out", "{tmp}/out")
MISLEADING_MISSING = ("missing table",)  # a file that exists but cannot be read is not "missing"

REQUIRED_TABLES = {
    "donors": "donor, name, kind",
    "revenue": "donor, level, year, revenue",
    "recipients": "recipient, name, province, poor_population, special_aid, weight, investment_demand, infra_unlock",
    "pairs": "donor, recipient, base_quota",
    "instruments": "instrument, category, leverage, targets_women, min_fund_size, setup_cost",
    "effects": "recipient, instrument, segment, width, people_per_million",
}

MISSING_FILE_CASES = [
    case(f"missing-file-{name}", folder(delete(f"{name}.csv")),
         f"{name}.csv: missing table; expected columns {columns}", subprocess=name == "pairs")
    for name, columns in REQUIRED_TABLES.items()
] + [
    case("missing-file-scenario.toml", folder(delete("scenario.toml")),
         "scenario.toml: missing; expected [scenario] with name, years and objective"),
]

MISSING_COLUMN_CASES = [
    case(f"missing-column-{file.removesuffix('.csv')}-{column}", folder(drop_column(file, column)),
         f"{file}, row 1, column '{column}': missing column; expected columns "
         f"{REQUIRED_TABLES[file.removesuffix('.csv')]}")
    for file, column in [
        ("donors.csv", "kind"),
        ("revenue.csv", "revenue"),
        ("recipients.csv", "poor_population"),
        ("pairs.csv", "recipient"),
        ("instruments.csv", "category"),
        ("effects.csv", "people_per_million"),
    ]
] + [
    case("misspelt-column-poor_populaton",
         folder(replace("recipients.csv", "poor_population", "poor_populaton")),
         "recipients.csv, row 1, column 'poor_population': missing column",
         "(found 'poor_populaton'; misspelt?)"),
    case("duplicate-column-donors-kind", folder(duplicate_column("donors.csv", "kind")),
         "donors.csv, row 1, column 'kind': column appears more than once"),
]

REFERENCE_CASES = [
    case("unknown-donor-in-pairs", folder(replace("pairs.csv", "harbour,valley,2", "harbor,valley,2")),
         "pairs.csv, row 4, column 'donor', value 'harbor': unknown donor; expected a donor listed in donors.csv"),
    case("unknown-recipient-in-pairs", folder(replace("pairs.csv", "coastal,plateau,0", "coastal,mountain,0")),
         "pairs.csv, row 3, column 'recipient', value 'mountain': unknown recipient; "
         "expected a recipient listed in recipients.csv"),
    case("unknown-instrument-in-effects",
         folder(replace("effects.csv", "valley,roads,1,20,50", "valley,bridges,1,20,50")),
         "effects.csv, row 6, column 'instrument', value 'bridges': unknown instrument; "
         "expected an instrument listed in instruments.csv"),
    case("donor-paired-with-itself",
         folder(append("recipients.csv", "harbour,Harbour Hinterland,Harbour,100,false,1,0,0"),
                append("pairs.csv", "harbour,harbour,0")),
         "pairs.csv, row 6, column 'recipient', value 'harbour': a donor cannot be paired with itself"),
    case("identifier-with-space", folder(replace("pairs.csv", "coastal,upland,2", "coastal,up land,2")),
         re.compile(r"pairs\.csv, row 2, column 'recipient', value 'up land': .*\bspaces?\b")),
]

VALUE_CASES = [
    case("negative-revenue", folder(replace("revenue.csv", "coastal,provincial,2011,1000", "coastal,provincial,2011,-1000")),
         "revenue.csv, row 2, column 'revenue', value '-1000': expected a value >= 0", subprocess=True),
    case("negative-poor-population",
         folder(replace("recipients.csv", "Upland,2000", "Upland,-2000")),
         "recipients.csv, row 2, column 'poor_population', value '-2000': expected a value >= 0"),
    case("nan-revenue", folder(replace("revenue.csv", "coastal,provincial,2011,1000", "coastal,provincial,2011,nan")),
         "revenue.csv, row 2, column 'revenue', value 'nan': expected a finite number"),
    case("inf-poor-population", folder(replace("recipients.csv", "Upland,2000", "Upland,inf")),
         "recipients.csv, row 2, column 'poor_population', value 'inf': expected a finite number"),
    case("overflow-to-inf-width", folder(replace("effects.csv", "upland,cdf,1,6,100", "upland,cdf,1,1e999,100")),
         "effects.csv, row 2, column 'width', value '1e999': expected a finite number"),
    case("text-in-number-column", folder(replace("effects.csv", "upland,cdf,1,6,100", "upland,cdf,1,six,100")),
         "effects.csv, row 2, column 'width', value 'six': expected a valid number"),
    case("text-in-integer-column", folder(replace("effects.csv", "upland,cdf,2,10,40", "upland,cdf,two,10,40")),
         "effects.csv, row 3, column 'segment', value 'two': expected a valid integer"),
    case("bad-boolean-maybe",
         folder(replace("recipients.csv", "Upland,2000,false", "Upland,2000,maybe")),
         "recipients.csv, row 2, column 'special_aid', value 'maybe': expected true or false"),
    case("bad-choice-kind", folder(replace("donors.csv", "Harbour City,city", "Harbour City,town")),
         "donors.csv, row 3, column 'kind', value 'town': expected 'province' or 'city'"),
    case("empty-required-cell", folder(replace("pairs.csv", "coastal,upland,2", "coastal,,2")),
         "pairs.csv, row 2, column 'recipient', value '': empty cell; a value is required"),
    # Rich markup in a cell must be shown as text, not interpreted (and must not crash the CLI).
    case("markup-like-value", folder(replace("donors.csv", "Coastal Province,province", "Coastal Province,[/]")),
         "donors.csv, row 2, column 'kind', value '[/]': expected 'province' or 'city'", subprocess=True),
    # Rows are counted as a spreadsheet shows them, blank lines included.
    case("row-number-after-blank-line",
         folder(insert_blank_line_after_header("recipients.csv"), replace("recipients.csv", "Upland,2000", "Upland,-2000")),
         "recipients.csv, row 3, column 'poor_population', value '-2000': expected a value >= 0"),
]

CHECK_CASES = [
    case("increasing-people-per-million",
         folder(replace("effects.csv", "upland,cdf,2,10,40", "upland,cdf,2,10,140")),
         "effects.csv, row 3, column 'people_per_million', value 140", "expected non-increasing"),
    case("segment-gap", folder(replace("effects.csv", "upland,cdf,2,10,40", "upland,cdf,3,10,40")),
         "effects.csv, row 3, column 'segment', value 3: segments of upland/cdf must be numbered 1, 2, ... without gaps"),
    case("duplicate-key-donors", folder(append("donors.csv", "coastal,Coastal Again,province")),
         "donors.csv, row 4, column 'donor', value 'coastal': duplicate key (donor=coastal); expected one row per donor"),
    case("duplicate-key-pairs", folder(append("pairs.csv", "coastal,upland,5")),
         "pairs.csv, row 6, column 'recipient', value 'upland': duplicate key (donor=coastal, recipient=upland); "
         "expected one row per donor, recipient"),
    case("duplicate-key-revenue", folder(append("revenue.csv", "coastal,provincial,2011,900")),
         "revenue.csv, row 6, column 'year', value 2011: duplicate key (donor=coastal, level=provincial, year=2011); "
         "expected one row per donor, level, year"),
    case("duplicate-key-effects", folder(append("effects.csv", "upland,cdf,1,3,90")),
         "effects.csv, row 9, column 'segment', value 1: duplicate key (recipient=upland, instrument=cdf, segment=1); "
         "expected one row per recipient, instrument, segment"),
    case("plan-year-missing-from-revenue", folder(remove_line("revenue.csv", "harbour,prefectural,2012,500")),
         "revenue.csv, column 'year', value 2012: no revenue row for donor 'harbour' in plan year 2012"),
]

FILE_CASES = [
    case("empty-file-donors", folder(write_bytes("donors.csv", b"")),
         "donors.csv: the file is empty; expected a header row: donor,name,kind", forbid=MISLEADING_MISSING),
    # A header-only donors.csv leaves revenue and pairs pointing at unknown donors.
    case("header-only-donors", folder(header_only("donors.csv")), "donors.csv"),
    # Decision: a required table with a header and no rows is an error. pairs.csv is required;
    # without rows no aid can flow and a solve would report an "optimal" plan of zero aid.
    case("header-only-pairs", folder(header_only("pairs.csv")),
         re.compile(r"pairs\.csv\b.*\b(no data rows|no rows|has no rows|is empty)")),
    case("not-utf8-recipients",
         folder(write_bytes("recipients.csv",
                            "recipient,name,province,poor_population,special_aid,weight,investment_demand,infra_unlock\n"
                            "upland,Région Élevée,Upland,2000,false,1,20,0\n"
                            "valley,Valley Prefecture,Valley,2000,false,1,4,1\n"
                            "plateau,Plateau Region,Plateau,600,true,2,0,0\n".encode("latin-1"))),
         "recipients.csv: not UTF-8 text", forbid=MISLEADING_MISSING, subprocess=True),
    case("not-utf8-scenario",
         folder(write_bytes("scenario.toml",
                            (TINY / "scenario.toml").read_text(encoding="utf-8")
                            .replace('name = "tiny"', 'name = "Région"').encode("latin-1"))),
         "scenario.toml: not UTF-8 text"),
    case("ragged-row-pairs", folder(append("pairs.csv", "coastal,valley,1,extra")),
         re.compile(r"pairs\.csv\b.*\b(row|line) 6\b"), forbid=MISLEADING_MISSING),
    case("bundled-name-does-not-exist", as_given("no-such-instance"),
         "no-such-instance: no such file or folder, and no bundled instance of that name", subprocess=True),
    case("neither-folder-nor-workbook", file_with("instance.csv", b"donor,name,kind\n"),
         re.compile(r"instance\.csv: expected an instance folder or an \.xlsx workbook")),
]

SCENARIO_CASES = [
    case("unknown-key-objectve", folder(replace("scenario.toml", 'objective = "people_lifted"', 'objectve = "people_lifted"')),
         "scenario.toml, key 'scenario.objectve': unknown key; did you mean 'scenario.objective'?", subprocess=True),
    case("unknown-section-proportions", folder(replace("scenario.toml", "[proportion]", "[proportions]")),
         "scenario.toml, key 'proportions': unknown key; did you mean 'proportion'?"),
    case("invalid-toml-syntax", folder(replace("scenario.toml", "years = [2011, 2012]", "years = [2011, 2012")),
         "scenario.toml: not valid TOML", re.compile(r"line \d+"), subprocess=True),
    case("missing-years", folder(remove_line("scenario.toml", "years = [2011, 2012]")),
         "scenario.toml, key 'scenario.years': missing; a value is required"),
    case("years-not-increasing", folder(replace("scenario.toml", "years = [2011, 2012]", "years = [2012, 2011]")),
         "scenario.toml, key 'scenario.years'", "years must be strictly increasing"),
    case("proportion-above-1", folder(replace("scenario.toml", "provincial = 0.01", "provincial = 1.5")),
         "scenario.toml, key 'proportion.provincial', value 1.5: expected a value <= 1"),
    case("proportion-nan", folder(replace("scenario.toml", "provincial = 0.01", "provincial = nan")),
         "scenario.toml, key 'proportion.provincial', value nan: expected a finite number"),
    case("unknown-objective", folder(replace("scenario.toml", 'objective = "people_lifted"', 'objective = "max_people"')),
         "scenario.toml, key 'scenario.objective', value 'max_people': expected 'people_lifted'"),
    case("share-above-1", folder(replace("scenario.toml", 'scope = "donor"', 'scope = "donor"\npublic_goods_min = 1.2')),
         "scenario.toml, key 'priorities.public_goods_min', value 1.2: expected a value <= 1"),
]

CLI_OPTION_CASES = [
    case("option-proportion-provincial-1.5", folder(),
         re.compile(r"(--proportion-provincial|proportion\.provincial)\b.*\b1\.5\b.*expected a value <= 1"),
         command=(*SOLVE, "--proportion-provincial", "1.5"), subprocess=True),
    case("option-threads-0", folder(),
         re.compile(r"(--threads|solver\.threads)\b.*\b0\b.*expected a value >= 1"),
         command=(*SOLVE, "--threads", "0")),
    case("option-objective-unknown", folder(), "Invalid value for '--objective'",
         command=(*SOLVE, "--objective", "max_people")),
    case("solve-with-bad-file", folder(replace("revenue.csv", "coastal,provincial,2011,1000", "coastal,provincial,2011,-1000")),
         "revenue.csv, row 2, column 'revenue', value '-1000': expected a value >= 0", command=SOLVE),
]

WORKBOOK_CASES = [
    case("xlsx-missing-sheet-pairs", workbook(delete_sheet("pairs")),
         "tiny.xlsx [pairs]: missing table; expected columns donor, recipient, base_quota", subprocess=True),
    case("xlsx-missing-sheet-scenario", workbook(delete_sheet("scenario")),
         "tiny.xlsx [scenario]: missing sheet; expected columns key, value"),
    case("xlsx-unknown-donor-in-pairs", workbook(set_cell("pairs", 4, 1, "harbor")),
         "tiny.xlsx [pairs], row 4, column 'donor', value 'harbor': unknown donor"),
    case("xlsx-negative-poor-population", workbook(set_cell("recipients", 2, 4, -2000)),
         re.compile(r"tiny\.xlsx \[recipients\], row 2, column 'poor_population', value '-2000(\.0)?': "
                    r"expected a value >= 0")),
    case("xlsx-scenario-proportion-above-1", workbook(set_scenario_value("proportion.provincial", "1.5")),
         "tiny.xlsx [scenario], key 'proportion.provincial', value 1.5: expected a value <= 1"),
    case("xlsx-not-a-workbook", file_with("broken.xlsx", b"this is not a zip archive"),
         "broken.xlsx: not a readable .xlsx workbook", forbid=MISLEADING_MISSING),
]

ALL_CASES = (MISSING_FILE_CASES + MISSING_COLUMN_CASES + REFERENCE_CASES + VALUE_CASES + CHECK_CASES + FILE_CASES
             + SCENARIO_CASES + CLI_OPTION_CASES + WORKBOOK_CASES)


# ----------------------------------------------------------------------------- running


def run_cli(args: list[str], cwd: Path, in_subprocess: bool) -> tuple[int, str]:
    """Exit code and combined stdout+stderr of `ewppt ARGS`."""
    if in_subprocess:
        env = {k: v for k, v in os.environ.items() if k != "EWPPT_DEBUG"}
        env["COLUMNS"] = "200"
        proc = subprocess.run([sys.executable, "-m", "optimizer.cli", *args], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=120)
        return proc.returncode, proc.stdout + proc.stderr
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    finally:
        os.chdir(old)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        tb = "".join(traceback.format_exception(*result.exc_info))
        pytest.fail(f"the command raised instead of reporting bad input:\n{result.output}\n{tb}")
    return result.exit_code, result.output


def _found(expected: Expected, output: str) -> bool:
    if isinstance(expected, re.Pattern):
        return expected.search(output) is not None
    return expected in output


@pytest.mark.parametrize("bad", ALL_CASES)
def test_bad_input_is_reported(bad: Case, tmp_path: Path) -> None:
    instance = bad.setup(tmp_path)
    args = [part.format(instance=instance, tmp=tmp_path) for part in bad.command]
    code, output = run_cli(args, tmp_path, bad.subprocess)

    shown = f"\n--- ewppt {' '.join(args)} (exit {code}) ---\n{output}"
    assert "Traceback" not in output, shown
    assert "internal error" not in output, shown
    assert code == EXIT_BAD_INPUT, shown
    for expected in bad.expect:
        assert _found(expected, output), f"expected {expected!r} in the output{shown}"
    for text in bad.forbid:
        assert text not in output, f"did not expect {text!r} in the output{shown}"
    if bad.command[0] == "solve":
        assert not (tmp_path / "out").exists(), "nothing may be written for bad input"


@pytest.mark.parametrize(
    "setup",
    [
        pytest.param(folder(), id="tiny-folder"),
        pytest.param(as_given("tiny"), id="tiny-bundled-name"),
        pytest.param(workbook(lambda book: None), id="tiny-xlsx"),
        pytest.param(folder(write_bytes("donors.csv", b"\xef\xbb\xbf" + (TINY / "donors.csv").read_bytes())),
                     id="tiny-with-utf8-bom"),
    ],
)
def test_valid_instance_passes(setup: Setup, tmp_path: Path) -> None:
    code, output = run_cli(["validate", setup(tmp_path)], tmp_path, in_subprocess=False)
    assert code == 0, output
    assert "valid" in output and "error" not in output, output


def test_valid_instance_passes_in_subprocess(tmp_path: Path) -> None:
    code, output = run_cli(["validate", folder()(tmp_path)], tmp_path, in_subprocess=True)
    assert code == 0, output
    assert "valid" in output and "error" not in output and "Traceback" not in output, output
