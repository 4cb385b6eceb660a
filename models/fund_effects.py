"""A fund's effect: the perspective of its effect curve (a fund that does not exist lifts nobody).

For a fund line (w,k) (models/funds.py: y[w,k] says the fund exists) with effect segments
j = 1..n of width u[j] and people per million e[j] (non-increasing), the curve is the concave
piecewise-linear f(a) = people lifted by aid a filled into the segments in order. Every plan
keeps s[w,k,j] <= u[j] y[w,k] (no fund, no capital, no effect); in the LP relaxation, where y is a
fraction, these rows let the line lift at most y f(A / y) with A = sum_j s[w,k,j]: the
perspective of f, what y of a fund can do. That is what makes the relaxation tight enough to
round (docs/model.md, Solving). Two forms of it, with the same relaxation and the same optimum:

breakpoints (the default): the convex-combination form over the curve's vertices b (the ends
of the segments where the slope falls, and the last one), p[b] = sum_{i <= b} u[i] the aid and
f[b] = sum_{i <= b} e[i] u[i] the people there, a weight 0 <= lambda[w,k,b] <= 1 on each:

    fund_curve_share[w,k]:   sum_b lambda[w,k,b] <= y[w,k]

and the line's aid A = sum_b p[b] lambda[w,k,b] and people P = sum_b f[b] lambda[w,k,b] in the
rows that read its segments (effect_use, effect_lag and people in models/effects.py, their
yearly and robust twins), whose s[w,k,j] the line then leaves unused. One row a line whatever
its number of segments (the segment form has one a segment), a column a vertex instead of a
segment, and y in one row instead of hundreds. A line of fewer than BREAKPOINTS_FROM (4)
segments keeps the segment form, which is then no more rows and fewer entries.

segments (every line, when a study moves widths or people per million: p and f are sums over
the segments, which a moved Param would leave stale):

    fund_effect[w,k,j]:  s[w,k,j] <= u[j] y[w,k]

Each line's rows involve only that line's columns and its y, so the forms can be mixed line by
line.

A line of another instrument (no y) of at least BREAKPOINTS_FROM segments has the breakpoint
form too, with 1 for y (`curve_lines`, `line_share`): sum_b lambda[w,k,b] <= 1, its whole curve
(the convex combinations of the vertices and the origin are the points under a concave f: the
same (A, P) as its segments within their widths). Its segment columns, most of them at their
width in a plan, made interior point slow on long curves, where the weights, almost all 0,
can be brought in as needed (optimizer/solving/columns.py). Shorter lines keep their segments.

Why they are the same. The rest of the model reads a line only through its A (in rows
A <= capital, A <= aid counted) and P (the people row). In the segment form, A = sum_j s[j] and
P = sum_j e[j] s[j], and (A, P) can be anything with A <= U y, P <= y f(A / y) (filling in order
is the best fill, U = p[n]) and P at least the fill from the lowest rates. In the breakpoint
form, with lambda_0 = y - sum_b lambda_b >= 0 on the vertex (0, 0), (A, P) is y times a convex
combination of the curve's vertices: P <= y f(A / y) (f is concave) and A <= U y; and the point
(A, y f(A / y)) is such a combination (the two vertices around A / y). So the highest P for each
A and y is the same, and a lower P is never better (the same P with less A fits every row that
reads A), so the optima, of the relaxation and of the MIP, are the same. With y fixed at 1 (a
plan's LP) either form is the curve itself; at 0, no effect, as fund_max and effect_use say
already (no capital).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

import pyomo.environ as pyo

from optimizer.data.io import Instance
from optimizer.data.schema import Scenario

FORMS = ("breakpoints", "segments")
# a line of fewer segments keeps its segment rows in the breakpoint form too: they are no more
# rows than the breakpoint form's three, and fewer entries
BREAKPOINTS_FROM = 4


def effect_form(m: pyo.ConcreteModel) -> str:
    """`segments` when a study moves the effect figures (width or people_per_million mutable) or
    the model is built for ranging (`build_model(..., segment_rows=True)`: ranging moves a
    segment's people per million as its column's coefficient in the people row, and in the
    breakpoint form a long line has no segment columns, its rates summed in the vertices' f),
    else `breakpoints` (for the lines of at least BREAKPOINTS_FROM segments)."""
    if m.width.mutable or m.people_per_million.mutable or getattr(m, "segment_rows", False):
        return "segments"
    return "breakpoints"


def fund_lines(m: pyo.ConcreteModel) -> list[tuple[str, str]]:
    """The fund lines (w,k) with effect segments."""
    sets = m.index_sets
    return [key for key in sets.fund_keys if sets.segments_by_effect.get(key)]


def curve_lines(m: pyo.ConcreteModel, form: str) -> list[tuple[str, str]]:
    """The lines whose curve `add_curve_perspective` writes: the fund lines, and in the
    breakpoint form also the long lines of other instruments (at least BREAKPOINTS_FROM
    segments; `line_share` is 1 for them: the curve itself)."""
    sets = m.index_sets
    lines = fund_lines(m)
    if form == "breakpoints":
        funds = set(lines)
        lines += [key for key in sets.effect_keys
                  if key not in funds and len(sets.segments_by_effect[key]) >= BREAKPOINTS_FROM]
    return lines


def line_share(m: pyo.ConcreteModel, line: tuple):
    """y[w,k] for a fund line, 1 for a line of another instrument (its whole curve is there)."""
    key = tuple(line[:2])
    return m.y[key] if key in m.y else 1.0


def add_fund_effects(m: pyo.ConcreteModel, instance: Instance, scenario: Scenario) -> None:
    """The perspective of each fund line's effect curve on m.y, in the model's form
    (`effect_form`): the weights `fund_curve_weight[w,k,b]` and `fund_curve_share[w,k]` for the
    long lines (their vertices in m.fund_curve_vertices, which models/effects.py reads in place
    of their segments), `fund_effect[w,k,j]` on m.s for the others (the module's docstring)."""
    sets = m.index_sets
    form = effect_form(m)
    m.fund_curve_vertices = add_curve_perspective(
        m, "fund", form, curve_lines(m, form), segments=lambda line: sets.segments_by_effect[line],
        s=lambda line, seg: m.s[seg], y=lambda line: line_share(m, line), width=lambda seg: m.width[seg],
        rate=lambda seg: m.people_per_million[seg], weight_key=lambda line, j: (*line, j))


def add_curve_perspective(b: pyo.Block, prefix: str, form: str, lines: Sequence[Hashable],
                          segments: Callable, s: Callable, y: Callable, width: Callable, rate: Callable,
                          weight_key: Callable) -> dict:
    """The perspective of the module's docstring on block `b`, for each line of `lines`:
    `segments(line)` its segment keys in order, `s(line, seg)` a segment's column, `y(line)` the
    fund's decision, `width(seg)` and `rate(seg)` u and e (Params or numbers), and
    `weight_key(line, j)` the index of the weight on the vertex at the end of segment j (and of
    segment j's row in the segment form). Components, each possibly empty: the weights
    `{prefix}_curve_weight` and the rows `{prefix}_curve_share` for the lines in the breakpoint
    form (`form` breakpoints and at least BREAKPOINTS_FROM segments), `{prefix}_effect` for the
    others. Returns {line: [(weight index, p, f), ...]} for the lines in the breakpoint form,
    whose aid and people the caller's rows read with `curve_aid` and `curve_people` in place of
    their segments."""
    if form not in FORMS:
        raise ValueError(f"unknown form {form!r}: one of {FORMS}")
    long = [line for line in lines if form == "breakpoints" and len(segments(line)) >= BREAKPOINTS_FROM]
    short = [line for line in lines if form == "segments" or len(segments(line)) < BREAKPOINTS_FROM]
    rows = {weight_key(line, seg[2]): (line, seg) for line in short for seg in segments(line)}
    b.add_component(f"{prefix}_effect", pyo.Constraint(
        list(rows), rule=lambda _, *key: (None, s(*rows[key]) - width(rows[key][1]) * y(rows[key][0]), 0.0)))
    vertices = {}
    for line in long:
        segs = segments(line)
        vertices[line] = [(weight_key(line, segs[i][2]), p, f) for i, p, f in curve_vertices(
            [pyo.value(width(seg)) for seg in segs], [pyo.value(rate(seg)) for seg in segs])]
    b.add_component(f"{prefix}_curve_weight", pyo.Var([key for line in long for key, _, _ in vertices[line]],
                                                       bounds=(0.0, 1.0)))
    weight = b.component(f"{prefix}_curve_weight")
    b.add_component(f"{prefix}_curve_share", pyo.Constraint(
        long, rule=lambda _, *line: (None, sum(weight[key] for key, _, _ in vertices[line]) - y(line), 0.0)))
    return vertices


def curve_aid(weight, vertices: list):
    """sum_b p[b] lambda[b]: the aid a line in the breakpoint form puts to use."""
    return sum(p * weight[key] for key, p, _ in vertices)


def curve_people(weight, vertices: list):
    """sum_b f[b] lambda[b]: the people a line in the breakpoint form lifts."""
    return sum(f * weight[key] for key, _, f in vertices)


def lines_by_recipient(vertices: dict) -> dict:
    """{recipient: [line, ...]} of the lines in the breakpoint form (a line's key starts with w)."""
    by: dict = {}
    for line in vertices:
        by.setdefault(line[0], []).append(line)
    return by


def curve_vertices(widths: Sequence[float], rates: Sequence[float]) -> list[tuple[int, float, float]]:
    """The vertices of the concave curve with these segments, after the origin: (i, p, f) for
    each segment i (0-based) where the slope falls after it, and the last segment; p the aid
    and f the people at its end. Collinear segments (equal rates) share one vertex."""
    vertices = []
    p = f = 0.0
    for i, (u, e) in enumerate(zip(widths, rates)):
        p += u
        f += e * u
        if i == len(widths) - 1 or rates[i + 1] != e:
            vertices.append((i, p, f))
    return vertices
