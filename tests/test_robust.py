"""Robust plans (optimizer/studies/robust.py, models/robust.py): one plan for every scenario.

The hand-solved case is `tiny` (instances/tiny/README.md) with the effect of upland's community
development fund uncertain: a factor f of 1, 0.5 or 0.2 on both its segments (100f for 6
million, then 40f for 10), each with probability 1/3. Nothing else moves, so the plan differs
only in how coastal spends the 14 million it has after plateau's 6: upland cdf, or loan
guarantees at upland (30 people per million, at most 5 a year by upland's investment demand
of 20 and leverage 4). Harbour's 20 go to valley as in the README (cdf 8, roads 12), plateau's
6 from coastal (cdf 4, roads 2): 1,840 people in every scenario.

- the point-estimate plan (f = 1): upland cdf 14 (seg 2 at 40 beats loans at 30):
  P = 1,840 + 920 f = 2,760 / 2,300 / 2,024; E = 2,361.33, worst 2,024.
- expected (E f = 0.5667: seg 1 at 56.7 > loans 30 > seg 2 at 22.7): upland cdf 6, loans 8:
  P = 2,080 + 600 f = 2,680 / 2,380 / 2,200; E = 2,420, worst 2,200.
- worst (f = 0.2 is the worst scenario for every plan: seg 1 at 20 < loans 30): loans 10, cdf 4:
  P = 2,140 + 400 f = 2,540 / 2,340 / 2,220; E = 2,366.67, worst 2,220.
- CVaR at 2/3 (the mean of the two worst): (2,380 + 2,200) / 2 = 2,290 for the expected plan
  against (2,340 + 2,220) / 2 = 2,280 for the worst-case plan: the expected plan (its effective
  f = 0.35 keeps seg 1 at 35 above loans). At ALPHA = 1 the expectation, at ALPHA <= 1/3 the worst.
- own optima: f = 1: 2,760; f = 0.5 (seg 1 at 50 > loans > seg 2 at 20): 2,380; f = 0.2: 2,220;
  mean 2,453.33. EVPI = 2,453.33 - 2,420 = 33.33; VSS (expected) = 2,420 - 2,361.33 = 58.67;
  VSS (worst) = 2,220 - 2,024 = 196.

Every donor budget is 10 a year, so the steady stage splits each line half and half: the plans
are asserted flow by flow.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from optimizer import load_instance, robust, solve
from optimizer.cli import app
from optimizer.studies.uncertainty import Risk, Uncertainty, load_uncertainty, parse_risk, risk_value
from tests.conftest import INSTANCES

APPROX = dict(rel=1e-9, abs=1e-7)
FLOW = ["donor", "recipient", "instrument", "year"]
COMMON = {("coastal", "plateau", "cdf"): 4, ("coastal", "plateau", "roads"): 2, ("harbour", "valley", "cdf"): 8,
          ("harbour", "valley", "roads"): 12}
EXPECTED_PLAN = {**COMMON, ("coastal", "upland", "cdf"): 6, ("coastal", "upland", "loan_guarantee"): 8}
WORST_PLAN = {**COMMON, ("coastal", "upland", "cdf"): 4, ("coastal", "upland", "loan_guarantee"): 10}
POINT_PLAN = {**COMMON, ("coastal", "upland", "cdf"): 14}
UPLAND_CDF = "effects.upland.cdf.people_per_million"


def uncertainty(factors=(1.0, 0.5, 0.2), probabilities=None, path=UPLAND_CDF, **more) -> Uncertainty:
    section = {"design": "scenarios", **({"probabilities": probabilities} if probabilities else {})}
    parameters = [{"path": path, "values": list(factors)}, *({"path": p, "values": list(v)} for p, v in more.items())]
    return Uncertainty.model_validate({"uncertainty": section, "parameter": parameters})


def flows(result) -> dict[tuple, float]:
    return {tuple(key): aid for *key, aid in result.allocation[[*FLOW, "aid"]].itertuples(index=False)}


def by_year(totals: dict) -> dict[tuple, float]:
    """Each line's total split half and half over 2011 and 2012 (both budgets are 10 each year)."""
    return {(*line, t): aid / 2 for line, aid in totals.items() for t in (2011, 2012)}


