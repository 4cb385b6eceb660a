"""`ewppt report RESULT_DIR`: one self-contained HTML page about a plan, and its figures as PNG.

    from optimizer.reports.report import write_report
    write_report("results/ewppt-2010")      # results/ewppt-2010/report.html and report/*.png

The page (every figure embedded as a base64 PNG, no outside resources) holds:
    summary      a short KPI table (aid and people from the tables, the rest from run.json)
    flows        aid over the plan from donors to recipients to categories (an alluvial diagram;
                 beyond RECIPIENTS_SHOWN recipients the largest by name, the rest as one node)
    shares       each donor's category shares of its budget against the scenario's priority bounds
    people       people lifted against the poor population, by recipient (beyond RECIPIENTS_SHOWN,
                 the largest and the least covered by name, the others summed in one row)
    duals        what one more million of each donor's budget is worth in the objective, by year
    priorities   each priority rule's bound and how many of its rows bind
    influence    which guesses matter: the families of illustrative figures whose error moves the
                 objective most, when the folder holds the influence.csv of `ewppt validate
                 --influence PATH --out RESULT_DIR` for this plan's instance
    provenance   status, objective, scenario, solver, package versions, instance digest, timings,
                 warnings
A result without a plan (infeasible, unbounded, a time limit without a plan) gets a page that
says so, with its provenance and no figures.

The figure functions take the result's tables and return matplotlib figures; `build_html` takes
run.json, the tables and the PNGs and returns the page.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch, PathPatch, Rectangle  # noqa: E402
from matplotlib.path import Path as CurvePath  # noqa: E402
from matplotlib.ticker import FuncFormatter, PercentFormatter  # noqa: E402

from optimizer.data import numbers  # noqa: E402
from optimizer.data.errors import InvalidInstance, Problem  # noqa: E402
from optimizer.data.io import atomic_write, atomic_write_text  # noqa: E402
from optimizer.data.output import png_bytes, result_folder  # noqa: E402
from optimizer.data.provenance import counts_line  # noqa: E402
from optimizer.solving.results import EMPTY_COLUMNS, read_results  # noqa: E402
from optimizer.data.schema import CATEGORIES  # noqa: E402

ZERO = 1e-9
DPI = 110
CATEGORY_COLOURS = {"enterprise_finance": "#1b9e77", "household_finance": "#d95f02",
                    "public_goods": "#7570b3", "human_resources": "#e7298a"}
# priority rule -> (category, "min" or "max"); the other rules (special aid, women) are not categories
CATEGORY_BOUNDS = {"enterprise_finance_min": ("enterprise_finance", "min"),
                   "household_finance_min": ("household_finance", "min"),
                   "public_goods_min": ("public_goods", "min"),
                   "public_goods_max": ("public_goods", "max"),
                   "human_resources_min": ("human_resources", "min")}
RULE_TEXT = {"enterprise_finance_min": "enterprise finance, at least", "household_finance_min": "household finance, at least",
             "public_goods_min": "public goods, at least", "public_goods_max": "public goods, at most",
             "human_resources_min": "human resources, at least", "special_aid_min": "special aid recipients, at least",
             "women_min": "of household finance, to instruments that target women, at least"}
ALL_DONORS = "all donors"
# figure name -> alt text (also the figure's PNG name: report/<name>.png)
FIGURES = {
    "flows": "Alluvial (Sankey) diagram of aid over the plan from donors to recipients to categories",
    "shares": "Each donor's category shares of its budget against the priority bounds",
    "people": "People lifted against poor population by recipient",
    "duals": "What one more million yuan of budget is worth, by donor and year",
    "years": "Each donor's aid by year and category",
}
# a robust plan's result (`ewppt robust`) has these as well
ROBUST_FIGURES = {
    "robust": "People lifted in every scenario by the robust plan and the point-estimate plan (their distribution)",
}
ALL_FIGURES = {**FIGURES, **ROBUST_FIGURES}
NOT_A_RESULT = "not a result folder: expected run.json and the tables `ewppt solve` writes"


def label(name: str) -> str:
    return str(name).replace("_", " ")


# ---------------------------------------------------------------------------------------- reading

def load_result(result_dir: str | Path) -> tuple[dict, dict[str, pd.DataFrame]]:
    """run.json and the tables of a result folder; InvalidInstance if the folder is not one."""
    folder = Path(result_dir)
    run_file = folder / "run.json"
    if not run_file.is_file():
        raise InvalidInstance([Problem(str(folder), NOT_A_RESULT)])
    try:
        run = json.loads(run_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInstance([Problem(str(run_file), f"not readable as JSON: {exc}")]) from None
    if not isinstance(run, dict) or "status" not in run:
        raise InvalidInstance([Problem(str(run_file), "not the run.json `ewppt solve` writes (no status)")])
    try:
        tables = read_results(folder)
    except (OSError, ValueError, KeyError) as exc:
        raise InvalidInstance([Problem(str(folder), f"{NOT_A_RESULT} ({exc})")]) from None
    problems = [Problem(str(folder), f"table {name} has no column {column!r}")
                for name in ("allocation", "kpis", "duals", "decisions")
                for column in EMPTY_COLUMNS[name] if column not in tables[name].columns and column not in LATER_COLUMNS]
    if problems:
        raise InvalidInstance(problems)
    return run, tables


LATER_COLUMNS = {"people_lifted_by_plan_end"}  # results written before issue 23 lack it: the report leaves it out


def has_plan(run: dict, tables: dict[str, pd.DataFrame]) -> bool:
    return bool(run.get("has_plan", run.get("status") == "optimal")) and len(tables["allocation"]) > 0


def _donor_order(allocation: pd.DataFrame) -> list[str]:
    """Donors by aid over the plan, largest first (the same order in every figure)."""
    totals = allocation.groupby("donor")["aid"].sum()
    return sorted(totals.index, key=lambda d: (-totals[d], str(d)))


def donor_budgets(allocation: pd.DataFrame, decisions: pd.DataFrame) -> pd.Series:
    """Each donor's budget by year: its aid plus the cost of the cadres it sends (the budget row)."""
    aid = allocation.groupby(["donor", "year"])["aid"].sum()
    cadres = decisions[decisions["kind"] == "cadres"].astype({"year": int})
    if len(cadres):
        aid = aid.add(cadres.groupby(["donor", "year"])["money"].sum(), fill_value=0.0)
    return aid


# ---------------------------------------------------------------------------------------- figures

def _spread(centres: list[float], gap: float, low: float, high: float) -> list[float]:
    """Label positions near `centres` (increasing) at least `gap` apart, within [low, high]."""
    ys = list(centres)
    for i in range(len(ys)):
        ys[i] = max(ys[i], low if i == 0 else ys[i - 1] + gap)
    for i in reversed(range(len(ys))):
        ys[i] = min(ys[i], high if i == len(ys) - 1 else ys[i + 1] - gap)
    return ys


