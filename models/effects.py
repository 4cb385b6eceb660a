"""Piecewise concave effect of aid on people lifted, capped by the poor population."""

from __future__ import annotations

import pyomo.environ as pyo

from models.fund_effects import (add_curve_perspective, curve_aid, curve_people, effect_form, line_share,
                                 lines_by_recipient)
from models.fund_effects import curve_lines as fund_lines_and_long
from models.projects import project_people
from optimizer.data.io import Instance
from optimizer.data.schema import Scenario, effect_weight


def add_effects(m: pyo.ConcreteModel, instance: Instance, scenario: Scenario) -> None:
    """For every recipient-instrument (w,k) with rows in effects.csv (T the plan's last year,
    lag[k] the instrument's lag_years, delta = 1 / (1 + r) with r = `[horizon] discount_rate`):

        effect_use[w,k]:   sum_j s[w,k,j] <= sum_{d,t} x[d,w,k,t] - f[k] y[w,k],   0 <= s[w,k,j] <= u[w,k,j]
        effect_lag[w,k]:   sum_j s[w,k,j] <= sum_{d,t} delta^max(0, t + lag[k] - T) x[d,w,k,t]   (only if lag[k] > 0)
        people[w]:         z[w] = sum_{k,j} e[w,k,j] * s[w,k,j]
                                  + sum_{q in Q[w]} delta^max(0, e[q] + lag[k_q] - T) people[q] v[q]
        poor_population[w]: z[w] <= N[w]

    e (people_per_million) is non-increasing in j, so a maximising plan fills segments in
    order and the effect is concave; aid beyond the last segment, or to a recipient-instrument
    without effect rows, lifts nobody. The set-up cost f[k] of an established fund y[w,k]
    (models/funds.py; the term is absent for other instruments) is taken from the capital
    before it has effect. Aid takes effect lag[k] years after it is paid (optimizer.data.schema.
    takes_effect); the partnership is a standing programme, so aid whose effect starts after T
    still lifts people, counted at delta per year of delay beyond T (schema.effect_weight): the
    effect is that of min(capital - f[k] y, discounted aid). `[horizon] beyond_plan = "ignored"`
    takes delta = 0: only aid in effect by T counts (the form before issue 23, today's
    people_lifted_by_plan_end). With every lag 0 effect_lag is absent and the model is the one
    without lags. A recipient-instrument with projects (models/projects.py) has no effect_use
    row: its chosen projects' people count instead, from their earliest year plus the lag on,
    discounted the same way when that is after T. A fund line in the breakpoint form
    (models/fund_effects.py) counts sum_b p[b] lambda[w,k,b] in place of sum_j s[w,k,j] and
    sum_b f[b] lambda[w,k,b] in place of sum_j e[w,k,j] s[w,k,j]: the same curve through its
    vertices.
    """
    sets = m.index_sets
    curves = getattr(m, "fund_curve_vertices", {})  # fund lines in the breakpoint form (models/fund_effects.py)
    m.effect_use = pyo.Constraint(
        m.effect_keys, rule=lambda m, w, k: line_aid(m.s, m.fund_curve_weight, curves, sets, (w, k))
        <= effect_capital(m, w, k),
    )
    m.effect_lag = pyo.Constraint(
        [key for key in sets.effect_keys if sets.lag[key[1]] > 0],
        rule=lambda m, w, k: line_aid(m.s, m.fund_curve_weight, curves, sets, (w, k)) <= aid_counted(m, w, k),
    )
    by_recipient = segments_by_recipient(sets, curves)
    curve_lines = lines_by_recipient(curves)
    m.people = pyo.Constraint(
        m.recipients, rule=lambda m, w: m.z[w] == sum(m.people_per_million[seg] * m.s[seg] for seg in by_recipient[w])
        + sum(curve_people(m.fund_curve_weight, curves[line]) for line in curve_lines.get(w, ()))
        + projects_counted(m, w)
    )
    m.poor_population_cap = pyo.Constraint(m.recipients, rule=lambda m, w: (None, m.z[w], m.poor_population[w]))


