"""A result folder holds one run: re-running replaces it as a whole, concurrent runs never mix,
a failed write leaves the previous folder as it was, and ewppt refuses a folder it did not write."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from optimizer import cli, load_instance, solve
from optimizer.analysis.frontier import frontier
from optimizer.data.output import LIVE_TEMP_DIRS, remove_live_temp_dirs, result_folder
from optimizer.reports.report import write_report
from optimizer.solving.results import read_results
from tests.conftest import INSTANCES, ROOT

HALVED = {"proportion.provincial": 0.005}  # tiny with half the provincial money: another plan


def run_cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optimizer.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=180, **kwargs)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under a folder (relative path -> bytes)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def siblings(folder: Path) -> list[str]:
    """What lies beside the folder, the lock files aside: no temporary folder may stay."""
    return sorted(p.name for p in folder.parent.iterdir() if not p.name.endswith(".lock"))


def tables_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.csv"))}


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    """Two different plans of tiny, each written once as reference."""
    root = tmp_path_factory.mktemp("plans")
    full, halved = solve(load_instance(INSTANCES / "tiny")), solve(load_instance(INSTANCES / "tiny", **HALVED))
    assert full.allocation["aid"].sum() != pytest.approx(halved.allocation["aid"].sum())
    full.write(root / "full")
    halved.write(root / "halved")
    return {"full": full, "halved": halved, "full_dir": root / "full", "halved_dir": root / "halved"}


# ------------------------------------------------------------------------ stale files


def test_a_rerun_removes_the_report_of_the_earlier_run(tmp_path, plans):
    out = tmp_path / "r"
    plans["full"].write(out)
    write_report(out)
    assert (out / "report.html").is_file() and (out / "report").is_dir()
    plans["halved"].write(out)
    assert sorted(snapshot(out)) == sorted(snapshot(plans["halved_dir"]))
    assert siblings(out) == ["r"]


def test_a_shorter_frontier_leaves_no_point_of_the_longer_one(tmp_path, tiny):
    out = tmp_path / "f"
    frontier(tiny, points=4).write(out)
    assert (out / "point-4").is_dir()
    frontier(tiny, points=2).write(out)
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["point-1", "point-2"]


def test_results_are_read_in_the_format_run_json_records(tmp_path, plans):
    """A stray results.xlsx of another plan does not win over the CSV tables of this run."""
    other = tmp_path / "other"
    plans["halved"].write(other, "xlsx")
    out = tmp_path / "r"
    plans["full"].write(out)
    shutil.copy(other / "results.xlsx", out / "results.xlsx")
    assert read_results(out)["allocation"]["aid"].sum() == pytest.approx(plans["full"].allocation["aid"].sum())
    assert json.loads((out / "run.json").read_text())["format"] == "csv"


# ------------------------------------------------------------------------ concurrent runs


def test_two_writers_interleaved_file_by_file_leave_one_run(tmp_path, plans, monkeypatch):
    """Two writers take turns file by file, the first file's last writer being B and the
    second's A: files written straight into the folder would end mixed."""
    import optimizer.solving.results as results

    files = len(plans["full"].tables()) + 1  # the tables and run.json
    turns = [who for k in range(files) for who in (("a", "b") if k % 2 == 0 else ("b", "a"))]
    position, turn = [0], threading.Condition()
    me = threading.local()

    def in_turn(real):
        def write(*args):
            with turn:
                assert turn.wait_for(lambda: position[0] >= len(turns) or turns[position[0]] == me.who, timeout=60)
                real(*args)
                position[0] += 1
                turn.notify_all()
        return write

    monkeypatch.setattr(results, "atomic_write", in_turn(results.atomic_write))
    monkeypatch.setattr(results, "atomic_write_text", in_turn(results.atomic_write_text))
    out = tmp_path / "r"
    failures = []

    def run(who: str, plan) -> None:
        me.who = who
        try:
            plan.write(out)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=("a", plans["full"])),
               threading.Thread(target=run, args=("b", plans["halved"]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures
    assert snapshot(out) in (snapshot(plans["full_dir"]), snapshot(plans["halved_dir"]))
    assert siblings(out) == ["r"]


def test_two_solves_started_together_into_one_folder_leave_one_run(tmp_path, plans):
    expected = {"0.01": tables_of(plans["full_dir"]), "0.005": tables_of(plans["halved_dir"])}
    for trial in range(3):
        out = tmp_path / f"trial-{trial}" / "r"
        command = [sys.executable, "-m", "optimizer.cli", "solve", "tiny", "--out", str(out), "--show", "0"]
        runs = [subprocess.Popen([*command, "--proportion-provincial", share], cwd=ROOT, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True) for share in expected]
        for run in runs:
            assert run.wait(timeout=180) == 0, run.stderr.read()
            run.stderr.close()
        share = json.loads((out / "run.json").read_text())["scenario"]["proportion"]["provincial"]
        assert tables_of(out) == expected[str(share)]
        assert siblings(out) == ["r"]


# ------------------------------------------------------------------------ failed writes


def test_a_disk_full_midway_leaves_the_previous_folder_as_it_was(tmp_path, plans, monkeypatch, capsys):
    import optimizer.solving.results as results

    out = tmp_path / "r"
    plans["full"].write(out)
    write_report(out)
    before = snapshot(out)
    real, calls = results.atomic_write, [0]

    def third_write_fills_the_disk(path, write):
        calls[0] += 1
        if calls[0] == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(path, write)

    monkeypatch.setattr(results, "atomic_write", third_write_fills_the_disk)
    monkeypatch.setattr(sys, "stdout", sys.stdout)  # main() wraps stdout; give it back afterwards
    monkeypatch.setattr(sys, "argv", ["ewppt", "solve", "tiny", "--out", str(out), *sum(
        (["--set", f"{k}={v}"] for k, v in HALVED.items()), [])])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 9
    error = capsys.readouterr().err.strip()
    assert "could not be written" in error and "Traceback" not in error and len(error.splitlines()) == 1
    assert snapshot(out) == before
    assert siblings(out) == ["r"] and not LIVE_TEMP_DIRS


def test_a_real_full_disk_exits_9_and_keeps_the_previous_folder(tmp_path):
    """A 200 KiB tmpfs, filled after the first solve (needs root and mount; skipped otherwise)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        out = disk / "r"
        assert run_cli("solve", "tiny", "--out", str(out)).returncode == 0
        before = snapshot(out)
        with open(disk / "filler", "wb", buffering=0) as filler:  # unbuffered: nothing left to flush
            with pytest.raises(OSError) as full:
                while True:
                    filler.write(b"\0" * 4096)
            assert full.value.errno == errno.ENOSPC
        done = run_cli("solve", "tiny", "--out", str(out), "--proportion-provincial", "0.005")
        assert done.returncode == 9, done.stderr
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
        assert snapshot(out) == before
        assert sorted(p.name for p in disk.iterdir() if not p.name.endswith(".lock")) == ["filler", "r"]
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_an_interrupted_write_leaves_the_previous_folder_and_the_watchdog_can_clear_temp(tmp_path, plans):
    out = tmp_path / "r"
    plans["full"].write(out)
    before = snapshot(out)
    with pytest.raises(KeyboardInterrupt):
        with result_folder(out) as tmp:
            (tmp / "allocation.csv").write_text("half a plan")
            assert tmp in LIVE_TEMP_DIRS
            remove_live_temp_dirs()  # what a Ctrl-C watchdog calls before os._exit(130)
            assert not tmp.exists() and not LIVE_TEMP_DIRS
            raise KeyboardInterrupt
    assert snapshot(out) == before and siblings(out) == ["r"]


# ------------------------------------------------------------------------ unusable --out


@pytest.mark.parametrize("where", ["a file", "under a file"])
def test_an_out_that_cannot_be_a_folder_exits_2_in_one_line(tmp_path, where):
    file = tmp_path / "notes.txt"
    file.write_text("mine")
    out = file if where == "a file" else file / "sub"
    done = run_cli("solve", "tiny", "--out", str(out))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert file.read_text() == "mine"


def test_a_read_only_parent_exits_2(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes into a read-only folder; tested only as another user")
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        done = run_cli("solve", "tiny", "--out", str(parent / "r"))
    finally:
        parent.chmod(0o755)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_folder_ewppt_did_not_write_is_refused_and_untouched(tmp_path):
    documents = tmp_path / "Documents"
    documents.mkdir()
    (documents / "thesis.docx").write_text("years of work")
    for command in (["solve", "tiny"], ["frontier", "tiny", "--points", "2"]):
        done = run_cli(*command, "--out", str(documents))
        assert done.returncode == 2 and "did not write" in done.stderr and "Traceback" not in done.stderr
    assert snapshot(documents) == {"thesis.docx": b"years of work"}
    assert siblings(documents) == ["Documents"]


def test_generate_refuses_a_folder_that_is_not_empty_without_force(tmp_path):
    out = tmp_path / "inst"
    size = ["--recipients", "3", "--donors", "2", "--instruments", "3", "--years", "2"]
    assert run_cli("generate", str(out), *size).returncode == 0
    first = snapshot(out)
    again = run_cli("generate", str(out), *size, "--seed", "1")
    assert again.returncode == 2 and "--force" in again.stderr and "Traceback" not in again.stderr
    assert snapshot(out) == first
    (out / "extra.txt").write_text("left from before")
    forced = run_cli("generate", str(out), *size, "--seed", "1", "--force")
    assert forced.returncode == 0, forced.stderr
    assert snapshot(out) != first and not (out / "extra.txt").exists()
    assert load_instance(out).scenario is not None


# ------------------------------------------------------------------------ modes and pipes


@pytest.mark.parametrize("umask, file_mode, folder_mode", [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)])
def test_output_follows_the_umask(tmp_path, umask, file_mode, folder_mode):
    out = tmp_path / "f"
    done = run_cli("frontier", "tiny", "--points", "2", "--out", str(out), umask=umask)
    assert done.returncode == 0, done.stderr
    for path in [out, *out.rglob("*")]:
        expected = folder_mode if path.is_dir() else file_mode
        assert path.stat().st_mode & 0o777 == expected, (path, oct(path.stat().st_mode))


@pytest.mark.parametrize("command", [["validate", "tiny"], ["solve", "tiny", "--out", "{out}"]])
def test_a_closed_output_pipe_keeps_the_exit_code(tmp_path, command):
    """stdout is a pipe whose reader is gone before the command starts (as `| head -1` ends)."""
    out = tmp_path / "r"
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([sys.executable, "-m", "optimizer.cli", *(a.format(out=out) for a in command)],
                              stdout=write_end, stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=180)
    finally:
        os.close(write_end)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
    if "solve" in command:
        assert pd.read_csv(out / "allocation.csv")["aid"].sum() > 0


def test_the_swap_without_renameat2_replaces_the_folder_too(tmp_path, plans, monkeypatch):
    import optimizer.data.output as output

    monkeypatch.setattr(output, "_exchange", lambda a, b: False)  # an old kernel or a file system without it
    out = tmp_path / "r"
    plans["full"].write(out)
    write_report(out)
    plans["halved"].write(out)
    assert snapshot(out) == snapshot(plans["halved_dir"]) and siblings(out) == ["r"]
