"""What a researcher reads after a study: summary table, Sobol indices, tornado, response curves."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter  # noqa: E402

from optimizer.data import numbers  # noqa: E402
from optimizer.data.errors import InvalidInstance, Problem  # noqa: E402
from optimizer.data.io import atomic_write, atomic_write_text  # noqa: E402
from optimizer.studies.sweep import METRICS, read_sweep  # noqa: E402

REPORTED = ("objective", "people_lifted", "min_coverage")
FACTOR = "factor on the instance's value"
# metric -> (words, unit)
METRIC_WORDS = {"people_lifted": ("people lifted", "people"),
                "min_coverage": ("least coverage", "share of a recipient's poor population"),
                "total_aid": ("total aid", "million yuan"),
                "leveraged_investment": ("leveraged investment", "million yuan"),
                "people_years": ("people years", "people lifted in each plan year, summed"),
                "people_lifted_by_plan_end": ("people lifted by the plan's end", "people, aid in effect by the last year")}
OBJECTIVE_WORDS = {"people_lifted": ("people lifted", "people"),
                   "weighted_people_lifted": ("weighted people lifted", "weighted people"),
                   "equity": ("equity, the least coverage", "share"),
                   "leveraged_investment": ("leveraged investment", "million yuan"),
                   "people_years": ("people years", "people")}
PRIORITY_UNITS = {"women_min": "share of household finance", "special_aid_min": "share of the budget",
                  "coverage_min": "share of each recipient's poor population", "quota_growth_min": "yearly growth"}
VALUE_MODE = ("proportion.", "priorities.", "scenario.", "horizon.")  # paths whose default mode is value; the rest factor


def _words(key: str) -> str:
    return "every" if key == "*" else str(key).replace("_", " ")


def _mode(path: str, mode: str | None = None) -> str:
    return mode or ("value" if path.startswith(VALUE_MODE) else "factor")


def parameter_label(path: str, mode: str | None = None) -> str:
    """A parameter path in words with its unit: proportion.provincial -> 'provincial extraction
    proportion (share of revenue)'; a factor says it multiplies the instance's value."""
    parts = path.split(".")
    head, keys = parts[0], parts[1:]
    factor = _mode(path, mode) == "factor"
    if path == "scenario.objective":
        return "objective"
    if path == "priorities.scope":
        return "priority scope"
    if head == "proportion":
        words, unit = f"{_words(keys[0])} extraction proportion", "share of revenue"
    elif head == "priorities":
        words, unit = _words(keys[0]), PRIORITY_UNITS.get(keys[0], "share of the budget")
    elif path == "horizon.discount_rate":
        words, unit = "discount rate of effects after the plan", "a year"
    elif head == "instruments":
        words, unit = f"{_words(keys[1])} of {_words(keys[0])}" + (" instrument" if keys[0] == "*" else ""), "factor"
    elif head == "effects":
        what = "people per million" if keys[2] == "people_per_million" else "segment width (million yuan)"
        words = f"effect of {_words(keys[1])} in {_words(keys[0])}{' recipient' if keys[0] == '*' else ''}, {what}"
        unit = "factor"
    elif head == "revenue":
        which = ", ".join(map(_words, keys[1:]))
        words, unit = f"revenue of {_words(keys[0])}{' donor' if keys[0] == '*' else ''} ({which})", "million yuan"
    elif head == "recipients":
        words, unit = f"{_words(keys[1])} of {_words(keys[0])}{' recipient' if keys[0] == '*' else ''}", "factor"
    elif head == "pairs":
        words, unit = f"base quota of {_words(keys[0])} to {_words(keys[1])}", "million yuan"
    elif head == "capacity":
        words, unit = f"capacity of {_words(keys[1])} in {_words(keys[0])} ({_words(keys[2])})", "million yuan"
    else:
        words, unit = _words(path), ""
    unit = FACTOR if factor else unit
    return f"{words} ({unit})" if unit else words


def metric_label(metric: str, objective_name: str | None = None) -> str:
    """A metric in words with its unit: min_coverage -> 'least coverage (share of a recipient's
    poor population)'; the objective names the scenario's objective when it is known."""
    if metric == "objective":
        words, unit = OBJECTIVE_WORDS.get(str(objective_name), (None, None))
        return f"objective: {words} ({unit})" if words else "objective"
    words, unit = METRIC_WORDS.get(metric, (_words(metric), ""))
    return f"{words} ({unit})" if unit else words


def metric_text(metric: str, value, objective_name: str | None = None) -> str:
    """A metric's value in the number style of what a person reads."""
    if metric == "objective":
        return numbers.objective(objective_name, value)
    if metric == "min_coverage":
        return numbers.share(value, 2)
    if metric in ("total_aid", "leveraged_investment"):
        return numbers.money(value)
    return numbers.people(value)