def _band(ax, x0: float, top0: float, x1: float, top1: float, width: float, colour: str) -> None:
    """A band of constant `width` from (x0, top0) to (x1, top1), its edges cubic Bezier curves."""
    xm = (x0 + x1) / 2
    verts = [(x0, top0), (xm, top0), (xm, top1), (x1, top1),
             (x1, top1 + width), (xm, top1 + width), (xm, top0 + width), (x0, top0 + width), (x0, top0)]
    codes = [CurvePath.MOVETO, CurvePath.CURVE4, CurvePath.CURVE4, CurvePath.CURVE4,
             CurvePath.LINETO, CurvePath.CURVE4, CurvePath.CURVE4, CurvePath.CURVE4, CurvePath.CLOSEPOLY]
    ax.add_patch(PathPatch(CurvePath(verts, codes), facecolor=colour, edgecolor="none", alpha=0.45))


RECIPIENTS_SHOWN = 20  # recipients named in flows and people; beyond, the largest and "N other recipients"


def others_label(count: int) -> str:
    return f"{count} other recipient{'s' if count != 1 else ''}"


def _fold_recipients(allocation: pd.DataFrame, kept: int = RECIPIENTS_SHOWN - 1) -> tuple[pd.DataFrame, str | None]:
    """The allocation with every recipient but the `kept` largest (by aid over the plan) named
    "N other recipients", and that name (None when all fit, RECIPIENTS_SHOWN or fewer)."""
    totals = allocation.groupby("recipient")["aid"].sum()
    if len(totals) <= RECIPIENTS_SHOWN:
        return allocation, None
    largest = sorted(totals.index, key=lambda r: (-totals[r], str(r)))[:kept]
    others = others_label(len(totals) - kept)
    return allocation.assign(recipient=allocation["recipient"].where(allocation["recipient"].isin(largest), others)), \
        others