def line_aid(s, weight, curves: dict, sets, key: tuple, year: tuple = ()):
    """The aid line `key` = (w,k) puts to use: sum_j s[w,k,j(,t)], or for a fund line in the
    breakpoint form sum_b p[b] lambda[w,k,b(,t)] (`curves` keyed by (w,k) + year)."""
    if key + year in curves:
        return curve_aid(weight, curves[key + year])
    return sum(s[seg + year] for seg in sets.segments_by_effect[key])


def effect_capital(m: pyo.ConcreteModel, w: str, k: str):
    """sum_{d,t} x[d,w,k,t] - f[k] y[w,k]: (w,k)'s aid over the plan less a fund's set-up cost."""
    setup = m.setup_cost[k] * m.y[w, k] if (w, k) in m.y else 0.0  # y: the funds (models/funds.py)
    return sum(m.x[f] for f in m.index_sets.flows_by_recipient_instrument.get((w, k), ())) - setup


def aid_in_effect(m: pyo.ConcreteModel, w: str, k: str, year: int):
    """sum_{d, t: t + lag[k] <= year} x[d,w,k,t]: (w,k)'s aid that has taken effect by `year`."""
    return sum(m.x[f] for f in m.index_sets.flows_in_effect(w, k, year))


def late_weight(m: pyo.ConcreteModel, late: int):
    """delta^late for an effect that starts `late` >= 1 years after the plan: a number, or an
    expression of the mutable Param discount_rate when a study moves it; None when effects
    beyond the plan are ignored (the term is left out, as before issue 23)."""
    if m.beyond_plan == "ignored":
        return None
    if m.discount_rate.mutable:
        return (1.0 + m.discount_rate) ** (-late)
    return effect_weight(0, late, 0, 1.0 / (1.0 + pyo.value(m.discount_rate)))


def aid_counted(m: pyo.ConcreteModel, w: str, k: str):
    """sum_{d,t} delta^max(0, t + lag[k] - T) x[d,w,k,t]: (w,k)'s aid as the plan's people lifted
    counts it (in full when it takes effect by T, discounted per year of delay beyond T)."""
    sets = m.index_sets
    last = sets.years[-1]
    terms = []
    for f in sets.flows_by_recipient_instrument.get((w, k), ()):
        late = f[3] + sets.lag[k] - last
        weight = 1.0 if late <= 0 else late_weight(m, late)
        if weight is not None:
            terms.append(m.x[f] if late <= 0 else weight * m.x[f])
    return sum(terms)


def projects_counted(m: pyo.ConcreteModel, w: str):
    """sum_q delta^max(0, e[q] + lag[k_q] - T) people[q] v[q] over w's projects: their people as
    the plan's people lifted counts them (a project starting after the plan is never built)."""
    sets = m.index_sets
    last = sets.years[-1]
    terms = []
    for q in sets.projects_by_recipient.get(w, ()):
        _, k, earliest = sets.project_of[q]
        late = earliest + sets.lag[k] - last
        if late <= 0 or earliest > last:
            terms.append(m.project_people[q] * m.v[q])
        elif (weight := late_weight(m, late)) is not None:
            terms.append(weight * m.project_people[q] * m.v[q])
    return sum(terms)


def segments_by_recipient(sets, curves: dict | None = None) -> dict[str, list]:
    """{w: w's segments}, but those of the lines in `curves` (the breakpoint form, keyed by
    (w,k) and maybe a year), which lift people through their weights."""
    skip = {line[:2] for line in curves or ()}
    by_recipient: dict[str, list] = {w: [] for w in sets.recipients}
    for seg in sets.segments:
        if seg[:2] not in skip:
            by_recipient[seg[0]].append(seg)
    return by_recipient


