"""The instance format, declared once.

Each table of an instance is a pydantic row model: its fields are the table's columns, each
with a unit and a description. Loading (`optimizer.data.io`), the cross-table checks
(`optimizer.data.checks`) and `docs/instance-format.md` all follow these declarations.

The scenario (`scenario.toml`) is a frozen pydantic model that forbids unknown keys; an
override returns a new validated copy and never mutates.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from optimizer.data.errors import InvalidScenario, Problem, expected

LEVELS = ("provincial", "prefectural", "county")
CATEGORIES = ("enterprise_finance", "household_finance", "public_goods", "human_resources")
OBJECTIVES = ("people_lifted", "weighted_people_lifted", "equity", "leveraged_investment", "people_years")
LAG_MAX = 100  # years: at any discount rate above 5% a lag this long leaves less than 1% of the effect

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
# Sane ranges: finite figures beyond them are typing slips or wrong units, and would make the LP
# hopeless (HiGHS takes 1e20 as infinite; 1e22 revenue is reported unbounded). Ample for real plans:
# 1e15 million yuan is ten thousand times the world's yearly output, 1e10 people more than live.
MONEY_MAX = 1e15
PEOPLE_MAX = 1e10
RATIO_MAX = 1e6
Money = Annotated[float, Field(ge=0.0, le=MONEY_MAX)]
People = Annotated[float, Field(ge=0.0, le=PEOPLE_MAX)]
Ratio = Annotated[float, Field(ge=0.0, le=RATIO_MAX)]
# Control characters (tab, newline and carriage return aside) in no cell: a workbook cannot hold them
# (openpyxl refuses to write them) and a terminal would act on them.
CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
Key = Annotated[str, Field(min_length=1, max_length=200, pattern=rf"^[^\s,{CONTROL}]+$")]
Text = Annotated[str, Field(pattern=rf"^[^{CONTROL}]*$")]


def column(description: str, unit: str = "", **kwargs: Any) -> Any:
    """A column declaration: a pydantic Field that carries its unit for the docs."""
    return Field(description=description, json_schema_extra={"unit": unit}, **kwargs)


class Row(BaseModel):
    """Common settings of every table row: frozen, unknown columns rejected, no NaN or inf."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)


class DonorRow(Row):
    donor: Key = column("Donor identifier (lower case, no spaces), used by the other tables")
    name: Text = column("Display name", min_length=1)
    kind: Literal["province", "city"] = column("An eastern province or a city with its own pairing")


class RevenueRow(Row):
    donor: Key = column("Donor identifier from donors.csv")
    level: Literal["provincial", "prefectural", "county"] = column("Level of government whose revenue this is")
    year: int = column("Calendar year", ge=1900, le=2200)
    revenue: Money = column("Total revenue of that level in that year", "million yuan")


class RecipientRow(Row):
    recipient: Key = column("Recipient identifier (province or prefecture)")
    name: Text = column("Display name", min_length=1)
    province: Text = column("Province the recipient lies in (itself for a province)", min_length=1)
    poor_population: People = column("Poor population; people lifted cannot exceed it", "people")
    special_aid: bool = column("True for the special aid recipients (Tibet, Xinjiang)", default=False)
    weight: Ratio = column("Priority weight in the weighted objective", "-", default=1.0)
    investment_demand: Money = column(
        "Leveraged enterprise lending the recipient can absorb per year", "million yuan per year"
    )
    infra_unlock: Ratio = column(
        "Extra yearly lending demand per million yuan of cumulative public_goods aid",
        "million yuan per million yuan",
        default=0.0,
    )
    admin_capacity: Annotated[int, Field(ge=0)] | None = column(
        "Funds the recipient can run (fund establishment, MIP); empty = no limit", "funds", default=None
    )


class PairRow(Row):
    donor: Key = column("Donor identifier from donors.csv")
    recipient: Key = column("Recipient identifier from recipients.csv")
    base_quota: Money = column("Minimum yearly aid of the pair", "million yuan per year", default=0.0)