def flows_figure(allocation: pd.DataFrame) -> plt.Figure:
    """Aid over the plan as an alluvial diagram: donors (left), recipients (middle), categories
    (right); every node's height and every band's width is proportional to its aid. Beyond
    RECIPIENTS_SHOWN recipients, the largest are drawn by name and the rest as one node,
    "N other recipients", at the bottom of the middle column."""
    allocation, others = _fold_recipients(allocation)
    flows = allocation.groupby(["donor", "recipient", "category"])["aid"].sum()
    flows = flows[flows > ZERO]
    donor_recipient = flows.groupby(level=["donor", "recipient"]).sum()
    recipient_category = flows.groupby(level=["recipient", "category"]).sum()
    donors = [d for d in _donor_order(allocation) if d in donor_recipient.index.get_level_values(0)]
    # recipients at the mean position of the donors that pay them, so that bands cross little
    rank = {d: i for i, d in enumerate(donors)}
    links = donor_recipient.reset_index()
    links["at"] = links["donor"].map(rank) * links["aid"]
    centre = links.groupby("recipient")["at"].sum() / links.groupby("recipient")["aid"].sum()
    recipients = sorted(centre.index, key=lambda r: (r == others, centre[r], str(r)))
    present = set(recipient_category.index.get_level_values(1))
    categories = [c for c in CATEGORIES if c in present] + sorted(present - set(CATEGORIES))
    columns = [donors, recipients, categories]
    totals = [donor_recipient.groupby(level=0).sum(), donor_recipient.groupby(level=1).sum(),
              recipient_category.groupby(level=1).sum()]
    total = float(flows.sum())
    most = max(len(c) for c in columns)
    gap = total * min(0.04, 0.3 / max(most - 1, 1))

    height_in = max(4.5, 0.34 * most + 1.6)
    fig, ax = plt.subplots(figsize=(12, height_in))
    span = total + gap * (most - 1)
    top: list[dict[str, float]] = []  # node name -> top of its bar, per column (y grows downwards)
    for nodes, sizes in zip(columns, totals):
        y = (span - (sizes[nodes].sum() + gap * (len(nodes) - 1))) / 2
        top.append({})
        for node in nodes:
            top[-1][node] = y
            y += sizes[node] + gap

    donor_colour = {d: plt.get_cmap("tab20")(i % 20) for i, d in enumerate(donors)}
    x, bar = (0.0, 1.0, 2.0), 0.035
    # bands: leave each node in the order of the nodes they reach, arrive in the order they left
    out_at = {**top[0]}
    in_at = {**top[1]}
    for d in donors:
        for r in recipients:
            aid = donor_recipient.get((d, r), 0.0)
            if aid > ZERO:
                _band(ax, x[0] + bar / 2, out_at[d], x[1] - bar / 2, in_at[r], aid, donor_colour[d])
                out_at[d] += aid
                in_at[r] += aid
    out_at, in_at = {**top[1]}, {**top[2]}
    for r in recipients:
        for c in categories:
            aid = recipient_category.get((r, c), 0.0)
            if aid > ZERO:
                _band(ax, x[1] + bar / 2, out_at[r], x[2] - bar / 2, in_at[c], aid, CATEGORY_COLOURS.get(c, "#999999"))
                out_at[r] += aid
                in_at[c] += aid

    fig.subplots_adjust(left=0.02, right=0.98, top=1 - 0.75 / height_in, bottom=0.1 / height_in)
    axes_height_in = height_in - 0.85
    per_inch = span / axes_height_in  # data units per inch, so that labels and headers keep their size
    fontsize = 9
    label_gap = fontsize * 1.3 / 72 * per_inch
    for i, (nodes, sizes) in enumerate(zip(columns, totals)):
        for node in nodes:
            colour = donor_colour[node] if i == 0 else "#555555" if i == 1 else CATEGORY_COLOURS.get(node, "#999999")
            ax.add_patch(Rectangle((x[i] - bar / 2, top[i][node]), bar, sizes[node], facecolor=colour, edgecolor="white",
                                   linewidth=0.5, hatch="///" if node == others else None))
        centres = [top[i][n] + sizes[n] / 2 for n in nodes]
        placed = _spread(centres, label_gap, label_gap / 2, span - label_gap / 2)
        side = -1 if i == 0 else 1
        text_x = x[i] + side * (bar / 2 + 0.09)
        for node, centre_y, y in zip(nodes, centres, placed):
            ax.plot([x[i] + side * bar / 2, x[i] + side * (bar / 2 + 0.02), text_x - side * 0.01],
                    [centre_y, centre_y, y], color="#888888", linewidth=0.6)
            ax.text(text_x, y, f"{label(node)}  {numbers.money(sizes[node])}", ha="right" if side < 0 else "left",
                    va="center", fontsize=fontsize, fontstyle="italic" if node == others else "normal",
                    bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none", alpha=0.8))
    # the column headers sit just above the highest node of all, the same distance at any size
    highest = min(min(t.values()) for t in top)
    for i, heading in enumerate(("donors", "recipients", "categories")):
        ax.text(x[i], highest - 0.12 * per_inch, heading, ha="center", va="bottom", fontsize=11, fontweight="bold")
    ax.set_xlim(-0.6, 2.65)
    ax.set_ylim(span + 0.05 * per_inch, highest - 0.45 * per_inch)
    ax.axis("off")
    ax.set_title(f"Aid over the plan: {numbers.money(total)} million yuan from donors to recipients to categories"
                 + (f"\n(the {len(recipients) - 1} largest recipients by name, {label(others)} together)"
                    if others else ""), fontsize=12, pad=4)
    return fig


def share_tables(allocation: pd.DataFrame, decisions: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Category shares of the budget: over the whole plan, and the lowest and highest year, for
    each donor and (first row) all donors together. Rows: all donors, then donors by aid."""
    allocation = allocation.astype({"aid": float})
    budget = donor_budgets(allocation, decisions)
    by_year = allocation.pivot_table(index=["donor", "year"], columns="category", values="aid", aggfunc="sum",
                                     fill_value=0.0)
    by_year = by_year.reindex(index=budget.index, columns=list(CATEGORIES), fill_value=0.0)
    yearly = by_year.div(budget, axis=0)
    national_yearly = by_year.groupby(level="year").sum().div(budget.groupby(level="year").sum(), axis=0)
    plan = by_year.groupby(level="donor").sum().div(budget.groupby(level="donor").sum(), axis=0)
    plan.loc[ALL_DONORS] = by_year.sum() / budget.sum()
    low = yearly.groupby(level="donor").min()
    high = yearly.groupby(level="donor").max()
    low.loc[ALL_DONORS], high.loc[ALL_DONORS] = national_yearly.min(), national_yearly.max()
    order = [ALL_DONORS, *_donor_order(allocation)]
    return plan.reindex(order), low.reindex(order), high.reindex(order)


def shares_figure(allocation: pd.DataFrame, decisions: pd.DataFrame, priorities: dict) -> plt.Figure:
    """One panel per category: each donor's share of its budget over the plan (bar) and its
    lowest to highest year (line), with the scenario's bounds as marks on the rows they apply
    to (every donor with scope "donor", the all-donors row with scope "national")."""
    plan, low, high = share_tables(allocation, decisions)
    national = priorities.get("scope") == "national"
    rows = list(plan.index)
    ys = np.arange(len(rows))
    kinds: set[str] = set()
    height_in = max(3.2, 0.3 * len(rows) + 1.8)
    fig, axes = plt.subplots(1, len(CATEGORIES), figsize=(12, height_in), sharey=True)
    for ax, category in zip(axes, CATEGORIES):
        colour = CATEGORY_COLOURS[category]
        ax.barh(ys, plan[category], color=colour, alpha=0.75, height=0.62)
        ax.hlines(ys, low[category], high[category], color="black", linewidth=1.2)
        bounds = []
        for rule, (rule_category, kind) in CATEGORY_BOUNDS.items():
            value = priorities.get(rule)
            if rule_category != category or value is None:
                continue
            bounds.append(f"{kind} {value:.0%}")
            kinds.add(kind)
            applies = ys[:1] if national else ys
            ax.vlines([value] * len(applies), applies - 0.42, applies + 0.42, color="#006d2c" if kind == "min" else "#b30000",
                      linewidth=2.2)
        ax.set_title(f"{label(category)}\n{', '.join(bounds) if bounds else 'no bound'}", fontsize=10)
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_xticks([0, 0.25, 0.5, 0.75, 1])
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
    axes[0].set_yticks(ys, [label(r) for r in rows], fontsize=9)
    axes[0].get_yticklabels()[0].set_fontweight("bold")
    axes[0].invert_yaxis()
    scope = ("national: the bounds apply to all donors together, each year" if national
             else "donor: the bounds apply to every donor, each year")
    fig.suptitle(f"Category shares of each donor's budget against the priority bounds (scope {scope})", fontsize=11)
    handles = [Patch(facecolor="#888888", alpha=0.75, label="share over the plan"),
               Line2D([], [], color="black", linewidth=1.2, label="lowest to highest year"),
               *([Line2D([], [], color="#006d2c", linewidth=2.2, label="minimum share")] if "min" in kinds else []),
               *([Line2D([], [], color="#b30000", linewidth=2.2, label="maximum share")] if "max" in kinds else [])]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.4 / height_in, 1, 1))
    return fig


PEOPLE_LARGEST, PEOPLE_LEAST_COVERED = 15, 4  # beyond RECIPIENTS_SHOWN recipients: the rows people names


def people_rows(kpis: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """The rows of the people figure: every recipient (most poor people first) when
    RECIPIENTS_SHOWN or fewer; otherwise the PEOPLE_LARGEST with the most poor people, the
    PEOPLE_LEAST_COVERED least covered of the rest, and one row summing the others (its coverage
    their people lifted over their poor population, with their lowest and highest coverage in
    `coverage_low` and `coverage_high`). Returns the rows and the others' row name (or None)."""
    table = kpis.sort_values(["poor_population", "recipient"], ascending=[False, True]).reset_index(drop=True)
    table = table.assign(coverage=table["coverage"].astype(float), coverage_low=np.nan, coverage_high=np.nan,
                         least_covered=False)
    if len(table) <= RECIPIENTS_SHOWN:
        return table, None
    largest = table.iloc[:PEOPLE_LARGEST]
    rest = table.iloc[PEOPLE_LARGEST:]
    least = rest.sort_values(["coverage", "recipient"], na_position="last").iloc[:PEOPLE_LEAST_COVERED]
    least = least.assign(least_covered=True)
    others = rest.drop(index=least.index)
    name = others_label(len(others))
    poor, lifted = float(others["poor_population"].sum()), float(others["people_lifted"].sum())
    summed = pd.DataFrame([{"recipient": name, "poor_population": poor, "people_lifted": lifted,
                            "coverage": lifted / poor if poor > 0 else np.nan, "least_covered": False,
                            "coverage_low": others["coverage"].min(), "coverage_high": others["coverage"].max()}])
    return pd.concat([largest, least, summed], ignore_index=True), name


def people_figure(kpis: pd.DataFrame) -> plt.Figure:
    """By recipient (most poor people first): people lifted inside the poor population (bars),
    and coverage, the share of the poor population lifted. Beyond RECIPIENTS_SHOWN recipients,
    the largest and the least covered by name and the others summed in one row (people_rows)."""
    table, others = people_rows(kpis)
    ys = np.arange(len(table))
    height_in = max(3.0, 0.32 * len(table) + 1.9)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, height_in), sharey=True, gridspec_kw={"width_ratios": [2.2, 1]})
    named = table["recipient"] != others
    # the others' row would dwarf every county: draw it to its own scale, hatched, and say so
    largest = float(table.loc[named, "poor_population"].max() or 1.0)
    poor = table["poor_population"].where(named, largest)
    lifted = table["people_lifted"].where(named, table["people_lifted"] / table["poor_population"] * largest)
    left.barh(ys, poor, color="#d9d9d9", height=0.7, label="poor population")
    left.barh(ys, lifted, color="#2171b5", height=0.7, label="people lifted")
    if others:
        left.barh(ys[~named], poor[~named], color="none", edgecolor="#555555", hatch="///", height=0.7, linewidth=0)
    for y, row, width in zip(ys, table.itertuples(), poor):
        left.text(width + largest * 0.01, y, f"{numbers.people(row.people_lifted)} of {numbers.people(row.poor_population)}"
                  + (" (not to scale)" if row.recipient == others else ""), va="center", fontsize=8)
    left.set_xlim(0, largest * 1.4)
    left.set_xlabel("people")
    left.xaxis.set_major_formatter(FuncFormatter(lambda v, _: numbers.people(v)))
    names = [label(r) + (" (least covered)" if least else "") for r, least in zip(table["recipient"], table["least_covered"])]
    left.set_yticks(ys, names, fontsize=9)
    for tick, least, own in zip(left.get_yticklabels(), table["least_covered"], named):
        if least:
            tick.set_color("#b30000")
        if not own:
            tick.set_fontstyle("italic")
    left.invert_yaxis()
    left.set_title("people lifted against poor population", fontsize=10)
    coverage = table["coverage"]
    right.barh(ys, coverage, color="#2171b5", height=0.7)
    if others:
        right.hlines(ys[~named], table.loc[~named, "coverage_low"], table.loc[~named, "coverage_high"], color="black",
                     linewidth=1.2)
    for y, value, high in zip(ys, coverage, table["coverage_high"]):
        right.text(max(value, 0 if pd.isna(high) else high) + 0.02, y,
                   numbers.share(value) + ("" if pd.isna(high) else " in all"), va="center", fontsize=8)
    right.set_xlim(0, 1.2)
    right.set_xticks([0, 0.25, 0.5, 0.75, 1])
    right.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    right.set_title("coverage (people lifted / poor population)", fontsize=10)
    for ax in (left, right):
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.tick_params(axis="x", labelsize=8)
    title = (f"People lifted by recipient: {numbers.people(kpis['people_lifted'].sum())} of "
             f"{numbers.people(kpis['poor_population'].sum())} poor people")
    if others:
        title += (f"\nthe {PEOPLE_LARGEST} with the most poor people, the {int(table['least_covered'].sum())} least "
                  f"covered of the rest (red) and {label(others)} together")
    fig.suptitle(title, fontsize=11)
    handles = [Patch(facecolor="#d9d9d9", label="poor population"), Patch(facecolor="#2171b5", label="people lifted"),
               *([Line2D([], [], color="black", linewidth=1.2, label="lowest to highest coverage of the others")]
                 if others else [])]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.3 / height_in, 1, 1))
    return fig


