"""Sweeps: equal to independent solves, Sobol indices, kill and resume, a real Dask cluster."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

from optimizer import solve
from optimizer.data.errors import InvalidInstance
from optimizer.studies.study import Study, load_study, resolve_parameters
from optimizer.studies.sweep import read_sweep, sweep
from optimizer.studies.sweep_report import write_sweep_report
from tests.conftest import INSTANCES
from tests.helpers import assert_sweep_matches_solves, stop_processes

GRID = {
    "study": {"name": "grid", "design": "grid"},
    "parameter": [
        {"path": "proportion.provincial", "values": [0.005, 0.01, 0.02]},
        {"path": "priorities.enterprise_finance_min", "values": [0.0, 0.25]},
        {"path": "effects.*.cdf.people_per_million", "values": [0.5, 1.0]},
        {"path": "instruments.loan_guarantee.leverage", "values": [0.5, 1.0], "mode": "factor"},
    ],
}


@pytest.mark.parametrize("workers", [1, 2])
def test_grid_sweep_equals_independent_solves(tiny, workers):
    study = Study.model_validate(GRID)
    results = sweep(tiny, study, workers=workers)
    assert len(results) == 24 and (results["status"] == "optimal").all()
    assert sorted(results["scenario_id"]) == list(range(24))
    assert_sweep_matches_solves(results, study, tiny, rel=1e-9)
    # the model was built once per worker, not per scenario
    assert results["built_model"].sum() == results["worker"].nunique() <= workers


def test_a_mip_instance_swept_as_its_lp_relaxation_equals_independent_solves():
    """ewppt-2010 has funds, projects and cadres; with `scenario.model = "lp"` their decisions
    are fractions. Every scenario used to end in `error` (the KPIs charged set-up costs on an
    empty array of fund openings); now each equals `solve` of the same relaxation, people lifted
    with its fractional funds (a fraction of a fund has that fraction of each segment)."""
    from optimizer import load_instance

    relaxed = load_instance("ewppt-2010", **{"scenario.model": "lp"})
    study = Study.model_validate({"study": {"design": "grid"}, "parameter": [
        {"path": "proportion.provincial", "values": [0.001, 0.0012]},
        {"path": "instruments.*.leverage", "values": [0.8, 1.2], "mode": "factor"}]})
    results = sweep(relaxed, study, workers=1)
    assert (results["status"] == "optimal").all(), results["message"].tolist()
    assert_sweep_matches_solves(results, study, relaxed, rel=1e-7)


def test_coverage_floor_sweeps_without_a_rebuild(tiny):
    """priorities.coverage_min, unset in tiny, is built at its neutral 0 and moved as a Param:
    0.5 gives the hand-derived 2,740 (tests/test_families.py), 0.56 is infeasible."""
    study = Study.model_validate({"study": {"design": "grid"}, "parameter": [
        {"path": "priorities.coverage_min", "values": [0.0, 0.5, 0.56]}]})
    results = sweep(tiny, study, workers=1).sort_values("scenario_id")
    assert results["status"].tolist() == ["optimal", "optimal", "infeasible"]
    assert results["objective"].iloc[:2].tolist() == pytest.approx([2760, 2740], rel=1e-9)
    assert_sweep_matches_solves(results.iloc[:2], study, tiny, rel=1e-9)


def test_structural_parameter_builds_one_model_per_level(tiny):
    study = Study.model_validate({"study": {"design": "grid"}, "parameter": [
        {"path": "scenario.objective", "values": ["people_lifted", "leveraged_investment", "equity"]},
        {"path": "proportion.prefectural", "values": [0.01, 0.02]}]})
    results = sweep(tiny, study, workers=1)
    assert results["built_model"].sum() == 3
    by_point = {(r["scenario.objective"], r["proportion.prefectural"]): r["objective"] for _, r in results.iterrows()}
    assert by_point[("people_lifted", 0.02)] == pytest.approx(2760)
    assert by_point[("leveraged_investment", 0.02)] == pytest.approx(68.16)
    assert by_point[("equity", 0.02)] == pytest.approx(solve(tiny, objective="equity").objective)


def test_sobol_index_of_an_idle_parameter_is_near_zero(tiny, tmp_path):
    """Under people_lifted, with coastal's budget at most 0.011 * 1000 * 2 = 22 = upland cdf
    (16) + plateau (6), no plan uses a loan guarantee (30 people per million, the worst use),
    so the investment coupling never binds and leverage cannot move the objective; the
    proportion does. (Above 0.011 coastal lends, and leverage starts to matter.)"""
    study = Study.model_validate({"study": {"design": "sobol", "samples": 64, "seed": 7}, "parameter": [
        {"path": "proportion.provincial", "bounds": [0.005, 0.011]},
        {"path": "instruments.loan_guarantee.leverage", "bounds": [0.5, 1.5], "mode": "factor"}]})
    results = sweep(tiny, study, out=tmp_path / "sobol", workers=1)
    assert len(results) == 64 * 4 and (results["status"] == "optimal").all()
    write_sweep_report(tmp_path / "sobol")
    indices = pd.read_csv(tmp_path / "sobol" / "sobol.csv")
    objective = indices[indices["metric"] == "objective"].set_index("parameter")
    assert abs(objective.loc["instruments.loan_guarantee.leverage", "ST"]) < 1e-6
    assert abs(objective.loc["instruments.loan_guarantee.leverage", "S1"]) < 1e-6
    assert objective.loc["proportion.provincial", "ST"] > 0.9
    assert (tmp_path / "sobol" / "sobol.png").stat().st_size > 0


def test_oat_report_writes_tornado_and_curves(tiny, tmp_path):
    study = Study.model_validate({"study": {"design": "oat"}, "parameter": [
        {"path": "proportion.provincial", "bounds": [0.005, 0.015]},
        {"path": "recipients.plateau.poor_population", "bounds": [0.5, 2.0]}]})
    sweep(tiny, study, out=tmp_path / "oat", workers=1)
    names = {p.name for p in write_sweep_report(tmp_path / "oat")}
    # tiny's objective is people lifted: drawn once, as people lifted
    assert {"summary.csv", "tornado.csv", "tornado.png", "response_people_lifted.png"} <= names
    assert "response_objective.png" not in names
    tornado = pd.read_csv(tmp_path / "oat" / "tornado.csv").set_index("parameter")
    # plateau is at its cap: half its poor population lifts fewer people there
    assert tornado.loc["recipients.plateau.poor_population", "low"] < 0
    assert tornado.loc["proportion.provincial", "high"] > 0


def test_bad_parameter_path_fails_before_any_solve(tmp_path):
    study_file = tmp_path / "study.toml"
    study_file.write_text('[study]\ndesign = "grid"\n[[parameter]]\npath = "instruments.loan_guarante.leverage"\n'
                          "values = [1.0, 2.0]\n")
    done = subprocess.run([sys.executable, "-m", "optimizer.cli", "sweep", str(study_file), "tiny", "--out",
                           str(tmp_path / "out"), "--workers", "1"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "parameter[1].path" in done.stderr and "did you mean 'loan_guarantee'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out" / "scenarios").exists()


def test_unknown_study_key_is_named(tmp_path):
    study_file = tmp_path / "study.toml"
    study_file.write_text('[study]\ndesing = "grid"\n[[parameter]]\npath = "proportion.county"\nvalues = [0.1]\n')
    with pytest.raises(InvalidInstance, match="did you mean 'design'"):
        load_study(study_file)


def test_killed_study_resumes_with_every_scenario_once(tmp_path):
    study_file = tmp_path / "study.toml"
    levels = ", ".join(f"{0.004 + i * 0.0002:.4f}" for i in range(60))
    study_file.write_text(f'[study]\ndesign = "grid"\n[[parameter]]\npath = "proportion.provincial"\nvalues = [{levels}]\n'
                          '[[parameter]]\npath = "proportion.prefectural"\nvalues = [0.01, 0.02, 0.03, 0.04]\n')
    out = tmp_path / "out"
    command = [sys.executable, "-m", "optimizer.cli", "sweep", str(study_file), "tiny", "--out", str(out),
               "--workers", "2"]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "scenarios").glob("part-*.parquet"))) < 30:
        time.sleep(0.05)
    os.killpg(child.pid, signal.SIGKILL)  # the sweep and its worker processes, mid-study
    child.wait()
    done_before = len(list((out / "scenarios").glob("part-*.parquet")))
    assert 30 <= done_before < 240, "the kill should land mid-study"
    resumed = subprocess.run(command + ["--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming: {done_before} of 240" in resumed.stderr
    results = read_sweep(out)
    assert sorted(results["scenario_id"]) == list(range(240))  # every scenario exactly once
    assert (results["status"] == "optimal").all()
    again = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and "--resume" in again.stderr  # no silent overwrite


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _cluster(tmp_path, names: tuple[str, ...]):
    """A real `dask scheduler` and one `dask worker` process per name on 127.0.0.1."""
    dask = str(Path(sys.executable).parent / "dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    processes = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                   "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  cwd=tmp_path, env=env)]
    for name in names:
        processes.append(subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--name", name,
                                           "--no-dashboard", "--local-directory", str(tmp_path / name)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path,
                                          env=env))
    from distributed import Client

    try:
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(len(names), timeout=90)
        yield address
    finally:
        stop_processes(processes)


@pytest.fixture
def dask_cluster(tmp_path):
    """A real `dask scheduler` and two `dask worker` processes on 127.0.0.1."""
    with _cluster(tmp_path, ("w1", "w2")) as address:
        yield address


@pytest.fixture
def one_worker_cluster(tmp_path):
    """A real `dask scheduler` and one `dask worker` (one thread) on 127.0.0.1: every task of
    every study runs on the same thread, in the order the study submits them."""
    with _cluster(tmp_path, ("w1",)) as address:
        yield address


def test_sweep_on_a_dask_cluster_equals_local(tiny, tmp_path, dask_cluster):
    study = Study.model_validate(GRID)
    on_cluster = sweep(tiny, study, out=tmp_path / "cluster", scheduler=dask_cluster)
    local = sweep(tiny, study, workers=1)
    assert len(on_cluster) == 24 and (on_cluster["status"] == "optimal").all()
    assert on_cluster["objective"].tolist() == pytest.approx(local["objective"].tolist(), rel=1e-9, abs=1e-7)
    # each Dask worker built its model once and kept it between tasks
    assert on_cluster["built_model"].sum() == on_cluster["worker"].nunique() <= 2
    assert len(list((tmp_path / "cluster" / "scenarios").glob("part-*.parquet"))) == 24


def _same_records(one: pd.DataFrame, other: pd.DataFrame) -> None:
    """Bit for bit: every column but the time taken, the worker and whether it built its model."""
    columns = [c for c in one.columns if c not in ("seconds", "worker", "built_model")]
    assert list(other.columns) == list(one.columns)
    pd.testing.assert_frame_equal(one[columns].reset_index(drop=True), other[columns].reset_index(drop=True),
                                  check_exact=True)


def test_a_long_lived_worker_builds_a_model_once_per_content(tiny, one_worker_cluster):
    """A worker keeps its built model between studies: a second study of the same instance,
    options and moved Params (whatever their values) builds nothing, and its results are bit
    for bit those of a model just built; a changed option, table or set of moved Params builds
    anew. (`built_model` is what the worker reports: it built a model for that scenario.)"""
    from optimizer.data.io import Instance

    study = Study.model_validate(GRID)
    local = sweep(tiny, study, workers=1)
    first = sweep(tiny, study, scheduler=one_worker_cluster)
    again = sweep(tiny, study, scheduler=one_worker_cluster)
    assert first["built_model"].sum() == 1 and again["built_model"].sum() == 0
    assert (again["status"] == "optimal").all()
    _same_records(first, local)
    _same_records(again, local)  # started afresh: not warm from the first study's last basis
    # other values of the same Params, in another order: the same model
    other_values = Study.model_validate({**GRID, "parameter": [
        {**GRID["parameter"][0], "values": [0.015, 0.006]}, *GRID["parameter"][1:]]})
    reused = sweep(tiny, other_values, scheduler=one_worker_cluster)
    assert reused["built_model"].sum() == 0
    _same_records(reused, sweep(tiny, other_values, workers=1))

    # what the build depends on, changed: each is built anew, and is right
    option = tiny.with_scenario(tiny.scenario.override(**{"priorities.scope": "national"}))
    objective = tiny.with_scenario(tiny.scenario.override(objective="leveraged_investment"))
    revenue = tiny.revenue.copy()
    revenue.loc[0, "revenue"] = float(revenue.loc[0, "revenue"]) * 2
    table = Instance(**{**{f: getattr(tiny, f) for f in tiny.__dataclass_fields__}, "revenue": revenue})
    fewer_params = Study.model_validate({**GRID, "parameter": GRID["parameter"][:2]})
    for instance, changed_study in ((option, study), (objective, study), (table, study), (tiny, fewer_params)):
        assert instance.digest != tiny.digest or changed_study is not study
        on_cluster = sweep(instance, changed_study, scheduler=one_worker_cluster)
        assert on_cluster["built_model"].sum() == 1, (instance.scenario, changed_study)
        _same_records(on_cluster, sweep(instance, changed_study, workers=1))


def test_a_kept_model_gives_bit_for_bit_the_records_of_a_model_just_built():
    """A kept model taken by the next study starts in a new HiGHS. Measured: with the old one
    only cleared (`clearSolver`, basis and solution gone) the warm re-solves from the same
    basis took other paths from the fifth scenario on (people-years differed); a model kept
    without any reset would start warm from the last study's basis."""
    from optimizer import load_instance
    from optimizer.studies.study import design_points
    from optimizer.studies.sweep import KeptModels, ScenarioRunner, _points

    relaxed = load_instance("ewppt-2010", **{"scenario.model": "lp"})
    base = relaxed.scenario.proportion.provincial
    study = Study.model_validate({"study": {"design": "grid"}, "parameter": [
        {"path": "proportion.provincial", "values": [round(f * base, 9) for f in (0.7, 0.9, 1.1, 1.3)]},
        {"path": "instruments.*.leverage", "values": [round(0.5 + i / 9, 6) for i in range(10)], "mode": "factor"}]})
    parameters = resolve_parameters(study, relaxed)
    items = list(_points(design_points(study, parameters, relaxed), set()))
    kept = KeptModels()
    first = ScenarioRunner(relaxed, parameters, kept=kept)
    [first.run(*item) for item in items]
    second, fresh = ScenarioRunner(relaxed, parameters, kept=kept), ScenarioRunner(relaxed, parameters)
    reused = pd.DataFrame([second.run(*item) for item in reversed(items)])
    built = pd.DataFrame([fresh.run(*item) for item in reversed(items)])
    assert (first.builds, second.builds, kept.taken) == (1, 0, 1)
    assert (reused["status"] == "optimal").all()
    _same_records(reused, built)