@pytest.mark.parametrize("risk, plan, value", [
    ("expected", EXPECTED_PLAN, 2420),
    ("worst", WORST_PLAN, 2220),
    ("cvar:0.6667", EXPECTED_PLAN, None),
    ("cvar:1", EXPECTED_PLAN, 2420),
    ("cvar:0.3", WORST_PLAN, 2220),
    ("cvar:0.01", WORST_PLAN, 2220),
])
def test_tiny_robust_plans_by_hand(tiny, risk, plan, value):
    result = robust(tiny, uncertainty(), risk=risk, worth=False)
    assert result.status == "optimal"
    assert flows(result) == pytest.approx(by_year(plan), **APPROX)
    if value is not None:
        assert result.objective == pytest.approx(value, **APPROX)
    else:  # CVaR at 0.6667: (1/3 (2,200 + 2,380) + 0.0000333 x 2,680) / 0.6667
        alpha = 0.6667
        assert result.objective == pytest.approx((2200 / 3 + 2380 / 3 + (alpha - 2 / 3) * 2680) / alpha, **APPROX)
    assert result.summary["aid_off_profile"] == 0


def test_tiny_worth_by_hand(tiny):
    expected = robust(tiny, uncertainty(), risk="expected")
    table = expected.scenarios
    assert table["robust_plan"].tolist() == pytest.approx([2680, 2380, 2200], **APPROX)
    assert table["point_estimate_plan"].tolist() == pytest.approx([2760, 2300, 2024], **APPROX)
    assert table["own_optimum"].tolist() == pytest.approx([2760, 2380, 2220], **APPROX)
    assert expected.robust["vss"] == pytest.approx(2420 - 7084 / 3, abs=1e-6)
    assert expected.robust["evpi"] == pytest.approx(7360 / 3 - 2420, abs=1e-6)
    worst = robust(tiny, uncertainty(), risk="worst")
    assert worst.robust["vss"] == pytest.approx(196, abs=1e-6)
    assert worst.robust["robust_plan_expected"] == pytest.approx(7100 / 3, abs=1e-6)


def test_point_estimate_plan_is_solves(tiny):
    """The point-estimate plan the worth is measured against is `solve`'s plan of tiny."""
    result = robust(tiny, uncertainty(), risk="expected")
    assert result.scenarios["point_estimate_plan"].iloc[0] == pytest.approx(solve(tiny).objective, **APPROX)
    assert flows(solve(tiny)) == pytest.approx(by_year(POINT_PLAN), **APPROX)


@pytest.mark.parametrize("factor", [1.0, 0.3])
@pytest.mark.parametrize("risk", ["expected", "worst", "cvar:0.5"])
def test_one_scenario_is_exactly_solve(tiny, factor, risk):
    """A scenario set of one scenario is the ordinary model, row for row: solve's plan exactly."""
    one = robust(tiny, uncertainty([factor]), risk=risk, worth=False)
    from optimizer.studies.study import apply_to_instance, resolve_parameters, Study

    study = Study.model_validate({"parameter": [{"path": UPLAND_CDF, "values": [factor]}]})
    reference = solve(apply_to_instance(tiny, resolve_parameters(study, tiny), {UPLAND_CDF: factor}))
    pd.testing.assert_frame_equal(one.allocation, reference.allocation)
    pd.testing.assert_frame_equal(one.decisions, reference.decisions)
    assert one.objective == reference.objective


def test_one_scenario_on_a_mip_is_exactly_solve():
    """ewppt-2010 (a MIP: funds and cadres) with one scenario: solve's plan and decisions."""
    e10 = load_instance(INSTANCES / "ewppt-2010")
    one = robust(e10, uncertainty([1.0], path="effects.*.cdf.people_per_million"), worth=False)
    reference = solve(e10)
    assert one.solver["model"] == "mip"
    pd.testing.assert_frame_equal(one.allocation, reference.allocation)
    pd.testing.assert_frame_equal(one.decisions, reference.decisions)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(factors=st.lists(st.floats(0.05, 1.5), min_size=2, max_size=3),
       weights=st.lists(st.integers(1, 5), min_size=3, max_size=3),
       risk=st.sampled_from(["expected", "worst", "cvar:0.5"]))
def test_vss_and_evpi_are_never_negative(tiny, factors, weights, risk):
    probabilities = [w / sum(weights[:len(factors)]) for w in weights[:len(factors)]]
    result = robust(tiny, uncertainty(factors, probabilities, **{"recipients.plateau.poor_population": factors[::-1]}),
                    risk=risk)
    assert result.status == "optimal"
    assert result.robust["vss"] >= 0
    assert result.robust["evpi"] >= 0
    # the robust plan is the best on its risk measure among these plans: no own optimum's plan is
    # evaluated here, but the robust plan's risk is the model's objective
    assert result.robust["robust_plan_risk"] == pytest.approx(result.objective, rel=1e-7, abs=1e-6)


