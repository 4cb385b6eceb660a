"""Progressive hedging with mpi-sppy over MPI (optimizer/studies/hedging.py): two ranks on
127.0.0.1 (one hedges, one computes the Lagrangian bound) against the extensive form, on tiny's
hand-solved case (tests/test_robust.py).

Tolerance (docs/robust.md): progressive hedging stops when its plan is certified within the
relative gap asked for (1e-4 here): the plan's expected people lifted is at least (1 - gap)
times the outer bound, and the outer bound is at least the extensive form's optimum. The spoke
sends its bounds while the hub iterates, so the iteration at which the gap closes depends on
timing; every assertion below holds whenever it closes.

Skipped where no MPI or mpi-sppy is installed, unless EWPPT_REQUIRE_MPI is set (CI sets it:
.ci/run installs Debian's Open MPI).
"""

from __future__ import annotations

import importlib.util
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from optimizer import load_instance, robust
from tests.conftest import INSTANCES
from tests.helpers import plan_totals

HAVE_MPI = shutil.which("mpiexec") is not None and all(importlib.util.find_spec(m) for m in ("mpi4py", "mpisppy"))
if not HAVE_MPI and os.environ.get("EWPPT_REQUIRE_MPI"):
    raise RuntimeError("EWPPT_REQUIRE_MPI is set but mpiexec, mpi4py or mpi-sppy is missing")
pytestmark = pytest.mark.skipif(not HAVE_MPI, reason="no MPI (Debian's openmpi-bin) or mpi4py/mpi-sppy")

UNCERTAINTY = """
[uncertainty]
design = "scenarios"
probabilities = [0.3, 0.3, 0.4]

[[parameter]]
path = "effects.upland.cdf.people_per_million"
values = [1.0, 0.5, 0.2]

[[parameter]]
path = "recipients.upland.investment_demand"
values = [1.0, 0.8, 1.0]
"""


def test_progressive_hedging_on_two_ranks_matches_the_extensive_form(tmp_path):
    from optimizer.solving.recheck import recheck
    from optimizer.studies.hedging import hedge
    from optimizer.studies.robust import evaluate_plan
    from optimizer.studies.uncertainty import load_uncertainty, scenario_set

    path = tmp_path / "UNCERTAINTY.toml"
    path.write_text(UNCERTAINTY, encoding="utf-8")
    tiny = load_instance(INSTANCES / "tiny")
    extensive = robust(tiny, path, risk="expected", worth=False)
    gap = 1e-4
    hedged = hedge(INSTANCES / "tiny", path, ranks=2, gap=gap)
    assert hedged.status == "optimal", hedged.message
    assert hedged.ranks == 2
    # the certificate: no plan beats the outer bound, and the plan is within the gap of it
    assert hedged.bound >= extensive.objective * (1 - 1e-9)
    assert hedged.expected >= (1 - gap) * hedged.bound
    assert hedged.expected <= extensive.objective * (1 + 1e-9)
    # the plan's expectation, recomputed here from its tables, is the one reported
    scenarios = scenario_set(load_uncertainty(path), tiny)
    instances = [scenarios.instance(s) for s in range(len(scenarios.design))]
    values = evaluate_plan(hedged, instances, tiny.scenario.objective)["objective"]
    assert float(values @ scenarios.probabilities) == pytest.approx(hedged.expected, rel=1e-9)
    assert recheck(scenarios.plan_instance, hedged.allocation, hedged.decisions, whole=False) == []
    # every line's plan total is the extensive form's: within the gap's 0.24 people, at most
    # 0.24 / 8.8 = 0.03 million can sit in the next best use (loans at 30 people per million
    # against upland's second cdf segment at 40 x E[f] = 21.2)
    # the steady re-split, as `solve`'s: tiny's budgets are 10 a year, so every line half and half
    assert hedged.result.summary["year_profile"] == "steady"
    years = hedged.allocation.pivot_table(index=["donor", "recipient", "instrument"], columns="year", values="aid",
                                          aggfunc="sum", fill_value=0.0)
    assert np.allclose(years[2011], years[2012], rtol=0, atol=1e-6)
    ef, ph = plan_totals(extensive.allocation), plan_totals(hedged.allocation)
    assert set(ef) == {k for k, v in ph.items() if v > 0.05}
    assert np.allclose([ph.get(k, 0.0) for k in ef], list(ef.values()), rtol=0, atol=0.05)


def test_hedging_refuses_an_odd_number_of_ranks(tmp_path):
    from optimizer.data.errors import InvalidInstance
    from optimizer.studies.hedging import hedge

    path = tmp_path / "UNCERTAINTY.toml"
    path.write_text(UNCERTAINTY, encoding="utf-8")
    with pytest.raises(InvalidInstance, match="even number of ranks"):
        hedge(INSTANCES / "tiny", path, ranks=3)


def test_hedging_refuses_a_mip():
    from optimizer.data.errors import InvalidInstance
    from optimizer.studies.hedging import hedge

    with pytest.raises(InvalidInstance, match="LPs only"):
        hedge(INSTANCES / "ewppt-2010", INSTANCES.parent / "studies" / "uncertainty-effects.toml")


