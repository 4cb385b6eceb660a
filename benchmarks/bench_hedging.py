"""Progressive hedging's hub in one process: where its time and memory go (issue 24).

    python benchmarks/bench_hedging.py ewppt-2010 --scenarios 10 --iterations 5
    python benchmarks/bench_hedging.py GENERATED_FOLDER --scenarios 2 --iterations 2
    python benchmarks/bench_hedging.py ewppt-2010 --scenarios 10 --end-to-end direct pyomo
    python benchmarks/bench_hedging.py ewppt-2010 --scenarios 10 --end-to-end direct --rhos 1 0.25
    python benchmarks/bench_hedging.py ewppt-2010 --scenarios 10 --iterations 6 --projections direct \
        --highs default simplex_dual_edge_weight_strategy=1 simplex_scale_strategy=0
    python benchmarks/bench_hedging.py g800 --scenarios 2 --iterations 2 --projections direct \
        --iterate-options none --highs-runs LOGDIR

Runs mpi-sppy's PH (the hub alone, no spoke, one MPI rank) on the `expected` LP of the
instance with bench_robust's uncertainty (every effect 0.7 to 1.3, every poor population 0.9
to 1.1, Latin hypercube, seed 1), once per `--projections` entry, side by side in this process:
`direct` (the closed-form proximal cuts as HiGHS rows, the scenarios solved straight with HiGHS,
optimizer/studies/direct.py, mpi-sppy's PH objective not built as Pyomo expressions: what `ewppt
hedge` runs), `direct-built` (the same with mpi-sppy's PH objective built as Pyomo expressions,
its `attach_PH_to_objective`: the direct path before), `closed` (the same cuts, the solves
through Pyomo's persistent interface as mpi-sppy does them), `closed-pyomo` (the cuts as
mpi-sppy's Pyomo constraints) and `scipy` (mpi-sppy's own per-variable least_squares). Prints,
per run, the CPU seconds (process time, so other work on the machine does not count) of the cut
updates, of the solves, of everything up to the end of iteration 0 (W and the proximal term attached) and
of everything, the number of plan variables and cuts; the resident
memory before, after building the scenario models and at the end, and the process's peak (a
later run adds to the earlier ones'; `peak MB` is the process's so far); then, solve loop by solve loop, how far each run's expected scenario objective
and xbar are from the first run's. `--highs` runs each projection once per set of HiGHS options
given, set on every scenario's HiGHS model when its direct re-solves start (after iteration 0),
and prints the processor seconds and HiGHS's simplex iterations of every re-solve loop.

`--iterate-options KEY=VALUE ...` sets the HiGHS options of the hub's re-solves of a large LP
(optimizer/studies/coldstart.ITERATE_OPTIONS; `none` for none), and `--highs-runs DIR` lists every
HiGHS run of the scenario solves (processor seconds, interior point, crossover and simplex
iterations, status, objective) with HiGHS's log of each in DIR (its interior point lines and IPX
summary split a run between the interior point and crossover). Every solve loop's processor
seconds and the convergence after it are printed too.

`--end-to-end` runs `ewppt hedge`'s hedge(...) instead (2 ranks, hub and Lagrangian spoke,
default gap), once per scenario solve named and per `--rhos` value (default: hedging's
DEFAULT_RHO): wall and processor seconds, the load average before and after, iterations, the
certified gap, and every rank's peak memory.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def parse_highs(text: str) -> dict:
    """`name=value,name=value` (or `default`: nothing) as HiGHS options, each value a bool
    (true, false), an int, a float or a string as HiGHS takes it."""
    options = {}
    for part in [] if text in ("", "default") else text.split(","):
        name, _, value = part.partition("=")
        if value.strip().lower() in ("true", "false"):
            options[name.strip()] = value.strip().lower() == "true"
            continue
        for kind in (int, float):
            try:
                options[name.strip()] = kind(value)
                break
            except ValueError:
                continue
        else:
            options[name.strip()] = value.strip()
    return options


def run(instance_path: str, uncertainty_path: str, iterations: int, projection: str, highs: str = "default") -> dict:
    import highspy
    from mpisppy.opt.ph import PH

    from optimizer.data.io import load_instance
    from optimizer.studies.hedging import DEFAULT_RHO, PROXIMAL_TOLERANCE, _closed_form_ph, _scenarios, scenario_creator

    objective = load_instance(instance_path).scenario.objective
    count = len(_scenarios(instance_path, uncertainty_path).design)
    names = [f"scenario{s}" for s in range(count)]
    solve = "direct" if projection in ("direct", "direct-built") else "pyomo"
    closed = projection in ("direct", "direct-built", "closed", "closed-pyomo")
    base = _closed_form_ph(direct=projection != "closed-pyomo", solve=solve) if closed else PH
    if projection == "direct-built":
        base = type("BuiltPH", (base,), {"build_ph_objective": True})
    spent = {"update": 0.0, "solves": 0.0, "iteration_0": None, "attach": 0.0}
    path = []  # per iteration: the expected scenario objective (the solves' own), and xbar
    loops = []  # per solve loop after iteration 0: (cpu s, simplex iterations) of the direct re-solves
    highs_options = parse_highs(highs)
    loop_cpu = []  # per solve loop: processor seconds (cut updates included), then convergence after it
    convs = []

    class Timed(base):
        def _update_prox_approx(self):
            started = time.process_time()
            super()._update_prox_approx()
            spent["update"] += time.process_time() - started

        def solve_loop(self, *args, **kwargs):
            started = time.process_time()
            self._simplex = None
            super().solve_loop(*args, **kwargs)
            spent["solves"] += time.process_time() - started
            if self._simplex is not None:
                loops.append((time.process_time() - started, self._simplex))
            loop_cpu.append(time.process_time() - started)
            expected = sum(s._mpisppy_probability * s._mpisppy_data.inner_bound for s in self.local_scenarios.values())
            path.append(expected)

        def attach_PH_to_objective(self, *args, **kwargs):
            started = time.process_time()
            super().attach_PH_to_objective(*args, **kwargs)
            spent["attach"] += time.process_time() - started

        def _direct_scenario(self, k, s):  # the direct solves' set-up: the q columns, the original costs
            started = time.process_time()
            new = k not in self.__dict__.get("_direct", {})
            try:
                direct = super()._direct_scenario(k, s)
                if direct is not None and new:  # `--highs`: on top of what direct.py sets, for the re-solves
                    for name, value in highs_options.items():
                        if direct.highs.setOptionValue(name, value) != highspy.HighsStatus.kOk:
                            raise ValueError(f"HiGHS refused the option {name}={value!r}")
                return direct
            finally:
                spent["attach"] += time.process_time() - started

        def solve_one(self, solver_options, k, s, *args, **kwargs):
            seconds = super().solve_one(solver_options, k, s, *args, **kwargs)
            direct = self.__dict__.get("_direct", {}).get(k)
            if direct is not None and getattr(self, "_simplex", False) is not False:
                self._simplex = (self._simplex or 0) + direct.highs.getInfo().simplex_iteration_count
            return seconds

        def reenable_W_and_prox(self, *args, **kwargs):  # the end of iteration 0 (PHBase.Iter0)
            super().reenable_W_and_prox(*args, **kwargs)
            if spent["iteration_0"] is None:
                spent["iteration_0"] = time.process_time() - started

        def Compute_Xbar(self, *args, **kwargs):
            super().Compute_Xbar(*args, **kwargs)
            s = next(iter(self.local_scenarios.values()))
            xbars.append([p._value for _, p in sorted(s._mpisppy_model.xbars.items())])  # not in the hash seed's order
            convs.append(float(self.convergence_diff()))

    xbars = []

    options = {"solver_name": "highs", "PHIterLimit": iterations, "defaultPHrho": DEFAULT_RHO, "convthresh": -1.0,
               "verbose": False, "display_timing": False, "display_progress": False,
               "iter0_solver_options": {}, "iterk_solver_options": {}, "linearize_proximal_terms": True,
               "proximal_linearization_tolerance": PROXIMAL_TOLERANCE}
    before = rss_mb()
    started = time.process_time()
    ph = Timed(options, names, scenario_creator, scenario_creator_kwargs={
        "instance_path": instance_path, "uncertainty_path": uncertainty_path, "objective": objective})
    built = rss_mb()
    ph.ph_main()
    total = time.process_time() - started
    variables = sum(len(s._mpisppy_data.nonant_indices) for s in ph.local_scenarios.values())
    cuts = sum(m.cut_index for s in ph.local_scenarios.values() for m in s._mpisppy_data.xsqvar_prox_approx.values())
    objective = ph.Eobjective()  # mpi-sppy's expected PH objective (direct: its closed form, not an expression)
    return dict(projection=projection if highs == "default" else f"{projection} {highs}", loops=loops,
                scenarios=count, iterations=ph._PHIter, plan_variables=variables, cuts=cuts,
                conv=ph.conv, ph_objective=round(objective, 4), path=path, xbars=xbars,
                update_cpu_s=round(spent["update"], 2), solve_cpu_s=round(spent["solves"], 2),
                iteration_0_cpu_s=round(spent["iteration_0"] or total, 2), total_cpu_s=round(total, 2),
                attach_cpu_s=round(spent["attach"], 2), loop_cpu_s=[round(x, 2) for x in loop_cpu], convs=convs,
                rss_before_mb=round(before), rss_built_mb=round(built), rss_end_mb=round(rss_mb()),
                peak_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def record_highs(log_dir: str | None) -> list:
    """Every HiGHS run of the scenario solves (optimizer/studies/coldstart.run_highs) from now on:
    processor seconds, HiGHS's run time, interior point, crossover and simplex iterations, the
    status and whether it was a PH iterate; with `log_dir`, HiGHS's log of each run in a file there
    (interior point's and crossover's own times)."""
    from optimizer.studies import coldstart

    runs = []
    original = coldstart.run_highs

    def recorded(highs, options, iterate=False):
        logged = {}
        if log_dir:
            Path(log_dir).mkdir(parents=True, exist_ok=True)
            logged = {"output_flag": True, "log_to_console": False,
                      "log_file": str(Path(log_dir) / f"run-{len(runs):03d}.log")}
        started = time.process_time()
        original(highs, {**options, **logged}, iterate=iterate)
        cpu = time.process_time() - started
        if logged:
            highs.setOptionValue("output_flag", False)
            highs.setOptionValue("log_file", "")
        info = highs.getInfo()
        runs.append({"cpu_s": round(cpu, 2), "highs_s": round(highs.getRunTime(), 2), "iterate": iterate,
                     "ipm": info.ipm_iteration_count, "crossover": info.crossover_iteration_count,
                     "simplex": info.simplex_iteration_count, "status": highs.modelStatusToString(highs.getModelStatus()),
                     "objective": info.objective_function_value})

    coldstart.run_highs = recorded
    return runs


def end_to_end(instance: str, scenarios: int, solves: list[str], rhos: list[float] | None = None) -> None:
    """hedge(...) on 2 ranks at the default gap, once per scenario solve and rho (one after the
    other): wall and processor seconds, peak memory per rank, and the load average around each."""
    import os

    from optimizer.studies.hedging import DEFAULT_RHO
    from bench_robust import lp_copy, write_uncertainty

    from optimizer.studies.hedging import hedge

    folder = instance if Path(instance).exists() else str(ROOT / "instances" / instance)
    print("| scenario solves | rho | wall s | load average | iterations | certified gap | plan (expected objective) "
          "| bound | cpu s: hub, spoke | peak MB: hub, spoke |")
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as scratch:
        lp = lp_copy(folder, Path(scratch))
        uncertainty = write_uncertainty(scenarios, Path(scratch))
        for solve in solves:
            for rho in rhos or [DEFAULT_RHO]:
                load = os.getloadavg()[0]
                started = time.perf_counter()
                result = hedge(str(lp), uncertainty, ranks=2, solve=solve, rho=rho, timeout=7200)
                wall = time.perf_counter() - started
                load = f"{load:.1f} to {os.getloadavg()[0]:.1f}"
                if result.status not in ("optimal", "iteration_limit"):
                    print(f"| {solve} | {rho:g} | {wall:.1f} | {load} | failed: {result.status} {result.message} |",
                          flush=True)
                    continue
                cpu = ", ".join(f"{c:.1f}" for c in result.cpu_s)
                peak = ", ".join(f"{m:,.0f}" for m in result.peak_mb)
                print(f"| {solve} | {rho:g} | {wall:.1f} | {load} | {result.iterations} | {result.gap:.3%} "
                      f"| {result.expected:,.3f} | {result.bound:,.3f} | {cpu} | {peak} |", flush=True)


def _option(item: str):
    key, _, value = item.partition("=")
    for kind in (int, float):
        try:
            return key, kind(value)
        except ValueError:
            pass
    return key, value


def main() -> None:
    from bench_robust import lp_copy, write_uncertainty

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("instance", nargs="?", default="ewppt-2010", help="a bundled instance's name or a folder")
    parser.add_argument("--smoke", action="store_true", help="tiny, 3 scenarios, 2 iterations: seconds")
    parser.add_argument("--scenarios", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--projections", nargs="*", default=["direct", "direct-built", "closed", "closed-pyomo", "scipy"],
                        help="direct: closed form, cuts straight into HiGHS, scenarios solved straight with HiGHS "
                             "(what `ewppt hedge` runs); direct-built: the same with mpi-sppy's PH objective built as "
                             "Pyomo expressions (before); closed: the same through Pyomo's persistent interface; "
                             "closed-pyomo: closed form, cuts as mpi-sppy's Pyomo constraints; scipy: mpi-sppy's "
                             "own update")
    parser.add_argument("--end-to-end", nargs="*", metavar="SOLVE", choices=("direct", "pyomo"),
                        help="instead: `ewppt hedge`'s hedge(...) on 2 ranks (default gap), once per scenario solve "
                             "given (direct: straight with HiGHS, what `ewppt hedge` runs; pyomo: mpi-sppy's own)")
    parser.add_argument("--save", metavar="JSON", help="also write every run's figures and its path (the expected "
                        "scenario objective and xbar, solve loop by solve loop) to this file, to compare runs of "
                        "two versions of the code")
    parser.add_argument("--highs", nargs="*", default=["default"], metavar="OPTIONS",
                        help="HiGHS options set on every scenario's HiGHS model when its direct re-solves start "
                             "(after iteration 0, on top of direct.py's), one run per entry per projection: "
                             "`default` (nothing more) or name=value[,name=value...], e.g. "
                             "simplex_dual_edge_weight_strategy=1")
    parser.add_argument("--rhos", nargs="*", type=float,
                        help="with --end-to-end: run once per rho given (default: hedging's DEFAULT_RHO)")
    parser.add_argument("--iterate-options", nargs="*", default=[], metavar="KEY=VALUE",
                        help="HiGHS options for the hub's re-solves of a large LP (coldstart.ITERATE_OPTIONS, e.g. "
                             "run_crossover=off ipm_optimality_tolerance=1e-6; 'none' for none)")
    parser.add_argument("--highs-runs", metavar="DIR", help="list every HiGHS run of the scenario solves (processor "
                        "seconds, interior point and crossover iterations) and write HiGHS's log of each to DIR")
    args = parser.parse_args()
    from optimizer.studies import coldstart

    if args.iterate_options:
        coldstart.ITERATE_OPTIONS = dict(_option(item) for item in args.iterate_options if item != "none")
    print(f"ITERATE_OPTIONS = {coldstart.ITERATE_OPTIONS}")
    highs_runs = record_highs(args.highs_runs) if args.highs_runs else None
    if args.end_to_end is not None:
        end_to_end(args.instance, args.scenarios, args.end_to_end or ["direct", "pyomo"], args.rhos)
        return
    if args.smoke:
        args.instance, args.scenarios, args.iterations = "tiny", 3, 2
    folder = args.instance if Path(args.instance).exists() else str(ROOT / "instances" / args.instance)
    with tempfile.TemporaryDirectory() as scratch:
        lp = lp_copy(folder, Path(scratch))
        uncertainty = write_uncertainty(args.scenarios, Path(scratch))
        print("| projection | scenarios | iterations | plan variables | cuts | cut updates, cpu s | solves, cpu s "
              "| to the end of iteration 0, cpu s | attaching W and prox, cpu s | all, cpu s "
              "| resident MB: start, built, end | peak MB | PH objective "
              "| convergence |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |")
        runs = []
        for projection, highs in [(p, h) for p in args.projections for h in args.highs]:
            r = run(str(lp), str(uncertainty), args.iterations, projection, highs)
            runs.append(r)
            print(f"| {r['projection']} | {r['scenarios']} | {r['iterations']} | {r['plan_variables']:,} | {r['cuts']:,} "
                  f"| {r['update_cpu_s']:.2f} | {r['solve_cpu_s'] - r['update_cpu_s']:.2f} "
                  f"| {r['iteration_0_cpu_s']:.2f} | {r['attach_cpu_s']:.2f} | {r['total_cpu_s']:.2f} "
                  f"| {r['rss_before_mb']:,}, {r['rss_built_mb']:,}, {r['rss_end_mb']:,} | {r['peak_mb']:,} "
                  f"| {r['ph_objective']:,.3f} "
                  f"| {'-' if r['conv'] is None else format(float(r['conv']), '.6f')} |", flush=True)
            if r["loops"]:  # at once, so a long batch shows its runs as they end
                print(f"  re-solve loops: {', '.join(f'{n:,} simplex iterations ({c:.2f} cpu s)' for c, n in r['loops'])}",
                      flush=True)
        for r in runs:
            print(f"{r['projection']}: solve loops, cpu s: {r['loop_cpu_s']}; convergence after each: "
                  f"{[round(c, 6) for c in r['convs']]}")
        if highs_runs is not None:
            print("| HiGHS run | iterate | cpu s | HiGHS s | IPM iterations | crossover iterations | simplex iterations "
                  "| status | objective |")
            print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
            for i, h in enumerate(highs_runs):
                print(f"| {i} | {h['iterate']} | {h['cpu_s']:.2f} | {h['highs_s']:.2f} | {h['ipm']} | {h['crossover']} "
                      f"| {h['simplex']} | {h['status']} | {h['objective']:,.4f} |")
        if args.save:
            import json

            Path(args.save).write_text(json.dumps([{**r, "conv": None if r["conv"] is None else float(r["conv"])} for r in runs]), encoding="utf-8")
        print()
        print("The direct re-solve loops after iteration 0 (processor seconds and HiGHS's simplex iterations, all "
              "scenarios of a loop; mean over the loops, then loop by loop):")
        print()
        print("| projection | loops | simplex iterations a loop | cpu s a loop | cpu s, all loops | per loop: simplex "
              "iterations (cpu s) |")
        print("| --- | ---: | ---: | ---: | ---: | --- |")
        for r in runs:
            loops = r["loops"]
            if loops:
                each = ", ".join(f"{n:,} ({c:.2f})" for c, n in loops)
                print(f"| {r['projection']} | {len(loops)} | {sum(n for _, n in loops) / len(loops):,.0f} "
                      f"| {sum(c for c, _ in loops) / len(loops):.2f} | {sum(c for c, _ in loops):.2f} | {each} |")
        print()
        print("Iteration by iteration against the first run: the largest relative difference of the expected "
              "scenario objective (the solves' own) and the largest absolute difference of xbar (million yuan).")
        first = runs[0]
        for r in runs[1:]:
            objectives = max((abs(a - b) / max(abs(a), 1.0) for a, b in zip(first["path"], r["path"])), default=0.0)
            xbar = max((max(abs(a - b) for a, b in zip(xa, xb)) for xa, xb in zip(first["xbars"], r["xbars"])),
                       default=0.0)
            print(f"- {r['projection']} against {first['projection']}: {len(r['path'])} solve loops, objective "
                  f"{objectives:.2e}, xbar {xbar:.2e}")


if __name__ == "__main__":
    main()
