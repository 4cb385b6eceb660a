"""The workbook a planner edits: an instance as one .xlsx file (`ewppt workbook`).

A first sheet `README` says, for every sheet and column, what it means, its unit and its
allowed range: generated from the row models of `optimizer/data/schema.py` (`column_docs`,
`scenario_docs`), the source of docs/instance-format.md too. Then the `scenario` sheet (key,
value), one sheet per table and, when the instance has one, `provenance` (the status of every
figure; the model never reads it). Headers are frozen, bold and commented with their meaning;
identifiers and text are text cells (`001` stays `001`); each column carries a data
validation: an id another sheet defines is chosen from that sheet's id column, a fixed list
from its values, a number within its documented range. `load_instance` reads the workbook
back to the same instance.

`blank_tables` gives the same workbook with only the donor and recipient ids (and the plan
years) filled in, for a planner to complete.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from pydantic import TypeAdapter, ValidationError

from optimizer.data.checks import REFERENCES
from optimizer.data.errors import InvalidInstance, Problem, expected
from optimizer.data.io import Instance, atomic_write
from optimizer.data.output import UnusableOutput, check_writable_parent
from optimizer.data.provenance import COLUMNS as PROVENANCE_COLUMNS
from optimizer.data.provenance import STATUSES, read_provenance
from optimizer.data.schema import LEVELS, TABLES, ColumnDoc, Key, Scenario, column_docs, scenario_docs

README = "README"
SCENARIO = "scenario"
PROVENANCE = "provenance"
LAST_ROW = 1048576  # Excel's last row: validations cover rows a planner adds
TEXT = "@"  # the number format of a text cell: Excel and LibreOffice keep `001` as typed
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")

# (table, column) -> (table, column) whose ids it takes, beyond checks.REFERENCES
EXTRA_REFERENCES = {("context", "parent"): ("context", "item")}

# the instruments a blank workbook starts with, one per priority category (the policy's own)
BLANK_INSTRUMENTS = (
    ("guarantee_fund", "enterprise_finance"),
    ("community_development_fund", "household_finance"),
    ("infrastructure", "public_goods"),
    ("training", "human_resources"),
)

# what to fill on each sheet of a blank workbook (README's `to fill` column)
BLANK_GUIDE = {
    SCENARIO: "name, years and objective are filled; give proportion.provincial, .prefectural and .county (the "
              "share of each level's revenue extracted); an empty value takes its default",
    "donors": "one row per donor id given: fill name and kind",
    "revenue": "one row per donor, level and plan year: fill revenue (0 where the level gives nothing)",
    "recipients": "one row per recipient id given: fill name, province, poor_population and investment_demand; "
                  "empty optional cells take their default",
    "pairs": "add one row per donor and the recipient it is paired with",
    "instruments": "one instrument per priority category to start with: rename, add or delete rows; empty "
                   "optional cells take their default",
    "effects": "one segment per recipient and instrument: fill width and people_per_million; add segments 2, 3, "
               "... for diminishing returns, delete rows of instruments a recipient does not use",
    "capacity": "optional: add rows to cap a recipient's aid in an instrument and year",
    "projects": "optional: add indivisible projects (schools, roads)",
    "cadres": "optional: add the cadres each pair may exchange",
    "locks": "optional: add aid already promised",
    "context": "optional: figures the source reports alongside (the model does not read them)",
}


# ----------------------------------------------------------------------------- the instance's rows


def scenario_rows(scenario: Scenario) -> list[tuple[str, str]]:
    """Every scenario key (`section.key`) with its value as a TOML literal, as the scenario
    sheet holds it; a key without a value (None) is listed with an empty value."""
    dumped = scenario.model_dump()
    rows = []
    for doc in scenario_docs():
        key = doc.name
        section, _, leaf = key.partition(".")
        value = dumped[section][leaf]
        if value is None:
            text = ""
        elif isinstance(value, (list, tuple)):
            text = "[" + ", ".join(map(str, value)) + "]"
        elif isinstance(value, bool):
            text = str(value).lower()
        else:
            text = str(value)
        rows.append((key, text))
    return rows


def instance_provenance(instance: Instance) -> list[dict[str, str]] | None:
    """The instance's provenance rows (from its folder's provenance.csv or its workbook's
    provenance sheet), or None when it has none or they are malformed."""
    if instance.path is None:
        return None
    rows, problems = read_provenance(instance.path)
    return None if problems else rows


# ----------------------------------------------------------------------------- blank


def blank_tables(donors: Sequence[str], recipients: Sequence[str], years: Sequence[int]
                 ) -> tuple[dict[str, pd.DataFrame], list[tuple[str, str]]]:
    """The tables and scenario rows of a blank workbook: the ids given, every other cell to fill.

    Raises `InvalidInstance` for an id that is not an identifier, an id given twice, or years
    that are not increasing."""
    problems = _id_problems("--donors", donors) + _id_problems("--recipients", recipients)
    years = list(years)
    if not years or any(b <= a for a, b in zip(years, years[1:])) or not all(1900 <= y <= 2200 for y in years):
        problems.append(Problem("--years", "expected plan years from 1900 to 2200, strictly increasing",
                                value=",".join(map(str, years))))
    if problems:
        raise InvalidInstance(problems)
    instruments = [i for i, _ in BLANK_INSTRUMENTS]
    tables = {name: pd.DataFrame(columns=spec.columns) for name, spec in TABLES.items()}
    tables["donors"] = pd.DataFrame({"donor": list(donors)}, columns=TABLES["donors"].columns)
    tables["revenue"] = pd.DataFrame([{"donor": d, "level": level, "year": y}
                                      for d in donors for level in LEVELS for y in years],
                                     columns=TABLES["revenue"].columns)
    tables["recipients"] = pd.DataFrame({"recipient": list(recipients)}, columns=TABLES["recipients"].columns)
    tables["instruments"] = pd.DataFrame([{"instrument": i, "category": c} for i, c in BLANK_INSTRUMENTS],
                                         columns=TABLES["instruments"].columns)
    tables["effects"] = pd.DataFrame([{"recipient": r, "instrument": i, "segment": 1}
                                      for r in recipients for i in instruments], columns=TABLES["effects"].columns)
    scenario = [(doc.name, "") for doc in scenario_docs()]
    filled = {"scenario.name": "plan", "scenario.years": "[" + ", ".join(map(str, years)) + "]",
              "scenario.objective": "people_lifted"}
    return tables, [(key, filled.get(key, value)) for key, value in scenario]


def _id_problems(option: str, ids: Sequence[str]) -> list[Problem]:
    if not ids:
        return [Problem(option, "expected at least one id, comma-separated (a,b,c)")]
    problems, seen = [], set()
    for value in ids:
        try:
            TypeAdapter(Key).validate_python(value)
        except ValidationError as exc:
            problems.append(Problem(option, expected(exc.errors()[0]), value=value))
        if value in seen:
            problems.append(Problem(option, "given twice; give each id once", value=value))
        seen.add(value)
    return problems


# ----------------------------------------------------------------------------- writing


def write_workbook(instance: Instance, path: str | Path) -> None:
    """Write the planner's workbook of an instance to `path` atomically (a temporary file beside
    it, then a rename)."""
    book = instance_book(instance)
    atomic_write(Path(path), book.save)


def write_blank_workbook(path: str | Path, donors: Sequence[str], recipients: Sequence[str],
                         years: Sequence[int]) -> None:
    """Write a blank workbook with these ids and plan years to `path` atomically."""
    tables, scenario = blank_tables(donors, recipients, years)
    book = build_book(tables, scenario, provenance=None, blank=True)
    atomic_write(Path(path), book.save)


def instance_book(instance: Instance) -> Workbook:
    tables = {name: instance.table(name) for name in TABLES}
    return build_book(tables, scenario_rows(instance.scenario), instance_provenance(instance))


def instance_workbook_bytes(instance: Instance) -> bytes:
    """The workbook `ewppt workbook` writes, as bytes (a download of the instance with its
    scenario as given)."""
    buffer = io.BytesIO()
    instance_book(instance).save(buffer)
    return buffer.getvalue()


def result_workbook_bytes(result: Any) -> bytes:
    """A plan's tables as one workbook, exactly as `Result.write(folder, "xlsx")` writes it."""
    with tempfile.TemporaryDirectory(prefix="ewppt-result-") as tmp:
        folder = Path(tmp) / "result"
        result.write(folder, "xlsx")
        return (folder / "results.xlsx").read_bytes()


