"""`ewppt COMMAND --help` shows every option's help text as written (issue 15, point 3): rich reads
help texts as markup, so a hand-written `[default: ...]` used to vanish (`--model` ended "mip: whole")."""

from __future__ import annotations

import re

import pytest
import typer.main
from typer.testing import CliRunner

from optimizer.cli import app

COMMAND = typer.main.get_command(app)
COMMANDS = sorted(COMMAND.commands)


def _words(text: str) -> str:
    """Text without the help panel's box drawing, whitespace collapsed."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


@pytest.mark.parametrize("name", COMMANDS)
def test_help_shows_each_option_help_text_intact(name):
    command = COMMAND.commands[name]
    done = CliRunner().invoke(app, [name, "--help"], env={"COLUMNS": "1000", "TERMINAL_WIDTH": "1000"})
    assert done.exit_code == 0, done.output
    shown = _words(done.output)
    helps = [p.help for p in command.params if getattr(p, "help", None)]
    for text in helps:
        assert "[default" not in text, f"{name}: a hand-written default in {text!r}; use show_default"
        assert _words(text) in shown, f"{name} --help does not show {text!r}"


def test_model_help_says_when_the_model_is_a_mip():
    done = CliRunner().invoke(app, ["solve", "--help"], env={"COLUMNS": "1000", "TERMINAL_WIDTH": "1000"})
    assert "mip: whole decisions whole" in _words(done.output)
    assert "mip when the data has funds, projects or cadres" in _words(done.output)


def test_command_help_is_prose_not_the_docstrings_line_breaks():
    """Issue 25, point 5: `ewppt --help` lists each command's docstring as prose that wraps to the
    terminal (it kept the source's line breaks mid-sentence: "irreducible infeasible" / "subset").
    The list shows a docstring's first paragraph (typer's rule; `ewppt CMD --help` shows it all)."""
    from optimizer.cli import prose

    done = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "1000", "TERMINAL_WIDTH": "1000"})
    assert done.exit_code == 0, done.output
    lines = [_words(line) for line in done.output.splitlines()]
    for name in COMMANDS:
        text = _words(prose(COMMAND.commands[name].callback.__doc__).split("\n\n")[0])
        assert f"{name} {text}" in lines, f"`ewppt --help` does not list {name} on one line as {text!r}"
    narrow = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "100", "TERMINAL_WIDTH": "100"}).output
    assert "irreducible infeasible subset" in _words(narrow)


def test_prose_joins_lines_and_keeps_paragraphs():
    from optimizer.cli import prose

    assert prose("One sentence broken\n    over two lines.\n\n    A second\n    paragraph.") == (
        "One sentence broken over two lines.\n\nA second paragraph.")
