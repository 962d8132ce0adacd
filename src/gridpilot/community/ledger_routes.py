"""Routes of ledger status changes (the seed's transaction family, envelope) and of a
community's year (``/api/v1``), thin onto ``ledger_status`` and ``yearly``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from gridpilot.auth.dependencies import Configurer, Reader
from gridpilot.community import ledger_status, yearly
from gridpilot.community.ledger_schemas import StatusChangeIn, TransactionEventOut, YearOut
from gridpilot.community.schemas import Envelope
from gridpilot.community.seed_paths import both, error_answer
from gridpilot.community.settlement_schemas import TransactionOut
from gridpilot.db.dependencies import SessionDep

router = APIRouter(tags=["community"])
seed_router = APIRouter(tags=["community"])

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
Year = Annotated[int, Path(ge=2024, le=2100)]

NOT_FOUND = {404: error_answer("No such line, or not one the caller may see")}
FORBIDDEN = {403: error_answer("Only the community's admins (with configure) may do this")}
CONFLICT = {409: error_answer("The lifecycle does not allow this move (PROCESSED is final)")}


@both(
    seed_router.patch,
    "/api/economic/transactions/{transaction_id}",
    summary="Move a ledger line's status (PENDING, PROCESSED, FAILED); the amount never changes",
    responses={**FORBIDDEN, **NOT_FOUND, **CONFLICT},
)
async def change_status(
    transaction_id: Id, data: StatusChangeIn, principal: Configurer, session: SessionDep
) -> Envelope[TransactionOut]:
    line = await ledger_status.change_status(
        session=session, principal=principal, transaction_id=transaction_id, data=data
    )
    return Envelope(data=TransactionOut.model_validate(line))


@both(
    seed_router.get,
    "/api/economic/transactions/{transaction_id}/history",
    summary="A ledger line's status changes, oldest first (who, when, payment reference)",
    responses=NOT_FOUND,
)
async def status_history(
    transaction_id: Id, principal: Reader, session: SessionDep
) -> Envelope[list[TransactionEventOut]]:
    events = await ledger_status.history(
        session=session, principal=principal, transaction_id=transaction_id
    )
    return Envelope(data=events)


@router.get(
    "/communities/{community_id}/years/{year}",
    summary="A community's year: the sums of its closed monthly settlements, as stored",
    responses={404: error_answer("No such community, or not one the caller may see")},
)
async def year(community_id: Id, year: Year, principal: Reader, session: SessionDep) -> YearOut:
    return await yearly.year_summary(
        session=session, principal=principal, community_id=community_id, year=year
    )