def test_a_model_moved_into_a_highs_given_it_whole_gives_bit_for_bit_the_records(monkeypatch):
    """Once loaded, a sweep's model goes into a new Highs given the LP whole (`passModel`), as
    bare highspy is given it, instead of staying in the Highs Pyomo's interface built row by
    row: the same LP, the same first basis and simplex paths, so the same records to the bit
    (benchmarks/README.md, issue 24). The moved Params still reach HiGHS: a design that moves
    the budgets and every instrument's leverage, solved with and without the move."""
    import numpy as np

    from optimizer import load_instance
    from optimizer.studies import sweep as sweep_module
    from optimizer.studies.study import design_points
    from optimizer.studies.sweep import ScenarioRunner, _points

    relaxed = load_instance("ewppt-2010", **{"scenario.model": "lp"})
    base = relaxed.scenario.proportion.provincial
    study = Study.model_validate({"study": {"design": "grid"}, "parameter": [
        {"path": "proportion.provincial", "values": [round(0.8 * base, 9), round(1.2 * base, 9)]},
        {"path": "instruments.*.leverage", "values": [0.5, 0.8, 1.1, 1.4], "mode": "factor"}]})
    parameters = resolve_parameters(study, relaxed)
    items = list(_points(design_points(study, parameters, relaxed), set()))
    moved = ScenarioRunner(relaxed, parameters)
    records = pd.DataFrame([moved.run(*item) for item in items])
    built = next(iter(moved._models.values()))
    highs = built.opt._solver_model
    assert all(getattr(helper, "highs", highs) is highs for helpers in built.opt._mutable_helpers.values()
               for helper in helpers)
    with monkeypatch.context() as patch:
        patch.setattr(sweep_module._BuiltModel, "_into_new_highs", lambda self: False)
        kept = ScenarioRunner(relaxed, parameters)
        unmoved = pd.DataFrame([kept.run(*item) for item in items])
        lp, other = highs.getLp(), next(iter(kept._models.values())).opt._solver_model.getLp()
    assert (records["status"] == "optimal").all()
    _same_records(records, unmoved)
    for name in ("col_cost_", "col_lower_", "col_upper_", "row_lower_", "row_upper_"):
        assert np.array_equal(getattr(lp, name), getattr(other, name)), name
    for name in ("start_", "index_", "value_"):
        assert np.array_equal(getattr(lp.a_matrix_, name), getattr(other.a_matrix_, name)), name


