"""Yearly community statements (#18 item 5, #19): each member's statement of a calendar year
(or one member's) through the report engine, PDF and CSV, on demand.

The year is the one ``GET /api/v1/communities/{id}/years/{year}`` answers
(``community.yearly.year_summary``): the sums of the year's **closed** monthly settlements as
stored, never recomputed, so every amount equals that API's to the cent and a closed year's
statement never changes. Drafts are named, not counted. A member's section adds their line of
each closed month (from the stored settlements), whose totals add up to the year's. The period
is one calendar year of Europe/Rome (by default the year of the last whole month, so in January
the year just ended); a year without a closed month is a failed run that says so.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from gridpilot.community import settlements
from gridpilot.community.ledger_schemas import YearMember, YearOut
from gridpilot.community.yearly import year_summary
from gridpilot.core.errors import NotFound, ValidationFailed
from gridpilot.reports import periods
from gridpilot.reports.document import Column, Document, Figure, Item, Section, Table
from gridpilot.reports.kinds import BuildContext, PeriodQuery, ReportKind, register
from gridpilot.reports.kinds.community_statement import (
    KWH_DECIMALS,
    SettlementMissing,
    StatementParams,
    check,
)
from gridpilot.reports.periods import Period, PeriodInvalid
from gridpilot.reports.targets import COMMUNITY, COMMUNITY_ZONE

ZONE = ZoneInfo(COMMUNITY_ZONE)
MONTH_COLUMNS = [
    Column("month", "Month", kind="text"),
    Column("consumption_kwh", "Consumption", "kWh", decimals=KWH_DECIMALS),
    Column("shared_kwh", "Shared by own plants", "kWh", decimals=KWH_DECIMALS),
    Column("producer_eur", "Producer", "EUR", decimals=2),
    Column("consumer_eur", "Consumer", "EUR", decimals=2),
    Column("excess_eur", "Excess", "EUR", decimals=2),
    Column("total_eur", "Total", "EUR", decimals=2),
]


def year_period(year: int) -> Period:
    """1 January 00:00 to the next 1 January 00:00 in Rome [epoch ms]."""
    return Period(
        periods.month_period(year, 1, COMMUNITY_ZONE).start_ms,
        periods.month_period(year + 1, 1, COMMUNITY_ZONE).start_ms,
    )


def year_of(start_ms: int, end_ms: int) -> int:
    """The year of a period that is one calendar year in Rome; ``PeriodInvalid`` else."""
    year = datetime.fromtimestamp(start_ms / 1000, tz=ZONE).year
    if year_period(year) != Period(start_ms, end_ms):
        raise PeriodInvalid(
            "yearly community statements cover one calendar year (Europe/Rome): from 1 January "
            "00:00 to the next 1 January 00:00"
        )
    return year


async def period(query: PeriodQuery, params: Any) -> Period | None:
    """The year asked (``start`` its 1 January 00:00, ``end`` the next one's, either may be left
    out), else the year of the last whole month; ``PeriodInvalid`` for anything else."""
    start, end = query.start_ms, query.end_ms
    if start is None and end is None:
        last = periods.latest_due("monthly", COMMUNITY_ZONE, query.now_ms)
        return year_period(datetime.fromtimestamp(last.start_ms / 1000, tz=ZONE).year)
    at = start if start is not None else end - 1  # type: ignore[operator]
    chosen = year_period(datetime.fromtimestamp(at / 1000, tz=ZONE).year)
    year_of(chosen.start_ms if start is None else start, chosen.end_ms if end is None else end)
    return chosen


def _member_figures(line: YearMember) -> list[Item]:
    return [
        Figure("months", "Closed months with a part", line.months, "", 0),
        Figure("consumption_kwh", "Consumption in the sharing hours", line.consumption_kwh,
               "kWh", KWH_DECIMALS),
        Figure("shared_kwh", "Shared by own plants", line.produced_shared_kwh, "kWh",
               KWH_DECIMALS),
        Figure("producer_eur", "Producer part", line.producer_eur, "EUR", 2),
        Figure("consumer_eur", "Consumer part", line.consumer_eur, "EUR", 2),
        Figure("excess_eur", "Excess share", line.excess_eur, "EUR", 2),
        Figure("total_eur", "Benefit total", line.total_eur, "EUR", 2),
    ]  # fmt: skip


def _member_section(line: YearMember, months: list[tuple[int, dict[str, Any]]]) -> Section:
    """A member's year: the year's figures and their line of each closed month."""
    rows = [
        [f"{month:02d}", float(part["consumption_kwh"]), float(part["produced_shared_kwh"]),
         Decimal(part["producer_eur"]), Decimal(part["consumer_eur"]),
         Decimal(part["excess_eur"]), Decimal(part["total_eur"])]
        for month, part in months
    ]  # fmt: skip
    items = _member_figures(line)
    items.append(Table(f"months_{line.member_id}", "Closed months", MONTH_COLUMNS, rows))
    return Section(f"{line.member_name} (member {line.member_id})", items)


def _community_section(year: YearOut) -> Section:
    members_total = sum((m.total_eur for m in year.members), Decimal("0.00"))
    items: list[Item] = [
        Figure("closed_months", "Closed months", len(year.closed_months), "", 0,
               "all twelve" if year.complete else "the year is not complete"),
        Figure("shared_kwh", "Shared energy", year.shared_kwh, "kWh", KWH_DECIMALS),
        Figure("gse_estimate_eur", "GSE estimate", year.gse_estimate_eur, "EUR", 2),
        Figure("incentive_eur", "Incentive (TIP)", year.incentive_eur, "EUR", 2),
        Figure("valorisation_eur", "ARERA valorisation", year.valorisation_eur, "EUR", 2),
        *(Figure(f"fee_{k}_eur", f"Fee: {k}", v, "EUR", 2)
          for k, v in sorted(year.fees_eur.items())),
        Figure("reserve_eur", "Reserve", year.reserve_eur, "EUR", 2),
        Figure("social_fund_eur", "Social fund", year.social_fund_eur, "EUR", 2),
        Figure("members_total_eur", "Members' benefits", members_total, "EUR", 2),
    ]  # fmt: skip
    month_columns = [Column("month", "Month", kind="text"),
                     Column("status", "Status", kind="text"),
                     Column("gse_estimate_eur", "GSE estimate", "EUR", decimals=2)]  # fmt: skip
    months = [[f"{m.month:02d}", m.status, m.gse_estimate_eur] for m in year.months]
    items.append(Table("months", "Months", month_columns, months))
    member_columns = [Column("member", "Member", kind="text"),
                      Column("months", "Months", decimals=0), *MONTH_COLUMNS[1:]]  # fmt: skip
    rows = [
        [m.member_name, m.months, m.consumption_kwh, m.produced_shared_kwh, m.producer_eur,
         m.consumer_eur, m.excess_eur, m.total_eur]
        for m in year.members
    ]  # fmt: skip
    items.append(Table("members", "Members' year", member_columns, rows))
    return Section("Community", items)


async def _month_parts(ctx: BuildContext, year: YearOut) -> dict[int, list[tuple[int, Any]]]:
    """Each member's line of each closed month, from the stored settlements."""
    parts: dict[int, list[tuple[int, Any]]] = {}
    for month in year.closed_months:
        stored = await settlements.stored_settlement(ctx.session, ctx.target.id, year.year, month)
        for line in stored.result["members"] if stored is not None else ():
            parts.setdefault(int(line["member_id"]), []).append((month, line))
    return parts


