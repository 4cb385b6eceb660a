"""Two result folders side by side: what changed between plan A and plan B.

    from optimizer.analysis.compare import compare_results
    tables = compare_results("results/base", "results/equity")

Tables (money in million yuan over the whole plan; delta = B - A):
    runs              side (A or B), folder, objective_name, objective
    by_donor          donor, aid_a, aid_b, delta
    by_recipient      recipient, aid_a, aid_b, delta, people_lifted_a, people_lifted_b, people_delta
    by_category       category, aid_a, aid_b, delta
    kpis              kpi, a, b, delta              (the numbers of each run's summary)
    binding           family, rule, donor, recipient, instrument, year, slack_a, slack_b, binding_a, binding_b,
                      change  (only the rows whose binding state differs: "became binding" or "became slack")
    binding_summary   family, rule, became_binding, became_slack   (counts per rule)

Like with like: when A and B optimise different objectives (people lifted against equity),
their objectives are different units and their difference means nothing, so the `objective`
row's delta is left empty and `objective_warning(tables)` says so; people lifted and the least
coverage are compared instead (rows of `kpis` either way).

Differences below TOLERANCE (relative: |B - A| <= TOLERANCE x (1 + max(|A|, |B|))) are solver
noise (2.1e-08 million on a plan of 11,000 million), and are set to 0.

Each folder is what `ewppt solve` wrote (CSV, xlsx or Parquet, plus run.json).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.solving.results import INDEX_COLUMNS, read_results

TOLERANCE = 1e-6
ZERO = 1e-9  # kept for callers: a delta table is "no change" when every delta is 0 after TOLERANCE
LIKE_FOR_LIKE = ("people_lifted", "min_coverage")  # what two different objectives are compared by


def _aid_by(allocation: pd.DataFrame, key: str) -> pd.Series:
    return allocation.groupby(key)["aid"].sum() if len(allocation) else pd.Series(dtype=float)


def _delta(a, b):
    """B - A, with differences below TOLERANCE (relative) set to 0."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    delta = b - a
    scale = 1 + np.maximum(np.abs(a), np.abs(b))
    return np.where(np.abs(delta) <= TOLERANCE * scale, 0.0, delta)


def _side_by_side(a: pd.Series, b: pd.Series, key: str, names=("aid_a", "aid_b", "delta")) -> pd.DataFrame:
    table = pd.concat([a.rename(names[0]), b.rename(names[1])], axis=1).fillna(0.0)
    table[names[2]] = _delta(table[names[0]], table[names[1]])
    table = table.round(9).rename_axis(key).reset_index()
    return table.sort_values(key, kind="stable").reset_index(drop=True)


def compare_results(a_dir: str | Path, b_dir: str | Path) -> dict[str, pd.DataFrame]:
    a, b = read_results(a_dir), read_results(b_dir)
    summary_a, summary_b = _summary(a_dir), _summary(b_dir)
    tables = {
        "runs": pd.DataFrame([("A", str(a_dir), summary_a.get("objective_name"), summary_a.get("objective")),
                              ("B", str(b_dir), summary_b.get("objective_name"), summary_b.get("objective"))],
                             columns=["side", "folder", "objective_name", "objective"]),
        "by_donor": _side_by_side(_aid_by(a["allocation"], "donor"), _aid_by(b["allocation"], "donor"), "donor"),
        "by_category": _side_by_side(_aid_by(a["allocation"], "category"), _aid_by(b["allocation"], "category"),
                                     "category"),
    }
    recipients = _side_by_side(_aid_by(a["allocation"], "recipient"), _aid_by(b["allocation"], "recipient"), "recipient")
    people = _side_by_side(a["kpis"].set_index("recipient")["people_lifted"], b["kpis"].set_index("recipient")["people_lifted"],
                           "recipient", names=("people_lifted_a", "people_lifted_b", "people_delta"))
    tables["by_recipient"] = recipients.merge(people, on="recipient", how="outer").fillna(0.0)
    same_objective = summary_a.get("objective_name") == summary_b.get("objective_name")
    keys = list(dict.fromkeys([*summary_a, *summary_b]))
    if not same_objective:  # like with like first
        keys = [k for k in LIKE_FOR_LIKE if k in keys] + [k for k in keys if k not in LIKE_FOR_LIKE]
    rows = []
    for k in keys:
        va, vb = summary_a.get(k), summary_b.get(k)
        if not (isinstance(va, (int, float, type(None))) and isinstance(vb, (int, float, type(None)))) \
                or isinstance(va, bool) or isinstance(vb, bool):
            continue
        comparable = va is not None and vb is not None and (same_objective or k not in ("objective", "best_bound"))
        rows.append((k, va, vb, round(float(_delta(va, vb)), 9) if comparable else None))
    tables["kpis"] = pd.DataFrame(rows, columns=["kpi", "a", "b", "delta"])
    tables["binding"] = _binding_changes(a["binding"], b["binding"])
    tables["binding_summary"] = binding_summary(tables["binding"])
    return tables


