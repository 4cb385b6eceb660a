"""The corpus of bad instances (`tests/bad_instances/`) through the real command line.

`tests/bad_instances/make_corpus.py` writes one folder (or workbook, or file) per case and
`manifest.csv` with what each must produce. For every case:

- `ewppt validate PATH` and `ewppt solve PATH --out TMP`, in-process through typer's CliRunner,
  exit with the manifest's code (2, bad input; 0 for the few documented warnings), print no
  traceback and no "internal error", and print an error line that starts with exactly the
  manifest's location (file, row, column, scenario key, value, as `Problem.__str__` writes
  them) and contains the manifest's message fragment; a solve refused for bad input writes
  nothing;
- one case of every category also runs through the entry point `optimizer.cli.main()` in a
  child process, and a few (plus the big files) as `python -m optimizer.cli validate PATH`, so
  that the exit code is the one a shell sees.

Cases the engine does not (yet) answer as expected carry an `xfail` reason in the manifest.
They must still never print a traceback; one that starts passing fails (strict), so that the
mark goes when the engine is fixed. Cases marked `on_the_fly` (a 100 MB cell, a 5 MB table, a
link to /etc/passwd) are built into a temporary folder; the 100 MB row-by-row CSV runs only with
EWPPT_BIG_CSV=1 (about 70 s and 4.3 GB of memory).

Two more tests check the corpus itself: re-running the generator reproduces the committed
files byte for byte (symbolic links by their target), and every table and column of
`optimizer.data.schema` is covered.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

import pytest
import typer.main
import typer.testing
from typer.testing import CliRunner

from optimizer.cli import app

CORPUS = Path(__file__).resolve().parent / "bad_instances"
MANIFEST = CORPUS / "manifest.csv"


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


make_corpus = _load_generator()
CASES = list(csv.DictReader(MANIFEST.open(encoding="utf-8", newline="")))
BY_NAME = {case["case"]: case for case in CASES}


# ----------------------------------------------------------------------------- expectations


def location(case: dict, path: str | None = None) -> str:
    """The start of the expected error line, as `Problem.__str__` writes it. A problem with the
    instance itself (the manifest's file is the instance's own name) names it by `path`, the PATH
    as typed on the command line (`/dev/null`, never `null`)."""
    where = path if path is not None and case["file"] == Path(path).name else case["file"]
    if case["row"]:
        where += f", row {case['row']}"
    if case["column"]:
        where += f", column '{case['column']}'"
    if case["key"]:
        where += f", key '{case['key']}'"
    if case["value"]:
        where += f", value {case['value']}"
    return where + ": "


def check_output(case: dict, code: int, output: str, shown: str, path: str | None = None) -> None:
    """Exit code, no traceback, and one line with exactly the expected location and fragment
    (`path`: the PATH the command was given)."""
    assert "Traceback" not in output, shown
    assert "internal error" not in output, shown
    assert code == int(case["exit_code"]), shown
    start = ("error: " if code else "") + location(case, path)
    lines = [line for line in output.splitlines() if line.startswith(start)]
    assert lines, f"expected a line starting {start!r}{shown}"
    assert any(case["message"] in line[len(start):] for line in lines), (
        f"expected {case['message']!r} after {start!r}{shown}")


def judge(case: dict, code: int, output: str, shown: str, path: str | None = None) -> None:
    """`check_output`, with the manifest's expected failures: an xfail case may miss its expected
    answer (and is reported as xfailed) but never gives a traceback; one that passes is an error
    (strict), so that the mark goes once the engine is fixed."""
    assert "Traceback" not in output, shown
    assert "internal error" not in output, shown
    if not case["xfail"]:
        check_output(case, code, output, shown, path)
        return
    try:
        check_output(case, code, output, shown, path)
    except AssertionError:
        pytest.xfail(case["xfail"])
    pytest.fail(f"[XPASS(strict)] {case['case']} now gives the expected answer: remove its xfail in "
                f"tests/bad_instances/make_corpus.py and re-run the script{shown}")


def case_path(case: dict, scratch: Path) -> str:
    """The PATH argument: relative to the corpus folder (the commands run there), or built now."""
    if case["generated"] == "on_the_fly":
        target = scratch / case["case"]
        if not target.exists():
            target.mkdir(parents=True)
            make_corpus.build_on_the_fly(case["case"], target)
        return str(next(target.iterdir()))
    return case["path"] or case["file"]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One temporary folder for the module (a tmp_path per case costs more than the case)."""
    return tmp_path_factory.mktemp("corpus")


def params(cases: list[dict]) -> list:
    out = []
    for case in cases:
        marks = []
        if case["opt_in"] and not os.environ.get(case["opt_in"]):
            marks.append(pytest.mark.skip(reason=f"set {case['opt_in']}=1 to run (slow and memory hungry)"))
        out.append(pytest.param(case, id=case["case"], marks=marks))
    return out


# ----------------------------------------------------------------------------- running


