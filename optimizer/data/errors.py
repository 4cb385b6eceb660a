"""Input problems that name file, row, column and value, and the exceptions that carry them."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass


def printable(text: object) -> str:
    """`text` with every invisible or control character escaped (`\\u200b`, `\\x07`, `\\n`).

    Used wherever a value, id, name, header or path reaches a message: a zero-width space or a
    bell in a header must show, not vanish or ring.
    """
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or suspicious) in the input.

    `row` counts as a spreadsheet does: the header is row 1, the first data row is row 2.
    """

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    value: object = None
    key: str | None = None  # a dotted key of scenario.toml

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        if self.key is not None:
            where += f", key '{self.key}'"
        if self.value is not None:
            where += f", value {_show(self.value)}"
        return printable(f"{where}: {self.message}")


def _show(value: object) -> str:
    if hasattr(value, "item"):  # a numpy scalar from a table: show it as the plain number
        value = value.item()
    if isinstance(value, bool):  # a TOML boolean, as it was written
        return str(value).lower()
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "...'"


def expected(err: dict) -> str:
    """pydantic's message of one error as an expectation: 'expected a number >= 0', 'expected ...'."""
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
    msg = "expected " + msg[0].lower() + msg[1:]
    if err["type"] == "literal_error" and isinstance(err.get("input"), str):
        near = difflib.get_close_matches(err["input"], re.findall(r"'([^']*)'", err["ctx"]["expected"]), n=1)
        msg += f"; did you mean '{near[0]}'?" if near else ""
    return msg


class EwpptError(ValueError):
    """The base of the engine's own errors; a ValueError, so that `except ValueError` still catches them."""


class InvalidInstance(EwpptError):
    """Raised when an instance cannot be used; `problems` holds every error found, and the
    message is their lines exactly as `ewppt` prints them."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class InvalidScenario(InvalidInstance):
    """Raised for a bad scenario value or an unknown key (from scenario.toml, `--set`, or the
    overrides of `solve`, `load_instance` and `Scenario.override`), with the nearest valid key."""


class UploadRefused(InvalidInstance):
    """An upload refused before it is read as an instance (too large, of another kind, a zip
    with unsafe members); one problem naming the uploaded file and why."""

    def __init__(self, filename: str, message: str):
        super().__init__([Problem(filename, message)])
