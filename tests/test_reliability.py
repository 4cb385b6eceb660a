"""Reliability: the independent re-check, every solver status, determinism across thread
counts, Ctrl-C, and paths that try to leave the instance folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from models.assemble import build_model
from optimizer import load_instance, solve
from optimizer.solving.recheck import recheck
from optimizer.solving.solve import solve_model
from tests.conftest import INSTANCES, ROOT
from tests.test_mip import variant
from tests.test_outputs import run_cli

# ------------------------------------------------------------------------------ re-check


@pytest.mark.parametrize("name", ["tiny", "ewppt-2010", "history-2003-2007"])
def test_optimal_plans_pass_the_recheck(name):
    instance = load_instance(name)
    result = solve(instance)
    assert result.status == "optimal"
    assert recheck(instance, result.allocation, result.decisions) == []


def _move(allocation: pd.DataFrame, row: int, **changes) -> pd.DataFrame:
    changed = allocation.copy()
    for column, value in changes.items():
        changed.loc[row, column] = value
    return changed


def test_recheck_names_each_broken_rule(tiny):
    result = solve(tiny)
    alloc = result.allocation
    first = alloc.index[(alloc["donor"] == "coastal") & (alloc["year"] == 2011)][0]
    # one million of coastal's 2011 aid moved to 2012: both budgets broken
    moved = _move(alloc, first, aid=alloc.at[first, "aid"] - 1)
    extra = pd.DataFrame([{**alloc.loc[first].to_dict(), "year": 2012, "aid": 1.0}])
    found = recheck(tiny, pd.concat([moved, extra], ignore_index=True), result.decisions)
    assert any(v.startswith("budget coastal 2011") for v in found)
    assert any(v.startswith("budget coastal 2012") for v in found)
    # coastal's aid given to valley instead, which is harbour's counterpart
    found = recheck(tiny, _move(alloc, first, recipient="valley"), result.decisions)
    assert "pairing: coastal gives to valley, not its pair" in found
    # the quota of upland (2 a year) broken by moving its 2012 aid to plateau
    upland = alloc.index[(alloc["recipient"] == "upland") & (alloc["year"] == 2012)]
    broken = alloc.copy()
    broken.loc[upland, "recipient"] = "plateau"
    assert any(v.startswith("quota coastal->upland 2012") for v in recheck(tiny, broken, result.decisions))


def test_recheck_catches_broken_whole_decisions(tmp_path):
    instance = load_instance(variant(tmp_path, "min7", instruments={"cdf": (7, 0)}))
    result = solve(instance)
    alloc, decisions = result.allocation, result.decisions
    # the fund at plateau dropped from the decisions while it keeps its capital
    no_fund = decisions[~((decisions["kind"] == "fund") & (decisions["recipient"] == "plateau"))]
    assert any(v.startswith("fund plateau cdf: capital 7") for v in recheck(instance, alloc, no_fund))
    # plateau's cdf below the fund's minimum of 7 (and the budget broken with it)
    row = alloc.index[(alloc["recipient"] == "plateau") & (alloc["instrument"] == "cdf")][0]
    found = recheck(instance, _move(alloc, row, aid=alloc.at[row, "aid"] - 3), decisions)
    assert any("below its minimum 7" in v for v in found)


# ------------------------------------------------------------------------------ statuses


def test_unbounded_objective_is_its_own_status(tiny):
    """Without the budget rows nothing bounds leveraged investment (an objective without a
    bound): HiGHS says unbounded, and so does the result."""
    instance = tiny.with_scenario(tiny.scenario.override(objective="leveraged_investment"))
    model = build_model(instance)
    model.budget.deactivate()
    model.investment.deactivate()
    result = solve_model(model, instance, instance.scenario)
    assert result.status == "unbounded" and not result.has_plan and result.objective is None
    assert "unbounded" in result.message


def test_infeasible_is_its_own_status_and_exit_code(tmp_path):
    folder = variant(tmp_path, "infeasible")
    text = (folder / "scenario.toml").read_text().replace('scope = "donor"', 'scope = "donor"\nquota_growth_min = 0.5')
    (folder / "scenario.toml").write_text(text)
    done = run_cli("solve", str(folder), "--out", str(tmp_path / "out"))
    assert done.returncode == 1 and "infeasible" in done.stderr


def test_highs_missing_is_its_own_status_and_exit_code(tmp_path):
    """A highspy that cannot be imported (a broken install) on the path first: exit 8, a
    message that says what to do, no traceback."""
    broken = tmp_path / "site"
    (broken / "highspy").mkdir(parents=True)
    (broken / "highspy" / "__init__.py").write_text("raise ImportError('highspy is broken in this test')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(broken), str(ROOT)])}
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "optimizer.cli", "solve", str(INSTANCES / "tiny"), "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 8, done.stderr
    assert "HiGHS (highspy) is not installed or cannot be loaded" in done.stderr and "Traceback" not in done.stderr
    assert json.loads((out / "run.json").read_text())["status"] == "solver_missing"


# ------------------------------------------------------------------------------ determinism


def _result_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.suffix == ".csv"}


@pytest.mark.parametrize("name", ["tiny", "ewppt-2010"])
def test_same_files_across_runs_and_thread_counts(tmp_path, name):
    """Byte-identical tables (run.json differs only in timings) from separate runs with 1 and
    2 HiGHS threads. Separate processes: HiGHS fixes its thread pool at the first solve of a
    process, and a later solve asking for another count fails."""
    written = []
    for n, threads in enumerate((1, 2, 1)):
        out = tmp_path / f"run{n}"
        done = run_cli("solve", name, "--threads", str(threads), "--out", str(out), "--show", "0")
        assert done.returncode == 0, done.stderr
        written.append(_result_files(out))
    assert written[0] == written[1] == written[2]
    assert set(written[0]) == {"allocation.csv", "kpis.csv", "duals.csv", "binding.csv", "decisions.csv"}


# ------------------------------------------------------------------------------ paths (Ctrl-C: test_interrupt.py)


def test_a_table_linked_outside_the_instance_folder_is_refused(tmp_path):
    folder = tmp_path / "inst"
    shutil.copytree(INSTANCES / "tiny", folder)
    outside = tmp_path / "elsewhere.csv"
    shutil.move(folder / "donors.csv", outside)
    (folder / "donors.csv").symlink_to(outside)
    done = run_cli("validate", str(folder))
    assert done.returncode == 2
    assert "donors.csv: refers outside the instance folder" in done.stderr and "Traceback" not in done.stderr


def test_instance_files_are_data_only(tmp_path):
    """A scenario.toml or CSV cell that looks like code stays a value: it is rejected as one."""
    folder = tmp_path / "inst"
    shutil.copytree(INSTANCES / "tiny", folder)
    marker = tmp_path / "evaluated"
    text = (folder / "scenario.toml").read_text().replace('name = "tiny"', f'name = "__import__(\'os\').mkdir(\'{marker}\')"')
    (folder / "scenario.toml").write_text(text)
    donors = (folder / "donors.csv").read_text().replace("Coastal Province", f"=SYSTEM(\"touch {marker}\")")
    (folder / "donors.csv").write_text(donors)
    done = run_cli("solve", str(folder), "--out", str(tmp_path / "out"))
    assert done.returncode == 0 and not marker.exists()
    assert json.loads((tmp_path / "out" / "run.json").read_text())["scenario"]["scenario"]["name"].startswith("__import__")


def test_a_plan_that_breaks_the_instance_is_never_called_optimal(tmp_path):
    """The re-check guards against a model that drifts from the instance: with harbour's
    quota of 3 a year at plateau (README: 2,660) and the quota rows taken out of the built
    model, HiGHS's optimal plan (2,760) breaks the instance's quota. The result says numerical
    trouble and names the rule, and has no plan."""
    folder = variant(tmp_path, "quota")
    pairs = pd.read_csv(folder / "pairs.csv")
    pairs.loc[(pairs["donor"] == "harbour") & (pairs["recipient"] == "plateau"), "base_quota"] = 3
    pairs.to_csv(folder / "pairs.csv", index=False)
    instance = load_instance(folder)
    assert solve(instance).objective == pytest.approx(2660)
    model = build_model(instance)
    model.quota.deactivate()
    result = solve_model(model, instance, instance.scenario)
    assert result.status == "numerical" and not result.has_plan and result.allocation.empty
    assert "breaks" in result.message and "quota harbour->plateau 2011" in result.message


THREADS_IN_TURN = """
from optimizer import load_instance
from optimizer.solving.solve import solve
instance = load_instance("instances/tiny")
for threads in (None, 1, 2, None, 1):
    result = solve(instance, **({"solver.threads": threads} if threads else {}))
    print(threads, result.status, result.objective)
