"""What a researcher reads after a study: summary table, Sobol indices, tornado, response curves."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from optimizer.data.errors import InvalidInstance, Problem  # noqa: E402
from optimizer.data.io import atomic_write, atomic_write_text  # noqa: E402
from optimizer.studies.sweep import METRICS, read_sweep  # noqa: E402

REPORTED = ("objective", "people_lifted", "min_coverage")


def load_study_folder(study_dir: str | Path) -> tuple[dict, pd.DataFrame, list[str]]:
    folder = Path(study_dir)
    record_file = folder / "study.json"
    if not record_file.is_file():
        raise InvalidInstance([Problem(str(folder), "not a study folder (no study.json); run `ewppt sweep` first")])
    record = json.loads(record_file.read_text())
    results = read_sweep(folder)
    paths = [p["path"] for p in record["study"]["parameter"]]
    return record, results, paths


def summary_table(results: pd.DataFrame) -> pd.DataFrame:
    """Per metric over the optimal scenarios: count, mean, spread and quantiles; plus statuses."""
    ok = results[results["status"] == "optimal"]
    rows = []
    for metric in METRICS:
        if metric not in ok:
            continue
        values = ok[metric].astype(float)
        rows.append({"metric": metric, "count": int(values.count()), "mean": values.mean(), "std": values.std(),
                     "min": values.min(), "p05": values.quantile(0.05), "median": values.median(),
                     "p95": values.quantile(0.95), "max": values.max()})
    for status, count in results["status"].value_counts().sort_index().items():
        rows.append({"metric": f"status:{status}", "count": int(count)})
    return pd.DataFrame(rows)


def sobol_indices(record: dict, results: pd.DataFrame, paths: list[str], seed: int = 0) -> pd.DataFrame:
    """First-order and total Sobol indices with 95% confidence intervals (SALib), per metric."""
    from SALib.analyze import sobol

    problem = {"num_vars": len(paths), "names": paths,
               "bounds": [p["bounds"] for p in record["study"]["parameter"]]}
    expected = len(pd.read_parquet(Path(record["_folder"]) / "design.parquet"))
    if len(results) != expected:
        raise InvalidInstance([Problem(record["_folder"], f"Sobol indices need every scenario: {len(results)} of "
                                                          f"{expected} are done (resume the study)")])
    rows = []
    for metric in REPORTED:
        y = results.sort_values("scenario_id")[metric].astype(float).to_numpy()
        if np.isnan(y).any():
            continue  # an infeasible scenario has no value; those metrics are left out
        indices = sobol.analyze(problem, y, calc_second_order=False, seed=seed)
        for i, path in enumerate(paths):
            rows.append({"metric": metric, "parameter": path, "S1": indices["S1"][i], "S1_conf": indices["S1_conf"][i],
                         "ST": indices["ST"][i], "ST_conf": indices["ST_conf"][i]})
    return pd.DataFrame(rows, columns=["metric", "parameter", "S1", "S1_conf", "ST", "ST_conf"])


def _save_png(fig, path: Path) -> None:
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight"))
    plt.close(fig)


def tornado(results: pd.DataFrame, paths: list[str], metric: str = "objective") -> tuple[pd.DataFrame, plt.Figure]:
    """One-at-a-time: each parameter's low and high run against the base run (scenario 0)."""
    base_row = results[results["scenario_id"] == 0].iloc[0]
    base = float(base_row[metric])
    rows = []
    for path in paths:
        moved = results[(results[path] != base_row[path]) & (results["scenario_id"] != 0)]
        others = [p for p in paths if p != path]
        if others:
            moved = moved[(moved[others] == base_row[others]).all(axis=1)]
        if moved.empty:
            continue
        values = moved[metric].astype(float)
        rows.append({"parameter": path, "low": values.min() - base, "high": values.max() - base})
    table = pd.DataFrame(rows, columns=["parameter", "low", "high"])
    table["swing"] = table["high"] - table["low"]
    table = table.sort_values("swing")
    fig, ax = plt.subplots(figsize=(8, 0.5 * max(len(table), 2) + 1.5))
    ax.barh(table["parameter"], table["high"], color="#2b8cbe", label="largest change")
    ax.barh(table["parameter"], table["low"], color="#e34a33", label="smallest change")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(f"change in {metric} from the base scenario ({base:,.6g})")
    ax.set_title("One-at-a-time sensitivity")
    ax.legend(loc="lower right")
    return table, fig


