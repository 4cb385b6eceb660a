"""Sweep throughput, measured side by side in one run.

    python benchmarks/bench_sweep.py [--instance ewppt-2010] [--scenarios 200] [--rebuild-every 10]
                                     [--generate-recipients 0] [--workers 2]
    python benchmarks/bench_sweep.py --smoke     # 4 scenarios, ewppt-2010 and 20 counties: seconds, for the test suite
    python benchmarks/bench_sweep.py --generate-recipients 800 --skip-instance --workers-only   # comparison 4 alone

Comparisons (issues 6 and 24), all on the same design, a grid over the extraction proportion
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
   steady stage after each re-solve; seconds per scenario with and without it;
6. (with `--dask`) a long-lived Dask cluster: the same study twice, the second on the models
   its workers kept from the first;
7. (with `--comparisons ...,7`) the re-solves alone, CPU time, interleaved in `--rounds`
   rounds: our sweep, our sweep with HiGHS's Python callbacks in every run (as before issue
   24's item 1), and bare highspy; on a loaded machine the steadier measure of the three;
8. (with `--comparisons ...,8`) 2 in lockstep: scenario by scenario in one process, our
   sweep's run then bare highspy's push, solve and plan read of the same LP, CPU time of each
   (the throughput ratio with our build and first solve, and the re-solves alone): the load's
   drift over a long run weighs on both alike, where 2 runs all of ours and then all of bare
   highspy's (at 800 counties 25 minutes apart).

Comparison 4 also gives the CPU seconds of the longest worker (the wall time with a core per
worker): on a shared machine the wall-time ratio mostly shows how the CPU is shared.

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
import resource
import statistics
import tempfile
import time

import highspy
import numpy as np

from optimizer import load_instance
from optimizer.studies.study import Study, design_points, resolve_parameters
from optimizer.studies.sweep import ScenarioRunner, sweep

OBJECTIVE_TOLERANCE = 1e-6  # relative; bare highspy solves the same LPs
ALL = (1, 2, 3, 4, 5)  # the comparisons (6, the Dask cluster, with --dask)


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


def bench_dask(instance, study, workers: int) -> dict[str, float]:
    """6. a long-lived Dask cluster (`workers` processes, a thread each): the same study twice;
    the second builds no model (each worker kept its own from the first)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        runs = []
        for _ in range(2):
            started = time.perf_counter()
            result = sweep(instance, study, scheduler=cluster.scheduler_address)
            runs.append((time.perf_counter() - started, int(result["built_model"].sum())))
            require(bool((result["status"] == "optimal").all()), "Dask sweep: not all optimal")
    (first_s, first_built), (second_s, second_built) = runs
    return {"dask_first_s": first_s, "dask_first_built": first_built, "dask_second_s": second_s,
            "dask_second_built": second_built}


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def bench_workers(instance, study, workers: int) -> dict[str, float]:
    """4. local workers: the same study on 1 and on `workers` processes (the parent is the first
    worker), wall time; and the CPU seconds of the longest worker, which is what the wall time
    would be with a core per worker. On a shared Linux machine the wall-time ratio says little:
    the scheduler's autogroups share the CPU between sessions, so a study's processes together
    get one session's share, however many they are."""
    timings, longest = {}, {}
    for count in sorted({1, workers}):
        parent, children = cpu_seconds(resource.RUSAGE_SELF), cpu_seconds(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        result = sweep(instance, study, workers=count)
        timings[count] = time.perf_counter() - started
        parent = cpu_seconds(resource.RUSAGE_SELF) - parent
        children = (cpu_seconds(resource.RUSAGE_CHILDREN) - children) / max(1, count - 1)  # a mean per child
        longest[count] = max(parent, children)
        require(bool((result["status"] == "optimal").all()),
                f"sweep with {count} workers: statuses {sorted(set(result['status']))}, expected all optimal")
        print(f"     ({count} worker{'s' if count > 1 else ''}: {timings[count]:.2f} s; CPU s of the parent "
              f"{parent:.2f}, of a child {children:.2f})", flush=True)
    return {"workers": workers, "one_worker_s": timings[1], "n_workers_s": timings[workers],
            "scaling": timings[1] / timings[workers], "one_worker_cpu_s": longest[1],
            "n_workers_cpu_s": longest[workers], "cpu_scaling": longest[1] / longest[workers]}


def bench(instance, scenarios: int, rebuild_every: int, workers: int, only: set[int] = frozenset(ALL),
          rounds: int = 3) -> dict[str, float]:
    study = make_study(scenarios, instance.scenario.proportion.provincial or 0.001)
    parameters = resolve_parameters(study, instance)
    points = points_of(study, instance)
    n = len(points)
    if not only & {1, 2, 3, 5, 7, 8}:  # workers alone (4, 6): no persistent sweep first
        print(f"  {n} scenarios")
        return {"scenarios": n, **local_workers(instance, study, workers, 6 in only)}
    print(f"  {n} scenarios; model: ", end="", flush=True)

    # warm-up, untimed: the first Pyomo build and HiGHS call in a process pay one-time costs
    warm = ScenarioRunner(instance, parameters)
    for sid, point in points[:3]:
        warm.run(sid, point)

    # 1. persistent: build once, re-solve every point (wall and this process's CPU time: on a
    # loaded machine the CPU time of a single-threaded run is the steadier measure)
    started, cpu = time.perf_counter(), time.process_time()
    runner = ScenarioRunner(instance, parameters)
    records = [runner.run(*points[0])]
    first_cpu = time.process_time() - cpu  # the build and first solve: the re-solves alone are the rest
    records += [runner.run(sid, point) for sid, point in points[1:]]
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
        result.update(bare_replay(instance, parameters, points, records, persistent_s, persistent_cpu, first_cpu))
    if 3 in only:
        result.update(first_solves(instance))
    if 7 in only:
        result.update(interleaved(instance, parameters, points, rounds))
    if 8 in only:
        result.update(lockstep(instance, parameters, points))
    if only & {4, 6}:
        result.update(local_workers(instance, study, workers, 6 in only))
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


def record_changes(instance, parameters, points) -> tuple:
    """Each scenario's LP as the sweep leaves it in HiGHS (untimed): the first LP, then per
    scenario the row bounds, matrix entries and costs that changed, and how the sweep solved it."""
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
        changes.append(lp_changes(base, lp))
        base = {**lp}
    return base_lp, changes, methods


def lp_changes(base: dict[str, np.ndarray], lp: dict[str, np.ndarray]) -> tuple:
    """What moved from the LP `base` to `lp` (two `snapshot`s): the row bounds, the matrix
    entries (row, column, value) and the costs."""
    require(np.array_equal(lp["index"], base["index"]), "sparsity changed between scenarios")
    rows = np.flatnonzero((lp["row_lower"] != base["row_lower"]) | (lp["row_upper"] != base["row_upper"]))
    entries = np.flatnonzero(lp["value"] != base["value"])
    cols_of_entries = np.searchsorted(lp["start"], entries, side="right") - 1
    costs = np.flatnonzero(lp["col_cost"] != base["col_cost"])
    return (rows, lp["row_lower"][rows], lp["row_upper"][rows], lp["index"][entries], cols_of_entries,
            lp["value"][entries], costs, lp["col_cost"][costs])


def replay_bare(instance, recorded: tuple) -> tuple[float, float, float, list[float]]:
    """Bare highspy replays the recorded LPs: wall and CPU seconds, the CPU seconds of its first
    solve, and the objectives."""
    base_lp, changes, methods = recorded
    raw = new_bare(instance, base_lp)
    started, cpu = time.perf_counter(), time.process_time()
    objectives = []
    highspy_first_cpu = None
    method = instance.scenario.solver.method
    for change, how in zip(changes, methods):
        objectives.append(bare_step(raw, change, how, method))
        if highspy_first_cpu is None:
            highspy_first_cpu = time.process_time() - cpu
    return time.perf_counter() - started, time.process_time() - cpu, highspy_first_cpu, objectives


def new_bare(instance, lp) -> highspy.Highs:
    raw = highspy.Highs()
    raw.setOptionValue("output_flag", False)
    raw.passModel(lp)
    raw.setOptionValue("threads", instance.scenario.solver.threads or 1)
    return raw


def bare_step(raw: highspy.Highs, change: tuple, how: str, method: str) -> float:
    """One scenario in bare highspy: push its changes, solve it as the sweep did (`how`), read
    the plan; its objective."""
    rows, lower, upper, entry_rows, entry_cols, values, costs, cost_values = change
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
    return raw.getInfo().objective_function_value


def lockstep(instance, parameters, points) -> dict[str, float]:
    """8. our sweep and bare highspy in lockstep: scenario by scenario in one process, ours then
    bare highspy's of the same LP (the changes read from our HiGHS after our run, untimed), so
    that a loaded machine's changing share weighs on both alike within each scenario; CPU time
    of each side. Ours counts its build and first solve, bare highspy its first solve (its
    `passModel` not), as in 2."""
    method = instance.scenario.solver.method
    runner = ScenarioRunner(instance, parameters)
    raw, previous = None, None
    ours = {"total": 0.0, "first": 0.0}
    bare = {"total": 0.0, "first": 0.0}
    worst = 0.0
    for k, (sid, point) in enumerate(points):
        cpu = time.process_time()
        record = runner.run(sid, point)
        spent = time.process_time() - cpu
        require(record["status"] == "optimal", f"lockstep: scenario {sid} {record['status']}")
        built = next(iter(runner._models.values()))
        lp = snapshot(built.opt._solver_model)
        if raw is None:
            raw = new_bare(instance, built.opt._solver_model.getLp())
            change = lp_changes(lp, lp)
        else:
            change = lp_changes(previous, lp)
        previous = lp
        cpu = time.process_time()
        objective = bare_step(raw, change, built.last_method, method)
        bare_spent = time.process_time() - cpu
        worst = max(worst, abs(objective - record["objective"]) / max(1.0, abs(record["objective"])))
        for side, seconds in ((ours, spent), (bare, bare_spent)):
            side["total"] += seconds
            if k == 0:
                side["first"] = seconds
    require(worst <= OBJECTIVE_TOLERANCE, f"lockstep: bare highspy's objectives differ from the sweep's: {worst:.1e}")
    return {"ls_ours_cpu": ours["total"], "ls_ours_first_cpu": ours["first"], "ls_bare_cpu": bare["total"],
            "ls_bare_first_cpu": bare["first"], "ls_objective_gap": worst}


def bare_replay(instance, parameters, points, records, persistent_s: float, persistent_cpu: float,
                first_cpu: float) -> dict[str, float]:
    # 2. bare highspy on the identical LPs: record each scenario's LP (untimed), then replay
    recorded = record_changes(instance, parameters, points)
    methods = recorded[2]
    highspy_s, highspy_cpu, highspy_first_cpu, objectives = replay_bare(instance, recorded)
    ours = np.array([r["objective"] for r in records])
    worst = float(np.max(np.abs(np.array(objectives) - ours) / np.maximum(1.0, np.abs(ours))))
    require(worst <= OBJECTIVE_TOLERANCE, f"bare highspy's objectives differ from the sweep's: {worst:.1e} relative")
    # the re-solves alone (our build and first solve left out, and bare highspy's first solve):
    # what the sweep's own per-point work costs against HiGHS's; and the longest warm re-solve,
    # which runs without Python callbacks (a Ctrl-C in a script waits for it: docs/sweeps.md)
    resolves_cpu, highspy_resolves_cpu = persistent_cpu - first_cpu, highspy_cpu - highspy_first_cpu
    warm = [r["seconds"] for r, how in zip(records, methods) if how == "warm simplex"]
    return {"highspy_s": highspy_s, "highspy_ratio": highspy_s / persistent_s, "objective_gap": worst,
            "highspy_cpu": highspy_cpu, "highspy_cpu_ratio": highspy_cpu / persistent_cpu,
            "resolves_cpu": resolves_cpu, "highspy_resolves_cpu": highspy_resolves_cpu,
            "resolves_cpu_ratio": highspy_resolves_cpu / resolves_cpu if resolves_cpu > 0 else float("nan"),
            "worst_warm_s": max(warm, default=float("nan")), "warm_count": len(warm)}


def interleaved(instance, parameters, points, rounds: int) -> dict[str, float]:
    """7. the re-solves alone, CPU time, interleaved in rounds so that a loaded machine's
    changing share weighs on each alike: our sweep as it runs (warm re-solves without Python
    callbacks), our sweep with HiGHS's callbacks in every run (as before issue 24's item 1),
    and bare highspy. Each round builds afresh and leaves the first point untimed."""
    from optimizer.studies import sweep as sweep_module

    recorded = record_changes(instance, parameters, points)
    original = sweep_module._BuiltModel._in_highs

    def with_callbacks(self, method: str, limit: int, callbacks: bool = True):
        return original(self, method, limit, callbacks=True)

    def ours(callbacks: bool) -> float:
        sweep_module._BuiltModel._in_highs = with_callbacks if callbacks else original
        try:
            runner = ScenarioRunner(instance, parameters)
            runner.run(*points[0])
            cpu = time.process_time()
            for sid, point in points[1:]:
                runner.run(sid, point)
            return time.process_time() - cpu
        finally:
            sweep_module._BuiltModel._in_highs = original

    def bare() -> float:
        _, cpu, first, _ = replay_bare(instance, recorded)
        return cpu - first

    totals = {"ours": 0.0, "callbacks": 0.0, "bare": 0.0}
    for _ in range(rounds):
        for name, run in (("ours", lambda: ours(False)), ("callbacks", lambda: ours(True)), ("bare", bare)):
            totals[name] += run()
    return {"rounds": rounds, "il_ours_cpu": totals["ours"], "il_callbacks_cpu": totals["callbacks"],
            "il_bare_cpu": totals["bare"]}


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


def local_workers(instance, study, workers: int, dask: bool = False) -> dict[str, float]:
    # 4. local workers (and 6. a long-lived Dask cluster)
    timings = bench_workers(instance, study, workers)
    if dask:
        timings.update(bench_dask(instance, study, workers))
    return timings


def report_workers(r: dict[str, float]) -> None:
    print(f"  4. workers: 1 -> {r['one_worker_s']:.2f} s, {r['workers']} -> {r['n_workers_s']:.2f} s: "
          f"{r['scaling']:.2f}x (target >= 1.7x); CPU s of the longest worker {r['one_worker_cpu_s']:.2f} -> "
          f"{r['n_workers_cpu_s']:.2f}: {r['cpu_scaling']:.2f}x")
    if "dask_first_s" in r:
        print(f"  6. long-lived Dask cluster, {r['workers']} workers, the same study twice: {r['dask_first_s']:.2f} s "
              f"({r['dask_first_built']} models built) then {r['dask_second_s']:.2f} s "
              f"({r['dask_second_built']} built): {r['dask_first_s'] / r['dask_second_s']:.2f}x")


def report(name: str, r: dict[str, float]) -> None:
    n = r["scenarios"]
    if "persistent_s" not in r:  # workers alone
        report_workers(r)
        return
    print(f"  persistent sweep {r['persistent_s']:.2f} s, {r['persistent_cpu']:.2f} s CPU ({n} scenarios; first "
          f"{r['first_s']:.3f} s, re-solve median {r['resolve_median_s'] * 1000:.1f} ms)")
    if "rebuild_ratio" in r:
        print(f"  1. rebuild {r['rebuild_each_s']:.3f} s each ({r['rebuild_each_s'] * n:.1f} s): the persistent sweep "
              f"{r['rebuild_ratio']:.1f}x faster (target >= 20x)")
    if "highspy_ratio" in r:
        print(f"  2. bare highspy replay of the same {n} LPs {r['highspy_s']:.2f} s: our throughput / highspy = "
          f"{r['highspy_ratio']:.2f} (target >= 0.9); CPU time {r['highspy_cpu']:.2f} s: {r['highspy_cpu_ratio']:.2f}; "
          f"largest objective difference {r['objective_gap']:.1e}")
        print(f"     re-solves alone (our build and first solve, bare highspy's first solve left out), CPU time: "
              f"{r['resolves_cpu']:.2f} s vs {r['highspy_resolves_cpu']:.2f} s: {r['resolves_cpu_ratio']:.2f}; "
              f"longest of {r['warm_count']} warm re-solves (no Python callbacks) {r['worst_warm_s']:.3f} s wall")
    if "il_ours_cpu" in r:
        print(f"  7. re-solves alone, interleaved in {r['rounds']} rounds, CPU time: ours {r['il_ours_cpu']:.2f} s, "
              f"ours with HiGHS's callbacks in every run {r['il_callbacks_cpu']:.2f} s, bare highspy "
              f"{r['il_bare_cpu']:.2f} s: bare / ours {r['il_bare_cpu'] / r['il_ours_cpu']:.3f} (with the callbacks "
              f"{r['il_bare_cpu'] / r['il_callbacks_cpu']:.3f})")
    if "ls_ours_cpu" in r:
        ours_re, bare_re = r["ls_ours_cpu"] - r["ls_ours_first_cpu"], r["ls_bare_cpu"] - r["ls_bare_first_cpu"]
        print(f"  8. in lockstep, scenario by scenario, CPU time: ours {r['ls_ours_cpu']:.2f} s (build and first solve "
              f"{r['ls_ours_first_cpu']:.2f}), bare highspy {r['ls_bare_cpu']:.2f} s (first solve "
              f"{r['ls_bare_first_cpu']:.2f}): throughput ratio {r['ls_bare_cpu'] / r['ls_ours_cpu']:.3f} (target >= 0.9); "
              f"re-solves alone {bare_re:.2f} s / {ours_re:.2f} s: {bare_re / ours_re if ours_re > 0 else float('nan'):.3f}; "
              f"largest objective difference {r['ls_objective_gap']:.1e}")
    if "first_ratio" in r:
        print(f"  3. build + first solve: Pyomo {r['pyomo_first_s']:.2f} s vs highspy {r['highspy_first_s']:.2f} s: "
          f"{r['first_ratio']:.2f}x, CPU time {r['first_cpu_ratio']:.2f}x (target <= 2x; <= 1.5x at 800 counties)")
    if "scaling" in r:
        report_workers(r)
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
    parser.add_argument("--workers-only", action="store_true", help="only comparison 4 (as --comparisons 4)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of comparison 7 (not run by default: "
                        "--comparisons 2,3,7)")
    parser.add_argument("--dask", action="store_true",
                        help="also 6: the study twice on a long-lived local Dask cluster of --workers workers")
    parser.add_argument("--skip-instance", action="store_true",
                        help="only the generated instance, not --instance")
    parser.add_argument("--smoke", action="store_true",
                        help="4 scenarios, ewppt-2010 and 20 counties: seconds, for the test suite")
    args = parser.parse_args()
    if args.workers_only:
        args.comparisons = "4"
    if args.smoke:
        args.scenarios, args.rebuild_every, args.generate_recipients = 4, 2, 20
    model = {"scenario.model": "lp"}
    runs = [] if args.skip_instance and args.generate_recipients else [(args.instance, load_instance(args.instance,
                                                                                                     **model))]
    if args.generate_recipients:
        from optimizer.data.generate import generate_instance

        folder = tempfile.mkdtemp(prefix="ewppt-bench-")
        path = generate_instance(folder, recipients=args.generate_recipients, donors=12, instruments=10, years=5,
                                 seed=1)
        runs.append((f"generated-{args.generate_recipients}", load_instance(path, **model)))
    for name, instance in runs:
        print(f"{name}:")
        report(name, bench(instance, args.scenarios, args.rebuild_every, args.workers,
                           {int(c) for c in args.comparisons.split(",") if c.strip()} | ({6} if args.dask else set()),
                           args.rounds))


if __name__ == "__main__":
    main()