def result_csv_zip_bytes(result: Any) -> bytes:
    """A plan's tables as a .zip of the CSV files (and run.json) `Result.write(folder, "csv")`
    writes, in a folder named after the scenario."""
    with tempfile.TemporaryDirectory(prefix="ewppt-result-") as tmp:
        folder = Path(tmp) / "result"
        written = result.write(folder, "csv")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in written:
                archive.write(path, f"result/{path.name}")
        return buffer.getvalue()


def build_book(tables: dict[str, pd.DataFrame], scenario: list[tuple[str, str]],
               provenance: list[dict[str, str]] | None, blank: bool = False) -> Workbook:
    """The workbook: README, scenario, one sheet per table, provenance when given."""
    book = Workbook()
    readme = book.active
    readme.title = README
    _scenario_sheet(book.create_sheet(SCENARIO), scenario)
    for name, spec in TABLES.items():
        _table_sheet(book.create_sheet(name), name, tables[name])
    if provenance is not None:
        _provenance_sheet(book.create_sheet(PROVENANCE), provenance)
    _readme_sheet(readme, blank, provenance is not None)
    return book


def _header(sheet, names: Iterable[str], notes: dict[str, str] | None = None) -> None:
    for index, name in enumerate(names, start=1):
        cell = sheet.cell(row=1, column=index, value=name)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.number_format = TEXT
        if notes and notes.get(name):
            cell.comment = Comment(notes[name], "ewppt", width=320, height=120)
    sheet.freeze_panes = "A2"


