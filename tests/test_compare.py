"""`ewppt compare A B`: two result folders side by side (issue 7, item 4)."""

from __future__ import annotations

import pandas as pd
import pytest

from optimizer import solve
from optimizer.analysis.compare import compare_results, is_same_plan
from tests.test_outputs import run_cli


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    from optimizer import load_instance
    from tests.conftest import INSTANCES

    root = tmp_path_factory.mktemp("compare")
    instance = load_instance(INSTANCES / "tiny")
    solve(instance).write(root / "a")
    solve(instance, **{"proportion.provincial": 0.005}).write(root / "b", "parquet")
    return root / "a", root / "b"


def test_a_plan_compared_with_itself_shows_no_change(plans):
    a, _ = plans
    tables = compare_results(a, a)
    assert is_same_plan(tables)
    for name in ("by_donor", "by_category", "by_recipient"):
        assert (tables[name]["delta"] == 0).all()
    assert (tables["kpis"]["delta"].dropna() == 0).all() and tables["binding"].empty
    done = run_cli("compare", str(a), str(a))
    assert done.returncode == 0 and "no change: the two plans are the same" in done.stdout


def test_halving_coastal_budget(plans, tmp_path):
    """Coastal's budget falls from 20 to 10 (tiny README: its margin rises to upland cdf
    segment 1 and plateau cdf, so harbour now pays 2 of plateau's roads out of valley's):
    upland 14 -> 6 (920 -> 600 people), valley 20 -> 18 (1,240 -> 1,140), plateau 6 (600)."""
    a, b = plans
    tables = compare_results(a, b)
    assert not is_same_plan(tables)
    donors = tables["by_donor"].set_index("donor")["delta"].to_dict()
    assert donors == {"coastal": pytest.approx(-10), "harbour": pytest.approx(0)}
    recipients = tables["by_recipient"].set_index("recipient")
    assert recipients["delta"].to_dict() == {"plateau": pytest.approx(0), "upland": pytest.approx(-8),
                                             "valley": pytest.approx(-2)}
    assert recipients["people_delta"].to_dict() == {"plateau": pytest.approx(0), "upland": pytest.approx(-320),
                                                    "valley": pytest.approx(-100)}
    kpis = tables["kpis"].set_index("kpi")
    assert kpis.at["objective", "delta"] == pytest.approx(-420)
    assert kpis.at["total_aid_million", "delta"] == pytest.approx(-10)
    assert set(tables["binding"]["change"]) <= {"became binding", "became slack"}
    done = run_cli("compare", str(a), str(b), "--out", str(tmp_path / "cmp"))
    assert done.returncode == 0, done.stderr
    written = pd.read_csv(tmp_path / "cmp" / "by_recipient.csv").set_index("recipient")
    assert written.at["upland", "people_delta"] == pytest.approx(-320)


def test_compare_needs_result_folders(plans, tmp_path):
    a, _ = plans
    done = run_cli("compare", str(a), str(tmp_path))
    assert done.returncode == 2 and "not a result folder" in done.stderr and "Traceback" not in done.stderr
