"""Status changes of ledger lines (the seed's PENDING / PROCESSED / FAILED) and their history.

The ledger stays append-only in what it says happened: a line's type, amount, member and
period never change. Only its payment status moves through the lifecycle below, each move
recorded as a ``TransactionEvent`` (who, when, from what to what, the payment's method and
reference, a note), so the history is the audit of the line:

    PENDING -> PROCESSED | FAILED;   FAILED -> PENDING (retry) | PROCESSED;   PROCESSED: final

A correction to a processed line is a new ``ADJUSTMENT`` line. Only the community's admins
(with gridpilot's configure permission) change a status; anyone who sees a line sees its
history (the actor only for admins).
"""

from __future__ import annotations

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth.permissions import Principal
from gridpilot.community.access import Access, community_access
from gridpilot.community.ledger_schemas import StatusChangeIn, TransactionEventOut
from gridpilot.community.models import Transaction, TransactionEvent
from gridpilot.core.errors import Conflict, NotFound
from gridpilot.db.base import utcnow

#: The statuses a line may move to from each status.
NEXT: dict[str, frozenset[str]] = {
    "PENDING": frozenset({"PROCESSED", "FAILED"}),
    "FAILED": frozenset({"PENDING", "PROCESSED"}),
    "PROCESSED": frozenset(),
}


async def _line(
    session: AsyncSession, principal: Principal, transaction_id: int, *, manage: bool = False
) -> tuple[Transaction, Access]:
    """The line and the caller's access; 404 when the caller may not see it."""
    line = await session.get(Transaction, transaction_id)
    if line is None:
        raise NotFound(f"transaction {transaction_id} not found")
    try:
        access = await community_access(session, principal, line.community_id)
    except NotFound:
        raise NotFound(f"transaction {transaction_id} not found") from None
    if not access.sees_all and line.member_id not in (None, access.member_id):
        raise NotFound(f"transaction {transaction_id} not found")
    if manage:
        await community_access(session, principal, line.community_id, manage=True)
    return line, access


async def change_status(
    *, session: AsyncSession, principal: Principal, transaction_id: int, data: StatusChangeIn
) -> Transaction:
    """Move a line to ``data.status``; 409 for a move the lifecycle does not allow."""
    line, _ = await _line(session, principal, transaction_id, manage=True)
    if data.status not in NEXT.get(line.status, frozenset()):
        allowed = ", ".join(sorted(NEXT.get(line.status, frozenset()))) or "none (final)"
        raise Conflict(
            f"transaction {transaction_id} is {line.status}: it cannot become {data.status} "
            f"(allowed: {allowed})",
            details={"field": "status", "from": line.status, "to": data.status},
        )
    now, before = utcnow(), line.status
    values: dict[str, object] = {
        "status": data.status, "processed_at": now if data.status == "PROCESSED" else None,
    }  # fmt: skip
    if data.payment_method is not None:
        values["payment_method"] = data.payment_method
    if data.payment_reference is not None:
        values["payment_reference"] = data.payment_reference
    # only from the status read: of two concurrent moves one wins, the other is a 409
    moved = await session.execute(
        update(Transaction)
        .where(Transaction.id == line.id, Transaction.status == before)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if not isinstance(moved, CursorResult) or moved.rowcount != 1:
        raise Conflict(f"transaction {transaction_id} changed meanwhile: read it again")
    session.add(
        TransactionEvent(
            transaction_id=line.id, from_status=before, to_status=data.status,
            payment_method=data.payment_method, payment_reference=data.payment_reference,
            note=data.note, actor=principal.subject[:200], actor_name=principal.name[:150],
            at=now,
        )
    )  # fmt: skip
    await session.flush()
    await session.refresh(line)
    return line


async def history(
    *, session: AsyncSession, principal: Principal, transaction_id: int
) -> list[TransactionEventOut]:
    """The line's status changes, oldest first."""
    _, access = await _line(session, principal, transaction_id)
    rows = await session.scalars(
        select(TransactionEvent)
        .where(TransactionEvent.transaction_id == transaction_id)
        .order_by(TransactionEvent.id)
    )
    events = [TransactionEventOut.model_validate(r) for r in rows]
    if not access.sees_all:
        events = [e.model_copy(update={"actor": None, "actor_name": None}) for e in events]
    return events
