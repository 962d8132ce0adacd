"""Manual ledger lines and the index of a month's statements (the seed's
``POST /api/economic/transactions`` and ``GET /api/economic/reports``).

The ledger is append-only: an adjustment is a new line, it never changes a line already
written, so a closed month's figures stay as closed.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth.permissions import Principal
from gridpilot.community.access import community_access
from gridpilot.community.models import Member, Membership, Transaction
from gridpilot.community.settlement_schemas import AdjustmentIn, Report, StatementLinks
from gridpilot.community.settlements import stored_settlement
from gridpilot.core.errors import NotFound, ValidationFailed

CENT = Decimal("0.01")


async def add_adjustment(
    *, session: AsyncSession, principal: Principal, data: AdjustmentIn
) -> Transaction:
    """Append an ``ADJUSTMENT`` line [EUR, to the cent]; the community's admins only."""
    await community_access(session, principal, data.community_id, manage=True)
    if data.member_id is not None:
        ever = await session.scalar(
            select(Membership.id).where(
                Membership.community_id == data.community_id,
                Membership.member_id == data.member_id,
            )
        )
        if ever is None:
            raise ValidationFailed(
                f"member {data.member_id} was never in community {data.community_id}",
                details={"field": "member_id"},
            )
    line = Transaction(
        community_id=data.community_id, member_id=data.member_id,
        transaction_type=data.transaction_type,
        amount_eur=data.amount_eur.quantize(CENT, rounding=ROUND_HALF_EVEN),
        description=data.description, period_start=data.period_start,
        period_end=data.period_end, status="PENDING", currency="EUR",
    )  # fmt: skip
    session.add(line)
    await session.flush()
    await session.refresh(line)
    return line


async def month_report(
    *, session: AsyncSession, principal: Principal, community_id: int, year: int, month: int
) -> Report:
    """The stored settlement of a month and the statements the caller may read (admins: every
    member's; others: their own); 404 when the month has not been settled."""
    access = await community_access(session, principal, community_id)
    settlement = await stored_settlement(session, community_id, year, month)
    if settlement is None:
        raise NotFound(f"{year:04d}-{month:02d} has not been settled")
    parts = [m for m in settlement.result["members"] if access.sees_member(m["member_id"])]
    ids = [int(m["member_id"]) for m in parts]
    rows = await session.execute(select(Member.id, Member.name).where(Member.id.in_(ids)))
    names = {int(i): str(n) for i, n in rows}
    base = f"/api/v1/communities/{community_id}/settlements/{settlement.id}/statements"
    return Report(
        settlement_id=settlement.id, year=year, month=month, status=settlement.status,
        statements=[
            StatementLinks(
                member_id=m["member_id"], member_name=names.get(m["member_id"], ""),
                total_eur=Decimal(m["total_eur"]), csv_url=f"{base}/{m['member_id']}.csv",
                pdf_url=f"{base}/{m['member_id']}.pdf",
            )
            for m in parts
        ],
    )  # fmt: skip