class InstrumentRow(Row):
    instrument: Key = column("Instrument identifier")
    category: Literal["enterprise_finance", "household_finance", "public_goods", "human_resources"] = column(
        "Priority category of the instrument"
    )
    leverage: Ratio = column(
        "Loans or investment mobilised per yuan of fund capital", "yuan per yuan", default=0.0
    )
    targets_women: bool = column("True if the instrument targets women (counts for women_min)", default=False)
    min_fund_size: Money = column(
        "Least capital of an established fund over the plan; > 0 (or a set-up cost) makes the instrument a fund "
        "that a recipient either establishes or not (MIP)", "million yuan", default=0.0)
    setup_cost: Money = column(
        "Set-up cost of an established fund, taken from its capital before the capital has effect (MIP)",
        "million yuan", default=0.0)
    lag_years: int = column(
        "Years between paying aid and its first effect (roads and schools are built before they serve): aid paid "
        "in year t lifts people from year t + lag_years on; when that is after the plan's last year its people "
        "count discounted (scenario.toml [horizon])", "years", default=0, ge=0, le=LAG_MAX)


def takes_effect(paid, lag, year):
    """Has aid paid in year `paid`, of an instrument with `lag_years` = `lag`, taken effect by
    effect year `year` (paid + lag <= year)? The one rule of timing, used by the model
    (models/effects.py), evaluate (optimizer.solving.evaluate) and the sweep's KPIs; works on
    numbers and elementwise on numpy arrays or pandas Series."""
    return paid + lag <= year


class EffectRow(Row):
    recipient: Key = column("Recipient identifier from recipients.csv")
    instrument: Key = column("Instrument identifier from instruments.csv")
    segment: int = column("Segment number 1, 2, ... (contiguous per recipient-instrument)", ge=1, le=1000)
    width: Money = column("Aid in this segment over the whole plan", "million yuan")
    people_per_million: People = column(
        "People lifted per million yuan in this segment; non-increasing in segment", "people per million yuan"
    )


class CapacityRow(Row):
    recipient: Key = column("Recipient identifier from recipients.csv")
    instrument: Key = column("Instrument identifier from instruments.csv")
    year: int = column("Calendar year", ge=1900, le=2200)
    max_aid: Money = column("Most aid the recipient can absorb in this instrument and year", "million yuan")


class ProjectRow(Row):
    project: Key = column("Project identifier")
    recipient: Key = column("Recipient identifier from recipients.csv")
    instrument: Key = column("Instrument whose aid to the recipient pays for the project")
    cost: Annotated[float, Field(gt=0.0, le=MONEY_MAX)] = column("Cost of the whole project", "million yuan")
    people: People = column("People the project lifts out of poverty", "people")
    earliest_year: int = column("First year whose aid may pay for the project", ge=1900, le=2200)


class CadreRow(Row):
    donor: Key = column("Donor identifier from donors.csv")
    recipient: Key = column("Recipient paired with the donor in pairs.csv")
    min_per_year: Annotated[int, Field(ge=0)] = column("Fewest cadres sent each plan year", "cadres", default=0)
    max_per_year: Annotated[int, Field(ge=0)] = column("Most cadres sent each plan year", "cadres")
    cost_per_cadre: Money = column("Cost of one cadre for one year, paid from the donor's budget",
                                   "million yuan per cadre-year")
    capacity_per_cadre: Ratio = column("Funds more the recipient can run per cadre-year exchanged",
                                       "funds per cadre-year", default=0.0)


class LockRow(Row):
    donor: Key = column("Donor identifier from donors.csv")
    recipient: Key = column("Recipient paired with the donor in pairs.csv")
    instrument: Key = column("Instrument identifier from instruments.csv")
    year: int = column("Plan year", ge=1900, le=2200)
    aid: Money | None = column("Aid already promised: the plan gives exactly this (or give min_aid/max_aid)",
                               "million yuan", default=None)
    min_aid: Money | None = column("Least aid promised", "million yuan", default=None)
    max_aid: Money | None = column("Most aid allowed", "million yuan", default=None)