def test_local_workers_give_bit_for_bit_the_records_of_one_model_per_slice():
    """Two local workers (the parent and one child process) solve the design in two contiguous
    slices, each from a model of its own built for it: the records are exactly those of two
    runners given those slices one after the other (a worker's results do not depend on which
    process runs it or on when it started)."""
    from optimizer import load_instance
    from optimizer.studies.study import design_points
    from optimizer.studies.sweep import ScenarioRunner, _points

    relaxed = load_instance("ewppt-2010", **{"scenario.model": "lp"})
    base = relaxed.scenario.proportion.provincial
    study = Study.model_validate({"study": {"design": "grid"}, "parameter": [
        {"path": "proportion.provincial", "values": [round(0.9 * base, 9), round(1.1 * base, 9)]},
        {"path": "instruments.*.leverage", "values": [0.8, 1.0, 1.2], "mode": "factor"}]})
    parameters = resolve_parameters(study, relaxed)
    items = list(_points(design_points(study, parameters, relaxed), set()))
    halves = (items[:3], items[3:])
    by_slice = []
    for half in halves:
        runner = ScenarioRunner(relaxed, parameters)
        by_slice += [runner.run(*item) for item in half]
    expected = pd.DataFrame(by_slice)
    results = sweep(relaxed, study, workers=2)
    assert results["worker"].nunique() == 2 and str(os.getpid()) in set(results["worker"])
    _same_records(results, expected)