COMMAND = typer.main.get_command(app)


def run_in_process(args: list[str]) -> tuple[int, str]:
    """Exit code and stdout+stderr of `ewppt ARGS` run in this process, in the corpus folder.

    typer's CliRunner rebuilds the click command from `app` on every call (a third of the time
    of a case); the command is built once here instead.
    """
    old = Path.cwd()
    os.chdir(CORPUS)
    try:
        with mock.patch.object(typer.testing, "_get_command", lambda _: COMMAND, create=True):
            result = CliRunner().invoke(app, args, env={"COLUMNS": "200", "EWPPT_DEBUG": None})
    finally:
        os.chdir(old)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        tb = "".join(traceback.format_exception(*result.exc_info))
        return 7, f"{result.output}\nTraceback (raised in-process):\n{tb}"
    return result.exit_code, result.output


def run_subprocess(args: list[str], timeout: float = 120) -> tuple[int, str, float]:
    """Exit code, stdout+stderr and seconds of `python -m optimizer.cli ARGS` in a child process."""
    env = {k: v for k, v in os.environ.items() if k != "EWPPT_DEBUG"}
    env["COLUMNS"] = "200"
    env["PYTHONPATH"] = str(CORPUS.parents[1]) + os.pathsep + env.get("PYTHONPATH", "")
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "optimizer.cli", *args], cwd=CORPUS, env=env, check=False,
                          capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stdout + proc.stderr, time.perf_counter() - started


@pytest.mark.parametrize("case", params(CASES))
def test_validate(case: dict, scratch: Path) -> None:
    path = case_path(case, scratch)
    if case["opt_in"] or case["category"] == "big-file":
        code, output, seconds = run_subprocess(["validate", path], timeout=600)
        shown = f"\n--- ewppt validate {path} (exit {code}, {seconds:.1f} s) ---\n{output[:3000]}"
    else:
        code, output = run_in_process(["validate", path])
        shown = f"\n--- ewppt validate {path} (exit {code}) ---\n{output[:3000]}"
    judge(case, code, output, shown, path)


SOLVABLE = [c for c in CASES if c["category"] != "big-file"]


@pytest.mark.parametrize("case", params(SOLVABLE))
def test_solve(case: dict, scratch: Path) -> None:
    path = case_path(case, scratch)
    out = scratch / "out" / case["case"]
    code, output = run_in_process(["solve", path, "--out", str(out), "--show", "0"])
    shown = f"\n--- ewppt solve {path} --out {out} (exit {code}) ---\n{output[:3000]}"
    judge(case, code, output, shown, path)
    if code == 2:
        assert not out.exists(), f"nothing may be written for bad input{shown}"


def _one_per_category() -> list[dict]:
    """The first committed case (by name) of every category, leaving out expected failures."""
    seen, sample = set(), []
    for case in sorted(CASES, key=lambda c: c["case"]):
        if case["generated"] == "committed" and not case["xfail"] and case["category"] not in seen:
            seen.add(case["category"])
            sample.append(case)
    return sample


ONE_PER_CATEGORY = _one_per_category()
# Each of these runs as its own `python -m optimizer.cli validate PATH` (about 1.5 s apiece).
# (The big-file cases run that way too.)
REAL_SUBPROCESS = ["negative-revenue-revenue", "encoding-latin1-recipients", "scenario-unknown-key-scenario.objectve",
                   "xlsx-missing-sheet-pairs"]

# One child process runs many cases through the real entry point `optimizer.cli.main()`, as
# `python -m optimizer.cli` does, catching the SystemExit that ends each.
BATCH = """
import contextlib, io, json, sys
from optimizer.cli import main
results = []
for args in json.loads(sys.stdin.read()):
    sys.argv = ["ewppt", *args]
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    results.append([code, captured.getvalue()])
print(json.dumps(results))
"""


def test_every_category_through_main_in_a_subprocess() -> None:
    """One case of every category through `optimizer.cli.main()` in one child process."""
    env = {k: v for k, v in os.environ.items() if k != "EWPPT_DEBUG"}
    env["PYTHONPATH"] = str(CORPUS.parents[1]) + os.pathsep + env.get("PYTHONPATH", "")
    arguments = [["validate", case_path(case, CORPUS)] for case in ONE_PER_CATEGORY]
    proc = subprocess.run([sys.executable, "-c", BATCH], input=json.dumps(arguments), cwd=CORPUS, env=env, check=False,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout.splitlines()[-1])
    failures = []
    for case, (code, output) in zip(ONE_PER_CATEGORY, results):
        try:
            check_output(case, code, output, f"\n--- main(validate {case['path']}) (exit {code}) ---\n{output[:2000]}",
                         case_path(case, CORPUS))
        except AssertionError as exc:
            failures.append(f"{case['case']}: {exc}")
    assert not failures, "\n".join(failures)
    assert {c["category"] for c in ONE_PER_CATEGORY} == {c["category"] for c in CASES} - {"big-file"}


