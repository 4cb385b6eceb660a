"""Sweep throughput, measured side by side in one run.

    python benchmarks/bench_sweep.py [--instance ewppt-2010] [--scenarios 200] [--rebuild-every 10]
                                     [--generate-recipients 0] [--workers 2]
    python benchmarks/bench_sweep.py --smoke     # 4 scenarios, ewppt-2010 and 20 counties: seconds, for the test suite

Four comparisons (issue 6), all on the same design, a grid over the extraction proportion
(provincial) and the leverage of every instrument (a factor), in grid order:

1. persistent re-solve (one model, mutable Params, Pyomo's persistent HiGHS interface) against
   rebuilding the Pyomo model and solving from scratch for each scenario (measured on every
   `--rebuild-every`-th scenario and scaled to the whole design);
2. the same against a bare highspy model of the identical LP (the matrix passed once; per
   scenario only the changed row bounds and coefficients, warm start), throughput ratio (bare
   highspy's coefficient loop and plan read are written as fast as the sweep's own);
3. build and first solve through Pyomo against passing the same LP to highspy and solving;
4. local workers: 1 process against `--workers` processes, wall time;
5. (not a target) what writing steady plans costs: a study with `save_allocation` runs the
   steady stage after each re-solve; seconds per scenario with and without it.

With `--generate-recipients N` the benchmark also runs on a synthetic instance of N counties
(12 donors, 10 instruments, 5 years) written by `ewppt generate`.

The instances are solved as LPs (`[scenario] model = "lp"`, the relaxation of their funds,
projects and cadres): comparison 2 needs the same LP in bare highspy, and these are the
figures of issue 6. MIP solves are measured by bench_mip.py.

Exits 1 if a scenario does not end optimal or bare highspy's objectives differ from ours by more
than 1e-6 relative.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import highspy
import numpy as np

from optimizer import load_instance
from optimizer.studies.study import Study, design_points, resolve_parameters
from optimizer.studies.sweep import ScenarioRunner, sweep

OBJECTIVE_TOLERANCE = 1e-6  # relative; bare highspy solves the same LPs
ALL = (1, 2, 3, 4, 5)  # the comparisons


def require(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(message)


def make_study(scenarios: int, base_provincial: float) -> Study:
    leverage_levels = 10 if scenarios >= 20 else 2
    proportion_levels = max(1, scenarios // leverage_levels)
    proportions = np.linspace(0.7, 1.3, proportion_levels) * base_provincial
    leverages = np.linspace(0.5, 1.5, leverage_levels)
    return Study.model_validate({"study": {"name": "bench", "design": "grid"}, "parameter": [
        {"path": "proportion.provincial", "values": [round(float(v), 12) for v in proportions]},
        {"path": "instruments.*.leverage", "values": [round(float(v), 6) for v in leverages], "mode": "factor"}]})


def points_of(study: Study, instance) -> list[tuple[int, dict]]:
    parameters = resolve_parameters(study, instance)
    design = design_points(study, parameters, instance)
    paths = [p.path for p in parameters]
    return [(int(row[0]), dict(zip(paths, row[1:]))) for row in design.itertuples(index=False)]


def snapshot(h: highspy.Highs) -> dict[str, np.ndarray]:
    lp = h.getLp()
    return {"row_lower": np.array(lp.row_lower_), "row_upper": np.array(lp.row_upper_),
            "col_cost": np.array(lp.col_cost_), "col_lower": np.array(lp.col_lower_),
            "col_upper": np.array(lp.col_upper_), "start": np.array(lp.a_matrix_.start_),
            "index": np.array(lp.a_matrix_.index_), "value": np.array(lp.a_matrix_.value_)}


def bench(instance, scenarios: int, rebuild_every: int, workers: int, only: set[int] = frozenset(ALL)
          ) -> dict[str, float]:
    study = make_study(scenarios, instance.scenario.proportion.provincial or 0.001)
    parameters = resolve_parameters(study, instance)
    points = points_of(study, instance)
    n = len(points)
    print(f"  {n} scenarios; model: ", end="", flush=True)

    # warm-up, untimed: the first Pyomo build and HiGHS call in a process pay one-time costs
    warm = ScenarioRunner(instance, parameters)
    for sid, point in points[:3]:
        warm.run(sid, point)

    # 1. persistent: build once, re-solve every point (wall and this process's CPU time: on a
    # loaded machine the CPU time of a single-threaded run is the steadier measure)
    started, cpu = time.perf_counter(), time.process_time()
    runner = ScenarioRunner(instance, parameters)
    records = [runner.run(sid, point) for sid, point in points]
    persistent_s, persistent_cpu = time.perf_counter() - started, time.process_time() - cpu
    require(all(r["status"] == "optimal" for r in records),
            f"persistent sweep: statuses {sorted({r['status'] for r in records})}, expected all optimal")
    built = next(iter(runner._models.values()))
    h = built.opt._solver_model
    print(f"{h.getNumCol():,} columns, {h.getNumRow():,} rows")
    first_s = records[0]["seconds"]
    resolve_s = statistics.median(r["seconds"] for r in records[1:]) if n > 1 else first_s

    result: dict[str, float] = {"scenarios": n, "persistent_s": persistent_s, "persistent_cpu": persistent_cpu,
                                "first_s": first_s, "resolve_median_s": resolve_s, "workers": workers}
    # rebuild: a fresh model and solver for the sampled points
    sample = points[::rebuild_every]
    if 1 in only:
        started = time.perf_counter()
        for sid, point in sample:
            ScenarioRunner(instance, parameters).run(sid, point)
        rebuild_each = (time.perf_counter() - started) / len(sample)
        result.update(rebuild_each_s=rebuild_each, rebuild_ratio=rebuild_each * n / persistent_s)

    # 5. plans written: a study that saves its plans writes steady ones (the steady stage on a
    # copy of HiGHS's model after each re-solve); the same sampled points without and with it
    if 5 in only:
        result.update(steady_plans(instance, parameters, points, sample))

    if 2 in only:
        result.update(bare_replay(instance, parameters, points, records, persistent_s, persistent_cpu))
    if 3 in only:
        result.update(first_solves(instance))
    if 4 in only:
        result.update(local_workers(instance, study, workers))
    return result


def steady_plans(instance, parameters, points, sample) -> dict[str, float]:
    plain_runner, writer = ScenarioRunner(instance, parameters), ScenarioRunner(instance, parameters, save_allocation=True)
    for runner_ in (plain_runner, writer):
        runner_.run(*points[0])  # untimed: the build
    per = {}
    for name, runner_ in (("plain", plain_runner), ("steady", writer)):
        started = time.perf_counter()
        for sid, point in sample:
            record = runner_.run(sid, point)
            require(record["status"] == "optimal" and not record.get("message"),
                    f"{name} run of scenario {sid}: {record['status']} {record.get('message')}")
        per[name] = (time.perf_counter() - started) / len(sample)
    return {"plain_each_s": per["plain"], "steady_each_s": per["steady"], "steady_ratio": per["steady"] / per["plain"]}


def bare_replay(instance, parameters, points, records, persistent_s: float, persistent_cpu: float) -> dict[str, float]:
    # 2. bare highspy on the identical LPs: record each scenario's LP (untimed), then replay
    base = None
    changes = []
    replay = ScenarioRunner(instance, parameters)
    methods = []  # how the sweep solved each scenario; bare highspy is given the same choice
    for sid, point in points:
        replay.run(sid, point)
        methods.append(next(iter(replay._models.values())).last_method)
        lp = snapshot(next(iter(replay._models.values())).opt._solver_model)
        if base is None:
            base = lp
            base_lp = next(iter(replay._models.values())).opt._solver_model.getLp()
        require(np.array_equal(lp["index"], base["index"]), "sparsity changed between scenarios")
        rows = np.flatnonzero((lp["row_lower"] != base["row_lower"]) | (lp["row_upper"] != base["row_upper"]))
        entries = np.flatnonzero(lp["value"] != base["value"])
        cols_of_entries = np.searchsorted(lp["start"], entries, side="right") - 1
        costs = np.flatnonzero(lp["col_cost"] != base["col_cost"])
        changes.append((rows, lp["row_lower"][rows], lp["row_upper"][rows], lp["index"][entries], cols_of_entries,
                        lp["value"][entries], costs, lp["col_cost"][costs]))
        base = {**lp}
    raw = highspy.Highs()
    raw.setOptionValue("output_flag", False)
    raw.passModel(base_lp)
    raw.setOptionValue("threads", instance.scenario.solver.threads or 1)
    started, cpu = time.perf_counter(), time.process_time()
    objectives = []
    method = instance.scenario.solver.method
    for (rows, lower, upper, entry_rows, entry_cols, values, costs, cost_values), how in zip(changes, methods):
        if len(rows):
            raw.changeRowsBounds(len(rows), rows.astype(np.int32), lower, upper)
        for r, c, v in zip(entry_rows.tolist(), entry_cols.tolist(), values.tolist()):  # as fast as the sweep's loop
            raw.changeCoeff(r, c, v)
        if len(costs):
            raw.changeColsCost(len(costs), costs.astype(np.int32), cost_values)
        if how.startswith("warm simplex"):
            raw.setOptionValue("solver", "simplex")
            raw.setOptionValue("simplex_iteration_limit", max(1000, raw.getNumRow()))
            raw.run()
        if how != "warm simplex":  # the first solve, moved budgets, or a warm start abandoned
            raw.clearSolver()
            raw.setOptionValue("solver", method)
            raw.setOptionValue("simplex_iteration_limit", 2147483647)
            raw.run()
        columns = raw.getSolution().col_value
        np.fromiter(columns, dtype=float, count=len(columns))  # the sweep reads its plan so
        objectives.append(raw.getInfo().objective_function_value)
    highspy_s, highspy_cpu = time.perf_counter() - started, time.process_time() - cpu
    ours = np.array([r["objective"] for r in records])
    worst = float(np.max(np.abs(np.array(objectives) - ours) / np.maximum(1.0, np.abs(ours))))
    require(worst <= OBJECTIVE_TOLERANCE, f"bare highspy's objectives differ from the sweep's: {worst:.1e} relative")
    return {"highspy_s": highspy_s, "highspy_ratio": highspy_s / persistent_s, "objective_gap": worst,
            "highspy_cpu": highspy_cpu, "highspy_cpu_ratio": highspy_cpu / persistent_cpu}


def first_solves(instance) -> dict[str, float]:
    # 3. build and first solve of the instance as given: Pyomo against handing the same LP
    # (taken from the Pyomo run) to a fresh highspy
    started, cpu = time.perf_counter(), time.process_time()
    first = ScenarioRunner(instance, [])
    first.run(0, {})
    pyomo_first, pyomo_first_cpu = time.perf_counter() - started, time.process_time() - cpu
    same_lp = next(iter(first._models.values())).opt._solver_model.getLp()
    cold = highspy.Highs()
    cold.setOptionValue("output_flag", False)
    if instance.scenario.solver.method != "choose":  # the same LP method as the Pyomo run
        cold.setOptionValue("solver", instance.scenario.solver.method)
    started, cpu = time.perf_counter(), time.process_time()
    cold.passModel(same_lp)
    cold.run()
    columns = cold.getSolution().col_value
    np.fromiter(columns, dtype=float, count=len(columns))
    highspy_first, highspy_first_cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"pyomo_first_s": pyomo_first, "highspy_first_s": highspy_first, "first_ratio": pyomo_first / highspy_first,
            "first_cpu_ratio": pyomo_first_cpu / highspy_first_cpu}


def local_workers(instance, study, workers: int) -> dict[str, float]:
    # 4. local workers
    timings = {}
    for count in sorted({1, workers}):
        started = time.perf_counter()
        result = sweep(instance, study, workers=count)
        timings[count] = time.perf_counter() - started
        require(bool((result["status"] == "optimal").all()),
                f"sweep with {count} workers: statuses {sorted(set(result['status']))}, expected all optimal")

    return {"one_worker_s": timings[1], "n_workers_s": timings[workers], "scaling": timings[1] / timings[workers]}


def report(name: str, r: dict[str, float]) -> None:
    n = r["scenarios"]
    print(f"  persistent sweep {r['persistent_s']:.2f} s, {r['persistent_cpu']:.2f} s CPU ({n} scenarios; first "
          f"{r['first_s']:.3f} s, re-solve median {r['resolve_median_s'] * 1000:.1f} ms)")
    if "rebuild_ratio" in r:
        print(f"  1. rebuild {r['rebuild_each_s']:.3f} s each ({r['rebuild_each_s'] * n:.1f} s): the persistent sweep "
              f"{r['rebuild_ratio']:.1f}x faster (target >= 20x)")
    if "highspy_ratio" in r:
        print(f"  2. bare highspy replay of the same {n} LPs {r['highspy_s']:.2f} s: our throughput / highspy = "
          f"{r['highspy_ratio']:.2f} (target >= 0.9); CPU time {r['highspy_cpu']:.2f} s: {r['highspy_cpu_ratio']:.2f}; "
          f"largest objective difference {r['objective_gap']:.1e}")
    if "first_ratio" in r:
        print(f"  3. build + first solve: Pyomo {r['pyomo_first_s']:.2f} s vs highspy {r['highspy_first_s']:.2f} s: "
          f"{r['first_ratio']:.2f}x, CPU time {r['first_cpu_ratio']:.2f}x (target <= 2x; <= 1.5x at 800 counties)")
    if "scaling" in r:
        print(f"  4. workers: 1 -> {r['one_worker_s']:.2f} s, {r['workers']} -> {r['n_workers_s']:.2f} s: "
          f"{r['scaling']:.2f}x (target >= 1.7x)")
    if "steady_ratio" in r:
        print(f"  5. plans written: re-solve {r['plain_each_s']:.3f} s, with the steady stage {r['steady_each_s']:.3f} s "
          f"per scenario: {r['steady_ratio']:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instance", default="ewppt-2010")
    parser.add_argument("--scenarios", type=int, default=200)
    parser.add_argument("--rebuild-every", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--generate-recipients", type=int, default=0)
    parser.add_argument("--comparisons", default=",".join(map(str, ALL)),
                        help="which comparisons to run, e.g. 2,3 (the persistent sweep always runs)")
    parser.add_argument("--smoke", action="store_true",
                        help="4 scenarios, ewppt-2010 and 20 counties: seconds, for the test suite")
    args = parser.parse_args()
    if args.smoke:
        args.scenarios, args.rebuild_every, args.generate_recipients = 4, 2, 20
    model = {"scenario.model": "lp"}
    runs = [(args.instance, load_instance(args.instance, **model))]
    if args.generate_recipients:
        from optimizer.data.generate import generate_instance

        folder = tempfile.mkdtemp(prefix="ewppt-bench-")
        path = generate_instance(folder, recipients=args.generate_recipients, donors=12, instruments=10, years=5,
                                 seed=1)
        runs.append((f"generated-{args.generate_recipients}", load_instance(path, **model)))
    for name, instance in runs:
        print(f"{name}:")
        report(name, bench(instance, args.scenarios, args.rebuild_every, args.workers,
                           {int(c) for c in args.comparisons.split(",") if c.strip()}))


if __name__ == "__main__":
    main()
