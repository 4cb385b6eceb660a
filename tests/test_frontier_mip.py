"""A MIP frontier is a frontier (issue 15, section 2): on ewppt-2010 at HiGHS's default gap
(1e-4, about 90 people of 917,000) neighbouring points differ by less than the gap, and main
showed points dominated by others (point 5 with more people and more coverage than points
2-4). Dominated points are re-solved with a smaller gap, or take a neighbour's better plan,
and every plan is solved to a gap below the step between points; the gap of each plan is
reported."""

from __future__ import annotations

import math

from optimizer import load_instance
from optimizer.analysis.frontier import frontier


def test_no_point_of_the_2010_frontier_is_dominated():
    found = frontier(load_instance("ewppt-2010", **{"scenario.year_profile": "free"}), points=5)
    table = found.table
    assert found.model_kind == "mip" and len(table) == 5
    assert table["status"].eq("optimal").all()
    assert not table["dominated"].any(), table[["people_lifted", "min_coverage", "mip_gap"]]
    # by brute force over the pairs: no point has at least another's people and coverage and more of one
    rows = list(zip(table["people_lifted"], table["min_coverage"]))
    for i, (p, c) in enumerate(rows):
        for j, (q, d) in enumerate(rows):
            assert i == j or not (q >= p and d >= c and (q > p + 1e-3 or d > c + 1e-9)), (i, j, rows)
    # each point keeps its floor, and the gap used is reported
    assert (table["min_coverage"] >= table["coverage_floor"] - 1e-9).all()
    assert table["mip_gap"].notna().all() and not any(math.isinf(g) for g in table["mip_gap"])
    assert found.mip_rel_gap is not None and "relative gap" in found.message
    # and each plan's gap, in people, is below the smallest step between neighbouring points
    people = table["people_lifted"].tolist()
    steps = [abs(a - b) for a, b in zip(people, people[1:]) if abs(a - b) > 1e-3]
    assert max(table["mip_gap"]) * max(people) <= min(steps), (steps, table["mip_gap"].tolist())
