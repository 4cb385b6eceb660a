"""Ids that look like numbers or missing values (`001`, `1`, `nan`, `NA`, `null`) survive
`Result.write` and `read_results` in every format."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from optimizer.data.io import load_instance
from optimizer.solving.results import TABLE_NAMES, read_results
from optimizer.solving.solve import solve

TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny"
IDS = {"coastal": "001", "harbour": "1", "upland": "nan", "valley": "NA", "plateau": "null", "cdf": "01"}


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ids") / "tiny"
    shutil.copytree(TINY, folder)
    for path in folder.glob("*.csv"):
        text = path.read_text(encoding="utf-8")
        for old, new in IDS.items():
            text = re.sub(rf"\b{old}\b", new, text)
        path.write_text(text, encoding="utf-8")
    found = solve(load_instance(folder))
    assert found.ok
    return found


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_ids_round_trip(result, tmp_path: Path, fmt: str) -> None:
    result.write(tmp_path, fmt)
    reloaded = read_results(tmp_path)
    assert set(reloaded["allocation"]["donor"]) == {"001", "1"}
    assert set(reloaded["kpis"]["recipient"]) == {"nan", "NA", "null"}
    assert "01" in set(reloaded["allocation"]["instrument"])
    for name in TABLE_NAMES:
        table = getattr(result, name)
        for column in ("donor", "recipient", "instrument"):
            if column in table.columns and len(table):
                text = lambda values: [None if pd.isna(v) else str(v) for v in values]  # noqa: E731
                assert text(reloaded[name][column]) == text(table[column]), (name, column)
