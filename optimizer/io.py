"""Reading instances (a folder of CSV tables plus scenario.toml, or one .xlsx workbook) and
writing files atomically.

Files are parsed as data only: CSV through pandas with every cell read as text, TOML through
tomllib; nothing is evaluated. Every fault is reported as a `Problem` naming file, row, column
and value; loading raises `InvalidInstance` with all of them.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import hashlib
import os
import re
import stat
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from warnings import catch_warnings, simplefilter

import pandas as pd
from pydantic import TypeAdapter, ValidationError

from optimizer.errors import InvalidInstance, Problem
from optimizer.schema import TABLES, Scenario, TableSpec

BUNDLED_INSTANCES = Path(__file__).resolve().parents[1] / "instances"
SCENARIO_FILE = "scenario.toml"


@dataclass(frozen=True)
class Instance:
    """A validated instance: typed tables (pandas), its scenario and the warnings found.

    Tables keep the column names of the instance format; the optional ones (`capacity`, `projects`,
    `cadres`, `context`) may be empty.
    """

    path: Path
    scenario: Scenario
    donors: pd.DataFrame
    revenue: pd.DataFrame
    recipients: pd.DataFrame
    pairs: pd.DataFrame
    instruments: pd.DataFrame
    effects: pd.DataFrame
    capacity: pd.DataFrame
    projects: pd.DataFrame = field(default_factory=lambda: _empty_table(TABLES["projects"]))
    cadres: pd.DataFrame = field(default_factory=lambda: _empty_table(TABLES["cadres"]))
    locks: pd.DataFrame = field(default_factory=lambda: _empty_table(TABLES["locks"]))
    context: pd.DataFrame = field(default_factory=lambda: _empty_table(TABLES["context"]))
    warnings: tuple[Problem, ...] = field(default=())

    def table(self, name: str) -> pd.DataFrame:
        return getattr(self, name)

    @property
    def digest(self) -> str:
        """SHA-256 of the validated content (tables and scenario), independent of file form."""
        h = hashlib.sha256()
        for name in TABLES:
            h.update(name.encode())
            h.update(self.table(name).to_csv(index=False, float_format="%.17g").encode())
        h.update(self.scenario.model_dump_json().encode())
        return h.hexdigest()

    def with_scenario(self, scenario: Scenario) -> "Instance":
        """The same tables under another scenario (checks that depend on the years re-run)."""
        from optimizer.checks import run_checks

        tables = {name: self.table(name) for name in TABLES}
        errors, warnings = run_checks(tables, scenario)
        if errors:
            raise InvalidInstance(errors)
        return Instance(path=self.path, scenario=scenario, warnings=tuple(warnings), **tables)


# ----------------------------------------------------------------------------- locating


def resolve_instance_path(name_or_path: str | Path) -> Path:
    """A path as given if it exists, else the bundled instance of that name."""
    path = Path(name_or_path)
    if path.exists():
        return path
    bundled = BUNDLED_INSTANCES / str(name_or_path)
    if bundled.exists():
        return bundled
    known = ", ".join(bundled_instances()) or "none"
    raise InvalidInstance(
        [Problem(str(name_or_path), f"no such file or folder, and no bundled instance of that name (bundled: {known})")]
    )


def bundled_instances() -> list[str]:
    if not BUNDLED_INSTANCES.is_dir():
        return []
    return sorted(p.name for p in BUNDLED_INSTANCES.iterdir() if (p / SCENARIO_FILE).is_file())


# ----------------------------------------------------------------------------- loading


def load_instance(path: str | Path, **scenario_overrides: Any) -> Instance:
    """Read, validate and check an instance; scenario values may be overridden by dotted key.

    Raises `InvalidInstance` listing every problem (file, row, column, value, expectation).
    """
    from optimizer.checks import run_checks

    path = resolve_instance_path(path)
    unusable = _not_a_file_or_folder(path)
    if unusable:
        raise InvalidInstance([unusable])
    if path.is_dir():
        raw_tables, raw_scenario, problems = _read_folder(path)
        scenario_file = SCENARIO_FILE
    elif path.suffix.lower() == ".xlsx":
        raw_tables, raw_scenario, problems = _read_workbook(path)
        scenario_file = f"{path.name} [scenario]"
    else:
        raise InvalidInstance([Problem(str(path), "expected an instance folder or an .xlsx workbook")])

    scenario = None
    if raw_scenario is not None:
        scenario, scenario_problems = parse_scenario(raw_scenario, scenario_file, scenario_overrides)
        problems += scenario_problems

    tables: dict[str, pd.DataFrame] = {}
    for name, spec in TABLES.items():
        raw = raw_tables.get(name)
        if raw is None:
            unreadable = any(p.file == _where(path, spec) for p in problems)
            if spec.required and not unreadable:
                problems.append(Problem(_where(path, spec), f"missing table; expected columns {', '.join(spec.columns)}"))
            tables[name] = _empty_table(spec)
            continue
        table, table_problems = validate_table(raw, spec, _where(path, spec))
        problems += table_problems
        tables[name] = table

    errors = [p for p in problems if not p.message.startswith("warning:")]
    warnings = [p for p in problems if p.message.startswith("warning:")]
    if errors or scenario is None:
        raise InvalidInstance(errors or [Problem(scenario_file, "missing scenario")])
    check_errors, check_warnings = (_located(path, found) for found in run_checks(tables, scenario))
    if check_errors:
        raise InvalidInstance(check_errors)
    return Instance(path=path, scenario=scenario, warnings=tuple(warnings + check_warnings), **tables)


def _located(path: Path, problems: list[Problem]) -> list[Problem]:
    """Checks name tables by their CSV file; in a workbook, name the sheet instead."""
    if path.suffix.lower() != ".xlsx":
        return problems
    names = {spec.filename: _where(path, spec) for spec in TABLES.values()}
    names[SCENARIO_FILE] = f"{path.name} [scenario]"
    return [dataclasses.replace(p, file=names.get(p.file, p.file)) for p in problems]


def _where(path: Path, spec: TableSpec) -> str:
    return f"{path.name} [{spec.name}]" if path.suffix.lower() == ".xlsx" else spec.filename


def _read_folder(path: Path) -> tuple[dict[str, pd.DataFrame], dict | None, list[Problem]]:
    problems: list[Problem] = []
    tables: dict[str, pd.DataFrame] = {}
    root = path.resolve()
    for name, spec in TABLES.items():
        file = path / spec.filename
        if not file.exists():
            continue
        if not file.resolve().is_relative_to(root):
            # a symbolic link out of the folder: an instance is its folder's files and nothing else
            problems.append(Problem(spec.filename, f"refers outside the instance folder (to {file.resolve()}); "
                                                   "copy the table into the folder"))
            continue
        unusable = _not_a_readable_file(file, spec.filename, "a CSV table")
        if unusable:
            problems.append(unusable)
            continue
        if b"\x00" in file.open("rb").read(4096):
            # UTF-16 without a byte-order mark decodes as "UTF-8" with a NUL in every other byte
            problems.append(Problem(spec.filename, "not UTF-8 text (NUL bytes: UTF-16?); save it as UTF-8 CSV"))
            continue
        try:
            table, wider = _read_csv(file)
            if wider:
                extra = _extra_fields(file, spec.filename, len(table.columns))
                problems.append(extra)
                if not extra.message.startswith("warning:"):
                    continue
            # drop blank lines but keep each row's index, so messages give the file's own row numbers
            tables[name] = table[(table.map(str.strip) != "").any(axis=1)]
        except UnicodeDecodeError as exc:
            problems.append(Problem(spec.filename, f"not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8 CSV"))
        except pd.errors.EmptyDataError:
            problems.append(Problem(spec.filename, f"the file is empty; expected a header row: {','.join(spec.columns)}"))
        except (pd.errors.ParserError, ValueError) as exc:
            problems.append(Problem(spec.filename, f"not a readable CSV table: {str(exc).strip()}",
                                    row=_parser_error_row(str(exc))))

    scenario_path = path / SCENARIO_FILE
    if scenario_path.exists() and not scenario_path.resolve().is_relative_to(root):
        problems.append(Problem(SCENARIO_FILE, f"refers outside the instance folder (to {scenario_path.resolve()}); "
                                               "copy it into the folder"))
        return tables, None, problems
    if not scenario_path.exists():
        problems.append(Problem(SCENARIO_FILE, "missing; expected [scenario] with name, years and objective"))
        return tables, None, problems
    unusable = _not_a_readable_file(scenario_path, SCENARIO_FILE, "a TOML file")
    if unusable:
        problems.append(unusable)
        return tables, None, problems
    try:
        raw_scenario = tomllib.loads(scenario_path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        problems.append(Problem(SCENARIO_FILE, f"not UTF-8 text (bad byte at offset {exc.start})"))
        return tables, None, problems
    except tomllib.TOMLDecodeError as exc:
        problems.append(Problem(SCENARIO_FILE, f"not valid TOML: {exc}"))
        return tables, None, problems
    return tables, raw_scenario, problems


def _kind_of(path: Path) -> str:
    mode = path.stat().st_mode
    return ("a folder" if stat.S_ISDIR(mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "not a regular file")


def _not_a_file_or_folder(path: Path) -> Problem | None:
    """The instance path must be a folder we can list or a regular file: opening a named pipe
    would wait forever for a writer."""
    if path.is_dir():
        try:
            os.listdir(path)
        except OSError as exc:
            return Problem(str(path), f"cannot read the instance folder: {exc.strerror}")
        return None
    if not path.is_file():
        return Problem(path.name, f"{_kind_of(path)}, not an instance folder or an .xlsx workbook")
    return _not_a_readable_file(path, path.name, "an .xlsx workbook")


def _not_a_readable_file(path: Path, name: str, expected: str) -> Problem | None:
    """A table or scenario.toml must be a regular file we may read (checked before opening it:
    a named pipe would block the read forever)."""
    if not path.is_file():
        return Problem(name, f"{_kind_of(path)}, not a file; expected {expected}")
    try:
        with path.open("rb"):
            return None
    except OSError as exc:
        return Problem(name, f"cannot be read: {exc.strerror}")


def _read_csv(file: Path) -> tuple[pd.DataFrame, bool]:
    """Every cell as text; and whether some row has more fields than the header.

    Without index_col=False, pandas takes rows one field wider than the header (each ending
    in a comma) to start with an index column, shifting every value one column left."""
    with catch_warnings(record=True) as caught:
        simplefilter("always", pd.errors.ParserWarning)
        table = pd.read_csv(file, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig",
                            skip_blank_lines=False, index_col=False)
    return table, any(issubclass(w.category, pd.errors.ParserWarning) for w in caught)


def _extra_fields(file: Path, name: str, width: int) -> Problem:
    """Rows wider than the header: empty trailing fields (a trailing comma) are a warning, a
    value beyond the header an error (pandas would drop it)."""
    with file.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    first = None
    for number, row in enumerate(rows[1:], start=2):
        extra = [cell for cell in row[width:] if cell.strip()]
        if extra:
            return Problem(name, f"more fields than the header's {width} columns", row=number, value=extra[0])
        if first is None and len(row) > width:
            first = number
    return Problem(name, f"warning: the row ends in empty fields beyond the header's {width} columns "
                         "(a trailing comma?); ignored", row=first)


def _parser_error_row(message: str) -> int | None:
    """The spreadsheet row of a pandas parser error: 'Expected 3 fields in line 6' counts lines
    from 1 (the row itself); 'EOF inside string starting at row 2' counts from 0."""
    found = re.search(r"in line (\d+)", message)
    if found:
        return int(found.group(1))
    found = re.search(r"starting at row (\d+)", message)
    return int(found.group(1)) + 1 if found else None


def _read_workbook(path: Path) -> tuple[dict[str, pd.DataFrame], dict | None, list[Problem]]:
    try:
        # cells read as text, 'N/A', 'nan' and 'null' included (as for CSV): they are values to check
        sheets = pd.read_excel(path, sheet_name=None, dtype=str, engine="openpyxl", keep_default_na=False)
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise InvalidInstance([Problem(path.name, f"not a readable .xlsx workbook: {exc}")]) from None
    sheets = {str(k).strip().lower(): v.fillna("").astype(str) for k, v in sheets.items()}
    raw_scenario = None
    problems: list[Problem] = []
    if "scenario" not in sheets:
        problems.append(Problem(f"{path.name} [scenario]", "missing sheet; expected columns key, value"))
    else:
        raw_scenario, problems = _scenario_from_sheet(sheets.pop("scenario"), f"{path.name} [scenario]")
    return sheets, raw_scenario, problems


def _scenario_from_sheet(sheet: pd.DataFrame, where: str) -> tuple[dict, list[Problem]]:
    """A key/value sheet (key like `proportion.provincial`, value a TOML literal) as nested dict."""
    data: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []
    if list(sheet.columns[:2]) != ["key", "value"]:
        return data, [Problem(where, f"expected columns key, value; found {', '.join(map(str, sheet.columns))}")]
    for i, (key, text) in enumerate(zip(sheet["key"], sheet["value"]), start=2):
        section, _, leaf = key.strip().rpartition(".")
        if not section or not leaf:
            problems.append(Problem(where, "expected a key of the form section.key", row=i, column="key", value=key))
            continue
        data.setdefault(section, {})[leaf] = _toml_value(text.strip())
    return data, problems


def _toml_value(text: str) -> Any:
    for candidate in (text, f"[{text}]" if "," in text else None, f'"{text}"'):
        if candidate is None:
            continue
        try:
            return tomllib.loads(f"v = {candidate}")["v"]
        except tomllib.TOMLDecodeError:
            continue
    return text


def parse_scenario(raw: dict, where: str, overrides: dict[str, Any] | None = None) -> tuple[Scenario | None, list[Problem]]:
    """Validate a scenario dict; unknown keys are rejected with the nearest valid key."""
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        return None, [_scenario_problem(err, where) for err in exc.errors()]
    try:
        return (scenario.override(**overrides) if overrides else scenario), []
    except KeyError as exc:
        return None, [Problem("override", f"cannot override: {exc.args[0]}")]
    except ValidationError as exc:
        return None, [_scenario_problem(err, "override") for err in exc.errors()]


def _scenario_problem(err: dict, where: str) -> Problem:
    loc = [str(part) for part in err["loc"]]
    dotted = ".".join(loc)
    if not loc and err["type"] == "value_error":
        # a rule across keys (model validator) names its first key in its message
        named = re.search(r"\b([a-z_]+\.[a-z_]+)\b", err["msg"].removeprefix("Value error, "))
        dotted = named.group(1) if named else dotted
    if err["type"] == "extra_forbidden":
        parent = Scenario
        for part in loc[:-1]:
            field_info = parent.model_fields.get(part)
            parent = field_info.annotation if field_info is not None else None
            if parent is None or not hasattr(parent, "model_fields"):
                break
        valid = list(parent.model_fields) if parent is not None and hasattr(parent, "model_fields") else []
        near = difflib.get_close_matches(loc[-1], valid, n=1)
        hint = f"did you mean '{'.'.join(loc[:-1] + near)}'?" if near else f"valid keys here: {', '.join(valid)}"
        return Problem(where, f"unknown key; {hint}", key=dotted)
    value = err.get("input")
    shown = value if not isinstance(value, dict) else None
    message = "missing; a value is required" if err["type"] == "missing" else _expected(err)
    return Problem(where, message, key=dotted, value=shown)


def validate_table(raw: pd.DataFrame, spec: TableSpec, where: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Check columns and validate every row against the table's row model."""
    problems: list[Problem] = []
    raw = raw.rename(columns=lambda c: str(c).strip())
    columns = list(raw.columns)
    duplicated = sorted({c for c in columns if columns.count(c) > 1}
                        | {c.rpartition(".")[0] for c in columns
                           if c.rpartition(".")[2].isdigit() and c.rpartition(".")[0] in columns})
    for name in duplicated:
        problems.append(Problem(where, "column appears more than once", row=1, column=name))
    missing = [c for c in spec.required_columns if c not in columns]
    for name in missing:
        near = difflib.get_close_matches(name, columns, n=1)
        hint = f" (found '{near[0]}'; misspelt?)" if near else ""
        problems.append(Problem(where, f"missing column; expected columns {', '.join(spec.columns)}{hint}", row=1, column=name))
    for name in columns:
        if name not in spec.columns and name.rpartition(".")[0] not in duplicated:
            near = difflib.get_close_matches(name, spec.columns, n=1)
            hint = f"; did you mean '{near[0]}'?" if near else ""
            problems.append(Problem(where, f"warning: unknown column ignored{hint}", row=1, column=name))
    if duplicated or missing:
        return _empty_table(spec), problems

    known = [c for c in columns if c in spec.columns]
    records = [
        {col: str(cell).strip() for col, cell in zip(known, row) if str(cell).strip() != ""}
        for row in raw[known].itertuples(index=False, name=None)
    ]
    try:
        rows = TypeAdapter(list[spec.row]).validate_python(records)
    except ValidationError as exc:
        for err in exc.errors()[:50]:
            position, col = err["loc"][0], str(err["loc"][1]) if len(err["loc"]) > 1 else None
            value = records[position].get(col, "") if col else None
            message = "empty cell; a value is required" if err["type"] == "missing" else _expected(err)
            problems.append(Problem(where, message, row=int(raw.index[position]) + 2, column=col, value=value))
        return _empty_table(spec), problems
    if not rows:
        if spec.required:
            problems.append(Problem(where, f"no data rows; expected at least one row (one per {', '.join(spec.key)})",
                                    row=2))
        return _empty_table(spec), problems
    return pd.DataFrame([r.model_dump() for r in rows], columns=spec.columns, index=raw.index), problems