@pytest.mark.parametrize("name", ["proportion-leverage", "sobol-effects", "oat-priorities"])
def test_bundled_studies_resolve_against_ewppt_2010(name):
    from optimizer import load_instance
    from optimizer.studies.study import design_points

    instance = load_instance(INSTANCES / "ewppt-2010")
    study = load_study(INSTANCES.parent / "studies" / f"{name}.toml")
    design = design_points(study, resolve_parameters(study, instance), instance)
    expected = {"proportion-leverage": 200, "sobol-effects": 64 * 6, "oat-priorities": 9}[name]
    assert len(design) == expected


def test_a_swept_plan_written_is_the_steady_plan_solve_gives(tmp_path):
    """With save_allocation, each plan a study writes is the steady one (`solve`'s plan, flow by
    flow), though the study's re-solves start from the first stage's basis: the steady stage
    runs on a copy of HiGHS's model (optimizer/solving/steady.py)."""
    from optimizer import load_instance, solve
    from optimizer.studies.study import apply_to_instance, resolve_parameters

    relaxed = load_instance("ewppt-2010", **{"scenario.model": "lp"})
    base = relaxed.scenario.proportion.provincial
    study = Study.model_validate({"study": {"design": "grid", "save_allocation": True}, "parameter": [
        {"path": "proportion.provincial", "values": [round(0.9 * base, 9), round(1.1 * base, 9)]}]})
    results = sweep(relaxed, study, out=tmp_path / "study", workers=1)
    assert (results["status"] == "optimal").all() and (results["message"] == "").all()
    parameters = resolve_parameters(study, relaxed)
    written = pd.concat(pd.read_parquet(p) for p in sorted((tmp_path / "study" / "allocations").glob("*.parquet")))
    for row in results.itertuples(index=False):
        reference = solve(apply_to_instance(relaxed, parameters, {"proportion.provincial": row._1}))
        assert reference.summary["aid_off_profile"] < 0.1  # steady (a free plan has about 55%)
        keys = ["donor", "recipient", "instrument", "year"]
        mine = written[written["scenario_id"] == row.scenario_id].set_index(keys)["aid"]
        theirs = reference.allocation.set_index(keys)["aid"]
        theirs = theirs[theirs > 1e-9]
        joined = pd.concat([mine.rename("sweep"), theirs.rename("solve")], axis=1).fillna(0.0)
        assert len(joined) > 100
        assert (joined["sweep"] - joined["solve"]).abs().max() < 1e-6
