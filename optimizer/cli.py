"""The `ewppt` command line: thin commands over the library.

Exit codes: 0 optimal (or valid), 1 infeasible, 2 bad input (or an --out that cannot be a result
folder), 3 unbounded, 4 time limit with a plan (written), 5 time limit without a plan, 6 numerical
trouble (or a plan that fails the re-check), 7 internal error, 8 HiGHS missing or broken, 9 the
output could not be written (disk full; the previous folder is as it was), 130 interrupted
(Ctrl-C; `solve` stopped in branch and bound writes the best plan found, status "stopped"). Bad input is reported as file, row, column, value and what was expected. A closed
output pipe (`ewppt validate X | head -1`) does not change the exit code.
"""

from __future__ import annotations

import inspect
import os
import re
import sys
import time
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from optimizer.solving import interrupt, progress
from optimizer.data import numbers
from optimizer.data.errors import InvalidInstance, Problem, printable
from optimizer.data.io import atomic_write, bundled_instances, load_instance, resolve_instance_path
from optimizer.data.provenance import counts_line, provenance_counts, read_provenance
from optimizer.data.output import OutputWriteFailed, UnusableOutput, check_out_dir, remove_live_temp_dirs, result_folder
from optimizer.solving.results import Result
from optimizer.data.schema import CATEGORIES
from optimizer.solving.solve import solve as solve_instance

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_WRITE_FAILED = 0, 1, 2, 7, 9


def exit_code(result: Result) -> int:
    """The exit code of a solve: one per status, and a time limit with or without a plan."""
    if result.status == "time_limit":
        return 4 if result.has_plan else 5
    return {"optimal": EXIT_OK, "infeasible": EXIT_FAILED, "unbounded": 3, "numerical": 6,
            "solver_missing": 8, "stopped": interrupt.EXIT_INTERRUPTED}.get(result.status, EXIT_INTERNAL)

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Allocate East-West Partnership poverty-reduction aid with Pyomo and HiGHS.")
# Piped or captured output has no terminal width; keep lines whole instead of wrapping at 80.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


class Objective(str, Enum):
    people_lifted = "people_lifted"
    weighted_people_lifted = "weighted_people_lifted"
    equity = "equity"
    leveraged_investment = "leveraged_investment"
    people_years = "people_years"


class Scope(str, Enum):
    donor = "donor"
    national = "national"


class Method(str, Enum):
    choose = "choose"
    simplex = "simplex"
    ipm = "ipm"


class ModelKind(str, Enum):
    lp = "lp"
    mip = "mip"


class Format(str, Enum):
    csv = "csv"
    xlsx = "xlsx"
    parquet = "parquet"


def _plain(value: object) -> Text:
    """A value, id, name or path as literal text for rich: never read as console markup (an id
    `[/]` or `[bold]`), invisible characters escaped."""
    return Text(printable(value))


InstanceArg = Annotated[str, typer.Argument(help="Instance folder, .xlsx workbook, or the name of a bundled instance")]


def _say(text: str) -> None:
    err.print(_plain(text), highlight=False)


@contextmanager
def _interruptible(message: str = interrupt.MESSAGE):
    """Ctrl-C: say so (with the stage it stopped) and exit 130. (Typer would exit 130
    silently.)"""
    try:
        yield
    except KeyboardInterrupt:
        interrupt.say_once(_say, message)
        raise typer.Exit(interrupt.EXIT_INTERRUPTED) from None


class _StatusLine:
    """The live status line: what the run is doing (optimizer.solving.progress), redrawn by rich."""

    def __rich__(self) -> Text:
        return _plain(progress.describe())  # stage names carry ids: never read as markup


@contextmanager
def _working(quiet: bool = False):
    """Long work: Ctrl-C ends it (exit 130), and on a terminal a live status line shows the
    stage, HiGHS's method and figures, and the time (none in a pipe or with --quiet)."""
    from rich.live import Live

    with _interruptible():
        if quiet or not err.is_terminal:
            yield
            return
        # drawn on standard error as it was at start: Pyomo captures it while HiGHS runs
        status = Console(file=progress.STDERR, width=err.width)
        with Live(_StatusLine(), console=status, refresh_per_second=4, transient=True, redirect_stdout=False,
                  redirect_stderr=False):
            yield


def _bad_input(problems: list[Problem]) -> None:
    for problem in problems[:20]:
        err.print("error:", style="bold red", end=" ")
        err.print(_plain(str(problem)), highlight=False, soft_wrap=True)
    if len(problems) > 20:
        err.print(_plain(f"... and {len(problems) - 20} more problems"), highlight=False)
    raise typer.Exit(EXIT_BAD_INPUT)


def _warn(problems) -> None:
    for problem in problems:
        err.print(_plain(str(problem)), style="yellow", highlight=False, soft_wrap=True)




def _load(instance: str, overrides: dict | None = None):
    """The instance with dotted-key overrides; bad input exits 2 with every problem, warnings are
    printed."""
    with _interruptible(), progress.stage("loading the instance"):  # seconds for a large instance
        try:
            loaded = load_instance(instance, **(overrides or {}))
        except InvalidInstance as exc:
            _bad_input(exc.problems)
    _warn(loaded.warnings)
    return loaded


def _key_values(option: str, given: list[str]) -> dict[str, object]:
    """KEY=VALUE options (the value read as TOML: 0.6, true, "text"; bare text stays text)."""
    import tomllib

    pairs: dict[str, object] = {}
    texts: dict[str, str] = {}
    for text in given:
        key, sep, raw = text.partition("=")
        key = key.strip()
        if not sep or not key:
            _bad_input([Problem(option, f"expected KEY=VALUE, got {text!r}")])
        if key in texts:  # not the last one silently
            _bad_input([Problem(option, f"given twice ({texts[key]!r} and {text!r}); give it once", key=key)])
        texts[key] = text
        try:
            pairs[key] = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            pairs[key] = raw.strip()
    return pairs


SetOption = Annotated[Optional[list[str]], typer.Option(
    "--set", help="Override a scenario value, KEY=VALUE with a dotted key (e.g. priorities.women_min=0.3); repeatable")]