def _parameter_text(path: str, value, mode: str | None = None) -> str:
    """A parameter's level as a person reads it: a share value as a percentage, a factor as x1.2."""
    if isinstance(value, str):
        return value
    if _mode(path, mode) == "factor":
        return f"x{numbers.plain(value, 3)}"
    if path.startswith(("proportion.", "priorities.")):  # a share, with the figures that tell levels apart
        return f"{numbers.plain(100 * float(value), 3)}%"
    return numbers.plain(value)


def reported_metrics(results: pd.DataFrame) -> list[str]:
    """The metrics drawn: objective, people lifted and least coverage, without the objective when
    it is people lifted itself (the same panel twice)."""
    present = [m for m in REPORTED if m in results and results[m].notna().any()]
    if "objective" in present and "people_lifted" in present:
        ok = results[results["status"] == "optimal"] if "status" in results else results
        a, b = ok["objective"].astype(float).to_numpy(), ok["people_lifted"].astype(float).to_numpy()
        if len(a) and np.allclose(a, b, rtol=1e-9, atol=1e-6, equal_nan=True):
            present.remove("objective")
    return present


def _specs(record: dict | None) -> dict[str, dict]:
    return {p["path"]: p for p in ((record or {}).get("study", {}).get("parameter", []))}


def _objective_name(record: dict | None) -> str | None:
    return (record or {}).get("objective")


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


def _oat_runs(results: pd.DataFrame, paths: list[str], path: str) -> pd.DataFrame:
    """A one-at-a-time study's runs that move `path` alone (the base run not included)."""
    base_row = results[results["scenario_id"] == 0].iloc[0]
    moved = results[(results[path] != base_row[path]) & (results["scenario_id"] != 0)]
    others = [p for p in paths if p != path]
    if others:
        moved = moved[(moved[others] == base_row[others]).all(axis=1)]
    return moved


def _ends(runs: pd.DataFrame, path: str, spec: dict) -> tuple[pd.Series, pd.Series]:
    """The runs at a parameter's low and high value: the smallest and largest number, or for a
    structural parameter its first and last level as the study lists them."""
    values = runs[path]
    if pd.api.types.is_numeric_dtype(values):
        order = values.astype(float).sort_values(kind="stable").index
    else:
        listed = [str(v) for v in spec.get("values") or []]
        order = sorted(values.index, key=lambda i: listed.index(str(values[i])) if str(values[i]) in listed else -1)
    return runs.loc[order[0]], runs.loc[order[-1]]


