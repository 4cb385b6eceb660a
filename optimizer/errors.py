"""Input problems that name file, row, column and value, and the exception that carries them."""

from __future__ import annotations

from dataclasses import dataclass


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
        return f"{where}: {self.message}"


def _show(value: object) -> str:
    if hasattr(value, "item"):  # a numpy scalar from a table: show it as the plain number
        value = value.item()
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "...'"


class InvalidInstance(Exception):
    """Raised when an instance cannot be used; `problems` holds every error found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