def test_hedge_command_writes_the_certified_plan_and_its_report(tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    from optimizer.cli import app

    path = tmp_path / "UNCERTAINTY.toml"
    path.write_text(UNCERTAINTY, encoding="utf-8")
    out = tmp_path / "hedged"
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(app, ["hedge", str(INSTANCES / "tiny"), str(path), "--out", str(out), "--gap", "0.001"])
    assert done.exit_code == 0, done.output
    assert not (tmp_path / "hub.log").exists()  # mpi-sppy's log stays in the ranks' scratch folder
    assert "no plan lifts more than" in done.output
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    record = run["robust"]
    assert run["status"] == "optimal" and record["method"] == "progressive hedging" and record["gap"] <= 0.001
    assert run["objective"] <= record["bound"]
    assert pd.read_csv(out / "allocation.csv")["aid"].sum() == pytest.approx(40.0)  # tiny's two budgets, spent
    kpis = pd.read_csv(out / "kpis.csv")
    assert set(kpis["recipient"]) == {"upland", "plateau", "valley"}
    scenarios = pd.read_csv(out / "scenarios.csv")  # the plan in each scenario; their mean is the plan's expectation
    assert len(scenarios) == 3
    assert float(scenarios["robust_plan"] @ scenarios["probability"]) == pytest.approx(run["objective"], rel=1e-6)
    report = CliRunner().invoke(app, ["report", str(out)])  # robust's report, with the bound in place of VSS
    assert report.exit_code == 0, report.output
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Found by progressive hedging" in page and "value of the stochastic solution" not in page
    assert "How the gap closed" in page  # the trajectory, iteration by iteration


@pytest.mark.parametrize("arguments, named", [
    (["--ranks", "3"], "--ranks"),
    (["--gap", "0"], "--gap"),
])
def test_hedge_command_refuses_bad_options(tmp_path, arguments, named):
    from typer.testing import CliRunner

    from optimizer.cli import app

    path = tmp_path / "UNCERTAINTY.toml"
    path.write_text(UNCERTAINTY, encoding="utf-8")
    done = CliRunner().invoke(app, ["hedge", str(INSTANCES / "tiny"), str(path), "--out", str(tmp_path / "o"), *arguments])
    assert done.exit_code == 2, done.output
    assert named in done.output
    assert not (tmp_path / "o").exists()


def test_hedge_command_names_a_mip_and_an_unknown_recipient(tmp_path):
    from typer.testing import CliRunner

    from optimizer.cli import app

    path = tmp_path / "UNCERTAINTY.toml"
    path.write_text(UNCERTAINTY, encoding="utf-8")
    done = CliRunner().invoke(app, ["hedge", "ewppt-2010", str(path), "--out", str(tmp_path / "o")])
    assert done.exit_code == 2 and "scenario.model" in done.output
    done = CliRunner().invoke(app, ["hedge", "ewppt-2010", str(path), "--set", "scenario.model=lp",
                                    "--out", str(tmp_path / "o")])
    assert done.exit_code == 2 and "unknown recipient 'upland'" in done.output
    done = CliRunner().invoke(app, ["hedge", "tiny", str(path), "--set", "scenario.objective=equity",
                                    "--out", str(tmp_path / "o")])
    assert done.exit_code == 2 and "scenario.objective" in done.output


def test_hosts_share_the_ranks_out():
    from optimizer.studies.hedging import _host_slots

    assert _host_slots("127.0.0.1", 2) == "127.0.0.1:2"
    assert _host_slots("a, b", 4) == "a:2,b:2"
    assert _host_slots("a,b,c", 4) == "a:2,b:2,c:2"  # slots enough for every rank
    assert _host_slots("a:3,b:1", 4) == "a:3,b:1"


def test_hedge_runs_from_a_process_whose_parent_initialised_mpi_by_itself(tmp_path):
    """A process that initialised MPI by itself (mpi4py imported in a notebook, an in-process
    mpi-sppy test in the same pytest worker) hands Open MPI's and PMIx's launch variables to its
    children; `hedge` must not pass them on to mpiexec, which then exits 1 without a word (the
    bench_robust smoke test failed so whenever xdist ran it after tests/test_direct.py in one
    worker). Here the parent is a real singleton, and its child the command a planner runs."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    path = tmp_path / "UNCERTAINTY.toml"
    path.write_text(UNCERTAINTY, encoding="utf-8")
    out = tmp_path / "hedged"
    parent = ("import os, subprocess, sys\n"
              "from mpi4py import MPI\n"
              "MPI.COMM_WORLD.Get_rank()  # a singleton: Open MPI sets its variables in this process's environment\n"
              "child = subprocess.run([sys.executable, '-c', 'import os; print(sorted(k for k in os.environ "
              "if k.startswith((\"PMIX_\", \"OMPI_\"))))'], capture_output=True, text=True)\n"
              "print(child.stdout, flush=True)\n"
              "sys.exit(subprocess.run(sys.argv[1:]).returncode)\n")
    done = subprocess.run([sys.executable, "-c", parent, sys.executable, "-m", "optimizer", "hedge", "tiny", str(path),
                           "--out", str(out), "--gap", "0.001"], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert "PMIX_" in done.stdout.splitlines()[0]  # the child inherits the singleton's variables
    assert done.returncode == 0, done.stdout + done.stderr
    assert (out / "allocation.csv").exists()


def test_the_ranks_get_no_launch_context_but_keep_the_users_settings():
    from optimizer.studies.hedging import _without_launch_context

    environ = {"PATH": "/usr/bin", "OMPI_MCA_btl_tcp_if_include": "eth1", "OMPI_MCA_plm_rsh_agent": "ssh",
               "PMIX_RANK": "0", "PMIX_SERVER_URI4": "x", "OMPI_COMM_WORLD_RANK": "0", "OMPI_APP_CTX_NUM_PROCS": "1",
               "OMPI_MCA_ess": "singleton", "OMPI_MCA_pmix": "^s1", "OMPI_MCA_orte_launch": "1", "PMI_FD": "5"}
    assert _without_launch_context(environ) == {"PATH": "/usr/bin", "OMPI_MCA_btl_tcp_if_include": "eth1",
                                                 "OMPI_MCA_plm_rsh_agent": "ssh"}
