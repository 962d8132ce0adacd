"""What the community page shows, read through the community services with the user's own
principal (so a member sees what the API shows them: their PODs, lines and statements, and the
community's aggregates), and the chart of its hourly shared energy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth.permissions import Principal
from gridpilot.community import plants, service, settlements
from gridpilot.community.energy_routes import shared_energy_of
from gridpilot.community.schemas import Aggregation, CommunityOut, MemberOut
from gridpilot.community.settlement_routes import settlement_out
from gridpilot.community.settlement_schemas import SettlementOut
from gridpilot.community.statement_pdf import statement_pdf
from gridpilot.community.statements import render_csv
from gridpilot.web.charts import time_chart
from gridpilot.web.palette import COLOURS

ROME = ZoneInfo("Europe/Rome")
SHARED_COLOUR = COLOURS["shared"]  # green: energy used inside the community
CENT = Decimal("0.01")


def euros(amount: Decimal | str | None) -> str:
    """``€1,234.56`` (two decimals, half up; a minus sign before the euro sign)."""
    if amount is None:
        return "\u2013"
    value = Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)
    sign = "\u2212" if value < 0 else ""
    return f"{sign}\u20ac{abs(value):,.2f}"


@dataclass
class CommunityPage:
    community: CommunityOut
    members: list[MemberOut]
    pods: dict[int, int]  # member id -> PODs the user may see
    sees_all: bool
    own_member: int | None
    settlements: list[SettlementOut]


async def communities(session: AsyncSession, user: Principal) -> list[CommunityOut]:
    found, _ = await service.list_communities(
        session=session, principal=user, page=1, per_page=1000
    )
    return found


async def load(session: AsyncSession, user: Principal, community_id: int) -> CommunityPage:
    """The community as ``user`` may see it (``NotFound`` otherwise)."""
    access = await service.get_community(session=session, principal=user, community_id=community_id)
    described = await service.describe(session, access)
    members, _ = await service.list_members(
        session=session, principal=user, community_id=community_id, page=1, per_page=10_000
    )
    rows, _ = await plants.list_plants(
        session=session, principal=user, community_id=community_id, page=1, per_page=100_000
    )
    pods: dict[int, int] = {}
    for plant in rows:
        pods[plant.member_id] = pods.get(plant.member_id, 0) + 1
    stored, access = await settlements.list_settlements(
        session=session, principal=user, community_id=community_id
    )
    shown = [settlement_out(s, access) for s in reversed(stored)]  # latest first
    return CommunityPage(described, members, pods, access.sees_all, access.member_id, shown)


def day_bounds(choice: str, now: datetime) -> tuple[datetime, datetime]:
    """``[start, end)`` of "24h" (the last 24 hours), "today" or "month" in Europe/Rome (the
    market's days)."""
    if choice == "24h":
        return now - timedelta(hours=24), now
    local = now.astimezone(ROME)
    day = local.date().replace(day=1) if choice == "month" else local.date()
    start = datetime.combine(day, time(0), ROME)
    if choice == "month":
        following = (day + timedelta(days=32)).replace(day=1)
    else:
        following = day + timedelta(days=1)
    return start, datetime.combine(following, time(0), ROME)


async def shared_energy(
    session: AsyncSession, user: Principal, community_id: int, choice: str, now: datetime
) -> Aggregation:
    """Hourly shared energy over the last 24 hours, today or this month (up to now)."""
    start, end = day_bounds(choice, now)
    end = min(end, now)
    return await shared_energy_of(session, user, community_id, start.isoformat(), end.isoformat())


def _hour_label(hour: datetime, month: bool) -> str:
    local = hour.astimezone(ROME)
    return local.strftime("%-d %b %H:%M" if month else "%H:%M")


def _kwh(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def shared_chart(aggregation: Aggregation, substation: str, month: bool = False) -> dict[str, Any]:
    """Injected and withdrawn energy per hour [kWh] as bars, shared energy as a line, on an
    axis of Europe/Rome hours (labelled with the zone, whatever the browser's zone)."""
    group = next(s for s in aggregation.substations if s.substation == substation)
    labels = [_hour_label(h.hour, month) for h in group.hours]
    zone = group.hours[0].hour.astimezone(ROME).strftime("%Z") if group.hours else "CET"
    options = time_chart({}, unit="kWh", kind="bar")
    options["xAxis"] = {
        "type": "category",
        "data": labels,
        "name": f"{zone} (Europe/Rome)",
        "nameLocation": "middle",
        "nameGap": 28,
        "axisLabel": {"hideOverlap": True},
    }
    options["grid"]["bottom"] = 28
    options["series"] = [
        {
            "name": "Injected",
            "type": "bar",
            "color": COLOURS["export"],
            "data": [_kwh(h.injected_kwh) for h in group.hours],
        },
        {
            "name": "Withdrawn",
            "type": "bar",
            "color": COLOURS["import"],
            "data": [_kwh(h.withdrawn_kwh) for h in group.hours],
        },
        {
            "name": "Shared",
            "type": "line",
            "step": "middle",
            "showSymbol": False,
            "color": SHARED_COLOUR,
            "lineStyle": {"width": 2},
            "areaStyle": {"opacity": 0.25},
            "data": [_kwh(h.shared_kwh) for h in group.hours],
        },
    ]
    return options


async def statement_file(
    session: AsyncSession,
    user: Principal,
    community_id: int,
    settlement_id: int,
    member_id: int,
    fmt: str,
) -> tuple[bytes, str, str]:
    """A member's statement as the API serves it: (content, file name, media type)."""
    rows, title, stem = await settlements.member_statement(
        session=session, principal=user, community_id=community_id,
        settlement_id=settlement_id, member_id=member_id,
    )  # fmt: skip
    if fmt == "pdf":
        return statement_pdf(rows, title), f"{stem}.pdf", "application/pdf"
    return render_csv(rows).encode(), f"{stem}.csv", "text/csv; charset=utf-8"