def _size_columns(sheet, widest: int = 60) -> None:
    for cells in sheet.iter_cols(max_row=min(sheet.max_row, 1000)):
        width = max((len(str(c.value)) for c in cells if c.value is not None), default=8)
        sheet.column_dimensions[cells[0].column_letter].width = min(max(width, 8) + 2, widest)


def _text_column(sheet, index: int) -> None:
    """Cells a planner adds to this column are text too (`001` stays `001`)."""
    sheet.column_dimensions[get_column_letter(index)].number_format = TEXT


def _cell_value(value: Any, doc: ColumnDoc) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if hasattr(value, "item"):  # a numpy scalar
        value = value.item()
    if doc.kind == "bool":
        return "true" if value in (True, "true", "True") else "false"
    if doc.kind in ("int", "float"):
        if isinstance(value, str):  # a blank workbook's key cells (segment 1, a year) come as numbers already
            return value
        return int(value) if doc.kind == "int" else float(value)
    return str(value)


def _table_sheet(sheet, name: str, table: pd.DataFrame) -> None:
    docs = column_docs(TABLES[name])
    _header(sheet, [d.name for d in docs], {d.name: _note(d) for d in docs})
    for index, doc in enumerate(docs, start=1):
        texts = doc.kind in ("str", "bool") or bool(doc.choices)
        if texts:
            _text_column(sheet, index)
        values = table[doc.name].tolist() if doc.name in table.columns else []
        for row, value in enumerate(values, start=2):
            cell = sheet.cell(row=row, column=index, value=_cell_value(value, doc))
            if texts:
                cell.number_format = TEXT
        validation = _validation(name, doc)
        if validation is not None:
            letter = get_column_letter(index)
            validation.add(f"{letter}2:{letter}{LAST_ROW}")
            sheet.add_data_validation(validation)
    _size_columns(sheet)


def _note(doc: ColumnDoc) -> str:
    unit = f" ({doc.unit})" if doc.unit and doc.unit != "-" else ""
    return f"{doc.meaning}{unit}. Allowed: {_allowed(None, doc)}"


def _default(doc: ColumnDoc) -> str:
    """The default as README shows it: empty when there is none (not set: the rule is off)."""
    return "" if doc.default == "None" else doc.default


def _reference(table: str, column: str) -> tuple[str, str] | None:
    if (table, column) in EXTRA_REFERENCES:
        return EXTRA_REFERENCES[(table, column)]
    if (table, column) in REFERENCES:
        return f"{column}s", column
    return None


def _allowed(table: str | None, doc: ColumnDoc) -> str:
    """The allowed values of a column in words (README and the header's note)."""
    reference = _reference(table, doc.name) if table else None
    if reference:
        return f"a {reference[1]} listed in column {reference[1]} of sheet {reference[0]}"
    if doc.choices:
        return "one of " + ", ".join(map(str, doc.choices))
    if doc.kind == "bool":
        return "true or false"
    if doc.kind == "tuple":
        return "whole numbers in brackets, strictly increasing: [2011, 2012]"
    if doc.kind in ("int", "float"):
        whole = "a whole number" if doc.kind == "int" else "a number"
        if doc.low is not None and doc.high is not None and not doc.low_open:
            return f"{whole} from {doc.low:g} to {doc.high:g}"
        parts = [f"{'>' if doc.low_open else '>='} {doc.low:g}" if doc.low is not None else "",
                 f"<= {doc.high:g}" if doc.high is not None else ""]
        return f"{whole} " + " and ".join(p for p in parts if p) if any(parts) else whole
    if doc.name in {"donor", "recipient", "instrument", "project", "item"}:
        return "an identifier: text without spaces or commas"
    return "text"


