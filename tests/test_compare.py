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


def test_different_objectives_are_compared_like_with_like(plans, tmp_path):
    """A maximises people lifted, B equity (issue 15): their objectives are in different units
    (2,760 people against a coverage ratio), so the objective's delta is left empty, a warning
    says so, people lifted and the least coverage come first, and the output says which folder
    is A and which is B."""
    from optimizer import load_instance
    from optimizer.analysis.compare import objective_warning
    from tests.conftest import INSTANCES

    a, _ = plans
    equity = tmp_path / "equity"
    solve(load_instance(INSTANCES / "tiny", **{"scenario.objective": "equity"})).write(equity)
    tables = compare_results(a, equity)
    kpis = tables["kpis"].set_index("kpi")
    assert pd.isna(kpis.at["objective", "delta"])
    assert list(tables["kpis"]["kpi"][:2]) == ["people_lifted", "min_coverage"]
    assert kpis.at["people_lifted", "delta"] == pytest.approx(kpis.at["people_lifted", "b"] - kpis.at["people_lifted", "a"])
    assert "A maximises people_lifted and B equity" in objective_warning(tables)
    done = run_cli("compare", str(a), str(equity))
    assert done.returncode == 0, done.stderr
    assert f"A = {a} (people_lifted)" in done.stdout and f"B = {equity} (equity)" in done.stdout
    assert "not compared" in done.stderr


def test_noise_is_hidden_and_binding_changes_are_summarised(plans, tmp_path):
    """B is A with every aid moved by 2.1e-08 million and one binding row flipped: below the
    tolerance the plans are the same (no 2.1e-08 printed); the binding change is counted per rule."""
    import json
    import shutil

    a, _ = plans
    b = tmp_path / "noisy"
    shutil.copytree(a, b)
    allocation = pd.read_csv(b / "allocation.csv")
    allocation["aid"] += 2.1e-08
    allocation.to_csv(b / "allocation.csv", index=False)
    tables = compare_results(a, b)
    assert (tables["by_donor"]["delta"] == 0).all() and (tables["by_recipient"]["delta"] == 0).all()
    assert is_same_plan(tables)
    done = run_cli("compare", str(a), str(b))
    assert "e-08" not in done.stdout and "no change" in done.stdout
    binding = pd.read_csv(b / "binding.csv")
    flipped = binding.index[~binding["binding"]][0]
    binding.loc[flipped, ["binding", "slack"]] = [True, 0.0]
    binding.to_csv(b / "binding.csv", index=False)
    tables = compare_results(a, b)
    family = binding.at[flipped, "family"]
    summary = tables["binding_summary"]
    assert summary["became_binding"].sum() == 1 and summary["became_slack"].sum() == 0
    assert summary["family"].tolist() == [family]
    done = run_cli("compare", str(a), str(b))
    assert "1 row changed binding state" in done.stdout
    json.loads((b / "run.json").read_text())  # the folder stays a result folder
