"""Recorded people lifted per 10,000 yuan, to set a plan's effects beside (docs/source.md).

None of these is a marginal effect of East-West aid: the first three divide all the poverty
reduction of a period (growth, migration, transfers and every programme together) by one
stream of money, so each is an upper bound on what that money lifted on average; the last is
a rounded, second-hand marginal return of the 1990s at that decade's line and prices.
"""

from __future__ import annotations

from typing import NamedTuple


class RecordedEffect(NamedTuple):
    period: str
    per_10000_yuan: float  # people lifted per 10,000 yuan, as derived from the printed totals
    measures: str  # what the figure divides by what
    source: str  # the original public source


RECORDED_EFFECTS = (
    RecordedEffect(
        "2001-2010", 3.3,
        "67.34 million fewer rural poor (94.22 million at the 865-yuan line of 2000 to 26.88 million at the "
        "1,274-yuan line of 2010) over 204.38 billion yuan of fiscal poverty funds: all causes, one stream of money",
        "State Council white paper 'New Progress in Development-oriented Poverty Reduction for Rural China' (2011), "
        "sections II and III"),
    RecordedEffect(
        "2013-2016", 2.8,
        "55.64 million lifted at the 2,300-yuan line over 196.1 billion yuan of central special poverty funds "
        "(provincial and local funds left out): all causes",
        "Xinhua, 2017-05-24 (xinhuanet.com/english/2017-05/24/c_136311122.htm)"),
    RecordedEffect(
        "2016", 0.54,
        "12.4 million lifted at the 2,300-yuan line over more than 230 billion yuan of central and local budgets: "
        "all causes",
        "Xinhua, 2017-02-28 (en.chinagate.cn/2017-02/28/content_40378612.htm)"),
    RecordedEffect(
        "mid-1990s, western rural roads", 10.0,
        "marginal return of public spending on rural roads in the west (Fan, Zhang and Zhang), rounded, at the "
        "1990s line and prices",
        "China Daily, 2022-10-16, reporting the World Bank and DRC report 'Four Decades of Poverty Reduction in "
        "China' (2022)"),
)