@app.command()
def explain(
    instance: InstanceArg,
    set_values: SetOption = None,
    weight: Annotated[Optional[list[str]], typer.Option(
        help="Price of a relative change to a kind of value, KIND=WEIGHT (default 1 each); repeatable")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Also write conflict and changes (CSV)")
                       ] = None,
    change_proportion: Annotated[bool, typer.Option(
        "--change-proportion", help="Let the change move the scenario's proportions too (the budgets follow; "
                                    "the priority shares are then held)")] = False,
) -> None:
    """Why a scenario is infeasible: the conflicting rules (HiGHS's irreducible infeasible
    subset) and the fewest, smallest changes to the values in the files (priority shares, base
    quotas, capacities, investment demands, locks, the coverage floor) that make it feasible. Exit 1 when infeasible (explained), 0 when feasible."""
    from optimizer.analysis.explain import PROPORTION, RELAXABLE
    from optimizer.analysis.explain import explain as explain_instance

    if out_dir is not None:
        check_out_dir(out_dir)  # a bad --out fails now, not after the explanation

    weights = _key_values("--weight", weight or [])
    kinds = (*RELAXABLE, PROPORTION) if change_proportion else RELAXABLE
    bad = [Problem("--weight", f"expected one of {', '.join(kinds)} with a number > 0"
                   + (" (proportion with --change-proportion)" if k == PROPORTION else ""), key=k, value=v)
           for k, v in weights.items() if k not in kinds or not isinstance(v, (int, float)) or v <= 0]
    if bad:
        _bad_input(bad)
    loaded = _load(instance, _key_values("--set", set_values or []))
    with _working(), progress.stage(f"explaining {loaded.scenario.name}"):
        why = explain_instance(loaded, weights={k: float(v) for k, v in weights.items()}, proportion=change_proportion)
    say = lambda text, **kw: out.print(_plain(text), highlight=False, **kw)  # noqa: E731
    say(why.message)
    if why.status != "infeasible":
        raise typer.Exit(EXIT_OK if why.status == "feasible" else 6)
    if why.headline:
        say(why.headline, style="bold")
    if why.conflict:
        say("conflicting rules (dropping any one of them removes this conflict):")
        for member in why.conflict:
            say(f"  - {member.text}")
        for bound in why.bounds:
            say(f"  - and: {bound}")
    if len(why.changes):
        proven = "" if why.count_proven else " (the fewest found in the time allowed)"
        say(f"values to change ({len(why.changes)} of the {why.values_considered} values explain may change"
            f"{proven}; old -> new):")
        for text in why.changes["text"]:
            say(f"  - {text}")
        say("applying them makes the scenario feasible (checked by solving it); nothing else changes"
            if why.checked else "warning: the scenario with these values was solved again and is still not feasible",
            style=None if why.checked else "yellow")
    if why.note:
        say(why.note)
    if out_dir is not None:
        tables = why.tables()
        _write_csv_folder(out_dir, tables)
        say(f"wrote {', '.join(tables)} (CSV) to {out_dir}")
    raise typer.Exit(EXIT_FAILED)