def add_yearly_effects(m: pyo.ConcreteModel) -> None:
    """People lifted in each plan year t by the aid that has taken effect by t (the
    `people_years` objective, models/objectives.py), with the same concave effect and cap:

        0 <= s_year[w,k,j,t] <= u[w,k,j]
        year_effect_lag[w,k,t]:  sum_j s_year[w,k,j,t] <= sum_{d, tau: tau + lag[k] <= t} x[d,w,k,tau]
        year_effect_use[w,k,t]:  sum_j s_year[w,k,j,t] <= sum_{d,tau} x[d,w,k,tau] - f[k] y[w,k]   (funds)
        the perspective of each fund's curve in year t (funds; models/fund_effects.py):
            year_fund_effect[w,k,j,t]:  s_year[w,k,j,t] <= u[w,k,j] y[w,k], or for a line in the
            breakpoint form year_fund_curve_share[w,k,t]: sum_b lambda[w,k,b,t] <= y[w,k], its
            weights year_fund_curve_weight[w,k,b,t] counted in place of its s_year as above
        year_people[w,t]:  z_year[w,t] = sum_{k,j} e[w,k,j] s_year[w,k,j,t]
                                         + sum_{q in Q[w], e[q] + lag[k_q] <= t} people[q] v[q]
        year_poor_population_cap[w,t]:  z_year[w,t] <= N[w]

    A fund's set-up cost comes out of its capital over the plan, so its effect in year t is
    min(aid in effect by t, capital - f[k]); a built project lifts its people from its earliest
    year (clamped to the first plan year) plus its instrument's lag on.
    """
    sets = m.index_sets
    years = sets.years
    fund_effects = [key for key in sets.effect_keys if key in m.y]
    form = effect_form(m)
    perspective = fund_lines_and_long(m, form)  # the fund lines, and the other long ones in the breakpoint form
    m.s_year = pyo.Var([seg + (t,) for seg in sets.segments for t in years], domain=pyo.NonNegativeReals,
                       bounds=lambda m, w, k, j, t: (0, m.width[w, k, j]))
    m.z_year = pyo.Var(sets.recipients, years, domain=pyo.NonNegativeReals)

    curves = add_curve_perspective(
        m, "year_fund", form, [key + (t,) for key in perspective for t in years],
        segments=lambda line: sets.segments_by_effect[line[:2]], s=lambda line, seg: m.s_year[seg + line[2:]],
        y=lambda line: line_share(m, line), width=lambda seg: m.width[seg], rate=lambda seg: m.people_per_million[seg],
        weight_key=lambda line, j: (*line[:2], j, line[2]))

    def used(w, k, t):
        return line_aid(m.s_year, m.year_fund_curve_weight, curves, sets, (w, k), (t,))

    m.year_effect_lag = pyo.Constraint(
        [key + (t,) for key in sets.effect_keys for t in years],
        rule=lambda m, w, k, t: used(w, k, t) <= aid_in_effect(m, w, k, t))
    m.year_effect_use = pyo.Constraint(
        [key + (t,) for key in fund_effects for t in years],
        rule=lambda m, w, k, t: used(w, k, t) <= effect_capital(m, w, k))
    by_recipient = segments_by_recipient(sets, curves)
    curve_lines = lines_by_recipient(curves)
    m.year_people = pyo.Constraint(
        sets.recipients, years,
        rule=lambda m, w, t: m.z_year[w, t] == sum(m.people_per_million[seg] * m.s_year[seg + (t,)]
                                                   for seg in by_recipient[w])
        + sum(curve_people(m.year_fund_curve_weight, curves[line]) for line in curve_lines.get(w, ()) if line[2] == t)
        + project_people(m, w, t))
    m.year_poor_population_cap = pyo.Constraint(
        sets.recipients, years, rule=lambda m, w, t: (None, m.z_year[w, t], m.poor_population[w]))
