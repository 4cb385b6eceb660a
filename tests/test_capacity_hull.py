"""The admin-capacity hull rows (models/funds.py): exact by hand, and valid and tight for any data."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.funds import capacity_hull


def test_hull_by_hand():
    """A = 3 funds, rho = 0.29 per cadre-year, 0..3 cadres a year over 5 years (C = 0..15), 6 funds.
    floor(3 + 0.29 C) is 3 for C <= 3, 4 for 4..6, 5 for 7..10, 6 (all funds) from 11 on. The upper
    hull of those points runs (0,3) - (7,5) - (11,6) - (15,6); its last edge is Y <= 6, which
    y <= 1 gives, so two rows: Y <= 3 + 2/7 C and Y <= 13/4 + C/4."""
    edges = capacity_hull(3, 0.29, 0, 15, 6)
    assert edges == [pytest.approx((3, 2 / 7)), pytest.approx((3.25, 0.25))]
    # the relaxation's 0.45 of a fourth fund on 5 cadre-years (3 + 0.29 * 5 = 4.45) is cut to 4.43;
    # at C = 15 the relaxation's 7.35 funds become 6 (and 3 + 0.29 * 7 = 5.03 at C = 7 becomes 5)
    assert min(a + b * 5 for a, b in edges) == pytest.approx(3 + 10 / 7)
    assert min(a + b * 7 for a, b in edges) == pytest.approx(5)


def test_one_count_of_cadres_rounds_down():
    """cmin = cmax: C is 5; 2 + 0.3 * 5 = 3.5 funds become 3."""
    assert capacity_hull(2, 0.3, 5, 5, 4) == [(3.0, 0.0)]
    assert capacity_hull(2, 0.2, 5, 5, 4) == []  # 2 + 0.2 * 5 = 3 is whole: nothing to cut


@settings(max_examples=300, deadline=None)
@given(base=st.integers(0, 6), rho=st.floats(0.01, 2.0), low=st.integers(0, 10), span=st.integers(0, 15),
       funds=st.integers(1, 8))
def test_hull_is_valid_and_tight(base, rho, low, span, funds):
    high = low + span
    edges = capacity_hull(base, rho, low, high, funds)
    best = {C: min(funds, math.floor(base + rho * C + 1e-9)) for C in range(low, high + 1)}
    for C, most in best.items():  # every whole plan keeps every row ...
        for Y in range(0, most + 1):
            assert all(Y <= a + b * C + 1e-9 for a, b in edges), (C, Y, edges)
    for a, b in edges:  # ... and each row is met with equality by a whole plan (a facet, not slack)
        assert any(abs(best[C] - (a + b * C)) <= 1e-9 for C in best), (a, b, best)
