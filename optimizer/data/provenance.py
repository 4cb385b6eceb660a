"""Provenance of an instance's figures: `provenance.csv`, one row per numeric cell.

An instance may carry `provenance.csv` beside its tables, with the columns

    table, column, key, value, status, source

one row for every figure (every numeric, non-key cell) of every table: `table` is the table's
name (`revenue`), `column` the column (`revenue`), `key` the row's key values joined by `|`
(`tianjin|provincial|2011`), `value` the figure as the table gives it, `status` one of
`verified` (printed in a public source), `derived` (computed from printed figures only) or
`illustrative` (an assumption or an estimate), and `source` where it comes from.

The model never reads the file: loading an instance ignores it. `ewppt validate` and the HTML
report count the figures by status (`provenance_counts`); a malformed file is reported as
problems naming file, row, column and value, never a traceback.
"""

from __future__ import annotations

import csv
from pathlib import Path

from optimizer.data.errors import Problem
from optimizer.data.schema import TABLES, TableSpec

PROVENANCE_FILE = "provenance.csv"
COLUMNS = ("table", "column", "key", "value", "status", "source")
STATUSES = ("verified", "derived", "illustrative")


def figure_columns(spec: TableSpec) -> list[str]:
    """The numeric columns of a table that are not part of its key: its figures."""
    columns = []
    for name, f in spec.row.model_fields.items():
        text = str(f.annotation)
        if name in spec.key or "bool" in text:
            continue
        if "float" in text or "int" in text:
            columns.append(name)
    return columns


def row_key(spec: TableSpec, row: dict) -> str:
    """A row's key as provenance.csv writes it: the key columns' values joined by '|'."""
    return "|".join(str(row[k]) for k in spec.key)


def read_provenance(folder: str | Path) -> tuple[list[dict[str, str]] | None, list[Problem]]:
    """The rows of `folder/provenance.csv`, or of the `provenance` sheet when `folder` is an instance
    workbook (None when the instance has none), and the problems
    found in it (unknown table or column, a status outside verified/derived/illustrative, a
    value that is not a number, an empty source)."""
    if Path(folder).is_file() and Path(folder).suffix.lower() == ".xlsx":
        return _read_sheet(Path(folder))
    path = Path(folder) / PROVENANCE_FILE
    if not Path(folder).is_dir() or not path.is_file():
        return None, []
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            header = [str(c).strip() for c in (reader.fieldnames or [])]
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                return None, [Problem(PROVENANCE_FILE, f"missing column; expected columns {', '.join(COLUMNS)}",
                                      row=1, column=missing[0])]
            rows = [{k.strip(): (v or "").strip() for k, v in r.items() if k is not None} for r in reader]
    except UnicodeDecodeError as exc:
        return None, [Problem(PROVENANCE_FILE, f"not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8 CSV")]
    except (OSError, csv.Error) as exc:
        return None, [Problem(PROVENANCE_FILE, f"not a readable CSV table: {exc}")]
    return _checked(rows, PROVENANCE_FILE)


def _read_sheet(book: Path) -> tuple[list[dict[str, str]] | None, list[Problem]]:
    """The `provenance` sheet of an instance workbook (`ewppt workbook` writes it), as the rows of
    provenance.csv; (None, []) when the workbook has none."""
    import openpyxl

    where = f"{book.name} [provenance]"
    try:
        workbook = openpyxl.load_workbook(book, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - a damaged workbook: load_instance says so in detail
        return None, [Problem(book.name, f"not a readable .xlsx workbook: {exc}")]
    try:
        sheet = next((s for s in workbook.worksheets if s.title.strip().lower() == "provenance"), None)
        if sheet is None:
            return None, []
        cells = [["" if v is None else str(v).strip() for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
    header = cells[0] if cells else []
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        return None, [Problem(where, f"missing column; expected columns {', '.join(COLUMNS)}", row=1,
                              column=missing[0])]
    rows = [{name: (row[i] if i < len(row) else "") for i, name in enumerate(header) if name}
            for row in cells[1:] if any(row)]
    return _checked(rows, where)


def _checked(rows: list[dict[str, str]], where: str) -> tuple[list[dict[str, str]] | None, list[Problem]]:
    problems = []
    seen: dict[tuple[str, str, str], int] = {}
    for number, row in enumerate(rows, start=2):
        figure = (row["table"], row["column"], row["key"])
        if figure in seen:
            problems.append(Problem(where, f"the figure is also given in row {seen[figure]}; keep one of the two",
                                    row=number, column="key", value=row["key"]))
        seen.setdefault(figure, number)
        spec = TABLES.get(row["table"])
        if spec is None:
            problems.append(Problem(where, f"unknown table; expected one of {', '.join(TABLES)}",
                                    row=number, column="table", value=row["table"]))
        elif row["column"] not in figure_columns(spec):
            problems.append(Problem(where, f"not a figure column of {spec.filename}; expected one of "
                                    f"{', '.join(figure_columns(spec))}", row=number, column="column",
                                    value=row["column"]))
        if row["status"] not in STATUSES:
            problems.append(Problem(where, f"expected one of {', '.join(STATUSES)}", row=number,
                                    column="status", value=row["status"]))
        try:
            float(row["value"])
        except ValueError:
            problems.append(Problem(where, "expected a number", row=number, column="value",
                                    value=row["value"]))
        if not row["source"]:
            problems.append(Problem(where, "empty cell; say where the figure comes from", row=number,
                                    column="source"))
    return (None if problems else rows), problems


def provenance_counts(rows: list[dict[str, str]] | None) -> dict[str, int] | None:
    """How many figures are verified, derived and illustrative (None without provenance)."""
    if rows is None:
        return None
    return {status: sum(1 for r in rows if r["status"] == status) for status in STATUSES}


def counts_line(counts: dict[str, int] | None) -> str:
    """'figures: 12 verified, 40 derived, 900 illustrative (provenance.csv)', or a note that
    the instance has no provenance table."""
    if counts is None:
        return "figures: no provenance.csv (the status of the figures is not recorded)"
    parts = ", ".join(f"{counts[s]:,} {s}" for s in STATUSES)
    return f"figures: {parts} ({PROVENANCE_FILE})"


def instance_figures(path: str | Path | None) -> dict[str, int] | None:
    """The counts of an instance folder's provenance.csv for a result's run.json: None when the
    instance has none or it is malformed (`ewppt validate` reports the problems)."""
    if path is None:
        return None
    source = Path(path) if Path(path).is_file() else Path(path) / PROVENANCE_FILE
    try:
        stat = source.stat()
        stamp = (str(source.resolve()), stat.st_mtime_ns, stat.st_size)
    except OSError:
        stamp = None
    if stamp is not None and stamp in _FIGURES:  # the same file, unchanged: read once (a live plan's re-solves)
        return dict(_FIGURES[stamp]) if _FIGURES[stamp] is not None else None
    rows, problems = read_provenance(path)
    figures = None if problems else provenance_counts(rows)
    if stamp is not None:
        _FIGURES[stamp] = dict(figures) if figures is not None else None
        while len(_FIGURES) > 16:
            del _FIGURES[next(iter(_FIGURES))]
    return figures


_FIGURES: dict[tuple, dict | None] = {}  # (file, modified, size) -> its counts