def budget_duals(duals: pd.DataFrame) -> pd.DataFrame:
    """What one more million of each donor's budget is worth, as a donor x year table: the
    figure a planner means, with the budget's priority shares following it (`budget_worth`,
    ranging's slope); a result written before it had one shows the budget rows' own duals."""
    family = "budget_worth" if (duals["family"] == "budget_worth").any() else "budget"
    budget = duals[duals["family"] == family].astype({"year": int})
    return budget.pivot_table(index="donor", columns="year", values="dual", aggfunc="sum")


def duals_figure(duals: pd.DataFrame, objective_name: str, donors: list[str] | None = None) -> plt.Figure:
    """What one more million yuan of each donor's budget is worth in the objective: each year
    (dots) and the mean over the plan's years (bar)."""
    table = budget_duals(duals)
    order = [d for d in (donors or []) if d in table.index] + sorted(set(table.index) - set(donors or []))
    table = table.reindex(order)
    ys = np.arange(len(table))
    height_in = max(3.0, 0.32 * len(table) + 1.8)
    fig, ax = plt.subplots(figsize=(12, height_in))
    mean = table.mean(axis=1)
    ax.barh(ys, mean, color="#fdae6b", height=0.7, label="mean over the years")
    years = list(table.columns)
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.9, max(len(years), 1)))
    # each year's dot a little lower than the year before (earliest on top), so that years with
    # the same worth show side by side instead of hiding one another
    step = 0.6 / max(len(years) - 1, 1)
    for k, (year, colour) in enumerate(zip(years, colours)):
        ax.scatter(table[year], ys + (k - (len(years) - 1) / 2) * step, color=colour, s=18, zorder=3,
                   edgecolor="white", linewidth=0.4, label=str(year))
    reach = float(np.nanmax(np.abs(table.to_numpy()))) if table.size else 1.0
    for y, value in zip(ys, mean):
        ax.text(max(value, table.iloc[y].max()) + reach * 0.02, y, numbers.per_million(value), va="center", fontsize=8)
    ax.set_xlim(min(0.0, float(np.nanmin(table.to_numpy()))) * 1.1, reach * 1.15 or 1.0)
    ax.set_yticks(ys, [label(d) for d in table.index], fontsize=9)
    ax.invert_yaxis()
    ax.axvline(0, color="#555555", linewidth=0.8)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_xlabel(f"{label(objective_name)} gained per extra million yuan of the donor's budget in that year "
                  "(dots: each year, top to bottom; bar: their mean)")
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", fontsize=8, ncol=min(len(years) + 1, 8),
               frameon=False)
    ax.set_title("What one more million of budget is worth, by donor (its priority shares following)", fontsize=11)
    fig.tight_layout(rect=(0, 0.35 / height_in, 1, 1))
    return fig


YEAR_PANELS = 15  # donors drawn one panel each; the rest are summed into one "other donors" panel


def years_figure(allocation: pd.DataFrame) -> plt.Figure:
    """One small panel per donor (the largest first; beyond YEAR_PANELS, the rest summed):
    its aid in each plan year, stacked by category."""
    order = _donor_order(allocation)
    kept = order[:YEAR_PANELS] if len(order) > YEAR_PANELS + 1 else order
    donor = allocation["donor"].where(allocation["donor"].isin(kept), f"{len(order) - len(kept)} other donors")
    table = allocation.assign(donor=donor, aid=allocation["aid"].astype(float)).pivot_table(
        index=["donor", "year"], columns="category", values="aid", aggfunc="sum").fillna(0.0)
    panels = kept + ([] if len(kept) == len(order) else [f"{len(order) - len(kept)} other donors"])
    years = sorted(allocation["year"].unique())
    columns = min(4, len(panels))
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(12, 2.3 * rows + 0.9), squeeze=False)
    for ax, name in zip(axes.flat, panels):
        bottom = np.zeros(len(years))
        for category in CATEGORIES:
            values = np.array([table.loc[(name, t), category] if (name, t) in table.index and category in table.columns
                               else 0.0 for t in years])
            ax.bar([str(t) for t in years], values, bottom=bottom, color=CATEGORY_COLOURS[category], width=0.7)
            bottom += values
        ax.set_title(label(name), fontsize=9)
        ax.tick_params(labelsize=7)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: numbers.plain(v, 3)))  # 0.5 steps read 0.5, not 1
        if len(years) > 6:  # side by side, more than six years' labels run into one another
            ax.tick_params(axis="x", labelrotation=90)
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("million yuan", fontsize=8)
    fig.suptitle("Each donor's aid by year and category", fontsize=11)
    handles = [Patch(facecolor=CATEGORY_COLOURS[c], label=label(c)) for c in CATEGORIES]
    fig.legend(handles=handles, loc="lower center", ncol=len(CATEGORIES), fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.45 / (2.3 * rows + 0.9), 1, 1))
    return fig


