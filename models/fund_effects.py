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
f[b] = sum_{i <= b} e[i] u[i] the people there, a weight lambda[w,k,b] >= 0 on each:

    fund_curve_aid[w,k]:     sum_j s[w,k,j] = sum_b p[b] lambda[w,k,b]
    fund_curve_people[w,k]:  sum_j e[j] s[w,k,j] <= sum_b f[b] lambda[w,k,b]
    fund_curve_share[w,k]:   sum_b lambda[w,k,b] <= y[w,k]

three rows a line whatever its number of segments (the segment form has one a segment), and
no column of y in hundreds of rows. A line of fewer than BREAKPOINTS_FROM (4) segments keeps
the segment form's rows, which are then no more and have fewer entries.

segments (every line, when a study moves widths or people per million: p and f are sums over
the segments, which a moved Param would leave stale):

    fund_effect[w,k,j]:  s[w,k,j] <= u[j] y[w,k]

Each line's rows involve only that line's columns and its y, so the forms can be mixed line by
line.

Why they are the same. The rest of the model reads the segments only through A (in rows
A <= capital, A <= aid counted) and P = sum_j e[j] s[w,k,j] (the people row). In the segment
form (A, P) can be anything with A <= U y and P <= y f(A / y) (filling in order is the best
fill, U = p[n]). In the breakpoint form, with lambda_0 = y - sum_b lambda_b >= 0 on the vertex
(0, 0), (A, P) is y times a convex combination of the curve's vertices (Jensen: P <= y f(A / y),
A <= U y); conversely the point y f(A / y) is such a combination (the two vertices around
A / y), and any s with P <= y f(A / y) fits. So both allow the same (A, P, y), except that the
breakpoint form also allows P below what y of a fund fills at the lowest rates: such a plan
is never better (the same P with less A fits both), so the optima, of the relaxation and of
the MIP, are the same. Fixed y = 1 (a plan's LP) the rows say P <= f(A), true of any s within
its widths; fixed y = 0 they say s = 0, as fund_max does already (no capital, effect_use).
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
    people per million in the people rows, and in the breakpoint form it also sits in the
    vertices' f, merged where segments are collinear), else `breakpoints` (for the lines of at
    least BREAKPOINTS_FROM segments)."""
    if m.width.mutable or m.people_per_million.mutable or getattr(m, "segment_rows", False):
        return "segments"
    return "breakpoints"


def fund_lines(m: pyo.ConcreteModel) -> list[tuple[str, str]]:
    """The fund lines (w,k) with effect segments."""
    sets = m.index_sets
    return [key for key in sets.fund_keys if sets.segments_by_effect.get(key)]


def add_fund_effects(m: pyo.ConcreteModel, instance: Instance, scenario: Scenario) -> None:
    """The perspective of each fund line's effect curve on m.s and m.y, in the model's form
    (`effect_form`): `fund_curve_aid`, `fund_curve_people`, `fund_curve_share` and the weights
    `fund_curve_weight[w,k,b]` for the long lines, `fund_effect[w,k,j]` for the others (the
    module's docstring)."""
    sets = m.index_sets
    lines = fund_lines(m)
    add_curve_perspective(
        m, "fund", effect_form(m), lines, segments=lambda line: sets.segments_by_effect[line],
        s=lambda line, seg: m.s[seg], y=lambda line: m.y[line], width=lambda seg: m.width[seg],
        rate=lambda seg: m.people_per_million[seg], weight_key=lambda line, j: (*line, j))


def add_curve_perspective(b: pyo.Block, prefix: str, form: str, lines: Sequence[Hashable],
                          segments: Callable, s: Callable, y: Callable, width: Callable, rate: Callable,
                          weight_key: Callable) -> None:
    """The perspective rows of the module's docstring on block `b`, for each line of `lines`:
    `segments(line)` its segment keys in order, `s(line, seg)` a segment's column, `y(line)` the
    fund's decision, `width(seg)` and `rate(seg)` u and e (Params or numbers), and
    `weight_key(line, j)` the index of the weight on the vertex at the end of segment j (and of
    segment j's row in the segment form). Components, each possibly empty: `{prefix}_curve_aid`,
    `{prefix}_curve_people`, `{prefix}_curve_share` and `{prefix}_curve_weight` for the lines in
    the breakpoint form (`form` breakpoints and at least BREAKPOINTS_FROM segments), and
    `{prefix}_effect` for the others."""
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

    def aid(_, *line):
        return (0.0, sum(s(line, seg) for seg in segments(line)) - sum(p * weight[key] for key, p, _ in vertices[line]),
                0.0)

    def people(_, *line):
        return (None, sum(pyo.value(rate(seg)) * s(line, seg) for seg in segments(line))
                - sum(f * weight[key] for key, _, f in vertices[line]), 0.0)

    def share(_, *line):
        return (None, sum(weight[key] for key, _, _ in vertices[line]) - y(line), 0.0)

    b.add_component(f"{prefix}_curve_aid", pyo.Constraint(long, rule=aid))
    b.add_component(f"{prefix}_curve_people", pyo.Constraint(long, rule=people))
    b.add_component(f"{prefix}_curve_share", pyo.Constraint(long, rule=share))


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