def objective_warning(tables: dict[str, pd.DataFrame]) -> str:
    """A sentence when A and B optimise different objectives (else empty)."""
    names = tables["runs"].set_index("side")["objective_name"]
    if names["A"] == names["B"]:
        return ""
    return (f"A maximises {names['A']} and B {names['B']}: their objectives are in different units and are not "
            f"compared; compare people lifted and the least coverage instead")


def _summary(folder: str | Path) -> dict:
    run = json.loads((Path(folder) / "run.json").read_text(encoding="utf-8"))
    summary = run.get("summary", {})
    name = summary.get("objective_name") or run.get("scenario", {}).get("scenario", {}).get("objective")
    return {"objective": run.get("objective"), **{k: v for k, v in summary.items() if k != "objective"},
            "objective_name": name}


def _binding_changes(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    columns = ["family", *INDEX_COLUMNS]

    def text(column: pd.Series, name: str) -> pd.Series:
        if name == "year":  # a year read back from CSV is a float (2011.0) where some rows have none
            column = pd.to_numeric(column, errors="coerce").astype("Int64")
        return column.astype("string").fillna("")

    keyed = [t.assign(**{c: text(t[c], c) for c in columns}) for t in (a, b)]
    merged = keyed[0][[*columns, "slack", "binding"]].merge(keyed[1][[*columns, "slack", "binding"]], on=columns,
                                                            how="outer", suffixes=("_a", "_b"))
    merged[["binding_a", "binding_b"]] = merged[["binding_a", "binding_b"]].fillna(False).astype(bool)
    changed = merged[merged["binding_a"] != merged["binding_b"]].copy()
    changed["change"] = changed["binding_b"].map({True: "became binding", False: "became slack"})
    changed = changed[[*columns, "slack_a", "slack_b", "binding_a", "binding_b", "change"]]
    return changed.sort_values(columns, kind="stable").reset_index(drop=True)


def binding_summary(binding: pd.DataFrame) -> pd.DataFrame:
    """Counts of rows that became binding and became slack, per family and rule."""
    columns = ["family", "rule", "became_binding", "became_slack"]
    if binding.empty:
        return pd.DataFrame(columns=columns)
    counts = (binding.assign(rule=binding["rule"].replace("", "-"))
              .groupby(["family", "rule", "change"]).size().unstack("change", fill_value=0))
    counts = counts.reindex(columns=["became binding", "became slack"], fill_value=0)
    counts.columns = ["became_binding", "became_slack"]
    return counts.reset_index()[columns]


def largest_binding_changes(binding: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The n rows whose slack moved most (a rule that became slack by 100 million before one
    that became slack by 0.1)."""
    if binding.empty:
        return binding
    moved = (binding["slack_b"].astype(float).fillna(0) - binding["slack_a"].astype(float).fillna(0)).abs()
    return binding.loc[moved.sort_values(ascending=False, kind="stable").index[:n]]


def is_same_plan(tables: dict[str, pd.DataFrame]) -> bool:
    """No aid, people or binding state moved (beyond TOLERANCE)."""
    deltas = [tables[name]["delta"].abs().max() if len(tables[name]) else 0.0
              for name in ("by_donor", "by_category", "by_recipient")]
    people = tables["by_recipient"]["people_delta"].abs().max() if len(tables["by_recipient"]) else 0.0
    return max([*deltas, people]) <= ZERO and tables["binding"].empty