class ContextRow(Row):
    item: Key = column("Identifier of a reported figure (context only; the model does not read it)")
    parent: str = column(
        "Item this one is a part of; empty for a top-level item", default="", max_length=200,
        pattern=rf"^[^\s,{CONTROL}]*$"
    )
    sums_to_parent: bool = column(
        "True: one of the parts that should add up to the parent; false: an 'of which' item, "
        "which need only not exceed its parent",
        default=True,
    )
    value: float = column("The figure as printed in the source, in the row's unit")
    unit: Text = column("Unit of the value, such as million yuan; a part has its parent's unit", min_length=1)
    note: Text = column("Where the figure comes from (source, table, row)", default="")


class TableSpec(BaseModel):
    """One table of an instance: its file stem, row model, key columns and whether required."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    row: type[Row]
    key: tuple[str, ...]
    required: bool = True

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    @property
    def columns(self) -> list[str]:
        return list(self.row.model_fields)

    @property
    def required_columns(self) -> list[str]:
        return [name for name, f in self.row.model_fields.items() if f.is_required()]


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(name="donors", row=DonorRow, key=("donor",)),
        TableSpec(name="revenue", row=RevenueRow, key=("donor", "level", "year")),
        TableSpec(name="recipients", row=RecipientRow, key=("recipient",)),
        TableSpec(name="pairs", row=PairRow, key=("donor", "recipient")),
        TableSpec(name="instruments", row=InstrumentRow, key=("instrument",)),
        TableSpec(name="effects", row=EffectRow, key=("recipient", "instrument", "segment")),
        TableSpec(name="capacity", row=CapacityRow, key=("recipient", "instrument", "year"), required=False),
        TableSpec(name="projects", row=ProjectRow, key=("project",), required=False),
        TableSpec(name="cadres", row=CadreRow, key=("donor", "recipient"), required=False),
        TableSpec(name="locks", row=LockRow, key=("donor", "recipient", "instrument", "year"), required=False),
        TableSpec(name="context", row=ContextRow, key=("item",), required=False),
    )
}


# ----------------------------------------------------------------------------------- scenario


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic reads `provincial = true` as 1.0 (and `years = [true]` as [1]): refuse it
        numeric = re.search(r"\b(float|int)\b", str(cls.model_fields[info.field_name].annotation))
        values = value if isinstance(value, (list, tuple)) else [value]
        if numeric and any(isinstance(v, bool) for v in values):
            raise ValueError("expected a number, not true or false")
        return value


class ScenarioInfo(Section):
    name: str = Field("scenario", min_length=1, description="Scenario name")
    years: tuple[int, ...] = Field(..., min_length=1, description="Plan years, strictly increasing")
    objective: Literal["people_lifted", "weighted_people_lifted", "equity", "leveraged_investment",
                       "people_years"] = Field(
        "people_lifted", description="What the plan maximises"
    )
    model: Literal["lp", "mip"] | None = Field(
        None, description="lp: every decision continuous (the relaxation of a MIP); mip: funds, projects and "
        "cadres are whole decisions. Empty: mip whenever the data asks for one (fund sizes or set-up costs, "
        "admin capacities, projects or cadres), else lp")
    poverty_line: Annotated[str, Field(min_length=1)] | None = Field(
        None, description="The poverty line at which recipients.csv counts the poor population, in words (such as "
        "\"2,300 yuan per rural person-year at 2010 prices\"); every coverage figure of the summary and the report "
        "names it. Empty: not stated")
    year_profile: Literal["steady", "free"] = Field(
        "steady", description="steady: among the optimal plans, the one whose funding lines (donor, recipient, "
        "instrument) follow their donor's yearly budget most closely (a second, lexicographic stage that keeps the "
        "objective); free: whichever optimal plan HiGHS returns")

    @field_validator("years")
    @classmethod
    def _increasing(cls, years: tuple[int, ...]) -> tuple[int, ...]:
        if any(b <= a for a, b in zip(years, years[1:])):
            raise ValueError(f"years must be strictly increasing, got {list(years)}")
        return years


class Proportion(Section):
    provincial: Fraction = Field(0.0, description="Fraction of provincial-level revenue extracted")
    prefectural: Fraction = Field(0.0, description="Fraction of prefectural-level revenue extracted")
    county: Fraction = Field(0.0, description="Fraction of county-level revenue extracted")


PRIORITY_KEYS = (
    "enterprise_finance_min",
    "household_finance_min",
    "public_goods_min",
    "public_goods_max",
    "human_resources_min",
    "special_aid_min",
    "women_min",
)


class Priorities(Section):
    enterprise_finance_min: Fraction | None = Field(None, description="Least share of the budget to enterprise finance")
    household_finance_min: Fraction | None = Field(None, description="Least share of the budget to household finance")
    public_goods_min: Fraction | None = Field(None, description="Least share of the budget to public goods")
    public_goods_max: Fraction | None = Field(None, description="Largest share of the budget to public goods")
    human_resources_min: Fraction | None = Field(None, description="Least share of the budget to human resources")
    special_aid_min: Fraction | None = Field(None, description="Least share of the budget to special aid recipients")
    women_min: Fraction | None = Field(None, description="Least share of household finance to women-targeting instruments")
    quota_growth_min: Annotated[float, Field(ge=-1.0, le=10.0)] | None = Field(
        None, description="Least yearly growth of each pair's aid (0 = never decrease)"
    )
    coverage_min: Fraction | None = Field(
        None, description="Least share of its poor population every paired recipient with effects lifts (an equity "
        "guarantee; the frontier's epsilon)")
    scope: Literal["donor", "national"] = Field("donor", description="Shares per donor-year or per year nationally")


class SolverOptions(Section):
    time_limit: Annotated[float, Field(gt=0)] | None = Field(None, description="Seconds")
    mip_rel_gap: Annotated[float, Field(ge=0, le=1)] | None = Field(None, description="Relative MIP gap")
    threads: Annotated[int, Field(ge=1, le=256)] | None = Field(None, description="HiGHS threads")
    method: Literal["choose", "simplex", "ipm"] = Field(
        "ipm", description="HiGHS LP method of a first solve: ipm (interior point with crossover to a vertex; "
        "10x faster than simplex on large plans, whose year split is nearly free), simplex, or choose (HiGHS "
        "decides). A study re-solves by the simplex method from the last basis, except after a change of the "
        "budgets, which it solves afresh by this method")


SOCIAL_DISCOUNT_RATE = 0.08  # China's social discount rate (NDRC and Ministry of Construction, 2006), see docs/model.md
# The default counts a person lifted in 2016 as one person lifted: the programme's count. At any positive rate
# aid of a lagged line paid in the last year is worth strictly less than aid that serves within the plan, and
# the plan starves those lines in that year again (ewppt-2010 at 8%: 5.5% of aid off profile, 14.1% of lines
# with an empty year; at 0: 0.8% and 3.0%), docs/model.md#horizon.
DEFAULT_DISCOUNT_RATE = 0.0


class Horizon(Section):
    """What aid that takes effect after the plan's last year counts for (the end of the horizon)."""

    beyond_plan: Literal["discounted", "ignored"] = Field(
        "discounted", description="Aid whose effect starts after the plan's last year T (paid in t with t + lag_years "
        "> T): discounted (counts, at (1 + discount_rate)^-(t + lag_years - T), the partnership being a standing "
        "programme) or ignored (lifts nobody: only effects within the plan count, the form before issue 23)")
    discount_rate: Annotated[float, Field(ge=0.0, le=10.0)] = Field(
        DEFAULT_DISCOUNT_RATE, description="Yearly discount rate of effects that start after the plan's last year: "
        "0 (the default) counts a person lifted after the plan as one person lifted; 0.08 is China's social "
        "discount rate (NDRC and Ministry of Construction, Methods and Parameters for Economic Evaluation of "
        "Construction Projects, 3rd edition, 2006), for a planner who weighs a year's delay as money is weighed")

    @property
    def discount(self) -> float:
        """delta: the weight of an effect that starts one year after the plan (0 when ignored)."""
        return 0.0 if self.beyond_plan == "ignored" else 1.0 / (1.0 + self.discount_rate)