def _write_csv_folder(folder: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Tables as CSV files in a folder replaced as a whole (explain --out, compare --out)."""
    from optimizer.data.io import atomic_write

    with _interruptible(), result_folder(folder) as tmp:
        for name, table in tables.items():
            atomic_write(tmp / f"{name}.csv",
                         lambda path, t=table: t.to_csv(path, index=False, float_format="%.10g", lineterminator="\n"))


@app.command()
def validate(
    instance: InstanceArg,
    influence: Annotated[bool, typer.Option(
        "--influence", help="Also rank the illustrative figures by how much the objective moves when each family is off by "
             "--share either way (solves the plan, re-solves the --top families)")] = False,
    share: Annotated[float, typer.Option(help="The error tried with --influence, as a fraction")] = 0.1,
    top: Annotated[int, typer.Option(help="Families to re-solve and list with --influence")] = 10,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="With --influence: also write influence.csv here")] = None,
) -> None:
    """Check an instance and report every problem found (exit 2 if any)."""
    loaded = _load(instance)
    tables = ", ".join(f"{len(loaded.table(t))} {t}" for t in ("donors", "recipients", "pairs", "instruments", "effects"))
    out.print(_plain(f"valid: {loaded.path} ({tables}; years {', '.join(map(str, loaded.scenario.years))})"),
              highlight=False)
    rows, problems = read_provenance(loaded.path)  # provenance.csv: the status of every figure
    if problems:
        _bad_input(problems)
    out.print(_plain(counts_line(provenance_counts(rows))), highlight=False)
    if not influence:
        if out_dir is not None:
            _bad_input([Problem("--out", "writes influence.csv, so it needs --influence", value=str(out_dir))])
        return
    if not 0 < share < 1 or top < 1:
        _bad_input([Problem("--share/--top", "expected a share between 0 and 1 (0.1 for 10%) and --top at least 1",
                            value=f"{share:g}, {top}")])
    from optimizer.analysis.influence import influence as rank_influence

    with _interruptible(), progress.stage("ranking the figures"):
        try:
            ranked = rank_influence(loaded, share=share, top=top)
        except (RuntimeError, ValueError) as exc:
            err.print(_plain(f"error: {exc}"), style="bold red", highlight=False)
            raise typer.Exit(EXIT_FAILED) from None
    for line in ranked.lines(top):
        out.print(_plain(line), highlight=False, soft_wrap=True)
    out.print(_plain(f"     took {ranked.seconds:,.1f} s"), highlight=False)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(out_dir / "influence.csv", lambda path: ranked.csv_table().to_csv(
            path, index=False, float_format="%.10g", lineterminator="\n"))
        out.print(_plain(f"wrote {out_dir / 'influence.csv'}"), highlight=False)


@app.command()
def solve(
    instance: InstanceArg,
    objective: Annotated[Optional[Objective], typer.Option(help="Override the scenario's objective")] = None,
    proportion_provincial: Annotated[Optional[float], typer.Option(help="Fraction of provincial revenue")] = None,
    proportion_prefectural: Annotated[Optional[float], typer.Option(help="Fraction of prefectural revenue")] = None,
    proportion_county: Annotated[Optional[float], typer.Option(help="Fraction of county revenue")] = None,
    scope: Annotated[Optional[Scope], typer.Option(help="Priority shares per donor or national")] = None,
    time_limit: Annotated[Optional[float], typer.Option(help="Solver time limit in seconds")] = None,
    threads: Annotated[Optional[int], typer.Option(help="HiGHS threads")] = None,
    method: Annotated[Optional[Method], typer.Option(help="HiGHS LP method (ipm is faster on large plans)")] = None,
    mip_gap: Annotated[Optional[float], typer.Option(help="Relative MIP gap at which HiGHS stops")] = None,
    model: Annotated[Optional[ModelKind], typer.Option(
        help="lp: whole decisions continuous; mip: whole decisions whole",
        show_default="mip when the data has funds, projects or cadres")
    ] = None,
    relax: Annotated[bool, typer.Option(
        help="Write the LP relaxation's plan and report its gap to the MIP (solves both)")] = False,
    ranging: Annotated[bool, typer.Option(
        help="Also write ranging: for each budget, quota, share, capacity and effect, the interval in which the "
             "plan's basis stays optimal")] = False,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Result folder", show_default="results/<instance>")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Table format")] = Format.csv,
    set_values: SetOption = None,
    show: Annotated[int, typer.Option(help="Recipients to list in the summary (0 = none)")] = 15,
    quiet: Annotated[bool, typer.Option(help="No live status line while solving")] = False,
) -> None:
    """Solve an instance and write the plan (allocation, kpis, duals, binding, decisions, run.json).
    Ctrl-C in branch and bound writes the best plan found (status stopped, exit 130)."""
    _LEAVE_QUICKLY[0] = True  # once the plan is written, nothing is left to tear down (see main)
    options = {
        key: value
        for key, value in {
            "objective": objective.value if objective else None,
            "proportion.provincial": proportion_provincial,
            "proportion.prefectural": proportion_prefectural,
            "proportion.county": proportion_county,
            "priorities.scope": scope.value if scope else None,
            "solver.time_limit": time_limit,
            "solver.threads": threads,
            "solver.method": method.value if method else None,
            "solver.mip_rel_gap": mip_gap,
            "scenario.model": model.value if model else None,
        }.items()
        if value is not None
    }
    overrides = {**_key_values("--set", set_values or []), **options}  # a named option wins over --set
    loaded = _load(instance, overrides)
    target = out_dir or Path("results") / resolve_instance_path(instance).stem
    check_out_dir(target)  # a bad --out fails now, not after the solve
    with _working(quiet):
        # with a StopRequest, Ctrl-C in branch and bound keeps the best plan (status stopped)
        result = solve_instance(loaded, relax=relax, ranging=ranging, stop=interrupt.StopRequest())
        with progress.stage("writing the stopped plan" if result.status == "stopped" else "writing the plan"):
            written = result.write(target, fmt.value)
    _print_summary(result, show)
    known = {str(w) for w in loaded.warnings}
    _warn([w for w in result.warnings if w not in known])  # the solve's own (ranging, the steady stage)
    if result.ranging is not None and len(result.ranging):
        _print_budget_ranging(result.ranging)
    out.print(_plain(f"wrote {', '.join(p.name for p in written)} to {target}"), highlight=False)
    if result.status == "stopped":  # the one line of an interrupted run, and main() prints no other
        interrupt.say_once(lambda text: err.print(_plain(text), style="bold yellow", highlight=False, soft_wrap=True),
                           f"{result.message}; the plan is written", stage=False)
    elif not result.ok:
        err.print(_plain(f"{result.status}: {result.message}"), style="bold red", highlight=False)
    if not result.ok:
        raise typer.Exit(exit_code(result))


def _print_budget_ranging(ranging: pd.DataFrame) -> None:
    budgets = ranging[ranging["family"] == "budget"]
    table = Table(title="Budgets: the plan's basis stays optimal between lower and upper (million yuan); "
                        "slope = objective gained per extra million of budget, its priority shares following "
                        "(duals.csv budget_worth)")
    for column in ("donor", "year", "value", "lower", "upper", "slope"):
        table.add_column(column, justify="left" if column == "donor" else "right")
    for row in budgets.itertuples(index=False):
        table.add_row(_plain(row.donor), str(row.year), *(_million(v) for v in (row.value, row.lower, row.upper)),
                      numbers.per_million(row.slope))
    out.print(table)
    out.print(_plain(f"ranging of {len(ranging)} figures (quotas, shares, capacities, effects too) in the "
                     "ranging table"), highlight=False)


@app.command()
def sweep(
    study_file: Annotated[Path, typer.Argument(metavar="STUDY.toml", help="The study: design and parameters")],
    instance: InstanceArg,
    out_dir: Annotated[Path, typer.Option("--out", help="Study folder (Parquet per scenario)")] = Path("sweep"),
    workers: Annotated[Optional[int], typer.Option(help="Local worker processes", show_default="all cores")] = None,
    scheduler: Annotated[Optional[str], typer.Option(help="Dask scheduler address, e.g. tcp://127.0.0.1:8786")] = None,
    resume: Annotated[bool, typer.Option(help="Continue a study in --out, skipping finished scenarios")] = False,
) -> None:
    """Run a sensitivity study: every scenario re-solves one built model; results in --out."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from optimizer.studies.study import STRUCTURAL, load_study
    from optimizer.studies.sweep import sweep as run_sweep

    try:
        loaded = load_instance(instance)
        study = load_study(study_file)
    except InvalidInstance as exc:
        _bad_input(exc.problems)
    _warn(loaded.warnings)
    failed = 0
    bar = Progress(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                        TextColumn("failed {task.fields[failed]}"), TextColumn("{task.fields[rate]}/s"),
                        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=err)
    task = bar.add_task(printable(study.name), total=None, failed=0, rate="-")
    started = time.perf_counter()
    solved = 0

    def on_start(total: int, done: int) -> None:
        bar.update(task, total=total, completed=done)
        if done:
            err.print(_plain(f"resuming: {done} of {total} scenarios already done"))

    def on_result(record: dict) -> None:
        nonlocal failed, solved
        solved += 1
        failed += record.get("status") != "optimal"
        rate = solved / max(time.perf_counter() - started, 1e-9)
        bar.update(task, advance=1, failed=failed, rate=f"{rate:.1f}")

    try:
        with _interruptible("interrupted; every finished scenario is written (--resume continues)"), bar:
            results = run_sweep(loaded, study, out=out_dir, workers=workers, scheduler=scheduler, resume=resume,
                                on_result=on_result, on_start=on_start)
    except InvalidInstance as exc:
        _bad_input(exc.problems)
    counts = results["status"].value_counts().to_dict()
    out.print(_plain(f"{len(results)} scenarios in {out_dir}: "
                     + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))),
              highlight=False)
    structural = [p.path for p in study.parameter if p.path in STRUCTURAL]
    if structural:
        out.print(_plain(f"note: {', '.join(structural)} change the model's structure: each worker built one model "
                         f"per level ({int(results['built_model'].sum())} builds in all) and re-solved it for the rest"))


@app.command()
def robust(
    instance: InstanceArg,
    uncertainty_file: Annotated[Path, typer.Argument(metavar="UNCERTAINTY.toml",
                                                     help="The uncertain estimates: explicit scenarios or sampled ranges")],
    risk: Annotated[str, typer.Option(help="What the plan maximises over the scenarios' people lifted: expected, "
                                           "cvar:ALPHA (the mean of the worst ALPHA share) or worst")] = "expected",
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Result folder",
                                                    show_default="results/<instance>-robust")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Table format")] = Format.csv,
    worth: Annotated[bool, typer.Option(help="Also solve the point-estimate plan and every scenario's own optimum "
                                             "(VSS, EVPI)")] = True,
    workers: Annotated[int, typer.Option(help="Processes for the scenarios' own optima")] = 1,
    set_values: SetOption = None,
    show: Annotated[int, typer.Option(help="Scenarios to list (0 = none)")] = 15,
    quiet: Annotated[bool, typer.Option(help="No live status line while solving")] = False,
) -> None:
    """One plan for every scenario of UNCERTAINTY.toml: writes solve's tables, scenarios (people
    lifted in each scenario by the robust plan, the point-estimate plan and the scenario's own
    optimum) and run.json with the value of the stochastic solution and of perfect information."""
    from optimizer.studies.robust import robust as robust_plan
    from optimizer.studies.uncertainty import load_uncertainty, parse_risk

    try:
        parse_risk(risk)
    except ValueError as exc:
        _bad_input([Problem("--risk", str(exc), value=risk)])
    loaded = _load(instance, _key_values("--set", set_values or []))
    try:
        uncertainty = load_uncertainty(uncertainty_file)
    except InvalidInstance as exc:
        _bad_input(exc.problems)
    target = out_dir or Path("results") / f"{resolve_instance_path(instance).stem}-robust"
    check_out_dir(target)
    try:
        with _working(quiet):
            result = robust_plan(loaded, uncertainty, risk=risk, worth=worth, workers=workers,
                                 where=str(uncertainty_file))
            with progress.stage("writing the plan"):
                written = result.write(target, fmt.value)
    except InvalidInstance as exc:
        _bad_input(exc.problems)
    _print_summary(result, 0)
    if result.scenarios is not None and show > 0:
        _print_scenarios(result.scenarios, show)
    known = {str(w) for w in loaded.warnings}
    _warn([w for w in result.warnings if w not in known])
    out.print(_plain(f"wrote {', '.join(p.name for p in written)} to {target}"), highlight=False)
    if not result.ok:
        err.print(_plain(f"{result.status}: {result.message}"), style="bold red", highlight=False)
        raise typer.Exit(exit_code(result))


