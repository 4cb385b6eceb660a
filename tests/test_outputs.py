"""The command line writes every output file, and they reload to the same numbers."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from optimizer import load_instance, solve
from optimizer.data.io import write_instance_xlsx
from optimizer.solving.results import TABLE_NAMES, read_results
from optimizer.data.schema import format_markdown
from tests.conftest import INSTANCES, ROOT


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optimizer", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def assert_same_table(reloaded: pd.DataFrame, original: pd.DataFrame) -> None:
    assert list(reloaded.columns) == list(original.columns)
    assert len(reloaded) == len(original)
    for column in original.columns:
        left, right = reloaded[column], original[column]
        if pd.api.types.is_numeric_dtype(right) and not pd.api.types.is_bool_dtype(right):
            assert left.astype(float).fillna(-1).tolist() == pytest.approx(right.astype(float).fillna(-1).tolist(),
                                                                           rel=1e-9, abs=1e-9), column
        else:
            normalise = lambda s: ["" if pd.isna(v) else str(v) for v in s]  # noqa: E731
            assert normalise(left) == normalise(right), column


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_cli_solve_writes_every_file_and_they_reload(tmp_path, tiny, fmt):
    out = tmp_path / "out"
    done = run_cli("solve", "tiny", "--out", str(out), "--format", fmt)
    assert done.returncode == 0, done.stderr
    assert "optimal" in done.stdout and "Traceback" not in done.stderr
    expected = {"csv": [f"{t}.csv" for t in TABLE_NAMES], "parquet": [f"{t}.parquet" for t in TABLE_NAMES],
                "xlsx": ["results.xlsx"]}[fmt]
    assert sorted(p.name for p in out.iterdir()) == sorted(expected + ["run.json"])
    reference = solve(tiny)
    reloaded = read_results(out)
    for name in TABLE_NAMES:
        assert_same_table(reloaded[name], getattr(reference, name))
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "optimal"
    assert run["objective"] == pytest.approx(2760)
    assert run["instance_sha256"] == tiny.digest
    assert set(run["packages"]) >= {"pyomo", "highspy", "pandas"}
    assert set(run["timings_seconds"]) >= {"build", "solve", "total"}


def test_cli_options_override_the_scenario(tmp_path):
    out = tmp_path / "out"
    done = run_cli("solve", str(INSTANCES / "tiny"), "--objective", "leveraged_investment", "--out", str(out))
    assert done.returncode == 0, done.stderr
    run = json.loads((out / "run.json").read_text())
    assert run["scenario"]["scenario"]["objective"] == "leveraged_investment"
    assert run["objective"] == pytest.approx(68.16)
    halved = run_cli("solve", "tiny", "--proportion-provincial", "0.005", "--out", str(out))
    assert halved.returncode == 0, halved.stderr
    assert json.loads((out / "run.json").read_text())["summary"]["total_aid_million"] == pytest.approx(30)


def test_infeasible_solve_exits_1_and_points_to_explain(tmp_path):
    bad = tmp_path / "inst"
    bad.mkdir()
    for file in (INSTANCES / "tiny").iterdir():
        (bad / file.name).write_bytes(file.read_bytes())
    scenario = (bad / "scenario.toml").read_text().replace('scope = "donor"', 'scope = "donor"\nquota_growth_min = 0.5')
    (bad / "scenario.toml").write_text(scenario)
    done = run_cli("solve", str(bad), "--out", str(tmp_path / "out"))
    assert done.returncode == 1
    assert "infeasible" in done.stderr and "explain" in done.stderr and "Traceback" not in done.stderr
    assert json.loads((tmp_path / "out" / "run.json").read_text())["status"] == "infeasible"


def test_xlsx_instance_solves_like_its_csv_twin(tmp_path, tiny):
    workbook = tmp_path / "tiny.xlsx"
    write_instance_xlsx(tiny, workbook)
    twin = load_instance(workbook)
    assert twin.digest == tiny.digest
    assert_same_table(solve(twin).allocation, solve(tiny).allocation)


def test_identical_runs_write_identical_files(tmp_path, tiny):
    for name in ("a", "b"):
        solve(tiny).write(tmp_path / name)
    for table in TABLE_NAMES:
        assert (tmp_path / "a" / f"{table}.csv").read_bytes() == (tmp_path / "b" / f"{table}.csv").read_bytes()


def test_instance_format_doc_follows_the_schema():
    doc = (ROOT / "docs" / "instance-format.md").read_text(encoding="utf-8")
    assert format_markdown() in doc, "regenerate the tables in docs/instance-format.md from format_markdown()"


def test_validate_and_instances_commands():
    done = run_cli("validate", "tiny")
    assert done.returncode == 0 and "valid" in done.stdout
    listing = run_cli("instances")
    assert listing.returncode == 0 and "tiny" in listing.stdout