def effect_weight(paid, lag, last, discount):
    """The weight of aid paid in year `paid`, of an instrument with `lag_years` = `lag`, in the
    plan's people lifted: delta^max(0, paid + lag - last), delta = `discount` (Horizon.discount),
    so 1 for aid that takes effect within the plan (takes_effect(paid, lag, last)) and 0 after it
    when effects beyond the plan are ignored. Used by the model (models/effects.py), evaluate and
    the sweep's KPIs; elementwise on numpy arrays."""
    import numpy as np

    late = np.maximum(np.asarray(paid) + np.asarray(lag) - last, 0)
    weight = np.where(late > 0, float(discount) ** late, 1.0)
    return weight if np.ndim(weight) else float(weight)


class Scenario(Section):
    """A scenario as written in scenario.toml: [scenario], [proportion], [priorities], [horizon], [solver]."""

    scenario: ScenarioInfo
    proportion: Proportion = Proportion()
    priorities: Priorities = Priorities()
    horizon: Horizon = Horizon()
    solver: SolverOptions = SolverOptions()

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def years(self) -> tuple[int, ...]:
        return self.scenario.years

    @property
    def objective(self) -> str:
        return self.scenario.objective

    @model_validator(mode="after")
    def _public_goods_bounds(self) -> "Scenario":
        lo, hi = self.priorities.public_goods_min, self.priorities.public_goods_max
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"priorities.public_goods_min {lo} exceeds priorities.public_goods_max {hi}")
        return self

    def override(self, **changes: Any) -> "Scenario":
        """A new validated scenario with changes given by dotted path.

        `name`, `years` and `objective` may be given bare; everything else as `section.key`
        (for example `proportion.provincial=0.002`). Use `override(**{"a.b": v})` for dotted keys.
        Raises `InvalidScenario` (a ValueError) naming each bad key with the nearest valid one.
        """
        data = self.model_dump()
        unknown = []
        for path, value in changes.items():
            section, _, key = path.rpartition(".")
            section = section or "scenario"
            if key not in getattr(SECTIONS.get(section), "model_fields", {}):
                unknown.append(Problem("override", f"unknown key; {_nearest_key(section, key)}", key=path))
                continue
            data[section][key] = value
        if unknown:
            raise InvalidScenario(unknown)
        try:
            return Scenario.model_validate(data)
        except ValidationError as exc:
            raise InvalidScenario(scenario_problems(exc, "override")) from None