@app.command()
def hedge(
    instance: InstanceArg,
    uncertainty_file: Annotated[Path, typer.Argument(metavar="UNCERTAINTY.toml",
                                                     help="The uncertain estimates: explicit scenarios or sampled ranges")],
    ranks: Annotated[int, typer.Option(help="MPI processes (even: half hedge, half compute the bound)")] = 2,
    gap: Annotated[float, typer.Option(help="Stop when the plan is certified within this relative gap of the "
                                            "best expected people lifted")] = 0.002,
    iterations: Annotated[int, typer.Option(help="Progressive hedging's iteration limit")] = 200,
    rho: Annotated[float, typer.Option(help="Proximal weight, people per million yuan squared")] = 0.5,
    hosts: Annotated[str, typer.Option(help="MPI hosts for the ranks, comma-separated (HOST or HOST:SLOTS)")] = "127.0.0.1",
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Result folder",
                                                    show_default="results/<instance>-hedge")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Table format")] = Format.csv,
    set_values: SetOption = None,
    show: Annotated[int, typer.Option(help="Scenarios to list (0 = none)")] = 15,
) -> None:
    """The expected-value plan for every scenario of UNCERTAINTY.toml by progressive hedging
    (mpi-sppy over MPI), for scenario sets too large for `robust`'s extensive form; LPs only
    (--set scenario.model=lp). Writes robust's tables (no duals or binding rows) and run.json with
    both bounds and the gap."""
    from optimizer.studies.hedging import hedge as hedge_plan

    loaded = _load(instance, _key_values("--set", set_values or []))
    target = out_dir or Path("results") / f"{resolve_instance_path(instance).stem}-hedge"
    check_out_dir(target)
    stage = f"progressive hedging on {ranks} MPI ranks"
    try:
        with _working(False), progress.stage(stage):
            result = hedge_plan(loaded, uncertainty_file, ranks=ranks, rho=rho, iterations=iterations, gap=gap,
                                hosts=hosts, on_iteration=_HedgingLines(stage))
    except InvalidInstance as exc:
        _bad_input(exc.problems)
    if result.status == "failed":
        err.print(_plain(f"failed: {result.message}"), style="bold red", highlight=False)
        raise typer.Exit(EXIT_INTERNAL)
    with progress.stage("writing the plan"):
        written = result.result.write(target, fmt.value)
    _print_summary(result.result, 0)
    table = Table(title="progressive hedging", show_header=False)
    table.add_row("expected people lifted by the plan", numbers.people(result.expected))
    table.add_row("no plan lifts more than", numbers.people(result.bound))
    table.add_row("gap (at most this far from the best)", numbers.share(result.gap, 3))
    table.add_row("iterations", numbers.count(result.iterations))
    table.add_row("seconds", numbers.plain(result.timings.get("hedging", float("nan")), 3))
    out.print(table)
    if show > 0:
        _print_scenarios(result.result.scenarios, show)
    out.print(_plain(f"wrote {', '.join(p.name for p in written)} to {target}"), highlight=False)
    if not result.result.ok:
        err.print(_plain(f"{result.status}: {result.message}"), style="bold red", highlight=False)
        raise typer.Exit(exit_code(result.result))


class _HedgingLines:
    """Each iteration of progressive hedging in the status line; where there is none (a pipe, a
    log), a line at most every HEDGING_LINE_EVERY seconds (with EWPPT_PROGRESS=lines, every
    iteration's is a progress line already)."""

    def __init__(self, stage: str):
        self.stage, self.last = stage, time.monotonic()

    def __call__(self, line) -> None:
        text = f"{self.stage}: {line.describe()}"
        progress.restage(text)
        if not err.is_terminal and not progress.LINES and time.monotonic() - self.last >= HEDGING_LINE_EVERY:
            self.last = time.monotonic()
            err.print(_plain(f"{text} ({numbers.plain(line.seconds / 60, 2)} min)"), highlight=False, soft_wrap=True)


HEDGING_LINE_EVERY = 60.0


def _print_scenarios(scenarios: pd.DataFrame, show: int) -> None:
    columns = [(c, label) for c, label in (("robust_plan", "robust plan"), ("point_estimate_plan", "point-estimate plan"),
                                          ("own_optimum", "own optimum")) if c in scenarios]
    table = Table(title=f"people lifted in each scenario (the first {min(show, len(scenarios))} of {len(scenarios)})")
    table.add_column("scenario", justify="right")
    table.add_column("probability", justify="right")
    for _, label in columns:
        table.add_column(label, justify="right")
    for row in scenarios.head(show).to_dict("records"):
        table.add_row(str(row["scenario_id"]), numbers.share(row["probability"]),
                      *(numbers.people(row[c]) for c, _ in columns))
    out.print(table)


class Space(str, Enum):
    recipients = "recipients"
    categories = "categories"


