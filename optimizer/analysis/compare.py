"""Two result folders side by side: what changed between plan A and plan B.

    from optimizer.analysis.compare import compare_results
    tables = compare_results("results/base", "results/equity")

Tables (money in million yuan over the whole plan; delta = B - A):
    by_donor      donor, aid_a, aid_b, delta
    by_recipient  recipient, aid_a, aid_b, delta, people_lifted_a, people_lifted_b, people_delta
    by_category   category, aid_a, aid_b, delta
    kpis          kpi, a, b, delta              (the numbers of each run's summary)
    binding       family, rule, donor, recipient, instrument, year, binding_a, binding_b, change
                  (only the rows whose binding state differs: "became binding" or "became slack")

Each folder is what `ewppt solve` wrote (CSV, xlsx or Parquet, plus run.json).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from optimizer.solving.results import INDEX_COLUMNS, read_results

ZERO = 1e-9


def _aid_by(allocation: pd.DataFrame, key: str) -> pd.Series:
    return allocation.groupby(key)["aid"].sum() if len(allocation) else pd.Series(dtype=float)


def _side_by_side(a: pd.Series, b: pd.Series, key: str, names=("aid_a", "aid_b", "delta")) -> pd.DataFrame:
    table = pd.concat([a.rename(names[0]), b.rename(names[1])], axis=1).fillna(0.0)
    table[names[2]] = table[names[1]] - table[names[0]]
    table = table.round(9).rename_axis(key).reset_index()
    return table.sort_values(key, kind="stable").reset_index(drop=True)


def compare_results(a_dir: str | Path, b_dir: str | Path) -> dict[str, pd.DataFrame]:
    a, b = read_results(a_dir), read_results(b_dir)
    tables = {
        "by_donor": _side_by_side(_aid_by(a["allocation"], "donor"), _aid_by(b["allocation"], "donor"), "donor"),
        "by_category": _side_by_side(_aid_by(a["allocation"], "category"), _aid_by(b["allocation"], "category"),
                                     "category"),
    }
    recipients = _side_by_side(_aid_by(a["allocation"], "recipient"), _aid_by(b["allocation"], "recipient"), "recipient")
    people = _side_by_side(a["kpis"].set_index("recipient")["people_lifted"], b["kpis"].set_index("recipient")["people_lifted"],
                           "recipient", names=("people_lifted_a", "people_lifted_b", "people_delta"))
    tables["by_recipient"] = recipients.merge(people, on="recipient", how="outer").fillna(0.0)
    summary_a, summary_b = _summary(a_dir), _summary(b_dir)
    kpis = [(k, summary_a.get(k), summary_b.get(k)) for k in dict.fromkeys([*summary_a, *summary_b])
            if isinstance(summary_a.get(k, 0.0), (int, float)) and isinstance(summary_b.get(k, 0.0), (int, float))]
    tables["kpis"] = pd.DataFrame(
        [(k, va, vb, None if va is None or vb is None else round(vb - va, 9)) for k, va, vb in kpis],
        columns=["kpi", "a", "b", "delta"])
    tables["binding"] = _binding_changes(a["binding"], b["binding"])
    return tables


def _summary(folder: str | Path) -> dict:
    run = json.loads((Path(folder) / "run.json").read_text(encoding="utf-8"))
    return {"objective": run.get("objective"), **{k: v for k, v in run.get("summary", {}).items() if k != "objective"}}


def _binding_changes(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    columns = ["family", *INDEX_COLUMNS]
    def text(column: pd.Series, name: str) -> pd.Series:
        if name == "year":  # a year read back from CSV is a float (2011.0) where some rows have none
            column = pd.to_numeric(column, errors="coerce").astype("Int64")
        return column.astype("string").fillna("")

    keyed = [t.assign(**{c: text(t[c], c) for c in columns}) for t in (a, b)]
    merged = keyed[0][[*columns, "binding"]].merge(keyed[1][[*columns, "binding"]], on=columns, how="outer",
                                                   suffixes=("_a", "_b"))
    merged[["binding_a", "binding_b"]] = merged[["binding_a", "binding_b"]].fillna(False).astype(bool)
    changed = merged[merged["binding_a"] != merged["binding_b"]].copy()
    changed["change"] = changed["binding_b"].map({True: "became binding", False: "became slack"})
    return changed.sort_values(columns, kind="stable").reset_index(drop=True)


def is_same_plan(tables: dict[str, pd.DataFrame]) -> bool:
    """No aid, people or binding state moved."""
    deltas = [tables[name]["delta"].abs().max() if len(tables[name]) else 0.0
              for name in ("by_donor", "by_category", "by_recipient")]
    people = tables["by_recipient"]["people_delta"].abs().max() if len(tables["by_recipient"]) else 0.0
    return max([*deltas, people]) <= ZERO and tables["binding"].empty