SECTIONS: dict[str, type[Section]] = {"scenario": ScenarioInfo, "proportion": Proportion, "priorities": Priorities,
                                      "horizon": Horizon, "solver": SolverOptions}


def _nearest_key(section: str, key: str) -> str:
    """'did you mean ...?' for an unknown scenario key (`key` empty for a top-level one): the
    nearest key of its section, else the nearest of any section (`time_limit` is
    `solver.time_limit`), else the keys that are valid there."""
    if section not in SECTIONS:
        near = difflib.get_close_matches(section, list(SECTIONS), n=1)
        if not key:
            return f"did you mean '{near[0]}'?" if near else f"valid keys here: {', '.join(SECTIONS)}"
        section = near[0] if near else ""
    for sections in ([section] if section else [], list(SECTIONS)):
        dotted = {name: f"{s}.{name}" for s in sections for name in SECTIONS[s].model_fields}
        near = difflib.get_close_matches(key, list(dotted), n=1)
        if near:
            return f"did you mean '{dotted[near[0]]}'?"
    return f"valid keys here: {', '.join(SECTIONS[section].model_fields if section else SECTIONS)}"


def scenario_problems(exc: ValidationError, where: str) -> list[Problem]:
    """The errors of a scenario's validation, each naming its dotted key (and the nearest valid
    key for an unknown one)."""
    problems = []
    for err in exc.errors():
        loc = [str(part) for part in err["loc"]]
        dotted = ".".join(loc)
        if not loc and err["type"] == "value_error":
            # a rule across keys (model validator) names its first key in its message
            named = re.search(r"\b([a-z_]+\.[a-z_]+)\b", err["msg"].removeprefix("Value error, "))
            dotted = named.group(1) if named else dotted
        if err["type"] == "extra_forbidden":
            section, key = loc[0], loc[-1] if len(loc) > 1 else ""
            problems.append(Problem(where, f"unknown key; {_nearest_key(section, key)}", key=dotted))
            continue
        value = err.get("input")
        message = "missing; a value is required" if err["type"] == "missing" else expected(err)
        problems.append(Problem(where, message, key=dotted, value=value if not isinstance(value, dict) else None))
    return problems