@app.command()
def alternatives(
    instance: InstanceArg,
    slack: Annotated[float, typer.Option(help="Fraction of the optimum an alternative may give up, in (0, 1)")] = 0.02,
    count: Annotated[int, typer.Option(help="Alternatives to look for (at least 1)")] = 3,
    space: Annotated[Space, typer.Option(help="Make plans differ in recipient totals or category totals")
                     ] = Space.recipients,
    seed: Annotated[int, typer.Option(help="Seed of the search's first directions (same seed, same plans)")] = 0,
    objective: Annotated[Optional[Objective], typer.Option(help="Override the scenario's objective")] = None,
    out_dir: Annotated[Optional[Path], typer.Option(
        "--out", help="Folder for optimum/, alt-1/, ... and alternatives.csv",
        show_default="results/<instance>-alternatives")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Table format of each plan")] = Format.csv,
) -> None:
    """Near-optimal alternatives: plans within --slack of the optimum, as different from it and
    from each other as possible (L1 distance of recipient or category totals)."""
    from optimizer.data.numbers import money, people, share
    from optimizer.analysis.alternatives import alternatives as find_alternatives

    problems = []
    if not 0 < slack < 1:
        problems.append(Problem("--slack", "expected a fraction of the optimum strictly between 0 and 1 "
                                "(0.02 allows plans 2% below it)", value=slack))
    if count < 1:
        problems.append(Problem("--count", "expected at least 1 alternative", value=count))
    if problems:
        _bad_input(problems)
    loaded = _load(instance, {"objective": objective.value} if objective else {})
    target = out_dir or Path("results") / f"{resolve_instance_path(instance).stem}-alternatives"
    check_out_dir(target)
    with _working(), progress.stage(f"solving {loaded.scenario.name} and up to {count} alternatives"):
        found = find_alternatives(loaded, slack=slack, count=count, space=space.value, seed=seed)
        found.write(target, fmt.value)
    if not found.optimum.ok:
        out.print(_plain(f"wrote optimum to {target}"), highlight=False)
        err.print(_plain(f"{found.optimum.status}: {found.optimum.message}"), style="bold red", highlight=False)
        raise typer.Exit(exit_code(found.optimum))
    table = Table(title=_plain(f"{loaded.scenario.name}: alternatives within {share(slack, 2)} of the optimum "
                               f"(distances: sum of the differences in recipient totals, million yuan; in category "
                               f"shares, percentage points)"))
    objective_style = {"equity": lambda v: share(v, 4), "leveraged_investment": money}.get(loaded.scenario.objective,
                                                                                          people)
    styles = {"objective": objective_style, "objective_vs_optimum": lambda v: share(v, 2), "people_lifted": people,
              "total_aid": money, "distance_to_optimum": money, "share_distance_to_optimum": share,
              "min_distance_to_others": money, "min_share_distance_to_others": share}
    shown = [c for c in found.table.columns if c in styles or c in ("alternative", "status")]
    titles = {"objective_vs_optimum": "objective vs optimum", "total_aid": "total aid (million yuan)"}
    for column in shown:
        table.add_column(titles.get(column, column.replace("_", " ")),
                         justify="left" if column in ("alternative", "status") else "right")
    for row in found.table[shown].itertuples(index=False):
        table.add_row(*(_plain(styles[c](v) if c in styles else str(v)) for c, v in zip(shown, row)))
    out.print(table)
    out.print(_plain(f"{found.message}; wrote {', '.join(found.plans)} and alternatives.csv to {target}"),
              highlight=False)
    failed = found.failed
    if failed is not None:
        err.print(_plain(f"{failed.status}: {failed.message}"), style="bold red", highlight=False)
        raise typer.Exit(exit_code(failed))


@app.command()
def frontier(
    instance: InstanceArg,
    points: Annotated[int, typer.Option(help="Plans on the frontier, both end points included (at least 2)")] = 5,
    set_values: SetOption = None,
    out_dir: Annotated[Optional[Path], typer.Option(
        "--out", help="Folder for frontier.csv, frontier.png and point-1/, point-2/, ...",
        show_default="results/<instance>-frontier")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Table format of each plan")] = Format.csv,
) -> None:
    """The efficiency-equity frontier: people lifted against the least coverage (people lifted /
    poor population of the worst-covered recipient), from the most people lifted to the equity
    optimum by epsilon-constraint; each point a full plan."""
    from optimizer.analysis.frontier import frontier as find_frontier
    from optimizer.data.numbers import people, share

    if points < 2:
        _bad_input([Problem("--points", "expected at least 2 plans (the two end points: the most people lifted "
                            "and the highest least coverage)", value=points)])
    loaded = _load(instance, _key_values("--set", set_values or []))
    target = out_dir or Path("results") / f"{resolve_instance_path(instance).stem}-frontier"
    check_out_dir(target)
    with _working(), progress.stage(f"solving {points} plans of {loaded.scenario.name}'s frontier"):
        found = find_frontier(loaded, points=points)
        written = found.write(target, fmt.value)
    line = loaded.scenario.scenario.poverty_line
    table = Table(title=_plain(f"{loaded.scenario.name}: efficiency-equity frontier (least coverage = people lifted "
                               "/ poor population of the worst-covered recipient" + (f", poor at {line}" if line else "")
                               + "; cost of equity = people lifted given up)"))
    shown = {"point": "point", "role": "role", "coverage_floor": "coverage floor", "min_coverage": "least coverage",
             "people_lifted": "people lifted", "cost_of_equity": "cost of equity", "cost_of_equity_share": "cost %",
             "people_per_coverage_point": "people per coverage point", "mip_gap": "MIP gap", "status": "status",
             "dominated": "dominated", "plan_of": "plan of"}
    if found.model_kind != "mip":
        shown = {k: v for k, v in shown.items() if k not in ("mip_gap", "plan_of")}
    for column, title in shown.items():
        table.add_column(title, justify="left" if column in ("role", "status") else "right")
    for row in found.table.to_dict("records"):
        cells = []
        for column in shown:
            value = row[column]
            if isinstance(value, float) and pd.isna(value):
                cells.append("-")
            elif column in ("coverage_floor", "min_coverage", "cost_of_equity_share", "mip_gap"):
                cells.append(share(value, 4))
            elif column == "cost_of_equity" and 0 < abs(value) < 1:
                cells.append(numbers.plain(value, 2))  # not "0" beside a non-zero cost %
            elif column in ("people_lifted", "cost_of_equity", "people_per_coverage_point"):
                cells.append(people(value))
            else:
                cells.append("yes" if value is True else "" if value is False else str(value))
        table.add_row(*map(_plain, cells))
    out.print(table)
    out.print(_plain(f"{found.message}; wrote {', '.join(p.name for p in written)} to {target}"),
              highlight=False, soft_wrap=True)
    failed = found.failed
    if failed is not None:
        err.print(_plain(f"{failed.status}: {failed.message}"), style="bold red", highlight=False, soft_wrap=True)
        if failed.status == "infeasible":
            sets = "".join(f" --set {value}" for value in set_values or [])
            err.print(_plain(f"to see which rules conflict: ewppt explain {instance}{sets}"), highlight=False,
                      soft_wrap=True)
        raise typer.Exit(exit_code(failed))


@app.command()
def compare(
    a: Annotated[Path, typer.Argument(metavar="A", help="A result folder written by `ewppt solve`")],
    b: Annotated[Path, typer.Argument(metavar="B", help="Another result folder")],
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Also write the comparison tables (CSV) here")] = None,
) -> None:
    """Two plans side by side: aid by donor, recipient and category, KPI deltas, rows that
    became binding or slack."""
    from optimizer.analysis.compare import (TOLERANCE, compare_results, is_same_plan, largest_binding_changes,
                                            objective_warning)
    from optimizer.data.numbers import money, people
    from optimizer.data.scaling import PEOPLE_FAMILIES

    for folder in (a, b):
        if not (folder / "run.json").is_file():
            _bad_input([Problem(str(folder), "not a result folder: expected run.json and the tables `ewppt solve` writes")])
    if out_dir is not None:
        check_out_dir(out_dir)
    tables = compare_results(a, b)
    say = lambda text, **kw: out.print(_plain(text), highlight=False, **kw)  # noqa: E731
    for run in tables["runs"].itertuples(index=False):
        say(f"{run.side} = {run.folder} ({run.objective_name or 'no objective'})")
    warning = objective_warning(tables)
    if warning:
        err.print(_plain(f"warning: {warning}"), style="yellow", highlight=False, soft_wrap=True)
    names = tables["runs"].set_index("side")["objective_name"]
    for name, title in (("kpis", "summary"), ("by_donor", "aid by donor, million yuan"),
                        ("by_category", "aid by category, million yuan")):
        table = Table(title=f"{title} (delta = B - A; differences below {TOLERANCE:g} relative shown as 0)")
        for column in tables[name].columns:
            table.add_column(column, justify="left" if column in ("kpi", "donor", "category") else "right")
        for row in tables[name].itertuples(index=False):
            if name == "kpis":
                fmt = _kpi_format(row.kpi, names)
                cells = [row.kpi, *(_kpi_format(row.kpi, names[[side]])(v) for side, v in (("A", row.a), ("B", row.b))),
                         fmt(row.delta)]
            else:
                cells = [v if isinstance(v, str) else money(v) for v in row]
            table.add_row(*map(_plain, cells))
        out.print(table)
    moved = tables["by_recipient"].reindex(tables["by_recipient"]["delta"].abs().sort_values(ascending=False).index)
    most = ", ".join(f"{r.recipient} {'+' if r.delta > 0 else ''}{money(r.delta)}" for r in moved.head(5).itertuples()
                     if r.delta != 0)
    say(f"recipients whose aid moved most (million yuan): {most or 'none'}")
    if len(tables["binding"]):
        counts = ", ".join(f"{r.family}{'' if r.rule == '-' else ' ' + r.rule} +{r.became_binding}/-{r.became_slack}"
                           for r in tables["binding_summary"].itertuples(index=False))
        n = len(tables["binding"])
        say(f"{n} row{'' if n == 1 else 's'} changed binding state (per rule: became binding / became slack): {counts}")
        say(f"the {min(10, len(tables['binding']))} whose slack moved most (slack A -> B; million yuan, people for "
            "coverage and poor-population rows, funds for admin capacity):")
        for r in largest_binding_changes(tables["binding"]).itertuples(index=False):
            where = " ".join(str(v) for v in (r.rule, r.donor, r.recipient, r.instrument, r.year) if v not in ("", None))
            unit = people if r.family in PEOPLE_FAMILIES or r.family == "admin_capacity_limit" else money
            say(f"  - {r.family} {where}: {r.change} ({unit(r.slack_a)} -> {unit(r.slack_b)})")
        if out_dir is None:
            say("(--out DIR writes every row to binding.csv)")
    if is_same_plan(tables):
        out.print(_plain("no change: the two plans are the same"))
    if out_dir is not None:
        _write_csv_folder(out_dir, tables)
        out.print(_plain(f"wrote {', '.join(tables)} (CSV) to {out_dir}"), highlight=False)


def _kpi_format(kpi: str, objective_names: pd.Series):
    """The number style of a summary figure: people, million yuan, a percentage or a count."""
    from optimizer.data.numbers import money, people, share

    if kpi in ("objective", "best_bound"):
        names = set(objective_names)
        kind = names.pop() if len(names) == 1 else None
        return {"equity": share, "leveraged_investment": money}.get(kind, people if kind else (lambda v: "-" if v is None or v != v else f"{v:,.6g}"))
    if kpi.endswith("_million"):
        return money
    if kpi in ("min_coverage", "aid_off_profile", "lines_with_an_empty_year", "mip_gap") or "coverage" in kpi:
        return lambda v: share(v, 2)
    return people  # people lifted and counts: whole numbers with separators


@app.command()
def report(
    result_dir: Annotated[Path, typer.Argument(metavar="RESULT_DIR", help="A result folder written by `ewppt solve`")],
    out_file: Annotated[Optional[Path], typer.Option("--out", help="HTML file", show_default="RESULT_DIR/report.html")] = None,
) -> None:
    """A self-contained HTML report of a plan (flows, shares against the priority bounds, people
    lifted, duals, provenance), with its figures also written as PNG beside it."""
    from optimizer.reports.report import write_report

    try:
        written = write_report(result_dir, out_file)
    except InvalidInstance as exc:
        _bad_input(exc.problems)
    out.print(_plain(f"wrote {written[0]}" + (f" and {len(written) - 1} figures (PNG) in {written[1].parent}"
                                              if len(written) > 1 else " (no plan, so no figures)")),
              highlight=False)


@app.command()
def target(
    instance: InstanceArg,
    people: Annotated[Optional[float], typer.Option(help="Least people lifted by the plan (N >= 0)")] = None,
    coverage: Annotated[Optional[float], typer.Option(
        help="Least share of its poor population lifted in every recipient, in (0, 1]")] = None,
    set_values: SetOption = None,
    out_dir: Annotated[Optional[Path], typer.Option(
        "--out", help="Result folder for the plan", show_default="results/<instance>-target")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Table format")] = Format.csv,
) -> None:
    """The smallest extraction proportion (the scenario's three proportions scaled by one
    factor) at which the plan lifts --people N, or --coverage F of the poor in every recipient:
    one LP with the factor as a variable. Writes the plan at that proportion."""
    import math
    from types import SimpleNamespace

    from optimizer.analysis.target import PASTE_DIGITS
    from optimizer.analysis.target import target as find_target

    problems = []
    if (people is None) == (coverage is None):
        problems.append(Problem("--people/--coverage", "give exactly one target: --people N or --coverage F"))
    if people is not None and not (math.isfinite(people) and people >= 0):
        problems.append(Problem("--people", "expected a number of people >= 0", value=people))
    if coverage is not None and not (0 < coverage <= 1):
        problems.append(Problem("--coverage", "expected a fraction of the poor population in (0, 1] (0.3 lifts "
                                "30% in every recipient)", value=coverage))
    if problems:
        _bad_input(problems)
    overrides = _key_values("--set", set_values or [])
    loaded = _load(instance, overrides)
    if max(loaded.scenario.proportion.model_dump().values()) <= 0:
        _bad_input([Problem("scenario.toml", "every proportion is 0: there is nothing to scale; set one above 0",
                            key="proportion")])
    folder = out_dir or Path("results") / f"{resolve_instance_path(instance).stem}-target"
    check_out_dir(folder)
    with _working(), progress.stage(f"finding the least proportion for {loaded.scenario.name}"):
        found = find_target(loaded, people=people, coverage=coverage)
        written = found.write(folder, fmt.value)
    say = lambda text, **kw: out.print(_plain(text), highlight=False, soft_wrap=True, **kw)  # noqa: E731
    if found.factor is None:
        err.print(_plain(f"{found.status}: {found.message}"), style="bold red", highlight=False, soft_wrap=True)
        if found.explain_args:
            err.print(_plain(f"to see which rules conflict: ewppt explain {instance} {' '.join(found.explain_args)}"),
                      highlight=False, soft_wrap=True)
        raise typer.Exit(exit_code(SimpleNamespace(status=found.status, has_plan=False)))
    say(found.message)
    say(f"factor         {found.factor:.9g} of the scenario's proportions (at most {found.max_factor:.6g}, "
        "where the largest proportion reaches 1)")
    paste = found.paste_proportions()
    say("proportions    " + ", ".join(f"{level} {value:.{PASTE_DIGITS}g}" for level, value in paste.items()))
    if found.result is not None and found.result.has_plan:
        summary = found.result.summary
        least = "-" if summary["min_coverage"] is None else f"{summary['min_coverage']:.6g}"
        line = found.result.scenario["scenario"].get("poverty_line")
        least += f" (poor at {line})" if line and summary["min_coverage"] is not None else ""
        say(f"people lifted  {summary['people_lifted']:,.6g}; least coverage {least}; "
            f"aid {summary['total_aid_million']:,.6g} million yuan")
    if written:
        say(f"wrote {', '.join(p.name for p in written)} to {folder}")
    say(f"same plan:     ewppt solve {instance} {' '.join(found.solve_options(overrides))}")
    if not found.ok:
        err.print(_plain(f"{found.status}: {found.message}"), style="bold red", highlight=False, soft_wrap=True)
        raise typer.Exit(exit_code(SimpleNamespace(status=found.status, has_plan=found.result is not None
                                                   and found.result.has_plan)))


@app.command("sweep-report")
def sweep_report(
    study_dir: Annotated[Path, typer.Argument(metavar="DIR", help="A study folder written by `ewppt sweep`")],
) -> None:
    """Summary table, Sobol indices, tornado chart and response curves (PNG) of a study."""
    from optimizer.studies.sweep_report import write_sweep_report

    try:
        written = write_sweep_report(study_dir)
    except InvalidInstance as exc:
        _bad_input(exc.problems)
    for path in written:
        out.print(_plain(f"wrote {path}"), highlight=False)


@app.command()
def generate(
    out_dir: Annotated[Path, typer.Argument(metavar="OUT", help="Folder for the synthetic instance")],
    recipients: Annotated[int, typer.Option(min=1, help="Recipient counties")] = 30,
    donors: Annotated[int, typer.Option(min=1, help="Eastern donors")] = 10,
    instruments: Annotated[int, typer.Option(min=1, help="Instruments")] = 10,
    years: Annotated[int, typer.Option(min=1, help="Plan years")] = 5,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files)")] = 0,
    force: Annotated[bool, typer.Option(help="Replace OUT even if it is a folder that is not empty")] = False,
) -> None:
    """Write a synthetic instance of any size (recipients named like counties). OUT is replaced
    as a whole; a folder that is not empty is refused (exit 2) unless --force."""
    from optimizer.data.generate import generate_instance

    folder = Path(os.path.abspath(out_dir))
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise UnusableOutput(f"{out_dir} is not empty; ewppt generate replaces the folder as a whole, so give "
                             "--force to replace it, or choose a new or empty folder")
    with _interruptible(), result_folder(out_dir, force=force, mark=False) as tmp:
        generate_instance(tmp, recipients=recipients, donors=donors, instruments=instruments, years=years, seed=seed)
    out.print(_plain(f"wrote {out_dir}"), highlight=False)


@app.command()
def serve(
    instance: Annotated[str, typer.Argument(help="Instance folder, .xlsx workbook, or the name of a bundled instance")]
    = "ewppt-2010",
    port: Annotated[int, typer.Option(help="Port to listen on (0: a free one)")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on; anything but 127.0.0.1 serves other machines too")]
    = "127.0.0.1",
    idle_minutes: Annotated[float, typer.Option(help="Free a tab's model after this many idle minutes")] = 30.0,
    max_upload_mb: Annotated[float, typer.Option(help="Largest upload accepted (MB)")] = 20.0,
) -> None:
    """The planner's workbench: a local web page that solves PATH and re-solves it as you move its knobs."""
    from optimizer.web.server import CannotListen
    from optimizer.web.server import serve as run_server

    loaded = _load(instance)
    try:
        run_server(loaded, host=host, port=port, say=lambda text: out.print(_plain(text), highlight=False),
                   idle_seconds=idle_minutes * 60, max_upload=int(max_upload_mb * 1024 * 1024))
    except CannotListen as exc:
        err.print(_plain(f"error: {exc}"), style="bold red", highlight=False)
        raise typer.Exit(EXIT_FAILED) from None


@app.command()
def workbook(
    paths: Annotated[list[str], typer.Argument(
        metavar="[SOURCE] OUT.xlsx", show_default=False,
        help="The instance (folder, .xlsx workbook or bundled name) and the workbook to write; with --blank, "
             "OUT.xlsx alone")],
    blank: Annotated[bool, typer.Option(help="A blank workbook with the ids given, every other cell to fill in")
                     ] = False,
    donors: Annotated[Optional[str], typer.Option(help="Donor ids for --blank, comma-separated (a,b)")] = None,
    recipients: Annotated[Optional[str], typer.Option(help="Recipient ids for --blank, comma-separated (x,y,z)")
                          ] = None,
    years: Annotated[Optional[str], typer.Option(
        help="Plan years for --blank: FIRST-LAST or comma-separated", show_default="the next five years")] = None,
    force: Annotated[bool, typer.Option(help="Replace OUT.xlsx if it exists")] = False,
) -> None:
    """Write an instance as the workbook a planner edits in Excel or LibreOffice: a README sheet
    (every sheet and column: meaning, unit, allowed values), the scenario, one sheet per table
    and the provenance, with data validation. `ewppt solve OUT.xlsx` solves it.

    Examples: `ewppt workbook ewppt-2010 plan.xlsx`; `ewppt workbook --blank --donors a,b
    --recipients x,y,z --years 2026-2030 new.xlsx`."""
    from optimizer.data.workbook import check_workbook_path, parse_ids, parse_years, write_blank_workbook, write_workbook

    if len(paths) != (1 if blank else 2):
        _bad_input([Problem("ewppt workbook", "with --blank give OUT.xlsx alone" if blank
                            else "expected SOURCE and OUT.xlsx (or --blank with OUT.xlsx)", value=" ".join(paths))])
    if not blank and (donors or recipients or years):
        _bad_input([Problem("ewppt workbook", "--donors, --recipients and --years go with --blank")])
    target = paths[-1]
    try:
        check_workbook_path(target, force)
        with _interruptible():
            if blank:
                write_blank_workbook(target, parse_ids("--donors", donors), parse_ids("--recipients", recipients),
                                     parse_years(years))
            else:
                write_workbook(_load(paths[0]), target)
    except InvalidInstance as exc:
        _bad_input(exc.problems)
    except UnusableOutput as exc:
        err.print(_plain(f"error: {exc}"), highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except OSError as exc:  # a full disk: the temporary file is gone, an earlier OUT.xlsx as it was
        err.print(_plain(f"error: {target} could not be written ({exc.strerror or exc})"), highlight=False)
        raise typer.Exit(EXIT_WRITE_FAILED) from None
    out.print(_plain(f"wrote {target}"), highlight=False)


@app.command("instances")
def list_instances() -> None:
    """List the bundled instances, one line each."""
    for name in bundled_instances():
        path = resolve_instance_path(name)
        first = _first_line(path / "README.md") or _first_line(path / "SOURCES.md")
        first = first.removeprefix(f"{name}:").strip()
        out.print(_plain(f"{name:<22} {first}"), highlight=False)


def _first_line(path: Path) -> str:
    if not path.is_file():
        return ""
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip().lstrip("#").strip()
        if text:
            return text
    return ""


def _million(value) -> str:
    """Million yuan with two decimals; an unbounded end of a range reads as words."""
    return numbers.money(value) if pd.isna(value) or abs(float(value)) != float("inf") else numbers.plain(value)


def summary_label(key: str) -> str:
    """A summary key as a person reads it: total_aid_million -> 'total aid (million yuan)'."""
    return (key.removesuffix("_million").replace("_", " ") + " (million yuan)") if key.endswith("_million") \
        else key.replace("_", " ")


def _print_summary(result: Result, show: int) -> None:
    colour = "green" if result.ok else "yellow" if result.has_plan else "red"
    summary = Table(title=Text.assemble(printable(result.scenario["scenario"]["name"]) + ": ", (result.status, colour)),
                    show_header=False)
    objective_name = result.scenario["scenario"]["objective"]
    risk = f"{result.robust['risk']} of " if result.robust else ""  # a robust plan's risk measure
    summary.add_row("objective", f"{risk}{objective_name} = " + numbers.objective(objective_name, result.objective))
    line = result.scenario["scenario"].get("poverty_line")
    at_line = f" (poor at {line})" if line else ""  # beside every coverage figure
    for key, value in result.summary.items():
        if key in {"objective", "objective_name"}:
            continue
        summary.add_row(summary_label(key) + (at_line if "coverage" in key else ""),
                        _plain(numbers.summary_value(key, value, objective_name)))
    summary.add_row("time (s)", ", ".join(f"{k} {v:.3f}" for k, v in result.timings.items()))
    out.print(summary)
    if not result.has_plan:
        return
    shares = result.allocation.pivot_table(index="donor", columns="category", values="aid", aggfunc="sum", fill_value=0.0)
    by_donor = Table(title="aid by donor and category (million yuan, whole plan)")
    by_donor.add_column("donor")
    for category in CATEGORIES:
        by_donor.add_column(category.replace("_", " "), justify="right")
    by_donor.add_column("total", justify="right")
    for donor, row in shares.iterrows():
        values = [row.get(c, 0.0) for c in CATEGORIES]
        by_donor.add_row(_plain(donor), *(numbers.money(v) for v in values), numbers.money(sum(values)))
    out.print(by_donor)
    if show > 0:
        kpis = result.kpis.sort_values("people_lifted", ascending=False).head(show)
        table = Table(title=_plain("people lifted by recipient" + at_line))
        for column in ("recipient", "aid (million yuan)", "people lifted", "poor population", "coverage"):
            table.add_column(column, justify="left" if column == "recipient" else "right")
        for row in kpis.itertuples(index=False):
            table.add_row(_plain(row.recipient), numbers.money(row.aid), numbers.people(row.people_lifted),
                          numbers.people(row.poor_population), numbers.share(row.coverage))
        out.print(table)


class _StdoutThatMayClose:
    """sys.stdout that, once its reader has gone (`ewppt ... | head -1`), writes to /dev/null:
    the command carries on, writes its files and exits with its own code."""

    def __init__(self, stream):
        self._stream = stream

    def _discard_from_now_on(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())  # also what the interpreter flushes at exit
        os.close(devnull)

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._discard_from_now_on()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._discard_from_now_on()

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def prose(doc: str) -> str:
    """A docstring as help text: each paragraph on one line, so that `--help` wraps it to the
    terminal as prose; the source's line breaks (at 110 columns, mid-sentence) are not kept."""
    return "\n\n".join(" ".join(part.split()) for part in re.split(r"\n\s*\n", inspect.cleandoc(doc)))


# Every command's help is its docstring as prose (typer would keep the docstring's hard line
# breaks in `ewppt --help`'s command list: "irreducible infeasible" / "subset").
for _command in app.registered_commands:
    if _command.help is None and _command.callback is not None and _command.callback.__doc__:
        _command.help = prose(_command.callback.__doc__)


_LEAVE_QUICKLY = [False]  # set by a command whose process has nothing to do after it but free its objects


def _leave_quickly(code: int) -> None:
    """Exit now with `code`, without the interpreter's teardown: the exit handlers run and the
    output is flushed, but the objects are not freed one by one (after `ewppt solve` at 800
    counties, the model, HiGHS's copies and the tables: 0.3 s of CPU at 100 counties, about 1 s
    at 800). Not while another thread that is not a daemon runs (the interpreter would wait
    for it; daemon threads, like the Ctrl-C watcher, end with the process either way)."""
    import atexit
    import threading

    main_thread = threading.main_thread()
    if any(t is not main_thread and t.is_alive() and not t.daemon for t in threading.enumerate()):
        return
    atexit._run_exitfuncs()
    interrupt.exit_now(code)


def main() -> None:
    """Entry point: no traceback reaches a user unless EWPPT_DEBUG is set."""
    sys.stdout = _StdoutThatMayClose(sys.stdout)
    interrupt.on_forced_exit(remove_live_temp_dirs)  # a forced exit after Ctrl-C leaves no half-written folder
    try:
        app()
    except InvalidInstance as exc:  # raised outside a command's own handling
        for problem in exc.problems:
            err.print(_plain(f"error: {problem}"), highlight=False)
        sys.exit(EXIT_BAD_INPUT)
    except UnusableOutput as exc:
        err.print(_plain(f"error: {exc}"), highlight=False, soft_wrap=True)
        sys.exit(EXIT_BAD_INPUT)
    except OutputWriteFailed as exc:
        err.print(_plain(f"error: {exc}"), highlight=False, soft_wrap=True)
        sys.exit(EXIT_WRITE_FAILED)
    except KeyboardInterrupt:
        interrupt.say_once(_say)
        interrupt.leave(interrupt.EXIT_INTERRUPTED)
        sys.exit(interrupt.EXIT_INTERRUPTED)
    except SystemExit as exc:
        if exc.code == interrupt.EXIT_INTERRUPTED:  # typer turns a KeyboardInterrupt into a silent exit 130
            interrupt.say_once(_say)
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        interrupt.leave(code)  # HiGHS left running
        if _LEAVE_QUICKLY[0]:
            _leave_quickly(code)
        raise
    except Exception as exc:  # noqa: BLE001 - last line of defence for the user's terminal
        if os.environ.get("EWPPT_DEBUG"):
            raise
        err.print(_plain(f"internal error: {type(exc).__name__}: {exc} (set EWPPT_DEBUG=1 for the traceback)"),
                  style="bold red", highlight=False)
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    interrupt.install()
    main()