ROBUST_COLOURS = {"robust_plan": "#2171b5", "point_estimate_plan": "#d95f02", "own_optimum": "#999999"}
ROBUST_LABELS = {"robust_plan": "robust plan", "point_estimate_plan": "point-estimate plan",
                 "own_optimum": "each scenario's own optimum"}


def robust_figure(scenarios: pd.DataFrame, record: dict) -> plt.Figure:
    """A robust plan's people lifted over the scenarios (optimizer/studies/robust.py): for each plan,
    the share of the probability in which it lifts at most that many people (a step line, so the
    worst scenarios are on the left), with each plan's expectation and its risk measure marked."""
    fig, ax = plt.subplots(figsize=(10, 4.6))
    p = scenarios["probability"].to_numpy(dtype=float)
    for column in ("own_optimum", "point_estimate_plan", "robust_plan"):
        if column not in scenarios:
            continue
        values = scenarios[column].to_numpy(dtype=float)
        order = np.argsort(values, kind="stable")
        x = np.r_[values[order][0], values[order]]
        y = np.r_[0.0, np.cumsum(p[order])]
        style = dict(color=ROBUST_COLOURS[column], linewidth=2.2 if column == "robust_plan" else 1.5,
                     linestyle=":" if column == "own_optimum" else "-")
        mean = float(p @ values)
        ax.step(x, y, where="post", label=f"{ROBUST_LABELS[column]} (mean {numbers.people(mean)})", **style)
        if column != "own_optimum":
            ax.axvline(mean, color=ROBUST_COLOURS[column], linewidth=0.8, linestyle="--")
    ax.set_ylim(0, 1.1)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: numbers.people(v)))
    ax.set_xlabel("people lifted in the scenario" + (" (weighted)" if "weighted" in str(record.get("objective", ""))
                                                     else ""))
    ax.set_ylabel("share of the probability\nlifting at most this many")
    ax.grid(color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    title = f"People lifted over {len(scenarios)} scenarios: the plan for {record.get('risk', 'expected')}"
    if record.get("vss") is not None:
        title += f" gains {numbers.people(record['vss'])} on that measure over the point-estimate plan"
    ax.set_title(title, fontsize=10)
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], labels[::-1], loc="upper left", fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def robust_rows(run: dict, scenarios: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(measure, robust plan, point-estimate plan) rows, then VSS and EVPI."""
    record = run.get("robust") or {}
    rows = []
    for measure, text in (("expected", "expected people lifted"), ("worst", "worst scenario"),
                          ("risk", f"risk measure ({record.get('risk', 'expected')})")):
        rows.append((text, numbers.people(record.get(f"robust_plan_{measure}")),
                     numbers.people(record.get(f"point_estimate_plan_{measure}"))))
    # beside them, what each plan lifts by the plan's last year alone (aid in effect by then)
    p = scenarios["probability"].to_numpy(dtype=float) if "probability" in scenarios else None
    by_end = [f"{plan}_people_lifted_by_plan_end" for plan in ("robust_plan", "point_estimate_plan")]
    if p is not None and by_end[0] in scenarios:
        rows.append(("expected people lifted by the plan's last year",
                     *(numbers.people(float(p @ scenarios[c].to_numpy(dtype=float))) if c in scenarios else "-"
                       for c in by_end)))
    return rows


def _robust_section(run: dict, tables: dict[str, pd.DataFrame]) -> list[str]:
    scenarios = tables.get("scenarios")
    if scenarios is None or not len(scenarios):
        return []
    e = html.escape
    record = run.get("robust") or {}
    capacities = record.get("worst_capacities") or []
    parts = ['<section id="robust">', "<h2>Robust plan: people lifted across the scenarios</h2>",
             f"<p>{len(scenarios)} scenarios of <code>{e(str((record.get('uncertainty') or {}).get('uncertainty', {}).get('name', '')))}</code>; "
             f"the plan maximises the {e(str(record.get('risk', 'expected')))} of people lifted. "
             + (f"Capacities taken at their worst: {e(', '.join(capacities))}. " if capacities else "")
             + "The point-estimate plan is the plan <code>solve</code> gives for the instance as it is "
               "(with the same capacities).</p>",
             _table(robust_rows(run, scenarios), ("", "robust plan", "point-estimate plan"), numeric=(1, 2))]
    if record.get("method") == "progressive hedging":  # ewppt hedge: a bound instead of VSS and EVPI
        parts.append(f"<p>Found by progressive hedging (mpi-sppy, {record.get('iterations')} iterations): no plan "
                     f"lifts more than {numbers.people(record.get('bound'))} people in expectation, and this plan is "
                     f"within {numbers.share(record.get('gap'), 3)} of that. The point-estimate plan and the "
                     "scenarios' own optima are not solved here (<code>ewppt robust</code> solves them).</p>")
        parts += _trajectory(record.get("trajectory") or [])
    else:
        parts.append(_table([("value of the stochastic solution (VSS: robust minus point-estimate plan on the risk measure)",
                              numbers.people(record.get("vss"))),
                             ("mean of each scenario's own optimum (wait and see)", numbers.people(record.get("wait_and_see"))),
                             ("expected value of perfect information (EVPI: that mean minus the robust plan's "
                              "expectation)", numbers.people(record.get("evpi")))], numeric=(1,), row_headers=True))
    shown = scenarios.sort_values("robust_plan").head(SCENARIOS_SHOWN)
    columns = [c for c in ("robust_plan", "point_estimate_plan", "own_optimum") if c in scenarios]
    rows = [(str(r["scenario_id"]), numbers.share(r["probability"]), *(numbers.people(r[c]) for c in columns))
            for r in shown.to_dict("records")]
    parts += [f"<p>The {len(shown)} scenarios in which the robust plan lifts the fewest people"
              + (f" (of {len(scenarios)}; all are in scenarios.csv)" if len(scenarios) > len(shown) else "") + ":</p>",
              _table(rows, ("scenario", "probability", *(ROBUST_LABELS[c] for c in columns)),
                     numeric=tuple(range(1, 2 + len(columns)))), "</section>"]
    return parts


SCENARIOS_SHOWN = 15
ITERATIONS_SHOWN = 20


def _trajectory(lines: list[dict]) -> list[str]:
    """How progressive hedging's gap closed: its best plan and bound after each iteration (at most
    ITERATIONS_SHOWN of them, spread evenly, the last always)."""
    if not lines:
        return []
    step = -(-len(lines) // ITERATIONS_SHOWN)
    shown = lines[::-1][::step][::-1]
    rows = [(numbers.count(line["iteration"]), numbers.plain(line["seconds"] / 60, 2), numbers.people(line["expected"]),
             numbers.people(line.get("bound")), numbers.share(line.get("gap"), 3)) for line in shown]
    return [f"<p>How the gap closed ({len(shown)} of the {len(lines)} lines; all are in run.json's "
            "<code>robust.trajectory</code>):</p>" if len(shown) < len(lines) else "<p>How the gap closed:</p>",
            _table(rows, ("iteration", "minutes", "best plan (people)", "bound (people)", "gap"), numeric=(0, 1, 2, 3, 4))]


def make_figures(run: dict, tables: dict[str, pd.DataFrame]) -> dict[str, plt.Figure]:
    """The report's figures for a result with a plan (none without one)."""
    if not has_plan(run, tables):
        return {}
    allocation = tables["allocation"]
    figures = {"flows": flows_figure(allocation),
               "shares": shares_figure(allocation, tables["decisions"], run.get("scenario", {}).get("priorities", {})),
               "people": people_figure(tables["kpis"]),
               "years": years_figure(allocation)}
    if (tables["duals"]["family"] == "budget").any():
        objective_name = run.get("summary", {}).get("objective_name") or \
            run.get("scenario", {}).get("scenario", {}).get("objective", "objective")
        figures["duals"] = duals_figure(tables["duals"], objective_name, _donor_order(allocation))
    if tables.get("scenarios") is not None and len(tables["scenarios"]) and "robust_plan" in tables["scenarios"]:
        figures["robust"] = robust_figure(tables["scenarios"], {**(run.get("robust") or {}),
                                                                "objective": objective_name_of(run)})
    return figures


