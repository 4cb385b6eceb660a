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

from optimizer.data.errors import InvalidInstance, InvalidScenario, Problem, expected
from optimizer.data.schema import TABLES, Scenario, TableSpec, scenario_problems

BUNDLED_INSTANCES = Path(__file__).resolve().parents[2] / "instances"
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
        """The same tables under another scenario (the checks that read the scenario re-run; those
        that read the tables alone are run once for these tables and kept with them)."""
        from optimizer.data.checks import run_checks, table_checks

        tables = {name: self.table(name) for name in TABLES}
        known = self.__dict__.get("_table_checks")
        if known is None:
            known = table_checks(tables)
            object.__setattr__(self, "_table_checks", known)  # the same tables: the same problems
        errors, warnings = run_checks(tables, scenario, known)
        if errors:
            raise InvalidInstance(errors)
        instance = Instance(path=self.path, scenario=scenario, warnings=tuple(warnings), **tables)
        object.__setattr__(instance, "_table_checks", known)
        return instance


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
    from optimizer.data.checks import run_checks

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
        scenario, found = parse_scenario(raw_scenario, scenario_file, scenario_overrides)
        problems += found

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
        with file.open("rb") as raw:
            head = raw.read(4096)
        if b"\x00" in head:
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
        raw_scenario = tomllib.loads(scenario_path.read_text(encoding="utf-8-sig"))  # a BOM, as Notepad writes
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
        return Problem(str(path), f"{_kind_of(path)}, not an instance folder or an .xlsx workbook")
    return _not_a_readable_file(path, str(path), "an .xlsx workbook")


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
            return Problem(name, f"more fields than the header's {width} columns; give every column a header "
                                 "(a first column of row numbers: delete it)", row=number, value=extra[0])
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
        raise InvalidInstance([Problem(str(path), f"not a readable .xlsx workbook: {exc}")]) from None
    problems: list[Problem] = []
    named: dict[str, str] = {}
    for title in list(sheets):
        name = str(title).strip().lower()
        if name in named:  # 'donors' and 'Donors ' are both read as donors: refuse rather than pick one
            problems.append(Problem(f"{path.name} [{title}]", f"two sheets named '{named[name]}' and '{title}'; "
                                    "delete or rename one"))
            del sheets[title]
        named.setdefault(name, str(title))
    sheets = {str(k).strip().lower(): v.fillna("").astype(str) for k, v in sheets.items()}
    problems += _formulas_without_values(path)
    raw_scenario = None
    if "scenario" not in sheets:
        problems.append(Problem(f"{path.name} [scenario]", "missing sheet; expected columns key, value"))
    else:
        raw_scenario, found = _scenario_from_sheet(sheets.pop("scenario"), f"{path.name} [scenario]")
        problems += found
    return sheets, raw_scenario, problems


def _formulas_without_values(path: Path) -> list[Problem]:
    """Cells holding a formula whose value was never saved (a workbook written by a program, not
    saved by a spreadsheet): they read as empty, and an empty cell silently takes its default."""
    import openpyxl

    def read(data_only: bool, keep) -> dict[tuple[str, int, int], object]:
        book = openpyxl.load_workbook(path, read_only=True, data_only=data_only)
        try:
            return {(sheet.title, r, c): cell.value for sheet in book.worksheets
                    for r, row in enumerate(sheet.iter_rows(min_row=1, min_col=1), start=1)
                    for c, cell in enumerate(row) if keep(sheet.title, r, c, cell)}
        finally:
            book.close()

    cells = read(False, lambda sheet, r, c, cell: r == 1 or cell.data_type == "f")  # headers, and formulas
    formulas = {place: formula for place, formula in cells.items() if place[1] > 1}
    if not formulas:  # the usual case: one quick pass
        return []
    values = read(True, lambda sheet, r, c, cell: (sheet, r, c) in formulas)
    problems = []
    for (sheet, r, c), formula in formulas.items():
        if values.get((sheet, r, c)) is None:
            header = cells.get((sheet, 1, c))
            problems.append(Problem(f"{path.name} [{sheet}]", "a formula without a saved value; open and save the "
                                    "workbook in Excel or LibreOffice so that its values are saved, or type the value "
                                    "instead of the formula", row=r, column=None if header is None else str(header),
                                    value=str(formula)))
    return problems


def _scenario_from_sheet(sheet: pd.DataFrame, where: str) -> tuple[dict, list[Problem]]:
    """A key/value sheet (key like `proportion.provincial`, value a TOML literal) as nested dict."""
    data: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []
    if list(sheet.columns[:2]) != ["key", "value"]:
        return data, [Problem(where, f"expected columns key, value; found {', '.join(map(str, sheet.columns))}")]
    rows: dict[str, int] = {}
    for i, (key, text) in enumerate(zip(sheet["key"], sheet["value"]), start=2):
        if not text.strip():  # an empty value takes the key's default (a blank workbook lists every key)
            continue
        section, _, leaf = key.strip().rpartition(".")
        if not section or not leaf:
            problems.append(Problem(where, "expected a key of the form section.key", row=i, column="key", value=key))
            continue
        if key.strip() in rows:  # one value per key, not the last one silently
            problems.append(Problem(where, f"the key is also given in row {rows[key.strip()]}; keep one of the two",
                                    row=i, column="key", value=key))
        rows[key.strip()] = i
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
        return None, scenario_problems(exc, where)
    try:
        return (scenario.override(**overrides) if overrides else scenario), []
    except InvalidScenario as exc:
        return None, exc.problems


def validate_table(raw: pd.DataFrame, spec: TableSpec, where: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Check columns and validate every row against the table's row model."""
    problems: list[Problem] = []
    raw = raw.rename(columns=lambda c: str(c).strip())
    for name in raw.columns:
        if not name.isprintable():
            # a zero-width space or a control character: the column would not match its name
            problems.append(Problem(where, "the header holds an invisible character; retype the header", row=1,
                                    column=name))
    raw = raw.rename(columns=lambda c: "".join(filter(str.isprintable, c)).strip())  # to report the rest once
    columns = list(raw.columns)
    unnamed = [c for c in columns if re.fullmatch(r"Unnamed: \d+", c)]  # pandas's name for an empty header cell
    for name in unnamed:
        problems.append(Problem(where, f"warning: column {columns.index(name) + 1} has no header and is ignored "
                                "(row numbers written with the table?)", row=1))
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
        if name not in spec.columns and name.rpartition(".")[0] not in duplicated and name not in unnamed:
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
            message = "empty cell; a value is required" if err["type"] == "missing" else expected(err)
            problems.append(Problem(where, message, row=int(raw.index[position]) + 2, column=col, value=value))
        return _empty_table(spec), problems
    if not rows:
        if spec.required:
            problems.append(Problem(where, f"no data rows; expected at least one row (one per {', '.join(spec.key)})",
                                    row=2))
        return _empty_table(spec), problems
    return pd.DataFrame([r.model_dump() for r in rows], columns=spec.columns, index=raw.index), problems


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
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; an output file follows the umask
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def current_umask() -> int:
    """The process's umask, read without changing it where Linux shows it (os.umask sets it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_instance_xlsx(instance: Instance, path: Path) -> None:
    """Write an instance as the workbook a planner edits (`optimizer.data.workbook`): a README
    sheet, a key/value `scenario` sheet, a sheet per table and the provenance when it has one."""
    from optimizer.data.workbook import write_workbook

    write_workbook(instance, path)
