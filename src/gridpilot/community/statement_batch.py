"""Several members' monthly statements read at once: the settlement, the caller's access and
the members' names in three statements, the rows of each built from one pass over the
settlement (``statements.statements_rows``). The rows, titles and file names are those of
``settlements.member_statement`` (``GET .../statements/{member}.csv``), one member at a time
(which reads the settlement's whole result again for each: about 70 ms per member of 1,000 on
PostgreSQL, bench/community_db.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth.permissions import Principal
from gridpilot.community.models import Member
from gridpilot.community.settlements import get_settlement
from gridpilot.community.statements import Row, statements_rows
from gridpilot.core.errors import NotFound


@dataclass(frozen=True)
class Statement:
    """One member's statement: its rows, the PDF's title and the file name stem."""

    member_id: int
    rows: list[Row]
    title: str
    stem: str


async def member_statements(
    *,
    session: AsyncSession,
    principal: Principal,
    community_id: int,
    settlement_id: int,
    member_ids: Iterable[int] | None = None,
) -> list[Statement]:
    """The statements of ``member_ids`` (default: every member with a part in the settlement),
    in that order; 404 for a member that does not exist or that the caller may not see, as
    ``settlements.member_statement``."""
    settlement, access = await get_settlement(
        session=session, principal=principal, community_id=community_id,
        settlement_id=settlement_id,
    )  # fmt: skip
    if member_ids is None:
        ids = [int(p["member_id"]) for p in settlement.result["members"]]
    else:
        ids = list(member_ids)
    found = await session.execute(select(Member.id, Member.name).where(Member.id.in_(ids)))
    names = {int(member_id): str(name) for member_id, name in found}
    for member_id in ids:
        if member_id not in names or not access.sees_member(member_id):
            raise NotFound(f"member {member_id} not found")
    rows = statements_rows(settlement, {member_id: names[member_id] for member_id in ids})
    period = f"{settlement.year:04d}-{settlement.month:02d}"
    code, community = access.community.code, access.community.name
    return [
        Statement(
            member_id=member_id,
            rows=rows[member_id],
            title=f"{community}: statement {period}, {names[member_id]}",
            stem=f"statement-{code}-{period}-{member_id}",
        )
        for member_id in ids
    ]
