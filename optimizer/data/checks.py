"""Cross-table rules, one function each.

Each check takes the typed tables and the scenario and returns problems. A problem whose
message starts with "warning:" is reported but does not stop a solve.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable

import pandas as pd

from optimizer.data.errors import Problem
from optimizer.data.scaling import SCALED_COLUMNS, budgets
from optimizer.data.schema import PRIORITY_KEYS, TABLES, Scenario

Tables = dict[str, pd.DataFrame]


def _row(index: int) -> int:
    """Spreadsheet row number of a table's data row (header is row 1)."""
    return int(index) + 2


def check_unique_keys(tables: Tables, scenario: Scenario) -> list[Problem]:
    problems = []
    for name, spec in TABLES.items():
        table = tables.get(name)  # a caller may leave out an optional table such as context
        if table is None or table.empty:
            continue
        dup = table.duplicated(subset=list(spec.key), keep="first")
        for index in table.index[dup]:
            key = ", ".join(f"{k}={table.at[index, k]}" for k in spec.key)
            problems.append(
                Problem(spec.filename, f"duplicate key ({key}); expected one row per {', '.join(spec.key)}",
                        row=_row(index), column=spec.key[-1], value=table.at[index, spec.key[-1]])
            )
    return problems


def check_ids_differ_in_more_than_case(tables: Tables, scenario: Scenario) -> list[Problem]:
    """`Tibet` and `tibet` as two recipients are almost always one typed twice; ids are matched
    exactly everywhere else, so the tables would silently refer to one or the other."""
    problems = []
    for name, spec in TABLES.items():
        table = tables.get(name)
        if table is None or table.empty or len(spec.key) != 1:
            continue
        column = spec.key[0]
        first: dict[str, tuple[str, int]] = {}
        for index, value in table[column].items():
            seen = first.setdefault(value.casefold(), (value, index))
            if seen[0] != value:
                problems.append(Problem(spec.filename, f"differs only in case from '{seen[0]}' in row {_row(seen[1])}; "
                                        f"expected one row per {column} (write the id one way everywhere)",
                                        row=_row(index), column=column, value=value))
    return problems