def test_sample_in_real_subprocesses() -> None:
    """`python -m optimizer.cli validate PATH` as a shell runs it, two children at a time."""
    sample = [BY_NAME[name] for name in REAL_SUBPROCESS]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda case: run_subprocess(["validate", case_path(case, CORPUS)]), sample))
    failures = []
    for case, (code, output, _) in zip(sample, results):
        shown = f"\n--- python -m optimizer.cli validate {case_path(case, CORPUS)} (exit {code}) ---\n{output[:2000]}"
        try:
            check_output(case, code, output, shown, case_path(case, CORPUS))
        except AssertionError as exc:
            failures.append(f"{case['case']}: {exc}")
    assert not failures, "\n".join(failures)


# ----------------------------------------------------------------------------- the corpus itself


def test_corpus_reproduces_byte_for_byte(tmp_path: Path) -> None:
    """Re-running make_corpus.py gives exactly the committed cases, links and manifest."""
    subprocess.run([sys.executable, str(CORPUS / "make_corpus.py"), "--out", str(tmp_path)], check=True,
                   capture_output=True)

    def tree(root: Path) -> dict[str, bytes]:
        files = {}
        for path in sorted([root / "manifest.csv", *(root / "cases").rglob("*"), *(root / "outside").rglob("*")]):
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                files[rel] = b"-> " + os.readlink(path).encode()
            elif path.is_file():
                files[rel] = path.read_bytes()
            elif path.is_dir():
                files[rel + "/"] = b""
        return files

    committed, fresh = tree(CORPUS), tree(tmp_path)
    assert sorted(committed) == sorted(fresh), (
        f"only committed: {sorted(set(committed) - set(fresh))[:10]}; only regenerated: "
        f"{sorted(set(fresh) - set(committed))[:10]} (run tests/bad_instances/make_corpus.py)")
    differ = [name for name in committed if committed[name] != fresh[name]]
    assert not differ, f"differ from a fresh run of make_corpus.py: {differ[:10]}"


def test_corpus_covers_every_table_and_column() -> None:
    """Every table of the schema is removed, and every required or typed column broken, by some case."""
    from optimizer.data.schema import TABLES

    names = set(BY_NAME)
    for table, spec in TABLES.items():
        if spec.required:
            assert f"missing-table-{table}" in names
            assert f"header-only-{table}" in names
        assert f"empty-file-{table}" in names
        assert [c for c, _, _ in make_corpus.COLUMNS[table]] == spec.columns, f"{table}: columns differ from schema"
        for column, kind, required in make_corpus.COLUMNS[table]:
            field = spec.row.model_fields[column]
            assert required == field.is_required(), (table, column)
            if required:
                assert f"missing-column-{table}-{column}" in names
                assert f"empty-cell-{table}-{column}" in names
            if kind not in ("str",):
                assert any(n.startswith(f"wrong-type-{table}-{column}-") for n in names), (table, column)
            if kind in ("money", "float", "positive", "year", "segment", "count"):
                assert any(n.startswith(f"nan-inf-{table}-{column}-") for n in names), (table, column)
    bad = [c for c in CASES if c["exit_code"] == "2"]
    assert len(bad) >= 200


def test_the_check_is_exact() -> None:
    """The comparison itself: a wrong row, column, value, fragment or exit code is caught."""
    case = BY_NAME["negative-revenue-revenue"]
    line = "error: revenue.csv, row 2, column 'revenue', value '-1': expected a value >= 0\n"
    check_output(case, 2, line, "")
    for wrong in ({"row": "3"}, {"row": ""}, {"column": "donor"}, {"value": "'-2'"}, {"key": "revenue"},
                  {"file": "donors.csv"}, {"message": "expected a value > 0"}, {"exit_code": "0"}):
        with pytest.raises(AssertionError):
            check_output({**case, **wrong}, 2, line, "")
    with pytest.raises(AssertionError):
        check_output(case, 2, line + "Traceback (most recent call last):\n", "")


@pytest.mark.parametrize("table", [None, *make_corpus.OPTIONAL])
def test_the_cases_start_from_a_valid_instance(table: str | None, scratch: Path) -> None:
    """tiny, with each optional table the generator adds, and as a workbook, is valid: each case's
    only fault is the one it makes."""
    base = make_corpus.Case(f"base-{table}", "base", "", "", edits=(make_corpus.with_table(table),) if table else ())
    (scratch / "bases").mkdir(exist_ok=True)
    code, output = run_in_process(["validate", str(make_corpus.build(base, scratch / "bases"))])
    assert code == 0 and "valid:" in output and "error" not in output, output
    if table is None:
        book = make_corpus.Case("base-workbook", "base", "", "", kind="xlsx")
        code, output = run_in_process(["validate", str(make_corpus.build(book, scratch / "bases"))])
        assert code == 0 and "valid:" in output and "error" not in output, output