"""


def test_solves_in_one_process_may_each_name_their_threads():
    """HiGHS sizes one thread pool a process at the first solve; a later solve asking another
    number of threads used to report numerical trouble (a notebook's second solve)."""
    done = subprocess.run([sys.executable, "-c", THREADS_IN_TURN], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    lines = [line.split() for line in done.stdout.splitlines()]
    assert [status for _, status, _ in lines] == ["optimal"] * 5, done.stdout
    assert len({objective for _, _, objective in lines}) == 1, done.stdout


SOLVES_IN_THREADS = """
import threading
from optimizer import load_instance
from optimizer.solving.solve import solve
instance = load_instance("instances/tiny")
alone = solve(instance).objective
results, errors = [], []
def work():
    try:
        for _ in range(5):
            results.append(solve(instance).objective)
    except BaseException as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=work) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
print(len(results), len(errors), all(r == alone for r in results))
"""


def test_solves_in_several_threads_of_one_process_take_turns():
    """Pyomo's output capture redirects the process's file descriptors; two threads inside it at
    once restored them out of order ("Bad file descriptor", then a broken pipe that ended a
    pytest worker). Twenty solves in four threads: every one optimal, as alone, and the
    process's own output still works."""
    done = subprocess.run([sys.executable, "-c", SOLVES_IN_THREADS + "print('still printing')"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["20 0 True", "still printing"], done.stdout + done.stderr
    assert "Bad file descriptor" not in done.stderr and "Exception in thread" not in done.stderr, done.stderr


def test_each_run_of_one_highs_gets_its_own_time_limit():
    """HiGHS measures `time_limit` against every run() of one Highs object so far (a live plan's,
    a sweep's and the MIP driver's stages share one), so a re-solve given 5 s had only what the
    earlier runs left of them; each run's limit now starts where the last run ended."""
    from optimizer.solving.solve import _run, new_solver

    instance = load_instance(INSTANCES / "tiny")
    model, opt = build_model(instance), new_solver()
    limits = []
    for _ in range(3):
        spent = opt._solver_model.getRunTime() if opt._solver_model is not None else 0.0
        status, _ = _run(opt, model, instance.scenario, time_limit=5.0)
        assert status == "optimal"
        _, limit = opt._solver_model.getOptionValue("time_limit")
        limits.append(limit - spent)
    assert opt._solver_model.getRunTime() > 0
    assert limits == pytest.approx([5.0, 5.0, 5.0], abs=1e-9)