def _expected(err: dict) -> str:
    """pydantic's message as an expectation: 'expected a number >= 0', 'expected ...'."""
    msg = err["msg"]
    if err["type"] == "finite_number":
        return "expected a finite number"
    if err["type"] == "string_pattern_mismatch":
        if "\\s" not in err["ctx"]["pattern"]:
            return "expected text without control characters"
        return "expected an identifier without spaces or commas, and without control characters"
    if err["type"] == "bool_parsing":
        return "expected true or false (also yes/no, 1/0)"
    if err["type"] == "value_error":
        return msg.removeprefix("Value error, ")
    if err["type"] == "less_than_equal":  # 1e+15, not 1000000000000000.0
        return f"expected a value <= {err['ctx']['le']:g} (see the ranges in docs/instance-format.md)"
    msg = (msg.replace("Input should be ", "")
              .replace("greater than or equal to ", ">= ").replace("less than or equal to ", "<= ")
              .replace("greater than ", "> ").replace("less than ", "< "))
    if msg[0] in "<>":
        msg = "a value " + msg
    return "expected " + msg[0].lower() + msg[1:]


def _empty_table(spec: TableSpec) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in spec.columns})


# ----------------------------------------------------------------------------- writing


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write through `write(tmp_path)` into a temporary file beside `path`, then rename.

    A reader sees either the old file or the complete new one; an interrupted write leaves
    no partial file behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_instance_xlsx(instance: Instance, path: Path) -> None:
    """Write an instance as one workbook: a sheet per table plus a key/value `scenario` sheet."""
    rows = []
    for section, values in instance.scenario.model_dump().items():
        for key, value in values.items():
            if value is None:
                continue
            literal = "[" + ", ".join(map(str, value)) + "]" if isinstance(value, (list, tuple)) else value
            rows.append({"key": f"{section}.{key}", "value": str(literal) if not isinstance(literal, str) else literal})

    def write(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
            pd.DataFrame(rows, columns=["key", "value"]).to_excel(xl, sheet_name="scenario", index=False)
            for name in TABLES:
                table = instance.table(name)
                if len(table) or TABLES[name].required:
                    table.to_excel(xl, sheet_name=name, index=False)

    atomic_write(Path(path), write)