def objective_name_of(run: dict) -> str:
    return str((run.get("scenario", {}) or {}).get("scenario", {}).get("objective", ""))


# ------------------------------------------------------------------------------------------- page

def poverty_line_of(run: dict) -> str | None:
    """The poverty line the instance counts its poor at (`scenario.poverty_line`), if it names one."""
    return ((run.get("scenario", {}) or {}).get("scenario", {}) or {}).get("poverty_line")


def at_line(run: dict) -> str:
    """' (poor at LINE)', to follow every coverage figure, or '' when the instance names no line."""
    line = poverty_line_of(run)
    return f" (poor at {line})" if line else ""


def record_rows(run: dict) -> list[tuple[str, str, str, str]]:
    """(what, people per 10,000 yuan, people lifted or measure, source) rows: the plan overall and
    by category (run.json's by_category), then the recorded aggregates (optimizer.data.record)."""
    from optimizer.data.record import RECORDED_EFFECTS

    by_category = run.get("by_category") or {}
    rows = []
    aid = sum(v["aid_million"] for v in by_category.values())
    people = sum(v["people_lifted"] for v in by_category.values())
    if aid > 0:
        rows.append(("this plan, all aid", numbers.plain(people / aid / 100, 2),
                     f"{numbers.people(people)} people for {numbers.money(aid)} million yuan", "this plan"))
    for name, v in by_category.items():
        if v["aid_million"] > 0:
            rows.append((f"this plan, {label(name)}", numbers.plain(v["people_lifted"] / v["aid_million"] / 100, 2),
                         f"{numbers.people(v['people_lifted'])} people for {numbers.money(v['aid_million'])} million yuan",
                         "this plan"))
    rows += [(f"record, {r.period}", numbers.plain(r.per_10000_yuan, 2), r.measures, r.source) for r in RECORDED_EFFECTS]
    return rows


def summary_rows(run: dict, tables: dict[str, pd.DataFrame]) -> list[tuple[str, str, str]]:
    """(id, label, value) rows of the KPI table: aid and people from the tables, the rest from run.json."""
    summary = run.get("summary", {}) or {}
    objective_name = summary.get("objective_name") or (run.get("scenario", {}) or {}).get("scenario", {}).get(
        "objective", "objective")
    rows = [("status", "status", str(run.get("status"))),
            ("objective", f"objective ({label(objective_name)})", numbers.objective(objective_name, run.get("objective")))]
    if not has_plan(run, tables):
        return rows
    kpis = tables["kpis"]
    rows += [("total-aid", "total aid (million yuan)", numbers.money(tables["allocation"]["aid"].sum())),
             ("people-lifted", "people lifted" + (" (at the point estimates)" if run.get("robust") else ""),
              numbers.people(kpis["people_lifted"].sum())),
             *([("people-lifted-by-plan-end", "people lifted by the plan's last year (aid in effect by then)"
                 + (" (at the point estimates)" if run.get("robust") else ""),
                 numbers.people(kpis["people_lifted_by_plan_end"].sum()))]
               if "people_lifted_by_plan_end" in kpis else []),
             ("poor-population", "poor population" + at_line(run), numbers.people(kpis["poor_population"].sum())),
             ("min-coverage", "lowest coverage of a recipient" + at_line(run), numbers.share(kpis["coverage"].min()))]
    for key, text in (("leveraged_investment_million", "leveraged investment (million yuan)"),
                      ("funds_established", "funds established"),
                      ("projects_built", "projects built"),
                      ("cadre_years", "cadre years"),
                      ("cadre_cost_million", "cadre cost (million yuan)"),
                      ("binding_priorities", "binding priority rows"),
                      ("binding_limits", "binding limit rows"),
                      ("aid_off_profile", "aid off its line's yearly profile"),
                      ("lines_with_an_empty_year", "funded lines with a year of no aid"),
                      ("mip_gap", "MIP gap")):
        if isinstance(summary.get(key), (int, float)):
            rows.append((key.replace("_", "-"), text, numbers.summary_value(key, summary[key], objective_name)))
    return rows


def priority_rows(run: dict, tables: dict[str, pd.DataFrame]) -> list[tuple[str, str, str, str]]:
    """(rule, meaning, bound, binding rows) for each priority rule the scenario sets."""
    priorities = run.get("scenario", {}).get("priorities", {}) or {}
    binding = tables["binding"]
    shares = binding[binding["family"] == "priority_share"] if "family" in binding else binding.iloc[0:0]
    rows = []
    for rule, meaning in RULE_TEXT.items():
        value = priorities.get(rule)
        if value is None:
            continue
        mine = shares[shares["rule"] == rule]
        tight = mine["binding"].astype(str).str.lower().isin(["true", "1", "1.0"]).sum()
        rows.append((rule, meaning, numbers.share(value), f"{tight} of {len(mine)}" if len(mine) else "-"))
    return rows