def _check_reference(tables: Tables, table: str, column: str, target: str, target_column: str) -> list[Problem]:
    known = list(tables[target][target_column])
    known_set = set(known)
    frame = tables.get(table)  # a caller may leave out an optional table
    if frame is None:
        return []
    article = "an" if target_column[0] in "aeiou" else "a"
    problems = []
    for index, value in frame[column].items():
        if value not in known_set:
            near = difflib.get_close_matches(str(value), known, n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            problems.append(
                Problem(TABLES[table].filename,
                        f"unknown {target_column}; expected {article} {target_column} listed in "
                        f"{TABLES[target].filename}{hint}",
                        row=_row(index), column=column, value=value)
            )
    return problems


# (table, column) naming a donor, recipient or instrument, checked against donors.csv,
# recipients.csv or instruments.csv (the column's name plus "s")
REFERENCES = (
    ("revenue", "donor"), ("pairs", "donor"), ("pairs", "recipient"),
    ("effects", "recipient"), ("effects", "instrument"), ("capacity", "recipient"), ("capacity", "instrument"),
    ("projects", "recipient"), ("projects", "instrument"), ("cadres", "donor"), ("cadres", "recipient"),
    ("locks", "donor"), ("locks", "recipient"), ("locks", "instrument"),
)


def check_references(tables: Tables, scenario: Scenario) -> list[Problem]:
    return [problem for table, column in REFERENCES
            for problem in _check_reference(tables, table, column, f"{column}s", column)]


def check_pair_not_self(tables: Tables, scenario: Scenario) -> list[Problem]:
    pairs = tables["pairs"]
    return [
        Problem("pairs.csv", "a donor cannot be paired with itself", row=_row(i), column="recipient", value=r)
        for i, (d, r) in pairs[["donor", "recipient"]].iterrows()
        if d == r
    ]


def check_effect_segments(tables: Tables, scenario: Scenario) -> list[Problem]:
    """Segments numbered 1..n per recipient-instrument; people_per_million non-increasing."""
    effects = tables["effects"]
    # duplicate keys are reported by check_unique_keys; do not report them twice as gaps
    effects = effects.drop_duplicates(subset=list(TABLES["effects"].key))
    if _segments_in_order(effects):
        return []  # (the loop below finds nothing then; it names each problem when there is one)
    problems = []
    for (recipient, instrument), group in effects.groupby(["recipient", "instrument"], sort=False):
        ordered = group.sort_values("segment")
        expected = list(range(1, len(ordered) + 1))
        if list(ordered["segment"]) != expected:
            first_bad = next(i for i, (s, e) in enumerate(zip(ordered["segment"], expected)) if s != e)
            index = ordered.index[first_bad]
            problems.append(
                Problem("effects.csv", f"segments of {recipient}/{instrument} must be numbered 1, 2, ... without gaps",
                        row=_row(index), column="segment", value=int(effects.at[index, "segment"]))
            )
            continue
        rates = ordered["people_per_million"].tolist()
        for pos in range(1, len(rates)):
            if rates[pos] > rates[pos - 1]:
                index = ordered.index[pos]
                problems.append(
                    Problem("effects.csv",
                            f"people_per_million of {recipient}/{instrument} increases from segment {pos} "
                            f"({rates[pos - 1]:g}); expected non-increasing (diminishing returns)",
                            row=_row(index), column="people_per_million", value=rates[pos])
                )
    return problems


def _segments_in_order(effects: pd.DataFrame) -> bool:
    """True when every recipient-instrument's segments are numbered 1..n and its
    people_per_million never increases from one segment to the next (all at once: the
    per-line loop of check_effect_segments took most of loading an 800-county instance)."""
    if effects.empty:
        return True
    try:
        ordered = effects.sort_values(["recipient", "instrument", "segment"], kind="stable")
        line = ordered.groupby(["recipient", "instrument"], sort=False)
        numbered = (line.cumcount().to_numpy() + 1 == ordered["segment"].to_numpy()).all()
        rates = ordered["people_per_million"].astype(float)
        rising = (rates - line["people_per_million"].shift(1).astype(float)) > 0  # NaN (a line's first) is False
        return bool(numbered) and not bool(rising.any())
    except (TypeError, ValueError):  # odd values: the loop reads them one by one
        return False


def check_revenue_years(tables: Tables, scenario: Scenario) -> list[Problem]:
    """Every donor has revenue in every plan year; rows for other years are ignored."""
    revenue = tables["revenue"]
    have = set(zip(revenue["donor"], revenue["year"]))
    problems = [
        Problem("revenue.csv", f"no revenue row for donor '{donor}' in plan year {year}; expected at least one level",
                column="year", value=year)
        for donor in tables["donors"]["donor"]
        for year in scenario.years
        if (donor, year) not in have
    ]
    outside = sorted(set(revenue["year"]) - set(scenario.years))
    if outside:
        problems.append(Problem("revenue.csv", f"warning: rows for years {outside} lie outside the plan and are ignored",
                                column="year"))
    return problems


def check_capacity_years(tables: Tables, scenario: Scenario) -> list[Problem]:
    capacity = tables["capacity"]
    outside = capacity.index[~capacity["year"].isin(scenario.years)] if not capacity.empty else []
    return [
        Problem("capacity.csv", f"warning: year outside the plan years {list(scenario.years)}; row ignored",
                row=_row(i), column="year", value=int(capacity.at[i, "year"]))
        for i in outside
    ]


def check_every_recipient_paired(tables: Tables, scenario: Scenario) -> list[Problem]:
    paired = set(tables["pairs"]["recipient"])
    return [
        Problem("recipients.csv", "warning: no donor is paired with this recipient; it receives nothing",
                row=_row(i), column="recipient", value=w)
        for i, w in tables["recipients"]["recipient"].items()
        if w not in paired
    ]


def check_effects_cover_recipients(tables: Tables, scenario: Scenario) -> list[Problem]:
    with_effect = set(tables["effects"]["recipient"])
    paired = set(tables["pairs"]["recipient"])
    return [
        Problem("effects.csv", f"warning: recipient '{w}' has no effect rows; aid to it lifts nobody")
        for w in tables["recipients"]["recipient"]
        if w in paired and w not in with_effect
    ]


SPREAD_MAX = 1e9  # largest / smallest non-zero figure of one money, people or rate column


def check_column_spread(tables: Tables, scenario: Scenario) -> list[Problem]:
    """The non-zero figures of one money, people or rate column span at most 1e9: HiGHS holds a
    row within 1e-7 of figures scaled to hundreds (optimizer/data/scaling.py), so a figure below 1e-9
    of the column's largest is lost in that tolerance and the plan for it is noise."""
    problems = []
    for table, columns in SCALED_COLUMNS.items():
        frame = tables.get(table)
        if frame is None or frame.empty:
            continue
        for column in columns:
            figures = pd.to_numeric(frame[column], errors="coerce")
            figures = figures[figures > 0]
            if len(figures) and figures.max() > SPREAD_MAX * figures.min():
                problems.append(Problem(
                    TABLES[table].filename, f"less than 1e-9 of the column's largest figure {figures.max():g} (row "
                    f"{_row(figures.idxmax())}); no solver can weigh both (a figure in another unit?)",
                    row=_row(figures.idxmin()), column=column, value=float(figures.min())))
    return problems


def check_some_budget(tables: Tables, scenario: Scenario) -> list[Problem]:
    """Nothing extracted: a valid scenario, but its plan gives no aid and lifts nobody."""
    budget = budgets(tables["revenue"], scenario)
    if budget.empty or budget.gt(0).any():  # no revenue in the plan years: check_revenue_years's error
        return []
    return [Problem("scenario.toml", "warning: every budget is 0 (no [proportion] of any revenue in the plan years): "
                                     "the plan gives no aid and lifts nobody")]


def check_share_sum(tables: Tables, scenario: Scenario) -> list[Problem]:
    """The category minimums cannot add up to more than the whole budget."""
    p = scenario.priorities
    mins = {k: getattr(p, k) for k in PRIORITY_KEYS if k.endswith("_min") and k not in {"special_aid_min", "women_min"}}
    total = sum(v for v in mins.values() if v is not None)
    if total > 1 + 1e-12:
        listed = " + ".join(f"{k} {v:g}" for k, v in mins.items() if v)
        return [Problem("scenario.toml", f"warning: [priorities] {listed} = {total:g} exceed the whole budget (1); "
                                         "the scenario is infeasible (run `ewppt explain`)")]
    return []


def check_projects(tables: Tables, scenario: Scenario) -> list[Problem]:
    """A project starting after the plan can never be paid for; effect rows of a recipient-
    instrument with projects are replaced by its projects."""
    projects = tables.get("projects")
    if projects is None or projects.empty:
        return []
    last = scenario.years[-1]
    problems = [
        Problem("projects.csv", f"warning: earliest_year is after the last plan year {last}; the project cannot be chosen",
                row=_row(i), column="earliest_year", value=int(year))
        for i, year in projects["earliest_year"].items() if year > last
    ]
    with_projects = set(zip(projects["recipient"], projects["instrument"]))
    effects = tables["effects"]
    replaced = sorted({(w, k) for w, k in zip(effects["recipient"], effects["instrument"]) if (w, k) in with_projects})
    problems += [
        Problem("effects.csv", f"warning: {w} / {k} has projects in projects.csv; their people replace these effect "
                               "rows, which are ignored")
        for w, k in replaced
    ]
    return problems


def _off_the_pairs(tables: Tables, table: str, why: str) -> list[Problem]:
    """Rows of `table` whose known donor and known recipient are not a pair (unknown names are
    check_references's to report)."""
    pairs = set(zip(tables["pairs"]["donor"], tables["pairs"]["recipient"]))
    donors, recipients = set(tables["donors"]["donor"]), set(tables["recipients"]["recipient"])
    return [
        Problem(TABLES[table].filename, f"{d} and {w} are not paired in pairs.csv; {why}", row=_row(i),
                column="recipient", value=w)
        for i, (d, w) in tables[table][["donor", "recipient"]].iterrows()
        if d in donors and w in recipients and (d, w) not in pairs
    ]


def check_cadres(tables: Tables, scenario: Scenario) -> list[Problem]:
    """Cadres go between paired donors and recipients, at most as many as at least."""
    cadres = tables.get("cadres")
    if cadres is None or cadres.empty:
        return []
    problems = _off_the_pairs(tables, "cadres", "cadres go between pairs")
    for i, (lo, hi) in cadres[["min_per_year", "max_per_year"]].iterrows():
        if lo > hi:
            problems.append(Problem("cadres.csv", f"min_per_year {lo} exceeds max_per_year {hi}; expected a value "
                                                  f">= {lo}", row=_row(i), column="max_per_year", value=int(hi)))
    return problems


def check_locks(tables: Tables, scenario: Scenario) -> list[Problem]:
    """A lock is on a pair, in a plan year, and says either aid or a min_aid/max_aid range."""
    locks = tables.get("locks")
    if locks is None or locks.empty:
        return []
    problems = _off_the_pairs(tables, "locks", "a lock is on a pair's aid")
    for i, (t, aid, lo, hi) in locks[["year", "aid", "min_aid", "max_aid"]].iterrows():
        if t not in scenario.years:
            problems.append(Problem("locks.csv", f"year outside the plan years {list(scenario.years)}",
                                    row=_row(i), column="year", value=int(t)))
        given = [not _empty(v) for v in (aid, lo, hi)]
        if given[0] and (given[1] or given[2]):
            problems.append(Problem("locks.csv", "give either aid or min_aid/max_aid, not both", row=_row(i), column="aid",
                                    value=aid))
        elif not any(given):
            problems.append(Problem("locks.csv", "empty lock; expected aid, or min_aid and/or max_aid", row=_row(i),
                                    column="aid"))
        elif given[1] and given[2] and lo > hi:
            problems.append(Problem("locks.csv", f"min_aid {lo:g} exceeds max_aid {hi:g}", row=_row(i),
                                    column="max_aid", value=hi))
    return problems


def _empty(value) -> bool:
    return value is None or value != value


CONTEXT_TOLERANCE = 1e-6  # relative


def _figure(value: float) -> str:
    """A figure as the source prints it: up to 10 significant digits, no float noise."""
    return f"{value:.10g}"


def check_context_totals(tables: Tables, scenario: Scenario) -> list[Problem]:
    """context.csv: every parent equals the sum of its parts; an 'of which' item does not exceed it.

    A row whose `sums_to_parent` is true is one of the parts that should add up to its parent;
    a row with false is an "of which" item (real investments of enterprise investments), which
    is only compared with its parent. The figures are reported context, kept as printed: a
    parent that its parts do not add up to (relative tolerance 1e-6) is a warning with the
    figures and the gap, not an error. An unknown parent, an item that is its own parent, or a
    part in another unit than its parent is an error.
    """
    context = tables.get("context")
    if context is None or context.empty:
        return []
    context = context.drop_duplicates(subset=["item"])  # duplicates are reported by check_unique_keys
    items = list(context["item"])
    value = dict(zip(context["item"], context["value"].astype(float)))
    unit = dict(zip(context["item"], context["unit"]))
    row = {item: _row(index) for index, item in context["item"].items()}
    problems: list[Problem] = []
    parts: dict[str, list[str]] = {}
    for index, (item, parent, sums) in context[["item", "parent", "sums_to_parent"]].iterrows():
        if not parent:
            continue
        if parent == item:
            problems.append(Problem("context.csv", "an item cannot be its own parent", row=_row(index),
                                    column="parent", value=parent))
        elif parent not in value:
            near = difflib.get_close_matches(str(parent), items, n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            problems.append(Problem("context.csv", f"unknown parent; expected an item listed in context.csv{hint}",
                                    row=_row(index), column="parent", value=parent))
        elif unit[item] != unit[parent]:
            problems.append(Problem("context.csv", f"unit differs from the unit of its parent {parent} "
                                                   f"('{unit[parent]}'); a part has its parent's unit",
                                    row=_row(index), column="unit", value=unit[item]))
        elif sums:
            parts.setdefault(parent, []).append(item)
        elif value[item] > value[parent] + CONTEXT_TOLERANCE * abs(value[parent]):
            problems.append(Problem("context.csv", f"warning: {item} {_figure(value[item])} exceeds its parent "
                                                   f"{parent} {_figure(value[parent])}, of which it is a part",
                                    row=_row(index)))
    below: dict[str, list[str]] = {}  # every item directly under a parent, parts and "of which" items
    for item, parent in zip(context["item"], context["parent"]):
        if parent and parent != item and parent in value and unit[item] == unit[parent]:
            below.setdefault(parent, []).append(item)
    for parent, children in sorted(parts.items(), key=lambda kv: row[kv[0]]):
        total = math.fsum(value[c] for c in children)
        if abs(value[parent] - total) > CONTEXT_TOLERANCE * max(abs(value[parent]), abs(total)):
            listed = " + ".join(f"{c} {_figure(value[c])}" for c in children)
            message = (f"warning: {parent} {_figure(value[parent])} != {listed} = {_figure(total)} "
                       f"(gap {_figure(value[parent] - total)})")
            everything = _descendants(parent, below)
            extra = [c for c in everything if c not in children]
            whole = math.fsum(value[c] for c in everything)
            if extra and abs(value[parent] - whole) <= CONTEXT_TOLERANCE * abs(value[parent]):
                message += (f"; it equals the sum of every item below it ({_figure(whole)}), so it counts "
                            f"{', '.join(extra)} twice: once in their parent and once more on their own")
            problems.append(Problem("context.csv", message, row=row[parent]))
    return problems


def _descendants(item: str, below: dict[str, list[str]]) -> list[str]:
    """The items under `item` at any depth, in the order of context.csv (each once, no cycles)."""
    found: list[str] = []
    stack = list(reversed(below.get(item, [])))
    while stack:
        child = stack.pop()
        if child in found or child == item:
            continue
        found.append(child)
        stack.extend(reversed(below.get(child, [])))
    return found


CHECKS: tuple[Callable[[Tables, Scenario], list[Problem]], ...] = (
    check_unique_keys,
    check_ids_differ_in_more_than_case,
    check_references,
    check_pair_not_self,
    check_effect_segments,
    check_revenue_years,
    check_capacity_years,
    check_every_recipient_paired,
    check_effects_cover_recipients,
    check_column_spread,
    check_some_budget,
    check_share_sum,
    check_projects,
    check_cadres,
    check_locks,
    check_context_totals,
)


# the checks that read the scenario (its years, proportions or priorities); every other check
# reads the tables alone
SCENARIO_CHECKS = frozenset({check_revenue_years, check_capacity_years, check_some_budget, check_share_sum,
                             check_projects, check_locks})


def table_checks(tables: Tables) -> dict[Callable, list[Problem]]:
    """The problems of the checks that read the tables alone, by check (see run_checks' `known`)."""
    return {check: check(tables, None) for check in CHECKS if check not in SCENARIO_CHECKS}


def run_checks(tables: Tables, scenario: Scenario,
               known: dict[Callable, list[Problem]] | None = None) -> tuple[list[Problem], list[Problem]]:
    """All checks in order; returns (errors, warnings). `known` (from table_checks on these very
    tables) stands for the checks that read no scenario: only the others run."""
    known = known or {}
    problems = [p for check in CHECKS for p in (known[check] if check in known else check(tables, scenario))]
    errors = [p for p in problems if not p.message.startswith("warning:")]
    warnings = [p for p in problems if p.message.startswith("warning:")]
    return errors, warnings