def test_capacities_are_taken_at_their_worst(tiny):
    """Upland's investment demand uncertain (20 or 10 a year): the plan keeps 10, so loans at
    upland are at most 10 / 4 = 2.5 a year whichever scenario comes true."""
    result = robust(tiny, uncertainty(**{"recipients.upland.investment_demand": [1.0, 0.5, 0.5]}), risk="worst",
                    worth=False)
    loans = result.allocation[result.allocation["instrument"] == "loan_guarantee"]
    assert loans.groupby("year")["aid"].sum().tolist() == pytest.approx([2.5, 2.5], **APPROX)
    assert result.robust["worst_capacities"] == ["recipients.upland.investment_demand"]


def test_sampled_scenarios_are_seeded_and_equally_likely(tiny):
    for design in ("lhs", "sobol"):
        spec = {"uncertainty": {"design": design, "samples": 4, "seed": 7},
                "parameter": [{"path": UPLAND_CDF, "bounds": [0.5, 1.0]}]}
        first = robust(tiny, Uncertainty.model_validate(spec), worth=False)
        again = robust(tiny, Uncertainty.model_validate(spec), worth=False)
        assert len(first.scenarios) == 4
        assert first.scenarios["probability"].tolist() == pytest.approx([0.25] * 4)
        assert first.scenarios[UPLAND_CDF].between(0.5, 1.0).all()
        pd.testing.assert_frame_equal(first.scenarios, again.scenarios)


def test_risk_value_and_parse():
    values, p = [3.0, 1.0, 2.0], [0.2, 0.5, 0.3]
    assert risk_value(values, p, Risk("expected")) == pytest.approx(0.6 + 0.5 + 0.6)
    assert risk_value(values, p, Risk("worst")) == 1.0
    assert risk_value(values, p, Risk("cvar", 0.5)) == pytest.approx(1.0)
    assert risk_value(values, p, Risk("cvar", 0.6)) == pytest.approx((0.5 + 0.1 * 2) / 0.6)
    assert parse_risk("cvar:0.25") == Risk("cvar", 0.25)
    for bad in ("cvar:0", "cvar:1.5", "cvar:x", "mean"):
        with pytest.raises(ValueError, match="cvar:ALPHA"):
            parse_risk(bad)


# ------------------------------------------------------------------------- the command line

def run(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200", "EWPPT_DEBUG": None})


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "UNCERTAINTY.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("path, what", [
    ("proportion.provincial", "a budget"),
    ("revenue.*.*.*", "a budget"),
    ("pairs.coastal.upland.base_quota", "a quota"),
    ("priorities.women_min", "a priority share"),
    ("priorities.coverage_min", "the coverage floor"),
])
def test_refused_parameters_exit_2_naming_the_path(tmp_path, path, what):
    text = f'[[parameter]]\npath = "{path}"\nvalues = [1.0, 0.5]\n'
    if path.startswith("priorities"):
        text = f'[[parameter]]\npath = "{path}"\nmode = "value"\nvalues = [0.1, 0.2]\n'
    done = run("robust", str(INSTANCES / "tiny"), str(write(tmp_path, text)), "--out", str(tmp_path / "out"))
    assert done.exit_code == 2, done.output
    assert f"UNCERTAINTY.toml, key 'parameter[1].path', value '{path}'" in done.output
    assert what in done.output and "Traceback" not in done.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text, expected", [
    ('[[parameter]]\npath = "effects.upland.cdf.people_per_million"\nvalues = [1.0, 0.5]\nfoo = 1\n',
     "key 'parameter.0.foo': unknown key"),
    ('[uncertainty]\nprobabilities = [0.5, 0.6]\n[[parameter]]\npath = "effects.upland.cdf.people_per_million"\n'
     'values = [1.0, 0.5]\n', "probabilities must sum to 1 (they sum to 1.1)"),
    ('[uncertainty]\nprobabilities = [1.0]\n[[parameter]]\npath = "effects.upland.cdf.people_per_million"\n'
     'values = [1.0, 0.5]\n', "`probabilities` has 1 entries for 2 scenarios"),
    ('[[parameter]]\npath = "effects.upland.cdf.people_per_million"\nvalues = [1.0, 0.5]\n'
     '[[parameter]]\npath = "recipients.upland.poor_population"\nvalues = [1.0]\n', "one value per scenario"),
    ('[uncertainty]\ndesign = "lhs"\n[[parameter]]\npath = "effects.upland.cdf.people_per_million"\nvalues = [1.0]\n',
     "needs `bounds` on every parameter"),
    ('[[parameter]]\npath = "effects.uplands.cdf.people_per_million"\nvalues = [1.0]\n',
     "value 'effects.uplands.cdf.people_per_million': unknown recipient 'uplands'; did you mean 'upland'?"),
    ('[[parameter]]\npath = "effects.upland.cdf.people_per_million"\nvalues = [1.0, -0.5]\n',
     "key 'effects.upland.cdf.people_per_million', value -0.5: values must lie in"),
    ('[[parameter]]\npath = "scenario.objective"\nvalues = ["equity"]\n', "changes the model's structure"),
    ("[[parameter]\n", "not valid UTF-8 TOML"),
])
def test_bad_uncertainty_files_exit_2_with_file_key_value(tmp_path, text, expected):
    done = run("robust", str(INSTANCES / "tiny"), str(write(tmp_path, text)), "--out", str(tmp_path / "out"))
    assert done.exit_code == 2, done.output
    assert "UNCERTAINTY.toml" in done.output and expected in " ".join(done.output.split()), done.output
    assert "Traceback" not in done.output and "internal error" not in done.output