def tornado(results: pd.DataFrame, paths: list[str], metric: str = "objective",
            record: dict | None = None) -> tuple[pd.DataFrame, plt.Figure]:
    """One-at-a-time: for each parameter, the change in `metric` from the base run (scenario 0) at
    the parameter's low value and at its high value (the smallest and largest of the levels the
    study gives it, `values` or `bounds`; the base run itself when the base is one of them).
    Returns the table (parameter, low_value, high_value, low, high, swing, low_scenario,
    high_scenario; sorted by swing, the largest last; and low_text/high_text: the values as
    drawn) and the chart, which says which end gave which bar."""
    specs, objective_name = _specs(record), _objective_name(record)
    base_row = results[results["scenario_id"] == 0].iloc[0]
    base = float(base_row[metric])
    rows = []
    for path in paths:
        moved = _oat_runs(results, paths, path)
        if moved.empty:
            continue
        runs = pd.concat([results[results["scenario_id"] == 0], moved])
        spec = specs.get(path, {})
        listed = spec.get("values") or spec.get("bounds")
        if listed and pd.api.types.is_numeric_dtype(runs[path]):  # the study's levels (the base when it is one)
            levels = [float(v) for v in listed]
            ends = [min(levels), max(levels)]
        else:
            ends = list(_ends(runs, path, spec)[i][path] for i in (0, 1))
        row = {"parameter": path}
        for end, value in zip(("low", "high"), ends):
            at = runs[[bool(np.isclose(float(v), float(value), rtol=1e-9, atol=0)) if not isinstance(value, str)
                        else v == value for v in runs[path]]]
            found = not at.empty  # a run that failed (infeasible) at that end leaves it empty
            row.update({f"{end}_value": value, end: float(at.iloc[0][metric]) - base if found else np.nan,
                        f"{end}_scenario": int(at.iloc[0]["scenario_id"]) if found else -1,
                        f"{end}_text": _parameter_text(path, value, spec.get("mode"))})
        rows.append(row)
    table = pd.DataFrame(rows, columns=["parameter", "low_value", "high_value", "low", "high", "low_scenario",
                                        "high_scenario", "low_text", "high_text"])
    table.insert(5, "swing", (table[["low", "high"]].max(axis=1).clip(lower=0)
                              - table[["low", "high"]].min(axis=1).clip(upper=0)))
    table = table.sort_values("swing", kind="stable").reset_index(drop=True)

    fig, ax = plt.subplots(figsize=(10, 0.8 * max(len(table), 2) + 1.8))
    ys = np.arange(len(table))
    ax.barh(ys + 0.19, table["low"], height=0.36, color="#e34a33", label="at the parameter's low value")
    ax.barh(ys - 0.19, table["high"], height=0.36, color="#2b8cbe", label="at the parameter's high value")
    reach = float(np.nanmax(table[["low", "high"]].abs().to_numpy())) if table[["low", "high"]].notna().any().any() \
        else 1.0
    reach = reach or 1.0
    for y, row in zip(ys, table.itertuples()):
        for offset, change, text in ((0.19, row.low, f"low {row.low_text}"), (-0.19, row.high, f"high {row.high_text}")):
            if pd.isna(change):  # the run at that end failed (infeasible): no bar
                ax.text(reach * 0.02, y + offset, f"{text}: no plan", va="center", ha="left", fontsize=8,
                        color="#b30000")
                continue
            side = 1 if change >= 0 else -1
            ax.text(change + side * reach * 0.02, y + offset,
                    f"{text}: {'+' if change >= 0 else '-'}{metric_text(metric, abs(change), objective_name)}",
                    va="center", ha="left" if side > 0 else "right", fontsize=8)
    ax.set_yticks(ys, [parameter_label(p, specs.get(p, {}).get("mode")) for p in table["parameter"]], fontsize=9)
    ax.set_xlim(-reach * 1.7, reach * 1.7)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: metric_text(metric, v, objective_name)))
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(f"change in {metric_label(metric, objective_name)} from the base run "
                  f"({metric_text(metric, base, objective_name)})")
    ax.set_title("One at a time: each parameter at its low and at its high value, the others at the base",
                 fontsize=11)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    fig.tight_layout()
    return table, fig


def response_curves(results: pd.DataFrame, paths: list[str], metric: str, record: dict | None = None) -> plt.Figure:
    """`metric` against each parameter, one panel each. In a one-at-a-time study a panel holds
    its parameter's own runs (the base and the runs that move that parameter alone), joined by
    a line; in the other designs every run moves every parameter, so each panel holds them all."""
    specs, objective_name = _specs(record), _objective_name(record)
    oat = (record or {}).get("study", {}).get("study", {}).get("design") == "oat" and (results["scenario_id"] == 0).any()
    ok = results[results["status"] == "optimal"]
    columns = min(3, len(paths))
    rows = -(-len(paths) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.4 * columns, 3.6 * rows + 0.4), squeeze=False)
    for ax in list(axes.flat)[len(paths):]:
        ax.set_visible(False)
    for ax, path in zip(axes.flat, paths):
        runs = pd.concat([ok[ok["scenario_id"] == 0], _oat_runs(ok, paths, path)]) if oat else ok
        x = pd.to_numeric(runs[path], errors="coerce")
        if x.notna().all():
            order = np.argsort(x.to_numpy(), kind="stable")
            ax.plot(x.to_numpy()[order], runs[metric].to_numpy()[order], "o-" if oat else "o", markersize=4,
                    alpha=0.8, linewidth=1)
            if oat:
                base = runs[runs["scenario_id"] == 0]
                ax.plot(pd.to_numeric(base[path]), base[metric], "o", markersize=8, markerfacecolor="none",
                        color="black", label="base run")
                ax.legend(fontsize=7, loc="best")
            mode = specs.get(path, {}).get("mode")
            ax.xaxis.set_major_locator(MaxNLocator(5))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _, p=path, m=mode: _parameter_text(p, v, m)))
        else:  # a structural parameter: one box of values per level
            levels = sorted(runs[path].unique())
            ax.boxplot([runs.loc[runs[path] == lv, metric] for lv in levels], tick_labels=levels)
        ax.set_xlabel(textwrap.fill(parameter_label(path, specs.get(path, {}).get("mode")), 50), fontsize=9)
        ax.set_ylabel(textwrap.fill(metric_label(metric, objective_name), 32), fontsize=9)
        if metric == "min_coverage" or (metric == "objective" and objective_name == "equity"):
            ax.yaxis.set_major_formatter(PercentFormatter(1.0))  # as many decimals as the range needs
        else:
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: metric_text(metric, v, objective_name)))
        ax.tick_params(labelsize=8)
        ax.grid(color="#eeeeee", linewidth=0.6)
    words = metric_label(metric, objective_name)
    fig.suptitle(f"{words[0].upper()}{words[1:]} against each parameter"
                 + (" (one at a time: the others at their base value)" if oat else ""), fontsize=11)
    fig.tight_layout()
    return fig