async def build(ctx: BuildContext, params: StatementParams) -> Document:
    """The year's statements from the closed months' stored settlements."""
    if ctx.target.kind != COMMUNITY:
        raise ValidationFailed("community statements are of a community")
    number = year_of(ctx.start_ms, ctx.end_ms)
    year = await year_summary(
        session=ctx.session, principal=ctx.principal, community_id=ctx.target.id, year=number
    )
    if not year.closed_months:
        raise SettlementMissing(
            f"no month of {number} is closed for {ctx.target.name}: settle and close a month "
            f"first (POST /api/v1/communities/{ctx.target.id}/settlements, then .../close)"
        )
    lines = year.members
    if params.member_id is not None:
        lines = [m for m in lines if m.member_id == params.member_id]
        if not lines:
            raise NotFound(
                f"member {params.member_id} has no part in the closed months of {number}"
            )
    parts = await _month_parts(ctx, year)
    sections = [_member_section(m, parts.get(m.member_id, [])) for m in lines]
    if params.member_id is None:
        sections.append(_community_section(year))
    drafts = [f"{m.month:02d}" for m in year.months if m.status != "closed"]
    notes = [
        f"The year {number}: the sums of its closed monthly settlements as stored (GET "
        "/api/v1/communities/{id}/years/{year}); amounts in EUR.",
        f"Closed months: {', '.join(f'{m:02d}' for m in year.closed_months)}"
        + ("" if year.complete else " (not the whole year)."),
    ]
    if drafts:
        notes.append(f"Draft months not counted: {', '.join(drafts)}.")
    return Document(
        kind=KIND.name, title=KIND.title, site_name=ctx.target.name, timezone=COMMUNITY_ZONE,
        start_ms=ctx.start_ms, end_ms=ctx.end_ms, generated_ms=ctx.now_ms, sections=sections,
        notes=notes, target="community",
    )  # fmt: skip


KIND = register(
    ReportKind(
        name="community_year",
        title="Yearly community statements",
        description="A community's yearly statement of each member (or of one): the sums of "
        "the year's closed monthly settlements as stored, with each member's months; amounts "
        "to the cent as GET /api/v1/communities/{id}/years/{year}.",
        params=StatementParams,
        build=build,
        check=check,
        targets=frozenset({COMMUNITY}),
        schedules=frozenset({"none"}),
        period=period,
    )
)