def response_curves(results: pd.DataFrame, paths: list[str], metric: str) -> plt.Figure:
    ok = results[results["status"] == "optimal"]
    fig, axes = plt.subplots(1, len(paths), figsize=(4 * len(paths), 3.5), squeeze=False)
    for ax, path in zip(axes[0], paths):
        x = pd.to_numeric(ok[path], errors="coerce")
        if x.notna().all():
            order = np.argsort(x.to_numpy())
            ax.plot(x.to_numpy()[order], ok[metric].to_numpy()[order], "o", markersize=3, alpha=0.7)
        else:  # a structural parameter: one box of values per level
            levels = sorted(ok[path].unique())
            ax.boxplot([ok.loc[ok[path] == lv, metric] for lv in levels], tick_labels=levels)
        ax.set_xlabel(path)
        ax.set_ylabel(metric)
    fig.suptitle(f"{metric} against each parameter")
    fig.tight_layout()
    return fig


def write_sweep_report(study_dir: str | Path) -> list[Path]:
    """Write summary.csv, sobol.csv and sobol.png (Sobol design), tornado.csv and tornado.png
    (one-at-a-time design) and response_<metric>.png into the study folder, and remove the
    files of an earlier report that this one does not write (report.json lists them).

    The study folder is the sweep's resumable store, so it is written into, never replaced."""
    folder = Path(study_dir)
    earlier = _earlier_report_files(folder)
    record, results, paths = load_study_folder(folder)
    record["_folder"] = str(folder)
    if results.empty:
        raise InvalidInstance([Problem(str(folder), "holds no finished scenario yet")])
    written = []

    def save_csv(frame: pd.DataFrame, name: str) -> None:
        atomic_write(folder / name, lambda tmp: frame.to_csv(tmp, index=False, float_format="%.10g"))
        written.append(folder / name)

    save_csv(summary_table(results), "summary.csv")
    design = record["study"]["study"]["design"]
    if design == "sobol":
        indices = sobol_indices(record, results, paths, seed=record["study"]["study"]["seed"])
        save_csv(indices, "sobol.csv")
        if not indices.empty:
            fig, axes = plt.subplots(1, indices["metric"].nunique(), figsize=(5 * indices["metric"].nunique(), 4),
                                     squeeze=False)
            for ax, (metric, group) in zip(axes[0], indices.groupby("metric", sort=False)):
                x = np.arange(len(group))
                ax.bar(x - 0.2, group["S1"], 0.4, yerr=group["S1_conf"], label="first order S1")
                ax.bar(x + 0.2, group["ST"], 0.4, yerr=group["ST_conf"], label="total ST")
                ax.set_xticks(x, group["parameter"], rotation=30, ha="right")
                ax.set_title(metric)
                ax.legend()
            fig.tight_layout()
            _save_png(fig, folder / "sobol.png")
            written.append(folder / "sobol.png")
    if design == "oat" and (results["scenario_id"] == 0).any():
        table, fig = tornado(results[results["status"] == "optimal"], paths)
        save_csv(table, "tornado.csv")
        _save_png(fig, folder / "tornado.png")
        written.append(folder / "tornado.png")
    for metric in REPORTED:
        if metric in results and results[metric].notna().any():
            _save_png(response_curves(results, paths, metric), folder / f"response_{metric}.png")
            written.append(folder / f"response_{metric}.png")
    atomic_write_text(folder / "report.json", json.dumps({"files": [p.name for p in written]}, indent=2) + "\n")
    for name in earlier - {p.name for p in written}:
        (folder / name).unlink(missing_ok=True)
    return written


def _earlier_report_files(folder: Path) -> set[str]:
    """The files the last sweep-report wrote (plain names in the folder, nothing else)."""
    try:
        files = json.loads((folder / "report.json").read_text(encoding="utf-8")).get("files", [])
    except (OSError, ValueError, AttributeError):
        return set()
    return {name for name in files if isinstance(name, str) and name == Path(name).name
            and name.endswith((".csv", ".png"))}
