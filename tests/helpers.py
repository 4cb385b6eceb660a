"""Small helpers shared by tests."""

from __future__ import annotations

import pandas as pd


def plan_totals(allocation: pd.DataFrame, by=("donor", "recipient", "instrument")) -> dict:
    """Aid summed over the plan years (and anything not in `by`), zero entries dropped."""
    totals = allocation.groupby(list(by))["aid"].sum()
    return {key: round(value, 9) for key, value in totals.items() if abs(value) > 1e-9}


def assert_sweep_matches_solves(results: pd.DataFrame, study, instance, rel: float) -> None:
    """Every scenario of a sweep equals an independent `solve` of that scenario: objective,
    people lifted and total aid; under the people_years objective, people-years instead of
    people lifted (a tie among the best plans may move people lifted, see tests/test_lag.py)."""
    import pytest

    from optimizer import solve
    from optimizer.studies.study import apply_to_instance, resolve_parameters

    parameters = resolve_parameters(study, instance)
    for row in results.itertuples(index=False):
        point = {p.path: getattr(row, "_" + str(i + 1)) for i, p in enumerate(parameters)}
        reference = solve(apply_to_instance(instance, parameters, point))
        assert row.objective == pytest.approx(reference.objective, rel=rel, abs=1e-6)
        if reference.summary["objective_name"] != "people_years":  # whose end of plan may tie
            assert row.people_lifted == pytest.approx(reference.summary["people_lifted"], rel=rel, abs=1e-6)
        assert row.total_aid == pytest.approx(reference.summary["total_aid_million"], rel=rel, abs=1e-6)
        if reference.summary["objective_name"] == "people_years":  # else the years' split may tie
            assert row.people_years == pytest.approx(reference.summary["people_years"], rel=rel, abs=1e-6)


def with_lags(instance, **lags: int):
    """The instance with instruments.csv's lag_years set for the instruments named."""
    import dataclasses

    instruments = instance.instruments.copy()
    for instrument, lag in lags.items():
        assert instrument in set(instruments["instrument"]), instrument
        instruments.loc[instruments["instrument"] == instrument, "lag_years"] = lag
    return dataclasses.replace(instance, instruments=instruments)


def stop_processes(processes) -> None:
    """End the test's server processes (a Dask scheduler and its workers), last started first:
    terminate, then kill what has not ended 20 s later."""
    import subprocess

    for process in reversed(processes):
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