def provenance_rows(run: dict) -> list[tuple[str, str]]:
    scenario = run.get("scenario", {}) or {}
    head = scenario.get("scenario", {}) or {}
    solver = run.get("solver", {}) or {}
    timings = run.get("timings_seconds", {}) or {}
    rows = [("status", str(run.get("status"))), ("message", str(run.get("message", ""))),
            ("objective", numbers.objective(head.get("objective"), run.get("objective"))),
            ("scenario", str(head.get("name", "-"))),
            ("objective function", str(head.get("objective", "-"))),
            ("model", str(solver.get("model") or head.get("model") or "-")),
            ("years", ", ".join(map(str, head.get("years", [])))),
            ("instance sha256", str(run.get("instance_sha256", "-"))),
            ("instance figures", counts_line(run.get("figures")))]
    for section in ("proportion", "priorities", "horizon", "solver"):
        values = scenario.get(section) or {}
        text = ", ".join(f"{k} {numbers.plain(v, 6) if isinstance(v, float) else v}"
                         for k, v in sorted(values.items()) if v is not None)
        rows.append((f"scenario [{section}]", text or "-"))
    rows.append(("solver", " ".join(str(solver[k]) for k in ("name", "version") if solver.get(k)) +
                 (f" ({solver['termination']})" if solver.get("termination") else "")))
    rows.append(("packages", ", ".join(f"{k} {v}" for k, v in sorted((run.get("packages") or {}).items()))))
    rows.append(("timings (s)", ", ".join(f"{k} {v:.3f}" for k, v in timings.items() if isinstance(v, (int, float)))))
    rows.append(("warnings", "; ".join(map(str, run.get("warnings") or [])) or "none"))
    return rows


CAPTIONS = {
    "flows": "Each band's width is the aid it carries over the whole plan (million yuan, summed over "
             "instruments and years). Left: donors, largest first; middle: recipients; right: categories. "
             "With many recipients the largest are named and the others drawn together as one hatched node.",
    "shares": "Share of each donor's budget (aid plus the cost of cadres) in each category: the bar over the "
              "whole plan, the black line from its lowest to its highest year. Coloured marks are the scenario's "
              "bounds on the rows they apply to. Special-aid and women rules are listed in the table below.",
    "people": "Grey: the recipient's poor population; blue: people the plan lifts out of poverty. With many "
              "recipients, those with the most poor people and the least covered (red) are named and the others "
              "summed in one hatched row, drawn to its own scale, with their lowest to highest coverage.",
    "duals": "The objective gained by one more million yuan in each donor's budget in that year, with the "
             "priority shares that are shares of that budget following it (a 30% minimum asks 0.3 million more), "
             "as ranging's slope for the budget; for a MIP, with its whole decisions fixed. One dot per year, the "
             "earliest on top, so that equal years show side by side. (duals.csv also has the budget row's own "
             "dual, family budget, which holds those shares fixed in million yuan: a different question.)",
    "robust": "For each plan, the share of the scenarios' probability in which it lifts at most the people on the "
              "horizontal axis: the further right and the steeper, the better; the left end is the worst scenario. "
              "Dashed lines: each plan's expectation. Dotted grey: each scenario's own optimum, what a planner who "
              "knew the scenario would reach (its gap to the robust plan's expectation is the EVPI).",
    "years": "Each donor's aid in each plan year, stacked by category (million yuan). With steady year profiles "
             "(the default) every funding line follows its donor's yearly budget unless a rule holds it elsewhere; "
             "the share of aid off those profiles is in the summary.",
}

SCRIPT = """
window.addEventListener("load", function () {
  var images = document.querySelectorAll("img");
  var decoded = 0;
  images.forEach(function (img) {
    img.setAttribute("data-natural-width", img.naturalWidth);
    if (img.complete && img.naturalWidth > 0) { decoded += 1; }
  });
  document.body.setAttribute("data-images-total", images.length);
  document.body.setAttribute("data-images-decoded", decoded);
});
"""

STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.7em; text-align: left; vertical-align: top; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f4f4f4; font-weight: normal; }
figure { margin: 1.2em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; margin-top: 0.3em; }
.banner { padding: 0.6em 1em; border-radius: 4px; margin: 0.8em 0; }
.banner.ok { background: #e5f5e0; } .banner.warn { background: #fff3cd; } .banner.no-plan { background: #fde0dd; }
code { background: #f4f4f4; padding: 0 0.2em; }
"""


def _table(rows, header=None, numeric=(), row_headers=False) -> str:
    e = html.escape
    parts = ["<table>"]
    if header:
        parts.append("<tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>")
    for row in rows:
        cells = "".join(f"<th>{e(str(v))}</th>" if row_headers and i == 0 else
                        f'<td class="number">{e(str(v))}</td>' if i in numeric else f"<td>{e(str(v))}</td>"
                        for i, v in enumerate(row))
        parts.append(f"<tr>{cells}</tr>")
    return "\n".join(parts + ["</table>"])


def build_html(run: dict, tables: dict[str, pd.DataFrame], images: dict[str, bytes]) -> str:
    """The report page: every text escaped, every figure an embedded PNG (`images`: name -> PNG)."""
    e = html.escape
    status = str(run.get("status"))
    name = (run.get("scenario", {}) or {}).get("scenario", {}).get("name", "plan")
    plan = has_plan(run, tables)
    message = str(run.get("message", ""))
    if not plan:
        banner = (f'<div class="banner no-plan" id="no-plan"><strong>No plan: the result is {e(status)}.</strong> '
                  f"{e(message)}<br>There are no flows, shares, people lifted or duals to show"
                  + (" (run <code>ewppt explain</code> on the instance to see which rules conflict)."
                     if status == "infeasible" and "explain" not in message else ".") + "</div>")
    elif status == "optimal":
        banner = f'<div class="banner ok" id="status">optimal: {e(message)}</div>'
    else:
        banner = f'<div class="banner warn" id="status">{e(status)}: {e(message)} (the best plan found is shown)</div>'
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f"<title>EWPPT plan report: {e(str(name))}</title>", f"<style>{STYLE}</style>", "</head>",
        f'<body data-status="{e(status)}" data-has-plan="{str(plan).lower()}">',
        f"<h1>EWPPT plan report: {e(str(name))}</h1>", banner,
        '<section id="summary">', "<h2>Summary</h2>", "<table>",
    ]
    for row_id, text, value in summary_rows(run, tables):
        kind = "" if row_id == "status" else ' class="number"'
        parts.append(f'<tr id="kpi-{e(row_id)}"><th>{e(text)}</th><td{kind}>{e(value)}</td></tr>')
    parts += ["</table>", "</section>"]
    if images:
        parts.append('<section id="figures">')
        titles = {"flows": "Aid flows", "shares": "Category shares against the priority bounds",
                  "people": "People lifted by recipient", "duals": "What one more million is worth",
                  "years": "Aid by year and category", "robust": "People lifted across the scenarios"}
        for key, png in images.items():
            data = base64.b64encode(png).decode("ascii")
            caption = CAPTIONS.get(key, "")
            if key == "people" and poverty_line_of(run):
                caption += f" Poor population and coverage count the poor at {poverty_line_of(run)}."
            parts += [f'<h2>{e(titles.get(key, key))}</h2>', f'<figure id="fig-{e(key)}">',
                      f'<img id="img-{e(key)}" alt="{e(ALL_FIGURES.get(key, key))}" src="data:image/png;base64,{data}">',
                      f"<figcaption>{e(caption)}</figcaption>", "</figure>"]
        if "duals" not in images:
            parts.append("<p>This result has no budget duals to show.</p>")
        parts.append("</section>")
    parts += _robust_section(run, tables) if plan else []
    if plan and run.get("by_category"):
        parts += ['<section id="record-effects">', "<h2>Effects beside the record</h2>",
                  "<p>People this plan lifts per 10,000 yuan of aid, overall and by category, beside the recorded "
                  "aggregates. The aggregates divide all the poverty reduction of a period (growth, migration, "
                  "transfers and every programme together) by one stream of money: each bounds from above what "
                  "that money lifted on average, and none is the marginal effect of one more yuan, which is what "
                  "the plan's effect curves give. The roads figure is a marginal return, but of the 1990s, at "
                  "that decade's line and prices, rounded and second-hand."
                  + (f" This plan counts the poor at {e(poverty_line_of(run))}." if poverty_line_of(run) else "")
                  + "</p>",
                  _table(record_rows(run), ("what", "people per 10,000 yuan", "people and money / what it measures",
                                            "source"), numeric=(1,)),
                  "</section>"]
    parts += _influence_section(run, tables.get("influence"))
    priority = priority_rows(run, tables)
    if priority:
        parts += ['<section id="priorities">', "<h2>Priority rules</h2>",
                  _table(priority, ("rule", "share of the budget", "bound", "binding rows"), numeric=(2, 3)),
                  "</section>"]
    parts += ['<section id="provenance">', "<h2>Provenance</h2>", _table(provenance_rows(run), row_headers=True), "</section>",
              f"<script>{SCRIPT}</script>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"


INFLUENCE_FILE = "influence.csv"  # `ewppt validate --influence PATH --out RESULT_DIR` writes it
INFLUENCE_SHOWN = 10


def read_influence(result_dir: Path) -> pd.DataFrame | None:
    """The result folder's influence.csv (None without one, or when it is not readable as one)."""
    path = Path(result_dir) / INFLUENCE_FILE
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError):
        return None
    needed = {"rank", "what", "move_down", "move_up", "move", "resolved", "share", "objective", "instance_sha256"}
    return frame if needed <= set(frame.columns) else None


def _influence_section(run: dict, frame: pd.DataFrame | None) -> list[str]:
    """Which guesses matter: the families of illustrative figures whose error moves the objective
    most (optimizer/analysis/influence.py), when influence.csv is of this plan's instance."""
    if frame is None or frame.empty:
        return []
    e = html.escape
    head = ['<section id="influence">', "<h2>Which guesses matter</h2>"]
    if str(frame["instance_sha256"].iloc[0]) != str(run.get("instance_sha256")):
        return head + [f"<p>{INFLUENCE_FILE} in this folder was computed for other data than this plan's "
                       "(the instance's digest differs); run <code>ewppt validate --influence</code> again.</p>",
                       "</section>"]
    share, objective = float(frame["share"].iloc[0]), str(frame["objective"].iloc[0])
    moving = frame[frame["move"].abs() > 0].head(INFLUENCE_SHOWN)

    def amount(value: float, signed: bool = False) -> str:
        text = f"{abs(value):,.2f} million yuan" if "investment" in objective else f"{abs(value):,.0f}"
        return ("-" if value < 0 else "+") + text if signed else text

    rows = [(int(r.rank), r.what, amount(r.move), amount(r.move_down, True), amount(r.move_up, True),
             "re-solved" if bool(r.resolved) else "first-order") for r in moving.itertuples()]
    return head + [f"<p>The families of illustrative figures whose error moves {e(objective)} most: each family "
                   f"(an effect curve, a donor's revenue, a recipient's poor population, a quota, a capacity row, "
                   "an investment-coupling figure) "
                   f"{share:.0%} lower and {share:.0%} higher, the others held. Verify these first. The top ones are "
                   "re-solved; the rest are first-order estimates from the plan's ranging and duals.</p>",
                   _table(rows, ("rank", "family of illustrative figures", f"move of {objective}", f"at -{share:.0%}",
                                 f"at +{share:.0%}", "how"), numeric=(2, 3, 4)),
                   "</section>"]


def figures_folder(html_path: Path) -> Path:
    """Where the PNGs go: report.html -> report/ beside it."""
    return html_path.with_suffix("") if html_path.suffix else html_path.with_name(html_path.name + "_figures")


def write_report(result_dir: str | Path, out: str | Path | None = None) -> list[Path]:
    """Write the HTML report of a result folder (default RESULT_DIR/report.html) and its figures
    as PNG beside it (report/*.png). Returns the paths written, the HTML page first.

    The default report goes into the result folder, which is replaced as a whole (its files
    plus the report), under the folder's lock: a solve into the folder meanwhile waits, and
    a later solve replaces the folder, report included. A report elsewhere (--out) is its HTML
    file and its figures folder, replaced as a whole."""
    if out is None:
        load_result(result_dir)  # its problems named by the folder given, not the copy written into
        with result_folder(result_dir, update=True) as folder:
            written = _write_report(folder, folder / "report.html", figures_folder(folder / "report.html"))
        return [Path(result_dir) / path.relative_to(folder) for path in written]
    html_path = Path(out)
    png_dir = figures_folder(html_path)
    # the figures folder holds the PNGs and nothing else, so a folder of our PNGs is ours to replace
    earlier = png_dir.is_dir() and all(path.name in {f"{key}.png" for key in ALL_FIGURES} for path in png_dir.iterdir())
    with result_folder(png_dir, force=earlier, mark=False) as folder:
        written = _write_report(result_dir, html_path, folder)
    return [html_path, *(png_dir / path.name for path in written[1:])]


def _write_report(result_dir: Path, html_path: Path, png_dir: Path) -> list[Path]:
    run, tables = load_result(result_dir)
    influence = read_influence(result_dir)
    if influence is not None:
        tables = {**tables, "influence": influence}
    images: dict[str, bytes] = {}
    for key, fig in make_figures(run, tables).items():
        images[key] = png_bytes(fig, DPI)
        plt.close(fig)
    written = []
    for key in ALL_FIGURES:
        path = png_dir / f"{key}.png"
        if key in images:
            atomic_write(path, lambda tmp, data=images[key]: tmp.write_bytes(data))
            written.append(path)
        else:
            path.unlink(missing_ok=True)  # a figure of an earlier report that this result does not have
    atomic_write_text(html_path, build_html(run, tables, images))
    return [html_path, *written]