def _validation(table: str, doc: ColumnDoc) -> DataValidation | None:
    """A data validation for a column: a list of the ids another sheet defines, a fixed list, or
    a number within its range. None for free text."""
    reference = _reference(table, doc.name)
    if reference:
        target, column = reference
        letter = get_column_letter(TABLES[target].columns.index(column) + 1)
        sheet = target  # a table's name: plain letters, no quotes needed
        # the ids from row 2 down to the last one filled: grows as the planner adds ids
        formula = f"OFFSET({sheet}!${letter}$2,0,0,MAX(1,COUNTA({sheet}!${letter}:${letter})-1),1)"
        return DataValidation(type="list", formula1=formula, allow_blank=True, showErrorMessage=True,
                              errorStyle="warning", errorTitle=f"unknown {column}",
                              error=f"Expected a {column} listed on sheet {target}.")
    if doc.choices or doc.kind == "bool":
        values = doc.choices or ("true", "false")
        return DataValidation(type="list", formula1='"' + ",".join(map(str, values)) + '"', allow_blank=True,
                              showErrorMessage=True, errorTitle=f"{doc.name}",
                              error=f"Expected one of {', '.join(map(str, values))}.")
    if doc.kind in ("int", "float"):
        kind = "whole" if doc.kind == "int" else "decimal"
        message = f"Expected {_allowed(table, doc)}."
        if doc.low is not None and doc.high is not None:
            return DataValidation(type=kind, operator="between", formula1=f"{doc.low:g}", formula2=f"{doc.high:g}",
                                  allow_blank=True, showErrorMessage=True, errorTitle=doc.name, error=message)
        if doc.low is not None:
            return DataValidation(type=kind, operator="greaterThan" if doc.low_open else "greaterThanOrEqual",
                                  formula1=f"{doc.low:g}", allow_blank=True, showErrorMessage=True,
                                  errorTitle=doc.name, error=message)
        return DataValidation(type=kind, operator="between", formula1="-1E+307", formula2="1E+307",
                              allow_blank=True, showErrorMessage=True, errorTitle=doc.name, error=message)
    return None


def _scenario_sheet(sheet, rows: list[tuple[str, str]]) -> None:
    meanings = {doc.name: _note(doc) for doc in scenario_docs()}
    _header(sheet, ["key", "value"], {"key": "A scenario key, section.key", "value": "Its value, a TOML literal: "
                                      "0.002, [2011, 2012], equity, true; empty takes the default"})
    _text_column(sheet, 1)
    for row, (key, value) in enumerate(rows, start=2):
        sheet.cell(row=row, column=1, value=key).number_format = TEXT
        # a number stays a number cell; text (names, lists, words) stays text
        cell = sheet.cell(row=row, column=2, value=value or None if key == "scenario.name" else _scenario_cell(value))
        if isinstance(cell.value, str):
            cell.number_format = TEXT
        if meanings.get(key):
            sheet.cell(row=row, column=1).comment = Comment(meanings[key], "ewppt", width=320, height=120)
    _size_columns(sheet)


def _scenario_cell(text: str) -> Any:
    """A scenario value as a cell: a plain number as a number, anything else as its TOML text."""
    if text in ("", "true", "false") or text.startswith("["):
        return text or None
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if text.lstrip("-").isdigit() else number


def _provenance_sheet(sheet, rows: list[dict[str, str]]) -> None:
    _header(sheet, PROVENANCE_COLUMNS)
    for index in range(1, len(PROVENANCE_COLUMNS) + 1):
        _text_column(sheet, index)
    for row, record in enumerate(rows, start=2):
        for index, column in enumerate(PROVENANCE_COLUMNS, start=1):
            sheet.cell(row=row, column=index, value=record.get(column, "")).number_format = TEXT
    status = DataValidation(type="list", formula1='"' + ",".join(STATUSES) + '"', allow_blank=False,
                            showErrorMessage=True, errorTitle="status", error=f"Expected one of {', '.join(STATUSES)}.")
    letter = get_column_letter(PROVENANCE_COLUMNS.index("status") + 1)
    status.add(f"{letter}2:{letter}{LAST_ROW}")
    sheet.add_data_validation(status)
    _size_columns(sheet, widest=80)


