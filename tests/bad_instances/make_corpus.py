"""Generate the corpus of bad instances in this folder from `instances/tiny`.

    python tests/bad_instances/make_corpus.py            # rewrite cases/, outside/ and manifest.csv here
    python tests/bad_instances/make_corpus.py --out DIR  # write them into DIR instead

Every case breaks `tiny` in one way and is written as one folder (or one .xlsx workbook, or
one plain file) under `cases/`. `manifest.csv` lists each case with what `ewppt validate PATH`
(and `ewppt solve PATH --out TMP`) should report:

- `case`, `category`: the case's name and the kind of fault;
- `path`: relative to this folder (empty for a case generated on the fly);
- `kind`: folder, xlsx, file, or absent (a path that does not exist);
- `generated`: `committed` (the files are in the repository) or `on_the_fly` (too large, or a
  link to a file outside the repository: `tests/test_bad_corpus.py` builds it into a temporary
  folder with `build_on_the_fly`);
- `exit_code`: 2 (bad input), or 0 for the few documented warnings;
- `message`: a fragment the error line must contain after its location;
- `file`, `row`, `column`, `key`, `value`: the location the error line must start with,
  exactly as printed (`value` as the CLI prints it: `'-1'` for a cell, `2011` for a typed key);
  an empty `row`, `column`, `key` or `value` means the line has none;
- `xfail`: empty, or why the engine does not (yet) give the expected answer;
- `opt_in`: empty, or an environment variable that must be set for the case to run (the
  100 MB row-by-row CSV takes over a minute and 4 GB of memory).

The output is deterministic (sorted, fixed zip timestamps, stored zip entries), so
`tests/test_bad_corpus.py` checks that re-running this script reproduces the committed files
byte for byte. Nothing here imports the engine: the expectations are written out by hand from
`docs/instance-format.md`, so that a change of the engine's messages shows up as a failing case.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent
TINY = HERE.parents[1] / "instances" / "tiny"
TINY_FILES = ("donors.csv", "revenue.csv", "recipients.csv", "pairs.csv", "instruments.csv", "effects.csv",
              "scenario.toml")
MANIFEST_COLUMNS = ("case", "category", "path", "kind", "generated", "exit_code", "message", "file", "row", "column",
                    "key", "value", "xfail", "opt_in")

# Valid optional tables for tiny; a case about an optional table adds it to tiny first.
OPTIONAL = {
    "capacity": "recipient,instrument,year,max_aid\n"
                "upland,cdf,2011,5\n"
                "upland,cdf,2012,5\n"
                "valley,roads,2011,10\n",
    "projects": "project,recipient,instrument,cost,people,earliest_year\n"
                "valley_road_1,valley,roads,8,300,2011\n"
                "plateau_road_1,plateau,roads,5,250,2012\n",
    "cadres": "donor,recipient,min_per_year,max_per_year,cost_per_cadre,capacity_per_cadre\n"
              "coastal,upland,0,2,0.1,0.5\n"
              "harbour,valley,1,3,0.1,0\n",
    "locks": "donor,recipient,instrument,year,aid,min_aid,max_aid\n"
             "coastal,plateau,roads,2011,3,,\n"
             "harbour,plateau,cdf,2012,,1,2\n",
    "context": "item,parent,sums_to_parent,value,unit,note\n"
               "aid_total,,true,30,million yuan,total\n"
               "aid_coastal,aid_total,true,10,million yuan,coastal part\n"
               "aid_harbour,aid_total,true,20,million yuan,harbour part\n"
               "aid_women,aid_total,false,5,million yuan,of which women\n",
}

# Every column of every table (docs/instance-format.md): name, type, required.
# Types: key (identifier), parentkey (identifier or empty), str, choice, money (float >= 0),
# float, positive (float > 0), year (int 1900..2200), segment (int 1..1000), count (int >= 0), bool.
COLUMNS: dict[str, list[tuple[str, str, bool]]] = {
    "donors": [("donor", "key", True), ("name", "str", True), ("kind", "choice", True)],
    "revenue": [("donor", "key", True), ("level", "choice", True), ("year", "year", True),
                ("revenue", "money", True)],
    "recipients": [("recipient", "key", True), ("name", "str", True), ("province", "str", True),
                   ("poor_population", "money", True), ("special_aid", "bool", False), ("weight", "money", False),
                   ("investment_demand", "money", True), ("infra_unlock", "money", False),
                   ("admin_capacity", "count", False)],
    "pairs": [("donor", "key", True), ("recipient", "key", True), ("base_quota", "money", False)],
    "instruments": [("instrument", "key", True), ("category", "choice", True), ("leverage", "money", False),
                    ("targets_women", "bool", False), ("min_fund_size", "money", False),
                    ("setup_cost", "money", False), ("lag_years", "count", False)],
    "effects": [("recipient", "key", True), ("instrument", "key", True), ("segment", "segment", True),
                ("width", "money", True), ("people_per_million", "money", True)],
    "capacity": [("recipient", "key", True), ("instrument", "key", True), ("year", "year", True),
                 ("max_aid", "money", True)],
    "projects": [("project", "key", True), ("recipient", "key", True), ("instrument", "key", True),
                 ("cost", "positive", True), ("people", "money", True), ("earliest_year", "year", True)],
    "cadres": [("donor", "key", True), ("recipient", "key", True), ("min_per_year", "count", False),
               ("max_per_year", "count", True), ("cost_per_cadre", "money", True),
               ("capacity_per_cadre", "money", False)],
    "locks": [("donor", "key", True), ("recipient", "key", True), ("instrument", "key", True), ("year", "year", True),
              ("aid", "money", False), ("min_aid", "money", False), ("max_aid", "money", False)],
    "context": [("item", "key", True), ("parent", "parentkey", False), ("sums_to_parent", "bool", False),
                ("value", "float", True), ("unit", "str", True), ("note", "str", False)],
}
REQUIRED_TABLES = ("donors", "revenue", "recipients", "pairs", "instruments", "effects")
CHOICES = {
    "kind": "expected 'province' or 'city'",
    "level": "expected 'provincial', 'prefectural' or 'county'",
    "category": "expected 'enterprise_finance', 'household_finance', 'public_goods' or 'human_resources'",
}
NUMBER = "expected a valid number"
INTEGER = "expected a valid integer"
FINITE = "expected a finite number"
IDENTIFIER = "expected an identifier without spaces or commas"
EMPTY_CELL = "empty cell; a value is required"
NOT_UTF8 = "not UTF-8 text"


def expected_columns(table: str) -> str:
    return ", ".join(name for name, _, _ in COLUMNS[table])


# ----------------------------------------------------------------------------- edits of a folder
# Each edit changes one file of an instance folder in place. Tiny has no quoted cells, but the
# edits read and write through the csv module so that a value with a comma is quoted.

Edit = Callable[[Path], None]


def _rows(folder: Path, file: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO((folder / file).read_text(encoding="utf-8"))))


def _write_rows(folder: Path, file: str, rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    (folder / file).write_bytes(buffer.getvalue().encode("utf-8"))


def with_table(name: str) -> Edit:
    """Add a valid optional table to the folder."""
    return put(f"{name}.csv", OPTIONAL[name])


def set_cell(file: str, row: int, column: str, value: str) -> Edit:
    """Set one cell; `row` as a spreadsheet counts (header 1). A new column is added if needed."""

    def edit(folder: Path) -> None:
        rows = _rows(folder, file)
        if column not in rows[0]:
            rows = [r + [column if i == 0 else ""] for i, r in enumerate(rows)]
        rows[row - 1][rows[0].index(column)] = value
        _write_rows(folder, file, rows)

    return edit


def drop_column(file: str, column: str) -> Edit:
    def edit(folder: Path) -> None:
        rows = _rows(folder, file)
        index = rows[0].index(column)
        _write_rows(folder, file, [r[:index] + r[index + 1:] for r in rows])

    return edit


def rename_column(file: str, old: str, new: str) -> Edit:
    def edit(folder: Path) -> None:
        rows = _rows(folder, file)
        rows[0][rows[0].index(old)] = new
        _write_rows(folder, file, rows)

    return edit


def add_line(file: str, line: str) -> Edit:
    """Append a raw line (written as given, so it may be malformed)."""

    def edit(folder: Path) -> None:
        path = folder / file
        path.write_bytes(path.read_bytes().rstrip(b"\n") + b"\n" + line.encode("utf-8") + b"\n")

    return edit


def remove_row(file: str, row: int) -> Edit:
    def edit(folder: Path) -> None:
        rows = _rows(folder, file)
        del rows[row - 1]
        _write_rows(folder, file, rows)

    return edit


def header_only(file: str) -> Edit:
    def edit(folder: Path) -> None:
        _write_rows(folder, file, _rows(folder, file)[:1])

    return edit


def put(file: str, data: str | bytes) -> Edit:
    def edit(folder: Path) -> None:
        (folder / file).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)

    return edit


def transcode(file: str, encoding: str, old: str = "", new: str = "") -> Edit:
    """Re-encode a file (after an optional text replacement), e.g. as latin-1 or UTF-16."""

    def edit(folder: Path) -> None:
        text = (folder / file).read_text(encoding="utf-8")
        if old:
            assert text.count(old) == 1, (file, old)
            text = text.replace(old, new)
        (folder / file).write_bytes(text.encode(encoding))

    return edit


def delete(file: str) -> Edit:
    def edit(folder: Path) -> None:
        (folder / file).unlink()

    return edit


def make_fifo(file: str) -> Edit:
    """Replace a file by a named pipe (FIFO) of the same name: opening it for reading would wait
    forever for a writer."""

    def edit(folder: Path) -> None:
        (folder / file).unlink(missing_ok=True)
        os.mkfifo(folder / file)

    return edit


def trailing_comma(file: str) -> Edit:
    """End every data row (not the header) with a comma: an empty field beyond the header."""

    def edit(folder: Path) -> None:
        lines = (folder / file).read_text(encoding="utf-8").splitlines()
        (folder / file).write_bytes(("\n".join(lines[:1] + [line + "," for line in lines[1:]]) + "\n").encode("utf-8"))

    return edit


def replace_all(file: str, old: str, new: str) -> Edit:
    """Replace every occurrence of `old` in a text file (an id, in every row that names it)."""

    def edit(folder: Path) -> None:
        content = (folder / file).read_text(encoding="utf-8")
        assert old in content, (file, old)
        (folder / file).write_bytes(content.replace(old, new).encode("utf-8"))

    return edit


def make_dir(file: str) -> Edit:
    """Replace a file by a folder of the same name."""

    def edit(folder: Path) -> None:
        (folder / file).unlink(missing_ok=True)
        (folder / file).mkdir()
        (folder / file / "README.txt").write_bytes(b"a folder where a table should be\n")

    return edit


def symlink(file: str, target: str) -> Edit:
    def edit(folder: Path) -> None:
        (folder / file).unlink(missing_ok=True)
        os.symlink(target, folder / file)

    return edit


def text(file: str, old: str, new: str) -> Edit:
    """Replace the one occurrence of `old` in a text file."""

    def edit(folder: Path) -> None:
        content = (folder / file).read_text(encoding="utf-8")
        assert content.count(old) == 1, (file, old)
        (folder / file).write_bytes(content.replace(old, new).encode("utf-8"))

    return edit


def toml_set(section: str, key: str, literal: str | None) -> Edit:
    """Set `key = literal` in `[section]` of scenario.toml (add the section if absent; None removes)."""

    def edit(folder: Path) -> None:
        lines = (folder / "scenario.toml").read_text(encoding="utf-8").splitlines()
        current = None
        header = None
        for i, line in enumerate(lines):
            stripped = line.strip()
            if stripped.startswith("["):
                current = stripped.strip("[]").strip()
                if current == section:
                    header = i
            elif current == section and stripped.split("=")[0].strip() == key:
                if literal is None:
                    del lines[i]
                else:
                    lines[i] = f"{key} = {literal}"
                break
        else:
            assert literal is not None, (section, key)
            if header is None:
                lines += ["", f"[{section}]", f"{key} = {literal}"]
            else:
                lines.insert(header + 1, f"{key} = {literal}")
        (folder / "scenario.toml").write_bytes(("\n".join(lines) + "\n").encode("utf-8"))

    return edit


# ----------------------------------------------------------------------------- workbooks

WorkbookEdit = Callable[[openpyxl.Workbook], None]
SCENARIO_SHEET = [
    ("scenario.name", "tiny"),
    ("scenario.years", "[2011, 2012]"),
    ("scenario.objective", "people_lifted"),
    ("proportion.provincial", 0.01),
    ("proportion.prefectural", 0.02),
    ("proportion.county", 0.0),
    ("priorities.scope", "donor"),
    ("solver.threads", 1),
]


def _cell_value(text: str) -> object:
    """A CSV cell as a spreadsheet would hold it: whole numbers and decimals as numbers."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def tiny_workbook() -> openpyxl.Workbook:
    """tiny as one workbook: a `scenario` key/value sheet, then one sheet per table."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "scenario"
    sheet.append(["key", "value"])
    for key, value in SCENARIO_SHEET:
        sheet.append([key, value])
    for name in REQUIRED_TABLES:
        sheet = book.create_sheet(name)
        for i, row in enumerate(csv.reader(io.StringIO((TINY / f"{name}.csv").read_text(encoding="utf-8")))):
            sheet.append(row if i == 0 else [_cell_value(cell) for cell in row])
    return book


def save_workbook(book: openpyxl.Workbook, path: Path) -> None:
    """Save with fixed timestamps and stored (uncompressed) entries: the same bytes every time."""
    raw = io.BytesIO()
    book.save(raw)
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as target:
        for info in sorted(source.infolist(), key=lambda i: i.filename):
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _fixed_times(data)
            entry = zipfile.ZipInfo(info.filename, date_time=(2011, 1, 1, 0, 0, 0))
            entry.external_attr = 0o644 << 16
            target.writestr(entry, data)


def _fixed_times(core_xml: bytes) -> bytes:
    return re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)", rb"\g<1>2011-01-01T00:00:00Z\g<3>",
                  core_xml)


def delete_sheet(name: str) -> WorkbookEdit:
    def edit(book: openpyxl.Workbook) -> None:
        del book[name]

    return edit


def rename_sheet(old: str, new: str) -> WorkbookEdit:
    def edit(book: openpyxl.Workbook) -> None:
        book[old].title = new

    return edit


def sheet_cell(sheet: str, row: int, column: int, value: object) -> WorkbookEdit:
    def edit(book: openpyxl.Workbook) -> None:
        book[sheet].cell(row=row, column=column).value = value

    return edit


def delete_sheet_column(sheet: str, column: int) -> WorkbookEdit:
    def edit(book: openpyxl.Workbook) -> None:
        book[sheet].delete_cols(column)

    return edit


def delete_sheet_row(sheet: str, row: int) -> WorkbookEdit:
    def edit(book: openpyxl.Workbook) -> None:
        book[sheet].delete_rows(row)

    return edit


def scenario_value(key: str, value: object) -> WorkbookEdit:
    def edit(book: openpyxl.Workbook) -> None:
        for row in book["scenario"].iter_rows(min_row=2):
            if row[0].value == key:
                row[1].value = value
                return
        book["scenario"].append([key, value])

    return edit


# ----------------------------------------------------------------------------- cases


@dataclass
class Case:
    case: str
    category: str
    message: str
    file: str
    row: int | None = None
    column: str | None = None
    key: str | None = None
    value: str | None = None
    edits: tuple = ()  # folder edits, or workbook edits for kind "xlsx"
    kind: str = "folder"  # folder, xlsx, file, absent
    data: bytes = b""  # kind "file": its bytes
    suffix: str = ""  # kind "file": its name's ending
    generated: str = "committed"
    exit_code: int = 2
    xfail: str = ""
    opt_in: str = ""  # an environment variable that must be set for the case to run

    @property
    def path(self) -> str:
        if self.generated != "committed":
            return ""
        if self.kind == "xlsx":
            return f"cases/{self.case}.xlsx"
        return f"cases/{self.case}{self.suffix}"

    def manifest_row(self) -> dict[str, str]:
        shown = {"row": self.row, "column": self.column, "key": self.key, "value": self.value, "xfail": self.xfail,
                 "opt_in": self.opt_in}
        return {"case": self.case, "category": self.category, "path": self.path, "kind": self.kind,
                "generated": self.generated, "exit_code": str(self.exit_code), "message": self.message,
                "file": self.file, **{k: "" if v is None else str(v) for k, v in shown.items()}}


def s(value: str) -> str:
    """A cell value as the CLI prints it."""
    return repr(value)


CASES: list[Case] = []


def add(*args, **kwargs) -> None:
    CASES.append(Case(*args, **kwargs))


def base_for(table: str) -> tuple[Edit, ...]:
    return () if table in REQUIRED_TABLES else (with_table(table),)


# --- every required table missing, and scenario.toml missing
for table in REQUIRED_TABLES:
    add(f"missing-table-{table}", "missing-table", f"missing table; expected columns {expected_columns(table)}",
        f"{table}.csv", edits=(delete(f"{table}.csv"),))
add("missing-table-scenario.toml", "missing-table", "missing; expected [scenario] with name, years and objective",
    "scenario.toml", edits=(delete("scenario.toml"),))
add("folder-without-tables", "missing-table", "missing; expected [scenario] with name, years and objective",
    "scenario.toml", edits=tuple(delete(f) for f in TINY_FILES) + (put("notes.txt", "nothing here\n"),))

# --- every required column missing (optional tables are added to tiny first)
for table, columns in COLUMNS.items():
    for column, kind, required in columns:
        if required:
            add(f"missing-column-{table}-{column}", "missing-column",
                f"missing column; expected columns {expected_columns(table)}", f"{table}.csv", row=1, column=column,
                edits=base_for(table) + (drop_column(f"{table}.csv", column),))
add("misspelt-column-poor_populaton", "missing-column", "(found 'poor_populaton'; misspelt?)", "recipients.csv",
    row=1, column="poor_population", edits=(rename_column("recipients.csv", "poor_population", "poor_populaton"),))
add("capitalised-column-Donor", "missing-column", "(found 'Donor'; misspelt?)", "donors.csv", row=1, column="donor",
    edits=(rename_column("donors.csv", "donor", "Donor"),))
add("duplicate-column-pairs-recipient", "missing-column", "column appears more than once", "pairs.csv", row=1,
    column="recipient", edits=(text("pairs.csv", "donor,recipient,base_quota", "donor,recipient,base_quota,recipient"),
                               text("pairs.csv", "coastal,upland,2", "coastal,upland,2,upland")))

# --- an empty cell in every required column (row 2, the first data row)
for table, columns in COLUMNS.items():
    for column, kind, required in columns:
        if required:
            add(f"empty-cell-{table}-{column}", "empty-cell", EMPTY_CELL, f"{table}.csv", row=2, column=column,
                value=s(""), edits=base_for(table) + (set_cell(f"{table}.csv", 2, column, ""),))
add("blank-cell-spaces-donors-name", "empty-cell", EMPTY_CELL, "donors.csv", row=3, column="name", value=s(""),
    edits=(set_cell("donors.csv", 3, "name", "   "),))

# --- wrong types in every typed column
WRONG: dict[str, list[tuple[str, str, str]]] = {  # type: [(case suffix, cell, message)]
    "money": [("text", "abc", NUMBER)],
    "float": [("text", "abc", NUMBER)],
    "positive": [("text", "abc", NUMBER)],
    "year": [("text", "abc", INTEGER), ("decimal", "2011.5", INTEGER)],
    "segment": [("text", "one", INTEGER), ("decimal", "1.5", INTEGER)],
    "count": [("text", "few", INTEGER), ("decimal", "2.5", INTEGER)],
    "bool": [("text", "maybe", "expected true or false (also yes/no, 1/0)")],
    "key": [("space", "a b", IDENTIFIER)],
    "parentkey": [("space", "aid total", IDENTIFIER)],
}
for table, columns in COLUMNS.items():
    for column, kind, required in columns:
        variants = list(WRONG.get(kind, []))
        if kind == "choice":
            variants = [("unknown", "other", CHOICES[column])]
        for suffix, cell, message in variants:
            add(f"wrong-type-{table}-{column}-{suffix}", "wrong-type", message, f"{table}.csv", row=2, column=column,
                value=s(cell), edits=base_for(table) + (set_cell(f"{table}.csv", 2, column, cell),))
add("wrong-type-pairs-recipient-comma", "wrong-type", IDENTIFIER, "pairs.csv", row=2, column="recipient",
    value=s("up,land"), edits=(set_cell("pairs.csv", 2, "recipient", "up,land"),))
add("wrong-type-donors-donor-too-long", "wrong-type", "at most 200 characters", "donors.csv", row=2, column="donor",
    value="'" + "d" * 56 + "...'",
    edits=(set_cell("donors.csv", 2, "donor", "d" * 201),))
add("wrong-type-bool-as-number-2", "wrong-type", "expected true or false (also yes/no, 1/0)", "instruments.csv", row=3,
    column="targets_women", value=s("2"), edits=(set_cell("instruments.csv", 3, "targets_women", "2"),))
add("wrong-type-money-with-thousands-separator", "wrong-type", NUMBER, "revenue.csv", row=2, column="revenue",
    value=s("1,000"), edits=(set_cell("revenue.csv", 2, "revenue", "1,000"),))
add("wrong-type-money-with-unit", "wrong-type", NUMBER, "pairs.csv", row=2, column="base_quota", value=s("2 m"),
    edits=(set_cell("pairs.csv", 2, "base_quota", "2 m"),))

# --- NaN and infinities in every numeric column
for table, columns in COLUMNS.items():
    for column, kind, required in columns:
        if kind in ("money", "float", "positive"):
            cells = [("nan", "nan"), ("inf", "inf"), ("minus-inf", "-inf"), ("1e999", "1e999")]
            message = FINITE
        elif kind in ("year", "segment", "count"):
            cells = [("nan", "nan"), ("inf", "inf"), ("1e999", "1e999")]
            message = INTEGER
        else:
            continue
        for suffix, cell in cells:
            add(f"nan-inf-{table}-{column}-{suffix}", "nan-inf", message, f"{table}.csv", row=2, column=column,
                value=s(cell), edits=base_for(table) + (set_cell(f"{table}.csv", 2, column, cell),))
for cell in ("NaN", "Infinity", "-Infinity", "NAN"):
    add(f"nan-inf-effects-width-{cell}", "nan-inf", FINITE, "effects.csv", row=4, column="width", value=s(cell),
        edits=(set_cell("effects.csv", 4, "width", cell),))

# --- negative money and counts, and numbers outside a column's range
for table, columns in COLUMNS.items():
    for column, kind, required in columns:
        if kind in ("money", "count"):
            add(f"negative-{table}-{column}", "negative", "expected a value >= 0", f"{table}.csv", row=2,
                column=column, value=s("-1"), edits=base_for(table) + (set_cell(f"{table}.csv", 2, column, "-1"),))
        elif kind == "positive":
            for cell in ("0", "-5"):
                add(f"negative-{table}-{column}{cell}", "negative", "expected a value > 0", f"{table}.csv", row=2,
                    column=column, value=s(cell), edits=base_for(table) + (set_cell(f"{table}.csv", 2, column, cell),))
        elif kind == "year":
            for cell, message in (("1899", "expected a value >= 1900"), ("2201", "expected a value <= 2200")):
                add(f"out-of-range-{table}-{column}-{cell}", "out-of-range", message, f"{table}.csv", row=2,
                    column=column, value=s(cell),
                    edits=base_for(table) + (set_cell(f"{table}.csv", 2, column, cell),))
add("negative-revenue-small", "negative", "expected a value >= 0", "revenue.csv", row=5,
    column="revenue", value=s("-0.001"), edits=(set_cell("revenue.csv", 5, "revenue", "-0.001"),))
add("out-of-range-instruments-lag_years-101", "out-of-range", "expected a value <= 100", "instruments.csv", row=2,
    column="lag_years", value=s("101"), edits=base_for("instruments") + (set_cell("instruments.csv", 2, "lag_years", "101"),))
add("out-of-range-effects-segment-0", "out-of-range", "expected a value >= 1", "effects.csv", row=2, column="segment",
    value=s("0"), edits=(set_cell("effects.csv", 2, "segment", "0"),))
add("out-of-range-effects-segment-1001", "out-of-range", "expected a value <= 1000", "effects.csv", row=2,
    column="segment", value=s("1001"), edits=(set_cell("effects.csv", 2, "segment", "1001"),))

# --- empty files: 0 bytes (every table and scenario.toml), header only (required tables)
for table in COLUMNS:
    add(f"empty-file-{table}", "empty-file",
        f"the file is empty; expected a header row: {expected_columns(table).replace(', ', ',')}", f"{table}.csv",
        edits=(put(f"{table}.csv", b""),))
add("empty-file-scenario.toml", "empty-file", "missing; a value is required", "scenario.toml", key="scenario",
    edits=(put("scenario.toml", b""),))
add("blank-lines-only-pairs", "empty-file", "the file is empty; expected a header row: donor,recipient,base_quota",
    "pairs.csv", edits=(put("pairs.csv", b"\n\n\n"),))
add("bom-only-donors", "empty-file", "the file is empty; expected a header row: donor,name,kind", "donors.csv",
    edits=(put("donors.csv", b"\xef\xbb\xbf"),))
for table in REQUIRED_TABLES:
    key = {"donors": "donor", "revenue": "donor, level, year", "recipients": "recipient", "pairs": "donor, recipient",
           "instruments": "instrument", "effects": "recipient, instrument, segment"}[table]
    add(f"header-only-{table}", "header-only", f"no data rows; expected at least one row (one per {key})",
        f"{table}.csv", row=2, edits=(header_only(f"{table}.csv"),))

# --- encodings and bytes that are not a CSV table
add("encoding-latin1-recipients", "encoding", NOT_UTF8, "recipients.csv",
    edits=(transcode("recipients.csv", "latin-1", "Upland Prefecture", "Région Élevée"),))
add("encoding-latin1-donors", "encoding", NOT_UTF8, "donors.csv",
    edits=(transcode("donors.csv", "latin-1", "Harbour City", "Hafenstädt"),))
add("encoding-cp1252-pairs", "encoding", NOT_UTF8, "pairs.csv",
    edits=(put("pairs.csv", "donor,recipient,base_quota\ncoastal,upland,2\u20ac\n".encode("cp1252")),))
add("encoding-utf16-donors", "encoding", NOT_UTF8, "donors.csv", edits=(transcode("donors.csv", "utf-16"),))
add("encoding-utf16le-effects", "encoding", NOT_UTF8, "effects.csv", edits=(transcode("effects.csv", "utf-16-le"),))
add("encoding-gbk-recipients", "encoding", NOT_UTF8, "recipients.csv",
    edits=(transcode("recipients.csv", "gbk", "Upland Prefecture", "上游地区"),))
add("encoding-latin1-scenario", "encoding", NOT_UTF8, "scenario.toml",
    edits=(transcode("scenario.toml", "latin-1", 'name = "tiny"', 'name = "Région"'),))
add("encoding-utf16-scenario", "encoding", NOT_UTF8, "scenario.toml", edits=(transcode("scenario.toml", "utf-16"),))
add("binary-png-as-instruments", "encoding", NOT_UTF8, "instruments.csv",
    edits=(put("instruments.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"),))

# --- CSV layout
add("csv-semicolon-separated-donors", "csv-format", "missing column; expected columns donor, name, kind",
    "donors.csv", row=1, column="donor",
    edits=(put("donors.csv", "donor;name;kind\ncoastal;Coastal Province;province\nharbour;Harbour City;city\n"),))
add("csv-tab-separated-pairs", "csv-format", "missing column; expected columns donor, recipient, base_quota",
    "pairs.csv", row=1, column="donor",
    edits=(put("pairs.csv", "donor\trecipient\tbase_quota\ncoastal\tupland\t2\ncoastal\tplateau\t0\n"
                            "harbour\tvalley\t2\nharbour\tplateau\t0\n"),))
add("csv-ragged-row-pairs", "csv-format", "not a readable CSV table", "pairs.csv", row=6,
    edits=(add_line("pairs.csv", "coastal,valley,1,extra"),))
add("csv-unbalanced-quote-pairs", "csv-format", "not a readable CSV table", "pairs.csv", row=3,
    edits=(text("pairs.csv", "coastal,plateau,0", 'coastal,"plateau,0'),))
add("csv-nul-byte-in-header", "csv-format", "not UTF-8 text (NUL bytes", "donors.csv",
    edits=(put("donors.csv", b"donor,name,kind\x00\ncoastal,Coastal Province,province\nharbour,Harbour City,city\n"),))
add("csv-table-is-a-folder", "csv-format", "a folder, not a file; expected a CSV table", "donors.csv",
    edits=(make_dir("donors.csv"),))

# --- references to unknown donors, recipients, instruments; with a did-you-mean when close
REFERENCES = [  # table, row, column, close value, suggestion, far value, target table
    ("revenue", 2, "donor", "coastl", "coastal", "inland", "donors"),
    ("pairs", 4, "donor", "harbor", "harbour", "mountainous", "donors"),
    ("pairs", 2, "recipient", "uplands", "upland", "desert", "recipients"),
    ("effects", 5, "recipient", "valey", "valley", "steppe", "recipients"),
    ("effects", 6, "instrument", "road", "roads", "microcredit", "instruments"),
    ("capacity", 2, "recipient", "uplnd", "upland", "coast", "recipients"),
    ("capacity", 4, "instrument", "roads2", "roads", "schools", "instruments"),
    ("projects", 2, "recipient", "vally", "valley", "forest", "recipients"),
    ("projects", 3, "instrument", "raods", "roads", "water", "instruments"),
    ("cadres", 2, "donor", "coastall", "coastal", "inland", "donors"),
    ("cadres", 3, "recipient", "valleys", "valley", "island", "recipients"),
    ("locks", 2, "instrument", "road", "roads", "schools", "instruments"),
]
for table, row, column, close, near, far, target in REFERENCES:
    article = "an" if column[0] in "aeiou" else "a"
    expected = f"unknown {column}; expected {article} {column} listed in {target}.csv"
    add(f"unknown-{column}-in-{table}-close", "reference", f"{expected} (did you mean '{near}'?)", f"{table}.csv",
        row=row, column=column, value=s(close), edits=base_for(table) + (set_cell(f"{table}.csv", row, column, close),))
    add(f"unknown-{column}-in-{table}-far", "reference", expected, f"{table}.csv", row=row, column=column,
        value=s(far), edits=base_for(table) + (set_cell(f"{table}.csv", row, column, far),))
add("unknown-parent-in-context-close", "reference",
    "unknown parent; expected an item listed in context.csv (did you mean 'aid_total'?)", "context.csv", row=3,
    column="parent", value=s("aid_totl"),
    edits=(with_table("context"), set_cell("context.csv", 3, "parent", "aid_totl")))
add("unknown-parent-in-context-far", "reference", "unknown parent; expected an item listed in context.csv",
    "context.csv", row=3, column="parent", value=s("gdp"),
    edits=(with_table("context"), set_cell("context.csv", 3, "parent", "gdp")))
add("unknown-donor-case-differs", "reference",
    "unknown donor; expected a donor listed in donors.csv (did you mean 'coastal'?)", "pairs.csv", row=2,
    column="donor", value=s("Coastal"), edits=(set_cell("pairs.csv", 2, "donor", "Coastal"),))

# --- duplicate keys in every table (the duplicate is appended as the last row)
DUPLICATES = {  # table: (appended line, last row, reported column, printed value, key text)
    "donors": ("coastal,Coastal Again,province", 4, "donor", s("coastal"), "donor=coastal"),
    "revenue": ("coastal,provincial,2011,900", 6, "year", "2011", "donor=coastal, level=provincial, year=2011"),
    "recipients": ("upland,Upland Again,Upland,10,false,1,0,0", 5, "recipient", s("upland"), "recipient=upland"),
    "pairs": ("coastal,upland,5", 6, "recipient", s("upland"), "donor=coastal, recipient=upland"),
    "instruments": ("cdf,household_finance,0,true,0,0", 5, "instrument", s("cdf"), "instrument=cdf"),
    "effects": ("upland,cdf,1,3,90", 9, "segment", "1", "recipient=upland, instrument=cdf, segment=1"),
    "capacity": ("upland,cdf,2011,7", 5, "year", "2011", "recipient=upland, instrument=cdf, year=2011"),
    "projects": ("valley_road_1,valley,roads,4,100,2012", 4, "project", s("valley_road_1"), "project=valley_road_1"),
    "cadres": ("coastal,upland,0,1,0.2,0", 4, "recipient", s("upland"), "donor=coastal, recipient=upland"),
    "locks": ("coastal,plateau,roads,2011,1,,", 4, "year", "2011",
              "donor=coastal, recipient=plateau, instrument=roads, year=2011"),
    "context": ("aid_total,,true,31,million yuan,again", 6, "item", s("aid_total"), "item=aid_total"),
}
for table, (line, row, column, value, key_text) in DUPLICATES.items():
    key_columns = ", ".join(part.split("=")[0] for part in key_text.split(", "))
    add(f"duplicate-key-{table}", "duplicate-key", f"duplicate key ({key_text}); expected one row per {key_columns}",
        f"{table}.csv", row=row, column=column, value=value,
        edits=base_for(table) + (add_line(f"{table}.csv", line),))
add("duplicate-key-donors-after-spaces", "duplicate-key", "duplicate key (donor=coastal)", "donors.csv", row=4,
    column="donor", value=s("coastal"), edits=(add_line("donors.csv", "  coastal ,Coastal Again,province"),))

# --- effect segments: non-monotone people_per_million, gaps, not starting at 1
GAP = "must be numbered 1, 2, ... without gaps"
add("segments-increasing-people-per-million", "segments", "increases from segment 1 (100); expected non-increasing",
    "effects.csv", row=3, column="people_per_million", value="140.0",
    edits=(set_cell("effects.csv", 3, "people_per_million", "140"),))
add("segments-increasing-at-third-segment", "segments", "increases from segment 2 (40); expected non-increasing",
    "effects.csv", row=9, column="people_per_million", value="41.0",
    edits=(add_line("effects.csv", "upland,cdf,3,5,41"),))
add("segments-gap-1-3", "segments", f"segments of upland/cdf {GAP}", "effects.csv", row=3, column="segment",
    value="3", edits=(set_cell("effects.csv", 3, "segment", "3"),))
add("segments-start-at-2", "segments", f"segments of upland/loan_guarantee {GAP}", "effects.csv", row=4,
    column="segment", value="2", edits=(set_cell("effects.csv", 4, "segment", "2"),))
add("segments-gap-after-unordered-rows", "segments", f"segments of valley/cdf {GAP}", "effects.csv", row=9,
    column="segment", value="4", edits=(add_line("effects.csv", "valley,cdf,4,3,10"),
                                        add_line("effects.csv", "valley,cdf,2,3,20")))

# --- years: revenue missing in a plan year, capacity and revenue rows outside the plan
add("years-revenue-missing-plan-year", "years", "no revenue row for donor 'harbour' in plan year 2012", "revenue.csv",
    column="year", value="2012", edits=(remove_row("revenue.csv", 5),))
add("years-donor-without-revenue", "years", "no revenue row for donor 'coastal' in plan year 2011", "revenue.csv",
    column="year", value="2011", edits=(remove_row("revenue.csv", 3), remove_row("revenue.csv", 2)))
add("years-plan-extended-beyond-revenue", "years", "no revenue row for donor 'coastal' in plan year 2013",
    "revenue.csv", column="year", value="2013", edits=(toml_set("scenario", "years", "[2011, 2012, 2013]"),))
add("years-plan-shifted", "years", "no revenue row for donor 'harbour' in plan year 2014", "revenue.csv",
    column="year", value="2014", edits=(toml_set("scenario", "years", "[2013, 2014]"),))
add("years-capacity-row-outside-plan", "years", "warning: year outside the plan years [2011, 2012]; row ignored",
    "capacity.csv", row=4, column="year", value="2015", exit_code=0,
    edits=(with_table("capacity"), set_cell("capacity.csv", 4, "year", "2015")))
add("years-revenue-row-outside-plan", "years", "warning: rows for years [2010] lie outside the plan and are ignored",
    "revenue.csv", column="year", exit_code=0, edits=(add_line("revenue.csv", "coastal,provincial,2010,1000"),))
add("years-project-after-plan", "years", "warning: earliest_year is after the last plan year 2012", "projects.csv",
    row=3, column="earliest_year", value="2014", exit_code=0,
    edits=(with_table("projects"), set_cell("projects.csv", 3, "earliest_year", "2014")))

# --- a donor paired with itself
add("pair-to-itself", "self-pair", "a donor cannot be paired with itself", "pairs.csv", row=6, column="recipient",
    value=s("harbour"), edits=(add_line("recipients.csv", "harbour,Harbour Hinterland,Harbour,100,false,1,0,0"),
                               add_line("pairs.csv", "harbour,harbour,0")))
add("pair-to-itself-not-a-recipient", "self-pair", "a donor cannot be paired with itself", "pairs.csv", row=2,
    column="recipient", value=s("coastal"), edits=(set_cell("pairs.csv", 2, "recipient", "coastal"),))

# --- locks
add("locks-aid-and-range", "locks", "give either aid or min_aid/max_aid, not both", "locks.csv", row=2, column="aid",
    value="3.0", edits=(with_table("locks"), set_cell("locks.csv", 2, "min_aid", "1")))
add("locks-empty", "locks", "empty lock; expected aid, or min_aid and/or max_aid", "locks.csv", row=2, column="aid",
    edits=(with_table("locks"), set_cell("locks.csv", 2, "aid", "")))
add("locks-min-above-max", "locks", "min_aid 3 exceeds max_aid 2", "locks.csv", row=3, column="max_aid", value="2.0",
    edits=(with_table("locks"), set_cell("locks.csv", 3, "min_aid", "3")))
add("locks-year-outside-plan", "locks", "year outside the plan years [2011, 2012]", "locks.csv", row=2,
    column="year", value="2015", edits=(with_table("locks"), set_cell("locks.csv", 2, "year", "2015")))
add("locks-unpaired", "locks", "coastal and valley are not paired in pairs.csv; a lock is on a pair's aid",
    "locks.csv", row=2, column="recipient", value=s("valley"),
    edits=(with_table("locks"), set_cell("locks.csv", 2, "recipient", "valley")))

# --- cadres, projects and context rules
add("cadres-min-above-max", "cadres", "min_per_year 3 exceeds max_per_year 2; expected a value >= 3", "cadres.csv",
    row=2, column="max_per_year", value="2",
    edits=(with_table("cadres"), set_cell("cadres.csv", 2, "min_per_year", "3")))
add("cadres-unpaired", "cadres", "coastal and valley are not paired in pairs.csv; cadres go between pairs",
    "cadres.csv", row=3, column="recipient", value=s("valley"),
    edits=(with_table("cadres"), set_cell("cadres.csv", 3, "donor", "coastal")))
add("cadres-donor-to-itself", "cadres", "unknown recipient; expected a recipient listed in recipients.csv",
    "cadres.csv", row=2, column="recipient", value=s("coastal"),
    edits=(with_table("cadres"), set_cell("cadres.csv", 2, "recipient", "coastal")))
add("context-own-parent", "context", "an item cannot be its own parent", "context.csv", row=3, column="parent",
    value=s("aid_coastal"), edits=(with_table("context"), set_cell("context.csv", 3, "parent", "aid_coastal")))
add("context-unit-differs", "context", "unit differs from the unit of its parent aid_total", "context.csv", row=4,
    column="unit", value=s("yuan"), edits=(with_table("context"), set_cell("context.csv", 4, "unit", "yuan")))

# --- scenario.toml: unknown keys (with the nearest valid key), syntax, years, shares, values
UNKNOWN_KEYS = [  # section, wrong key, value literal, suggestion
    ("scenario", "objectve", '"people_lifted"', "scenario.objective"),
    ("scenario", "nmae", '"tiny"', "scenario.name"),
    ("scenario", "modle", '"lp"', "scenario.model"),
    ("proportion", "provincal", "0.01", "proportion.provincial"),
    ("proportion", "countyy", "0.0", "proportion.county"),
    ("priorities", "women_mn", "0.2", "priorities.women_min"),
    ("priorities", "scop", '"donor"', "priorities.scope"),
    ("priorities", "public_goods_maximum", "0.5", "priorities.public_goods_max"),
    ("priorities", "special_aid_minimum", "0.1", "priorities.special_aid_min"),
    ("solver", "threds", "1", "solver.threads"),
    ("solver", "time_limt", "10", "solver.time_limit"),
    ("solver", "methd", '"ipm"', "solver.method"),
    ("solver", "mip_gap", "0.01", "solver.mip_rel_gap"),
]
for section, wrong, literal, near in UNKNOWN_KEYS:
    add(f"scenario-unknown-key-{section}.{wrong}", "scenario-unknown-key", f"unknown key; did you mean '{near}'?",
        "scenario.toml", key=f"{section}.{wrong}", edits=(toml_set(section, wrong, literal),))
for wrong, near in (("proportions", "proportion"), ("priority", "priorities"), ("solvr", "solver")):
    add(f"scenario-unknown-section-{wrong}", "scenario-unknown-key", f"unknown key; did you mean '{near}'?",
        "scenario.toml", key=wrong, edits=(toml_set(wrong, "x", "1"),))
add("scenario-unknown-top-level-key", "scenario-unknown-key",
    "unknown key; valid keys here: scenario, proportion, priorities, horizon, solver", "scenario.toml", key="budget",
    edits=(text("scenario.toml", "[scenario]", "budget = 40\n\n[scenario]"),))
add("scenario-unknown-key-far", "scenario-unknown-key", "unknown key; valid keys here: provincial, prefectural, county",
    "scenario.toml", key="proportion.xyz", edits=(toml_set("proportion", "xyz", "0.1"),))

SYNTAX = "not valid TOML"
for name, old, new in [
    ("unclosed-list", "years = [2011, 2012]", "years = [2011, 2012"),
    ("unterminated-string", 'name = "tiny"', 'name = "tiny'),
    ("bare-word-value", 'objective = "people_lifted"', "objective = people_lifted"),
    ("missing-equals", "threads = 1", "threads 1"),
    ("duplicate-key", 'name = "tiny"', 'name = "tiny"\nname = "again"'),
    ("duplicate-section", "[solver]", "[proportion]\ncounty = 0.0\n\n[solver]"),
    ("unclosed-section-header", "[solver]", "[solver"),
    ("python-style-comment-quote", "threads = 1", "threads = 1  ' one thread"),
    ("single-quoted-list-items", "years = [2011, 2012]", "years = ['2011', 2012"),
]:
    add(f"scenario-syntax-{name}", "scenario-syntax", SYNTAX, "scenario.toml", edits=(text("scenario.toml", old, new),))

add("scenario-years-not-increasing", "scenario-years", "years must be strictly increasing", "scenario.toml",
    key="scenario.years", value="[2012, 2011]", edits=(toml_set("scenario", "years", "[2012, 2011]"),))
add("scenario-years-repeated", "scenario-years", "years must be strictly increasing", "scenario.toml",
    key="scenario.years", value="[2011, 2011]", edits=(toml_set("scenario", "years", "[2011, 2011]"),))
add("scenario-years-empty", "scenario-years", "at least 1 item", "scenario.toml", key="scenario.years", value="[]",
    edits=(toml_set("scenario", "years", "[]"),))
add("scenario-years-not-a-list", "scenario-years", "expected a valid tuple", "scenario.toml", key="scenario.years",
    value="2011", edits=(toml_set("scenario", "years", "2011"),))
add("scenario-years-text", "scenario-years", INTEGER, "scenario.toml", key="scenario.years.1", value=s("twelve"),
    edits=(toml_set("scenario", "years", '[2011, "twelve"]'),))
add("scenario-years-fraction", "scenario-years", "expected a valid integer, got a number with a fractional part",
    "scenario.toml", key="scenario.years.0", value="2011.5", edits=(toml_set("scenario", "years", "[2011.5, 2012]"),))
add("scenario-years-missing", "scenario-years", "missing; a value is required", "scenario.toml", key="scenario.years",
    edits=(toml_set("scenario", "years", None),))
add("scenario-section-missing", "scenario-years", "missing; a value is required", "scenario.toml", key="scenario",
    edits=(text("scenario.toml", '[scenario]\nname = "tiny"\nyears = [2011, 2012]\nobjective = "people_lifted"\n',
                ""),))

for key in ("provincial", "prefectural", "county"):
    for literal, message in (("1.5", "expected a value <= 1"), ("-0.1", "expected a value >= 0")):
        add(f"shares-proportion-{key}-{literal}", "shares", message, "scenario.toml", key=f"proportion.{key}",
            value=literal, edits=(toml_set("proportion", key, literal),))
for literal in ("nan", "inf", "-inf", "1e999"):
    add(f"shares-proportion-provincial-{literal}", "shares", FINITE, "scenario.toml", key="proportion.provincial",
        value={"1e999": "inf"}.get(literal, literal), edits=(toml_set("proportion", "provincial", literal),))
for key in ("enterprise_finance_min", "household_finance_min", "public_goods_min", "public_goods_max",
            "human_resources_min", "special_aid_min", "women_min"):
    for literal, message in (("1.2", "expected a value <= 1"), ("-0.1", "expected a value >= 0")):
        add(f"shares-priorities-{key}-{literal}", "shares", message, "scenario.toml", key=f"priorities.{key}",
            value=literal, edits=(toml_set("priorities", key, literal),))
add("shares-priorities-women_min-inf", "shares", FINITE, "scenario.toml", key="priorities.women_min", value="inf",
    edits=(toml_set("priorities", "women_min", "inf"),))
add("shares-priorities-special_aid_min-text", "shares", NUMBER, "scenario.toml", key="priorities.special_aid_min",
    value=s("ten percent"), edits=(toml_set("priorities", "special_aid_min", '"ten percent"'),))
add("shares-quota-growth-above-10", "shares", "expected a value <= 10", "scenario.toml",
    key="priorities.quota_growth_min", value="11.0", edits=(toml_set("priorities", "quota_growth_min", "11.0"),))
add("shares-quota-growth-below-minus-1", "shares", "expected a value >= -1", "scenario.toml",
    key="priorities.quota_growth_min", value="-2.0", edits=(toml_set("priorities", "quota_growth_min", "-2.0"),))
add("shares-public-goods-min-above-max", "shares",
    "priorities.public_goods_min 0.6 exceeds priorities.public_goods_max 0.4",
    "scenario.toml", key="priorities.public_goods_min",
    edits=(toml_set("priorities", "public_goods_min", "0.6"), toml_set("priorities", "public_goods_max", "0.4")))

SCENARIO_VALUES = [  # case, section, key, literal, message, printed value
    ("objective-unknown", "scenario", "objective", '"max_people"',
     "expected 'people_lifted', 'weighted_people_lifted', 'equity', 'leveraged_investment' or 'people_years'",
     s("max_people")),
    ("model-unknown", "scenario", "model", '"milp"', "expected 'lp' or 'mip'", s("milp")),
    ("name-empty", "scenario", "name", '""', "at least 1 character", s("")),
    ("name-number", "scenario", "name", "5", "expected a valid string", "5"),
    ("scope-unknown", "priorities", "scope", '"global"', "expected 'donor' or 'national'", s("global")),
    ("method-unknown", "solver", "method", '"barrier"', "expected 'choose', 'simplex' or 'ipm'", s("barrier")),
    ("threads-0", "solver", "threads", "0", "expected a value >= 1", "0"),
    ("threads-300", "solver", "threads", "300", "expected a value <= 256", "300"),
    ("threads-fraction", "solver", "threads", "1.5", "fractional part", "1.5"),
    ("time-limit-0", "solver", "time_limit", "0", "expected a value > 0", "0"),
    ("time-limit-negative", "solver", "time_limit", "-5", "expected a value > 0", "-5"),
    ("time-limit-inf", "solver", "time_limit", "inf", FINITE, "inf"),
    ("mip-gap-above-1", "solver", "mip_rel_gap", "1.5", "expected a value <= 1", "1.5"),
    ("mip-gap-negative", "solver", "mip_rel_gap", "-0.1", "expected a value >= 0", "-0.1"),
    ("proportion-text", "proportion", "county", '"abc"', NUMBER, s("abc")),
]
for name, section, key, literal, message, value in SCENARIO_VALUES:
    add(f"scenario-value-{name}", "scenario-value", message, "scenario.toml", key=f"{section}.{key}", value=value,
        edits=(toml_set(section, key, literal),))
add("scenario-value-section-not-a-table", "scenario-value", "expected a valid dictionary", "scenario.toml",
    key="solver", value="1",
    edits=(text("scenario.toml", "[solver]\nthreads = 1\n", ""),
           text("scenario.toml", "[scenario]", "solver = 1\n\n[scenario]")))

# --- .xlsx workbooks: a missing sheet (every required sheet and the scenario sheet), and bad cells
for table in REQUIRED_TABLES:
    add(f"xlsx-missing-sheet-{table}", "xlsx", f"missing table; expected columns {expected_columns(table)}",
        f"{{book}} [{table}]", kind="xlsx", edits=(delete_sheet(table),))
add("xlsx-missing-sheet-scenario", "xlsx", "missing sheet; expected columns key, value", "{book} [scenario]",
    kind="xlsx", edits=(delete_sheet("scenario"),))
add("xlsx-misspelt-sheet-pair", "xlsx", "missing table; expected columns donor, recipient, base_quota",
    "{book} [pairs]", kind="xlsx", edits=(rename_sheet("pairs", "pair"),))
add("xlsx-missing-column-donors-kind", "xlsx", "missing column; expected columns donor, name, kind", "{book} [donors]",
    row=1, column="kind", kind="xlsx", edits=(delete_sheet_column("donors", 3),))
add("xlsx-empty-cell-pairs-recipient", "xlsx", EMPTY_CELL, "{book} [pairs]", row=3, column="recipient", value=s(""),
    kind="xlsx", edits=(sheet_cell("pairs", 3, 2, None),))
add("xlsx-negative-revenue", "xlsx", "expected a value >= 0", "{book} [revenue]", row=2, column="revenue",
    value=s("-1000"), kind="xlsx", edits=(sheet_cell("revenue", 2, 4, -1000),))
add("xlsx-nan-text-width", "xlsx", FINITE, "{book} [effects]", row=2, column="width", value=s("nan"), kind="xlsx",
    edits=(sheet_cell("effects", 2, 4, "nan"),))
add("xlsx-na-text-optional-base_quota", "xlsx", NUMBER, "{book} [pairs]", row=2, column="base_quota", value=s("N/A"),
    kind="xlsx", edits=(sheet_cell("pairs", 2, 3, "N/A"),))
add("xlsx-null-text-recipient", "xlsx", "unknown recipient", "{book} [pairs]", row=2, column="recipient",
    value=s("null"), kind="xlsx", edits=(sheet_cell("pairs", 2, 2, "null"),))
add("xlsx-unknown-donor-in-pairs", "xlsx",
    "unknown donor; expected a donor listed in donors.csv (did you mean 'harbour'?)", "{book} [pairs]", row=4,
    column="donor", value=s("harbor"), kind="xlsx", edits=(sheet_cell("pairs", 4, 1, "harbor"),))
add("xlsx-duplicate-key-donors", "xlsx", "duplicate key (donor=coastal)", "{book} [donors]", row=3, column="donor",
    value=s("coastal"), kind="xlsx", edits=(sheet_cell("donors", 3, 1, "coastal"),))
add("xlsx-header-only-effects", "xlsx", "no data rows; expected at least one row", "{book} [effects]", row=2,
    kind="xlsx", edits=(delete_sheet_row("effects", 2), lambda book: book["effects"].delete_rows(2, 10)))
# an empty sheet: three 'missing column' errors (an empty CSV file says 'the file is empty')
add("xlsx-empty-sheet-donors", "xlsx", "missing column; expected columns donor, name, kind", "{book} [donors]", row=1,
    column="donor", kind="xlsx", edits=(lambda book: book["donors"].delete_rows(1, 10),))
add("xlsx-scenario-unknown-key", "xlsx", "unknown key; did you mean 'scenario.objective'?", "{book} [scenario]",
    key="scenario.objectve", kind="xlsx", edits=(scenario_value("scenario.objectve", "equity"),))
add("xlsx-scenario-key-without-section", "xlsx", "expected a key of the form section.key", "{book} [scenario]",
    row=10, column="key", value=s("provincial"), kind="xlsx", edits=(scenario_value("provincial", 0.5),))
add("xlsx-scenario-proportion-above-1", "xlsx", "expected a value <= 1", "{book} [scenario]",
    key="proportion.provincial", value="1.5", kind="xlsx", edits=(scenario_value("proportion.provincial", 1.5),))
add("xlsx-scenario-years-not-increasing", "xlsx", "years must be strictly increasing", "{book} [scenario]",
    key="scenario.years", value="[2012, 2011]", kind="xlsx", edits=(scenario_value("scenario.years", "2012, 2011"),))
add("xlsx-scenario-wrong-header", "xlsx", "expected columns key, value; found name, setting", "{book} [scenario]",
    kind="xlsx", edits=(sheet_cell("scenario", 1, 1, "name"), sheet_cell("scenario", 1, 2, "setting")))
add("xlsx-not-a-zip", "xlsx", "not a readable .xlsx workbook", "{book}", kind="file", suffix=".xlsx",
    data=b"this is not a zip archive\n")
add("xlsx-zero-bytes", "xlsx", "not a readable .xlsx workbook", "{book}", kind="file", suffix=".xlsx", data=b"")
add("xlsx-csv-renamed", "xlsx", "not a readable .xlsx workbook", "{book}", kind="file", suffix=".xlsx",
    data=b"donor,name,kind\ncoastal,Coastal Province,province\n")

# --- paths: not an instance, and paths that lead out of the instance folder
add("path-does-not-exist", "path", "no such file or folder, and no bundled instance of that name",
    "cases/path-does-not-exist", kind="absent")
add("path-is-a-csv-file", "path", "expected an instance folder or an .xlsx workbook", "cases/path-is-a-csv-file.csv",
    kind="file", suffix=".csv", data=b"donor,name,kind\ncoastal,Coastal Province,province\n")
# At f5f4e67 the engine followed these links (the first gave exit 0 with the outside table, the
# third "not a readable CSV table: ... C error: Expected 1 fields in line 24, saw 4"); io.py now
# refuses them: "donors.csv: refers outside the instance folder (to ...); copy the table into the folder".
add("path-escape-symlink-donors", "path", "outside the instance folder", "donors.csv",
    edits=(symlink("donors.csv", "../../outside/donors.csv"),))
add("path-escape-symlink-scenario", "path", "outside the instance folder", "scenario.toml",
    edits=(symlink("scenario.toml", "../../outside/scenario.toml"),))
add("path-escape-symlink-etc-passwd", "path", "outside the instance folder", "donors.csv", generated="on_the_fly",
    edits=(symlink("donors.csv", "/etc/passwd"),))

# --- large files, generated on the fly into a temporary folder (never committed)
MB = 1024 * 1024
REVENUE_LINE = "coastal,provincial,2011,1000\n"
REVENUE_HEADER = (TINY / "revenue.csv").read_text(encoding="utf-8")


def big_revenue_rows(size: int) -> int:
    """Spreadsheet row of the bad last line of a revenue.csv of about `size` bytes."""
    return len(REVENUE_HEADER.splitlines()) + (size - len(REVENUE_HEADER)) // len(REVENUE_LINE)


def _big_revenue(size: int) -> Edit:
    """revenue.csv of `size` bytes: tiny's rows, copies of a valid row, then one negative revenue."""

    def edit(folder: Path) -> None:
        count = big_revenue_rows(size) - len(REVENUE_HEADER.splitlines())
        with (folder / "revenue.csv").open("w", encoding="utf-8", newline="") as f:
            f.write(REVENUE_HEADER)
            block = REVENUE_LINE * 10_000
            for _ in range((count - 1) // 10_000):
                f.write(block)
            f.write(REVENUE_LINE * ((count - 1) % 10_000))
            f.write("coastal,provincial,2011,-1\n")

    return edit


def _big_cell(size: int) -> Edit:
    """donors.csv whose last cell (kind) is `size` bytes long."""

    def edit(folder: Path) -> None:
        with (folder / "donors.csv").open("w", encoding="utf-8", newline="") as f:
            f.write("donor,name,kind\ncoastal,Coastal Province,province\nharbour,Harbour City,")
            for _ in range(size // MB):
                f.write("x" * MB)
            f.write("\n")

    return edit


add("big-csv-5mb-rows", "big-file", "expected a value >= 0", "revenue.csv", row=big_revenue_rows(5 * MB),
    column="revenue", value=s("-1"), generated="on_the_fly", edits=(_big_revenue(5 * MB),))
add("big-csv-100mb-rows", "big-file", "expected a value >= 0", "revenue.csv", row=big_revenue_rows(100 * MB),
    column="revenue", value=s("-1"), generated="on_the_fly", edits=(_big_revenue(100 * MB),),
    opt_in="EWPPT_BIG_CSV")
add("big-csv-100mb-one-cell", "big-file", "expected 'province' or 'city'", "donors.csv", row=3, column="kind",
    value="'" + "x" * 56 + "...'", generated="on_the_fly", edits=(_big_cell(100 * MB),))


# --- silent misreadings (issue 12): input that used to be read as something else, without an error


def misreading_cases() -> None:
    """Each case was once read silently as something other than what it says (or with shifted
    rows, or with an invisible character printed raw); now it is refused or reported exactly."""
    bom = b"\xef\xbb\xbf"
    add("misread-toml-boolean-proportion", "misreading", "expected a number, not true or false", "scenario.toml",
        key="proportion.provincial", value="true", edits=(toml_set("proportion", "provincial", "true"),))
    add("misread-toml-boolean-threads", "misreading", "expected a number, not true or false", "scenario.toml",
        key="solver.threads", value="true", edits=(toml_set("solver", "threads", "true"),))
    # a byte-order mark (Notepad's UTF-8) is skipped: the error after it is found
    add("misread-toml-byte-order-mark", "misreading", "expected a value <= 1", "scenario.toml",
        key="proportion.county", value="2", edits=(toml_set("proportion", "county", "2"),
                                                   lambda folder: put("scenario.toml", bom + (
                                                       folder / "scenario.toml").read_bytes())(folder)))
    add("misread-xlsx-formula-without-value", "misreading", "a formula without a saved value; open and save",
        "{book} [pairs]", row=2, column="base_quota", value=s("=1+1"), kind="xlsx",
        edits=(sheet_cell("pairs", 2, 3, "=1+1"),))
    add("misread-xlsx-formula-without-value-scenario", "misreading", "a formula without a saved value",
        "{book} [scenario]", row=5, column="value", value=s("=0.5*0.02"), kind="xlsx",
        edits=(scenario_value("proportion.provincial", "=0.5*0.02"),))

    def second_donors_sheet(book: openpyxl.Workbook) -> None:
        book.copy_worksheet(book["donors"]).title = "donors "
        book["donors "]["C2"] = "city"

    add("misread-xlsx-two-sheets-named-donors", "misreading", "two sheets named 'donors' and 'donors '",
        "{book} [donors ]", kind="xlsx", edits=(second_donors_sheet,))
    add("misread-xlsx-scenario-key-twice", "misreading", "the key is also given in row 5", "{book} [scenario]",
        row=10, column="key", value=s("proportion.provincial"), kind="xlsx",
        edits=(lambda book: book["scenario"].append(["proportion.provincial", 0.02]),))
    # row numbers written with a table: without a header cell pandas took them as row labels
    # (every reported row shifted); with an empty header cell the column is ignored, rows exact
    add("misread-csv-row-numbers-without-header", "misreading", "more fields than the header's 3 columns; give "
        "every column a header (a first column of row numbers: delete it)", "donors.csv", row=2, value=s("province"),
        edits=(put("donors.csv", "donor,name,kind\n1,coastal,Coastal Province,province\n"
                                                      "2,harbour,Harbour City,city\n"),))
    add("misread-csv-row-numbers-empty-header", "misreading", "warning: column 1 has no header and is ignored",
        "donors.csv", row=1, exit_code=0,
        edits=(put("donors.csv", ",donor,name,kind\n0,coastal,Coastal Province,province\n"
                                 "1,harbour,Harbour City,city\n"),))
    add("misread-csv-row-numbers-empty-header-bad-kind", "misreading", "expected 'province' or 'city'",
        "donors.csv", row=3, column="kind", value=s("town"),
        edits=(put("donors.csv", ",donor,name,kind\n0,coastal,Coastal Province,province\n"
                                 "1,harbour,Harbour City,town\n"),))

    def row_numbers(book: openpyxl.Workbook) -> None:
        book["donors"].insert_cols(1)
        for row in (2, 3):
            book["donors"].cell(row=row, column=1).value = row - 2

    add("misread-xlsx-row-numbers-empty-header", "misreading", "warning: column 1 has no header and is ignored",
        "{book} [donors]", row=1, exit_code=0, kind="xlsx", edits=(row_numbers,))
    # invisible characters in a header: the column no longer matches its name (an optional one
    # silently took its default); every message shows them escaped
    add("misread-header-zero-width-space", "misreading", "the header holds an invisible character",
        "recipients.csv", row=1, column="\\u200bweight", edits=(rename_column("recipients.csv", "weight", "\u200bweight"),))
    add("misread-header-bell", "misreading", "the header holds an invisible character", "donors.csv", row=1,
        column="kind\\x07", edits=(rename_column("donors.csv", "kind", "kind\x07"),))
    add("misread-id-differs-only-in-case", "misreading", "differs only in case from 'upland' in row 2",
        "recipients.csv", row=5, column="recipient", value=s("Upland"),
        edits=(add_line("recipients.csv", "Upland,Upland County,Upland,100,false,1,0,0"),))


misreading_cases()


def hostile_cases() -> None:
    """Issue 12, section 4: input that crashed, hung or was solved wrong (each case failed at 186bba5)."""
    # crashed (KeyError: 'donor' in the re-check): a plan with no aid at all is optimal, with a warning
    add("hostile-no-aid", "hostile", "warning: every budget is 0", "scenario.toml", exit_code=0,
        edits=(toml_set("proportion", "provincial", "0.0"), toml_set("proportion", "prefectural", "0.0"),
               set_cell("pairs.csv", 2, "base_quota", "0"), set_cell("pairs.csv", 4, "base_quota", "0")))
    # crashed (pandas took the extra field for an index column, shifting every value left)
    add("hostile-trailing-comma-every-row", "hostile", "warning: the row ends in empty fields beyond the header's 3 "
        "columns", "donors.csv", row=2, exit_code=0, edits=tuple(trailing_comma(f) for f in TINY_FILES[:-1]))
    add("hostile-value-beyond-the-header", "hostile", "more fields than the header's 3 columns", "pairs.csv", row=2,
        value=s("extra"), edits=(text("pairs.csv", "coastal,upland,2\n", "coastal,upland,2,extra\n"),))
    # crashed writing xlsx results (openpyxl IllegalCharacterError): refused on input, shown escaped
    add("hostile-control-character-in-id", "hostile", "without control characters", "donors.csv", row=3,
        column="donor", value=s("harb\x07our"),
        edits=tuple(replace_all(f, "harbour,", "harb\x07our,") for f in ("donors.csv", "revenue.csv", "pairs.csv")))
    add("hostile-control-character-in-name", "hostile", "expected text without control characters", "donors.csv",
        row=3, column="name", value=s("Harbour\x1bCity"), edits=(text("donors.csv", "Harbour City", "Harbour\x1bCity"),))
    # hung forever (a named pipe opened for reading), or read as a missing table
    add("hostile-fifo-as-workbook", "hostile", "a named pipe (FIFO), not an instance folder or an .xlsx workbook",
        "hostile-fifo-as-workbook.xlsx", kind="fifo", suffix=".xlsx", generated="on_the_fly")
    add("hostile-fifo-as-table", "hostile", "a named pipe (FIFO), not a file; expected a CSV table", "donors.csv",
        generated="on_the_fly", edits=(make_fifo("donors.csv"),))
    add("hostile-fifo-as-scenario", "hostile", "a named pipe (FIFO), not a file; expected a TOML file", "scenario.toml",
        generated="on_the_fly", edits=(make_fifo("scenario.toml"),))
    add("hostile-scenario-is-a-folder", "hostile", "a folder, not a file; expected a TOML file", "scenario.toml",
        edits=(make_dir("scenario.toml"),))
    # finite but huge figures were reported unbounded (exit 3): refused, with the column's range
    for table, row, column, value, limit in (("revenue", 2, "revenue", "1e22", "1e+15"),
                                             ("effects", 2, "people_per_million", "1e300", "1e+10"),
                                             ("pairs", 2, "base_quota", "1e300", "1e+15")):
        add(f"hostile-huge-{table}-{column}", "hostile", f"expected a value <= {limit}", f"{table}.csv", row=row,
            column=column, value=s(value), edits=(set_cell(f"{table}.csv", row, column, value),))
    # a figure lost in HiGHS's tolerance beside its column's largest (was solved, the plan for it noise)
    add("hostile-column-spread-investment_demand", "hostile", "less than 1e-9 of the column's largest figure 4 (row 3)",
        "recipients.csv", row=2, column="investment_demand", value="1e-12",
        edits=(set_cell("recipients.csv", 2, "investment_demand", "1e-12"),))


hostile_cases()


# ----------------------------------------------------------------------------- writing


def build(case: Case, cases_dir: Path) -> Path:
    """Write one case under `cases_dir`; returns its path."""
    if case.kind == "absent":
        return cases_dir / case.case
    if case.kind == "file":
        path = cases_dir / f"{case.case}{case.suffix}"
        path.write_bytes(case.data)
        return path
    if case.kind == "fifo":
        path = cases_dir / f"{case.case}{case.suffix}"
        os.mkfifo(path)
        return path
    if case.kind == "xlsx":
        book = tiny_workbook()
        for edit in case.edits:
            edit(book)
        path = cases_dir / f"{case.case}.xlsx"
        save_workbook(book, path)
        return path
    folder = cases_dir / case.case
    folder.mkdir()
    for name in TINY_FILES:
        shutil.copyfile(TINY / name, folder / name)
    for edit in case.edits:
        edit(folder)
    return folder


def build_on_the_fly(name: str, target: Path) -> Path:
    """Build a case marked `on_the_fly` into the folder `target` (which must exist)."""
    case = next(c for c in CASES if c.case == name)
    return build(case, target)


def expected_file(case: Case, path: str) -> str:
    """The file an error names; a workbook's sheets are named `BOOK [sheet]`."""
    return case.file.replace("{book}", Path(path).name if path else case.case)


def write_corpus(out: Path) -> list[Case]:
    names = [c.case for c in CASES]
    duplicated = {n for n in names if names.count(n) > 1}
    assert not duplicated, f"case names must be unique: {sorted(duplicated)}"
    cases_dir = out / "cases"
    for stale in (cases_dir, out / "outside"):
        if stale.is_dir():
            shutil.rmtree(stale)
    cases_dir.mkdir(parents=True)
    (out / "outside").mkdir()
    # the targets of the symbolic links that lead out of an instance folder
    shutil.copyfile(TINY / "donors.csv", out / "outside" / "donors.csv")
    (out / "outside" / "scenario.toml").write_bytes(
        (TINY / "scenario.toml").read_bytes().replace(b"threads = 1", b"threads = 1\nescaped = true"))
    rows = []
    for case in sorted(CASES, key=lambda c: (c.category, c.case)):
        if case.generated == "committed":
            build(case, cases_dir)
        row = case.manifest_row()
        row["file"] = expected_file(case, row["path"])
        rows.append(row)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    (out / "manifest.csv").write_bytes(buffer.getvalue().encode("utf-8"))
    return CASES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder for cases/, outside/ and manifest.csv")
    args = parser.parse_args()
    cases = write_corpus(args.out)
    committed = sum(c.generated == "committed" for c in cases)
    print(f"wrote {len(cases)} cases ({committed} committed, {len(cases) - committed} on the fly) "
          f"and manifest.csv to {args.out}")


if __name__ == "__main__":
    main()
