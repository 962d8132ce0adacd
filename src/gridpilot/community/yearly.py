"""A community's year (the seed's annual view): the sums of its closed monthly settlements.

Read-only: each closed month is taken as stored (its figures, parameters and statute of the
time), never recomputed, so the year never rewrites a closed month and its totals equal the
sums of the months' API answers to the cent. Drafts are listed, not counted: a running month
would change the year's figures from one call to the next. Members and viewers see the
community's totals and their own line; the community's admins every member's.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth.permissions import Principal
from gridpilot.community.access import community_access
from gridpilot.community.ledger_schemas import YearMember, YearMonth, YearOut
from gridpilot.community.models import Member, Settlement

ZERO = Decimal("0.00")
MONEY = ("producer_eur", "consumer_eur", "excess_eur", "total_eur")
ENERGY = ("consumption_kwh", "produced_shared_kwh")


def _member_sums(closed: list[Settlement]) -> dict[int, dict[str, Any]]:
    sums: dict[int, dict[str, Any]] = defaultdict(
        lambda: {**{k: ZERO for k in MONEY}, **{k: 0.0 for k in ENERGY}, "months": 0}
    )
    for settlement in closed:
        for line in settlement.result["members"]:
            row = sums[int(line["member_id"])]
            row["months"] += 1
            for key in MONEY:
                row[key] += Decimal(line[key])
            for key in ENERGY:
                row[key] += float(line[key])
    return sums


def _money_sum(values: list[Decimal | str]) -> Decimal:
    return sum((Decimal(v) for v in values), start=ZERO)


async def year_summary(
    *, session: AsyncSession, principal: Principal, community_id: int, year: int
) -> YearOut:
    """The year's totals from the stored monthly settlements (see the module doc)."""
    access = await community_access(session, principal, community_id)
    rows = list(
        await session.scalars(
            select(Settlement)
            .where(Settlement.community_id == community_id, Settlement.year == year)
            .order_by(Settlement.month)
        )
    )
    closed = [s for s in rows if s.status == "closed"]
    sums = _member_sums(closed)
    shown = sorted(m for m in sums if access.sees_member(m))
    names = dict(
        (await session.execute(select(Member.id, Member.name).where(Member.id.in_(shown)))).all()
    )
    fees: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for s in closed:
        for name, amount in s.result["fees_eur"].items():
            fees[name] += Decimal(amount)
    return YearOut(
        community_id=community_id, year=year, complete=len(closed) == 12,
        closed_months=[s.month for s in closed],
        months=[
            YearMonth(month=s.month, settlement_id=s.id, status=s.status,
                      gse_estimate_eur=s.gse_estimate_eur)
            for s in rows
        ],
        incentive_eur=_money_sum([s.incentive_eur for s in closed]),
        valorisation_eur=_money_sum([s.valorisation_eur for s in closed]),
        gse_estimate_eur=_money_sum([s.gse_estimate_eur for s in closed]),
        fees_eur=dict(fees),
        reserve_eur=_money_sum([s.result["reserve_eur"] for s in closed]),
        social_fund_eur=_money_sum([s.result["social_fund_eur"] for s in closed]),
        shared_kwh=round(
            sum(p["shared_kwh"] for s in closed for p in s.result["substations"]), 6
        ),
        members=[
            YearMember(
                member_id=m, member_name=str(names.get(m, "")), months=sums[m]["months"],
                **{k: sums[m][k] for k in MONEY},
                **{k: round(sums[m][k], 6) for k in ENERGY},
            )
            for m in shown
        ],
    )  # fmt: skip