README_COLUMNS = ("sheet", "column", "meaning", "unit", "allowed", "required", "default")


def _readme_sheet(sheet, blank: bool, provenance: bool) -> None:
    """What every sheet and column means, its unit and allowed values, from the schema."""
    columns = [*README_COLUMNS, "to fill"] if blank else list(README_COLUMNS)
    intro = [
        "An EWPPT instance: the sheets after this one are its tables. Solve it with `ewppt solve THIS.xlsx`; "
        "check it with `ewppt validate THIS.xlsx` (every problem named by sheet, row, column and value).",
        "Money is in million yuan everywhere. Ids (donor, recipient, instrument) are text without spaces or "
        "commas, matched exactly (Tibet and tibet differ). Empty optional cells take their default; rows "
        "may be added below the last one. Keep the header row as it is.",
        "Values a cell must hold are checked as you type (data validation); the full rules across sheets are "
        "checked when the workbook is loaded (docs/instance-format.md).",
    ]
    for row, text in enumerate(intro, start=1):
        cell = sheet.cell(row=row, column=1, value=text)
        cell.font = Font(bold=row == 1)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(columns))
        sheet.row_dimensions[row].height = 32
    top = len(intro) + 2
    for index, name in enumerate(columns, start=1):
        cell = sheet.cell(row=top, column=index, value=name)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
    sheet.freeze_panes = sheet.cell(row=top + 1, column=1)
    rows: list[tuple] = [(SCENARIO, "", "The scenario: one row per key (section.key) and its value", "", "",
                          "yes", "", BLANK_GUIDE[SCENARIO])]
    for doc in scenario_docs():
        rows.append((SCENARIO, doc.name, doc.meaning, doc.unit, _allowed(None, doc), "yes" if doc.required else "no",
                     _default(doc), ""))
    for name, spec in TABLES.items():
        kind = "required" if spec.required else "optional; may be left with its header only"
        rows.append((name, "", f"The {name} table ({kind}); one row per {', '.join(spec.key)}", "", "",
                     "yes" if spec.required else "no", "", BLANK_GUIDE.get(name, "")))
        for doc in column_docs(spec):
            rows.append((name, doc.name, doc.meaning, "" if doc.unit == "-" else doc.unit, _allowed(name, doc),
                         "yes" if doc.required else "no", _default(doc), ""))
    if provenance:
        rows.append((PROVENANCE, "", "The status of every figure (verified, derived or illustrative) and its "
                     "source; the model does not read it", "", "", "no", "", ""))
    for offset, values in enumerate(rows, start=1):
        for index, value in enumerate(values[:len(columns)], start=1):
            sheet.cell(row=top + offset, column=index, value=value or None)
            if not values[1]:  # a sheet's own row
                sheet.cell(row=top + offset, column=index).font = Font(bold=True)
    widths = {"sheet": 13, "column": 32, "meaning": 80, "unit": 22, "allowed": 44, "required": 9, "default": 10,
              "to fill": 80}
    for index, name in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = widths[name]
        for (cell,) in sheet.iter_rows(min_row=top + 1, min_col=index, max_col=index):
            cell.alignment = Alignment(wrap_text=name in ("meaning", "allowed", "to fill"), vertical="top")


# ----------------------------------------------------------------------------- the command's arguments


def check_workbook_path(path: str | Path, force: bool = False) -> Path:
    """The workbook to write, or `UnusableOutput` saying why not: not .xlsx, a folder, or a file
    that exists (without `force`)."""
    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        raise UnusableOutput(f"{path}: expected a workbook name ending in .xlsx")
    if target.is_dir():
        raise UnusableOutput(f"{path} is a folder; give the workbook's file name (PLAN.xlsx)")
    if target.exists() and not force:
        raise UnusableOutput(f"{path} exists; give --force to replace it, or another name")
    check_writable_parent(path, target)
    return target


def parse_ids(option: str, text: str | None) -> list[str]:
    """`a,b,c` as ids (spaces around each ignored); an empty list when not given."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def parse_years(text: str | None) -> list[int]:
    """`2026-2030` or `2026,2027,2028` as years; the five years after this one when not given."""
    if not text:
        first = date.today().year + 1
        return list(range(first, first + 5))
    try:
        if "-" in text and "," not in text:
            first, _, last = text.partition("-")
            return list(range(int(first), int(last) + 1))
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InvalidInstance([Problem("--years", "expected FIRST-LAST (2026-2030) or years separated by commas",
                                       value=text)]) from None