def test_bad_risk_and_objective_exit_2(tmp_path):
    good = write(tmp_path, f'[[parameter]]\npath = "{UPLAND_CDF}"\nvalues = [1.0, 0.5]\n')
    done = run("robust", str(INSTANCES / "tiny"), str(good), "--risk", "cvar:1.5", "--out", str(tmp_path / "o"))
    assert done.exit_code == 2 and "--risk, value 'cvar:1.5'" in done.output
    done = run("robust", str(INSTANCES / "tiny"), str(good), "--set", "objective=equity", "--out", str(tmp_path / "o"))
    assert done.exit_code == 2 and "key 'scenario.objective', value 'equity'" in done.output
    done = run("robust", str(INSTANCES / "tiny"), str(tmp_path / "missing.toml"), "--out", str(tmp_path / "o"))
    assert done.exit_code == 2 and "missing.toml: no such uncertainty file" in done.output


def test_cli_writes_a_result_folder_with_scenarios(tmp_path):
    good = write(tmp_path, f'[[parameter]]\npath = "{UPLAND_CDF}"\nvalues = [1.0, 0.5, 0.2]\n')
    out = tmp_path / "out"
    done = run("robust", str(INSTANCES / "tiny"), str(good), "--risk", "worst", "--out", str(out))
    assert done.exit_code == 0, done.output
    assert "worst of people_lifted = 2,220" in done.output
    from optimizer import read_results

    tables = read_results(out)
    assert tables["scenarios"]["robust_plan"].tolist() == pytest.approx([2540, 2340, 2220])
    import json

    record = json.loads((out / "run.json").read_text())
    assert record["robust"]["vss"] == pytest.approx(196) and record["robust"]["risk"] == "worst"


def test_bundled_uncertainty_files_load():
    root = Path(__file__).resolve().parents[1] / "studies"
    files = sorted(root.glob("uncertainty-*.toml"))
    assert files
    for path in files:
        load_uncertainty(path)


def test_text_values_exit_2(tmp_path):
    bad = write(tmp_path, f'[[parameter]]\npath = "{UPLAND_CDF}"\nvalues = [1.0, "high"]\n')
    done = run("robust", str(INSTANCES / "tiny"), str(bad), "--out", str(tmp_path / "o"))
    assert done.exit_code == 2 and "key 'parameter[1].values', value 'high': expected a number" in done.output


def test_report_has_a_robust_section(tmp_path):
    good = write(tmp_path, f'[[parameter]]\npath = "{UPLAND_CDF}"\nvalues = [1.0, 0.5, 0.2]\n')
    out = tmp_path / "out"
    assert run("robust", str(INSTANCES / "tiny"), str(good), "--risk", "worst", "--out", str(out)).exit_code == 0
    from optimizer import write_report

    page = write_report(out)[0].read_text(encoding="utf-8")
    assert '<section id="robust">' in page and 'id="fig-robust"' in page
    assert "196" in page  # the VSS of the worst-case plan, by hand above
    plain = tmp_path / "plain"
    assert run("solve", str(INSTANCES / "tiny"), "--out", str(plain)).exit_code == 0
    assert '<section id="robust">' not in write_report(plain)[0].read_text(encoding="utf-8")