def sobol_figure(indices: pd.DataFrame, record: dict | None = None) -> plt.Figure:
    """First-order (S1) and total (ST) Sobol indices with their 95% confidence intervals, one panel
    per metric, a row per parameter. An index lies between 0 and 1; an estimate or interval
    beyond comes from sampling error, so bars and intervals are clipped to [0, 1] and a note
    names those clipped at 1 and counts those clipped at 0."""
    import textwrap

    specs, objective_name = _specs(record), _objective_name(record)
    metrics = list(dict.fromkeys(indices["metric"]))
    parameters = list(dict.fromkeys(indices["parameter"]))
    ys = np.arange(len(parameters))
    height_in = 0.75 * len(parameters) + 2.2
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics) + 3.2, height_in), squeeze=False,
                             sharey=True)
    above, below = [], 0
    for ax, metric in zip(axes[0], metrics):
        group = indices[indices["metric"] == metric].set_index("parameter").reindex(parameters)
        for shift, column, colour, name in ((-0.19, "S1", "#2b8cbe", "first order S1 (alone)"),
                                            (0.19, "ST", "#e34a33", "total ST (with interactions)")):
            value, conf = group[column].astype(float).to_numpy(), group[f"{column}_conf"].astype(float).to_numpy()
            shown = value.clip(0, 1)
            low, high = (value - conf).clip(0, 1), (value + conf).clip(0, 1)
            ax.barh(ys + shift, shown, 0.38, color=colour, label=name,
                    xerr=np.vstack([shown - low, high - shown]), capsize=3, error_kw={"linewidth": 1})
            for parameter, v, c in zip(parameters, value, conf):
                if v + c > 1:
                    above.append(f"{metric_label(metric, objective_name).split(' (')[0]}, {column} of "
                                 f"{parameter_label(parameter, specs.get(parameter, {}).get('mode')).split(' (')[0]} "
                                 f"({numbers.plain(v, 3)} ± {numbers.plain(c, 3)})")
                below += bool(v - c < 0)
        ax.set_xlim(0, 1.02)
        ax.set_xlabel("Sobol index (share of the variance it explains)", fontsize=9)
        ax.set_title(textwrap.fill(metric_label(metric, objective_name), 45), fontsize=10)
        ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.tick_params(labelsize=8)
    axes[0][0].set_yticks(ys, [textwrap.fill(parameter_label(p, specs.get(p, {}).get("mode")), 34) for p in parameters],
                          fontsize=8)
    axes[0][0].invert_yaxis()
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", fontsize=8, ncol=2, frameon=False)
    note = "Bars: the estimates; whiskers: their 95% confidence intervals (SALib, bootstrap)."
    if above or below:
        note += " An index lies between 0 and 1: what reaches beyond is sampling error, clipped here (more samples " \
                "narrow it)."
    if above:
        more = f"; and {len(above) - 4} more" if len(above) > 4 else ""
        note += " Clipped at 1: " + "; ".join(above[:4]) + more + "."
    if below:
        note += f" Clipped at 0: {below} interval{'s' if below != 1 else ''} of indices near 0."
    note = textwrap.fill(note, int(fig.get_figwidth() * 14))
    fig.text(0.01, 0.01, note, fontsize=8, va="bottom")
    lines = note.count("\n") + 1
    fig.tight_layout(rect=(0, (0.2 + 0.15 * lines) / height_in, 1, 1 - 0.3 / height_in))
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
    drawn = reported_metrics(results)
    if design == "sobol":
        indices = sobol_indices(record, results, paths, seed=record["study"]["study"]["seed"])
        save_csv(indices, "sobol.csv")
        shown = indices[indices["metric"].isin(drawn)]
        if not shown.empty:
            _save_png(sobol_figure(shown, record), folder / "sobol.png")
            written.append(folder / "sobol.png")
    if design == "oat" and (results["scenario_id"] == 0).any():
        metric = "people_lifted" if "objective" not in drawn and "people_lifted" in drawn else "objective"
        table, fig = tornado(results[results["status"] == "optimal"], paths, metric, record=record)
        save_csv(table.drop(columns=["low_text", "high_text"]), "tornado.csv")
        _save_png(fig, folder / "tornado.png")
        written.append(folder / "tornado.png")
    for metric in drawn:
        _save_png(response_curves(results, paths, metric, record=record), folder / f"response_{metric}.png")
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
