"""Names and messages print literally (no console markup, invisible characters escaped), and
the Python API raises the CLI's messages as the engine's own exception."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.data.errors import EwpptError, InvalidInstance, InvalidScenario, Problem, printable
from optimizer.data.io import load_instance
from optimizer.data.schema import Scenario
from optimizer.solving.solve import solve

TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny"


def test_printable_escapes_invisible_and_control_characters() -> None:
    assert printable("do\u200bnor") == "do\\u200bnor"
    assert printable("bell\x07") == "bell\\x07"
    assert printable("two\nlines") == "two\\nlines"
    assert printable("Tibet 西藏 [bold]") == "Tibet 西藏 [bold]"
    problem = Problem("recipients.csv", "warning: unknown column ignored", row=1, column="\u200bweight")
    assert str(problem) == "recipients.csv, row 1, column '\\u200bweight': warning: unknown column ignored"


def test_ids_and_names_with_console_markup_print_literally(tmp_path: Path) -> None:
    """Ids `[/]` (which rich would reject as a closing tag) and `[bold]x[/bold]` (which rich
    would read as bold 'x') are printed as written, in solve's summary tables too."""
    folder = tmp_path / "markup"
    shutil.copytree(TINY, folder)
    for path in folder.glob("*.csv"):
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"\bcoastal\b", "[bold]x[/bold]", text)
        text = re.sub(r"\bupland\b", "[/]", text)
        path.write_text(text, encoding="utf-8")
    scenario = folder / "scenario.toml"
    scenario.write_text(scenario.read_text(encoding="utf-8").replace('name = "tiny"', 'name = "[red]tiny[/]"'),
                        encoding="utf-8")
    result = CliRunner().invoke(app, ["solve", str(folder), "--out", str(tmp_path / "out")],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "[bold]x[/bold]" in result.output  # the donor, in 'aid by donor and category'
    assert "│ [/]" in result.output  # the recipient, in 'people lifted by recipient'
    assert "[red]tiny[/]: optimal" in result.output  # the scenario's name, in the summary's title


@pytest.mark.parametrize(("overrides", "message"), [
    ({"time_limit": 6}, "key 'time_limit': unknown key; did you mean 'solver.time_limit'?"),
    ({"time_limt": 6}, "key 'time_limt': unknown key; did you mean 'solver.time_limit'?"),
    ({"solvr.threads": 2}, "key 'solvr.threads': unknown key; did you mean 'solver.threads'?"),
    ({"priorities.womn_min": 0.3}, "key 'priorities.womn_min': unknown key; did you mean 'priorities.women_min'?"),
    ({"objective": "equty"}, "key 'scenario.objective', value 'equty': expected 'people_lifted', "
                             "'weighted_people_lifted', 'equity', 'leveraged_investment' or 'people_years'; "
                             "did you mean 'equity'?"),
    ({"proportion.provincial": True}, "key 'proportion.provincial', value true: expected a number, not true or false"),
    ({"solver.threads": 0}, "key 'solver.threads', value 0: expected a value >= 1"),
])
def test_the_python_api_raises_the_cli_message(overrides: dict, message: str) -> None:
    instance = load_instance("tiny")
    for call in (lambda: solve(instance, **overrides), lambda: instance.scenario.override(**overrides)):
        with pytest.raises(InvalidScenario) as caught:
            call()
        assert str(caught.value) == f"override, {message}"
        assert isinstance(caught.value, EwpptError) and isinstance(caught.value, ValueError)
    with pytest.raises(InvalidInstance, match=re.escape(message)):
        load_instance("tiny", **overrides)


def test_solver_options_pass_from_python_by_dotted_key() -> None:
    result = solve(load_instance("tiny"), **{"solver.time_limit": 60, "solver.mip_rel_gap": 0.01})
    assert result.ok and result.scenario["solver"]["time_limit"] == 60


@pytest.mark.parametrize("entry", ["analysis.frontier.frontier", "analysis.target.target", "analysis.explain.explain"])
def test_every_entry_point_that_takes_overrides_says_the_same(entry: str) -> None:
    import importlib

    module, name = entry.rsplit(".", 1)
    function = getattr(importlib.import_module(f"optimizer.{module}"), name)
    kwargs = {"people": 100} if name == "target" else {}
    with pytest.raises(InvalidScenario, match=re.escape("did you mean 'solver.time_limit'?")):
        function(load_instance("tiny"), time_limit=6, **kwargs)


def test_scenario_booleans_are_not_numbers() -> None:
    base = load_instance("tiny").scenario.model_dump()
    for section, key, value in (("proportion", "provincial", True), ("priorities", "women_min", False),
                                ("solver", "threads", True), ("scenario", "years", [2011, True])):
        data = {**base, section: {**base[section], key: value}}
        with pytest.raises(ValueError, match="expected a number, not true or false"):
            Scenario.model_validate(data)
    with pytest.raises(ValueError, match="valid string"):  # a text value says so, not 'expected a number'
        Scenario.model_validate({**base, "scenario": {**base["scenario"], "name": True}})


def test_set_true_for_a_number_is_refused_on_the_command_line() -> None:
    result = CliRunner().invoke(app, ["solve", "tiny", "--set", "proportion.provincial=true"])
    assert result.exit_code == 2, result.output
    assert ("error: override, key 'proportion.provincial', value true: expected a number, not true or false"
            in result.output)


def test_a_set_key_given_twice_is_refused() -> None:
    result = CliRunner().invoke(app, ["solve", "tiny", "--set", "proportion.provincial=0.01",
                                      "--set", "proportion.provincial=0.02"])
    assert result.exit_code == 2, result.output
    assert ("error: --set, key 'proportion.provincial': given twice ('proportion.provincial=0.01' and "
            "'proportion.provincial=0.02'); give it once") in result.output


# ---------------------------------------------------------------- paths as the user typed them


def _typed(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    """Command lines whose PATH is not usable, and the start of the line that must name it."""
    (tmp_path / "sub").mkdir(exist_ok=True)
    (tmp_path / "sub" / "broken.xlsx").write_bytes(b"this is not a zip archive")
    (tmp_path / "sub" / "bad.toml").write_text("[study\n", encoding="utf-8")
    out = str(tmp_path / "out")
    return {
        "validate a device": (["validate", "/dev/null"], "error: /dev/null: a device"),
        "solve a device": (["solve", "/dev/null", "--out", out], "error: /dev/null: a device"),
        "a broken workbook in a subfolder": (["validate", "sub/broken.xlsx"], "error: sub/broken.xlsx: not a readable"),
        "a study that is a device": (["sweep", "/dev/null", str(TINY), "--out", out], "error: /dev/null, key"),
        "a study that is not TOML": (["sweep", "sub/bad.toml", str(TINY), "--out", out],
                                     "error: sub/bad.toml: not valid UTF-8 TOML"),
        "an uncertainty file that is a device": (["robust", str(TINY), "/dev/null", "--out", out],
                                                 "error: /dev/null"),
    }


@pytest.mark.parametrize("case", ["validate a device", "solve a device", "a broken workbook in a subfolder",
                                  "a study that is a device", "a study that is not TOML",
                                  "an uncertainty file that is a device"])
def test_every_path_in_a_message_is_the_path_typed(case: str, tmp_path: Path, monkeypatch) -> None:
    """Issue 25, point 5: `/dev/null` is named `/dev/null`, not `null`; a file in a subfolder by
    its path from where the user stands, not by its last name."""
    monkeypatch.chdir(tmp_path)
    args, start = _typed(tmp_path)[case]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 2, done.output
    lines = [line for line in done.output.splitlines() if line.startswith("error:")]
    assert lines and all(line.startswith(start) for line in lines), done.output
    assert "Traceback" not in done.output
