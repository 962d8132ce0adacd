"""Community statements (#19, #18): a community's monthly statement of each member (or of one)
through the report engine, PDF and CSV, scheduled monthly or on demand.

Built from the community's **stored** settlement of the month (``settlements.stored_settlement``)
and the very rows of the API's statement (``statement_batch.member_statements``, for every
member at once, the rows of ``settlements.member_statement`` behind
``GET /api/v1/communities/{id}/settlements/{sid}/statements/{member}.csv``), so every amount is the
API's ``Decimal`` to the cent, and a closed month's statement never changes. The period is one
calendar month of the Italian calendar (Europe/Rome); a month without a stored settlement is a
failed run that says so (run the settlement first).

Per member (a section each): consumption in the sharing hours and energy shared by their plants
[kWh], the benefit's producer, consumer and excess-share parts and its total [EUR], and their
plants (injected, shared [kWh], incentive [EUR]). Then the community: the settlement, its status,
GSE estimate, incentive, valorisation, fees and reserve, and a table of every member's parts
whose totals, with the fees and the reserve, add up to the GSE estimate.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth.permissions import Principal
from gridpilot.community import service as community
from gridpilot.community import settlements
from gridpilot.community.models import Settlement
from gridpilot.community.statement_batch import member_statements
from gridpilot.core.errors import NotFound, ValidationFailed
from gridpilot.reports import periods
from gridpilot.reports.document import Column, Document, Figure, Item, Section, Table
from gridpilot.reports.kinds import BuildContext, PeriodQuery, ReportKind, register
from gridpilot.reports.periods import Period, PeriodInvalid
from gridpilot.reports.targets import COMMUNITY, COMMUNITY_ZONE, Target

ZONE = ZoneInfo(COMMUNITY_ZONE)
KWH_DECIMALS = 3


class StatementParams(BaseModel):
    """Parameters of the community statements."""

    model_config = ConfigDict(extra="forbid")

    member_id: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        description="One member's statement (that member may then read the report); none: "
        "every member with a part in the settlement",
    )


class SettlementMissing(ValidationFailed):
    code = "settlement_missing"


async def check(session: AsyncSession, principal: Principal, target: Target, params: Any) -> None:
    """The member (when named) is or was a member of the community."""
    if params.member_id is None:
        return
    found, _ = await community.list_members(
        session=session, principal=principal, community_id=target.id, page=1,
        per_page=100_000, include_former=True,
    )  # fmt: skip
    if all(m.member_id != params.member_id for m in found):
        raise NotFound(f"member {params.member_id} not found in this community")


def month_of(start_ms: int, end_ms: int) -> tuple[int, int]:
    """(year, month) of a period that is one calendar month in Rome; ``PeriodInvalid`` else."""
    local = datetime.fromtimestamp(start_ms / 1000, tz=ZONE)
    month = periods.month_period(local.year, local.month, COMMUNITY_ZONE)
    if (month.start_ms, month.end_ms) != (start_ms, end_ms):
        raise PeriodInvalid(
            "community statements cover one calendar month (Europe/Rome): from the 1st 00:00 "
            "to the next 1st 00:00"
        )
    return local.year, local.month


async def period(query: PeriodQuery, params: Any) -> Period | None:
    """The month asked (``start`` its 1st 00:00, ``end`` the next 1st's, either may be left
    out), else the last whole month; ``PeriodInvalid`` for anything else."""
    start, end = query.start_ms, query.end_ms
    if start is None and end is None:
        return periods.latest_due("monthly", COMMUNITY_ZONE, query.now_ms)
    at = start if start is not None else end - 1  # type: ignore[operator]
    local = datetime.fromtimestamp(at / 1000, tz=ZONE)
    month = periods.month_period(local.year, local.month, COMMUNITY_ZONE)
    month_of(month.start_ms if start is None else start, month.end_ms if end is None else end)
    return month


def _values(rows: list[tuple[str, str, object, str]]) -> dict[tuple[str, str], object]:
    return {(section, item): value for section, item, value, _ in rows}


def _eur(value: object) -> Decimal:
    return Decimal(str(value))


def _member_section(member_id: int, rows: list[tuple[str, str, object, str]]) -> Section:
    """One member's statement: the API's rows as figures and a table of their plants."""
    values = _values(rows)
    name = str(values[("statement", "member")])
    items: list[Item] = [
        Figure("consumption_kwh", "Consumption in the sharing hours",
               float(values[("energy", "consumption_in_sharing_hours")]), "kWh", KWH_DECIMALS),  # type: ignore[arg-type]
        Figure("shared_kwh", "Shared by own plants",
               float(values[("energy", "shared_by_own_plants")]), "kWh", KWH_DECIMALS),  # type: ignore[arg-type]
        Figure("producer_eur", "Producer part", _eur(values[("benefit", "producer")]), "EUR", 2),
        Figure("consumer_eur", "Consumer part", _eur(values[("benefit", "consumer")]), "EUR", 2),
        Figure("excess_eur", "Excess share", _eur(values[("benefit", "excess_share")]), "EUR", 2),
        Figure("total_eur", "Benefit total", _eur(values[("benefit", "total")]), "EUR", 2),
    ]  # fmt: skip
    pods = sorted({s[len("plant ") :] for s, _ in values if s.startswith("plant ")})
    if pods:
        columns = [
            Column("pod", "POD", kind="text"),
            Column("injected_kwh", "Injected", "kWh", decimals=KWH_DECIMALS),
            Column("shared_kwh", "Shared", "kWh", decimals=KWH_DECIMALS),
            Column("incentive_eur", "Incentive", "EUR", decimals=2),
        ]
        table = [
            [pod, float(values[(f"plant {pod}", "injected")]),  # type: ignore[arg-type]
             float(values[(f"plant {pod}", "shared")]),  # type: ignore[arg-type]
             _eur(values[(f"plant {pod}", "incentive")])]
            for pod in pods
        ]  # fmt: skip
        items.append(Table(f"plants_{member_id}", "Plants", columns, table))
    return Section(f"{name} (member {member_id})", items)


def _community_section(
    settlement: Settlement, parts: list[dict[str, Any]], names: dict[int, str]
) -> Section:
    result = settlement.result
    items: list[Item] = [
        Figure("settlement_id", "Settlement", str(settlement.id), "", 0),
        Figure("status", "Status", settlement.status, "", 0,
               "draft: may still change" if settlement.status != "closed" else "closed"),
        Figure("gse_estimate_eur", "GSE estimate", settlement.gse_estimate_eur, "EUR", 2),
        Figure("incentive_eur", "Incentive (TIP)", settlement.incentive_eur, "EUR", 2),
        Figure("valorisation_eur", "ARERA valorisation", settlement.valorisation_eur, "EUR", 2),
        *(Figure(f"fee_{k}_eur", f"Fee: {k}", _eur(v), "EUR", 2)
          for k, v in sorted(result["fees_eur"].items())),
        Figure("reserve_eur", "Reserve", _eur(result["reserve_eur"]), "EUR", 2),
        Figure("members_total_eur", "Members' benefits",
               sum((_eur(p["total_eur"]) for p in parts), Decimal("0.00")), "EUR", 2),
    ]  # fmt: skip
    columns = [
        Column("member", "Member", kind="text"),
        Column("consumption_kwh", "Consumption", "kWh", decimals=KWH_DECIMALS),
        Column("shared_kwh", "Shared by own plants", "kWh", decimals=KWH_DECIMALS),
        Column("producer_eur", "Producer", "EUR", decimals=2),
        Column("consumer_eur", "Consumer", "EUR", decimals=2),
        Column("excess_eur", "Excess", "EUR", decimals=2),
        Column("total_eur", "Total", "EUR", decimals=2),
    ]
    rows = [
        [names.get(p["member_id"], f"#{p['member_id']}"), float(p["consumption_kwh"]),
         float(p["produced_shared_kwh"]), _eur(p["producer_eur"]), _eur(p["consumer_eur"]),
         _eur(p["excess_eur"]), _eur(p["total_eur"])]
        for p in parts
    ]  # fmt: skip
    items.append(Table("members", "Members' parts", columns, rows))
    return Section("Community", items)


async def build(ctx: BuildContext, params: StatementParams) -> Document:
    """The month's statements from the stored settlement."""
    if ctx.target.kind != COMMUNITY:
        raise ValidationFailed("community statements are of a community")
    year, month = month_of(ctx.start_ms, ctx.end_ms)
    label = f"{year:04d}-{month:02d}"
    settlement = await settlements.stored_settlement(ctx.session, ctx.target.id, year, month)
    if settlement is None:
        raise SettlementMissing(
            f"no settlement of {label} is stored for {ctx.target.name}: run it first "
            f"(POST /api/v1/communities/{ctx.target.id}/settlements)"
        )
    parts = [dict(p) for p in settlement.result["members"]]
    if params.member_id is not None:
        parts = [p for p in parts if p["member_id"] == params.member_id]
        if not parts:
            raise NotFound(f"member {params.member_id} has no part in the settlement of {label}")
    sections, names = [], {}
    statements = await member_statements(
        session=ctx.session, principal=ctx.principal, community_id=ctx.target.id,
        settlement_id=settlement.id, member_ids=[p["member_id"] for p in parts],
    )  # fmt: skip
    for statement in statements:  # the settlement read once for every member
        names[statement.member_id] = str(_values(statement.rows)[("statement", "member")])
        sections.append(_member_section(statement.member_id, statement.rows))
    if params.member_id is None:
        sections.append(_community_section(settlement, parts, names))
    notes = [
        f"Settlement {settlement.id} of {label} ({settlement.status}); amounts in EUR as the "
        "API's statements give them (GET /api/v1/communities/{id}/settlements/{sid}/statements/"
        "{member}.csv).",
    ]
    if settlement.status != "closed":
        notes.append("A draft settlement: its figures change when the month is run again.")
    return Document(
        kind=KIND.name,
        title=KIND.title,
        site_name=ctx.target.name,
        timezone=COMMUNITY_ZONE,
        start_ms=ctx.start_ms,
        end_ms=ctx.end_ms,
        generated_ms=ctx.now_ms,
        sections=sections,
        notes=notes,
        target="community",
    )


KIND = register(
    ReportKind(
        name="community_statement",
        title="Community statements",
        description="A community's monthly statement of each member (or of one) from the "
        "stored settlement: energy, benefit parts and total, plants; amounts to the cent as "
        "the API's statements.",
        params=StatementParams,
        build=build,
        check=check,
        targets=frozenset({COMMUNITY}),
        schedules=frozenset({"none", "monthly"}),
        period=period,
    )
)