@dataclass(frozen=True)
class ColumnDoc:
    """What one column of a table means, as docs/instance-format.md and the README sheet of a
    workbook (optimizer/data/workbook.py) both show it."""

    name: str
    kind: str  # `float`, `int`, `bool`, `str` or the allowed values (`province / city`)
    choices: tuple[str, ...]  # the allowed values of a column with a fixed list, else ()
    low: float | None  # the bounds of a number (None: unbounded on that side)
    high: float | None
    low_open: bool  # True for a bound > low (not >=)
    unit: str
    required: bool
    default: str
    meaning: str

    @property
    def range(self) -> str:
        """` in [0, 1e+15]`, as the docs show it; empty without an upper bound."""
        if self.high is None:
            return ""
        low = "(-inf" if self.low is None else f"({self.low:g}" if self.low_open else f"[{self.low:g}"
        return f" in {low}, {self.high:g}]"


def field_doc(name: str, f: Any) -> ColumnDoc:
    """A pydantic field (a table's column or a scenario key) as type, range, unit, default and meaning."""
    annotation, metadata = f.annotation, list(f.metadata)
    if type(None) in get_args(annotation):  # `Money | None`: the number's type and bounds are inside
        annotation = next(a for a in get_args(annotation) if a is not type(None))
        for m in getattr(annotation, "__metadata__", ()):
            metadata += getattr(m, "metadata", [m])
        annotation = get_args(annotation)[0] if get_args(annotation) and "Literal" not in str(annotation) \
            else annotation
    bounds = {k: getattr(m, k) for m in metadata for k in ("ge", "gt", "le") if hasattr(m, k)}
    choices = tuple(annotation.__args__) if "Literal" in str(annotation) else ()
    kind = " / ".join(f"`{v}`" for v in choices) if choices else \
        getattr(annotation, "__name__", str(annotation)).replace("typing.", "")
    return ColumnDoc(
        name=name, kind=kind, choices=choices,
        low=bounds.get("ge", bounds.get("gt")), high=bounds.get("le"), low_open="gt" in bounds,
        unit=(f.json_schema_extra or {}).get("unit", ""), required=f.is_required(),
        default="" if f.is_required() else f"{f.default}", meaning=f.description or "")


def column_docs(spec: TableSpec) -> list[ColumnDoc]:
    """The columns of a table with type, range, unit, default and meaning, from its row model."""
    return [field_doc(name, f) for name, f in spec.row.model_fields.items()]


def scenario_docs() -> list[ColumnDoc]:
    """Every scenario key (named `section.key`) with type, range, default and meaning."""
    return [field_doc(f"{section}.{name}", f) for section, model in SECTIONS.items()
            for name, f in model.model_fields.items()]


def format_markdown() -> str:
    """The column tables of docs/instance-format.md, generated from the row models above."""
    lines = []
    for spec in TABLES.values():
        doc = "required" if spec.required else "optional"
        lines += [f"### `{spec.filename}` ({doc}; one row per {', '.join(spec.key)})", "",
                  "| column | type | unit | required | default | meaning |", "| --- | --- | --- | --- | --- | --- |"]
        for c in column_docs(spec):
            lines.append(f"| `{c.name}` | {c.kind}{c.range} | {c.unit} | {'yes' if c.required else 'no'} | {c.default} "
                         f"| {c.meaning} |")
        lines.append("")
    lines += ["### `scenario.toml`", "", "| key | meaning |", "| --- | --- |"]
    for c in scenario_docs():
        lines.append(f"| `{c.name}` | {c.meaning} ({'required' if c.required else f'default {c.default}'}) |")
    return "\n".join(lines) + "\n"
