"""The CER seed's economic paths (envelope), thin routes onto the settlement service:
``GET /api/economic/benefits`` (a month's figures, computed without writing),
``POST /api/economic/distribute`` (settle and close a month), ``GET /api/economic/reports``
(the month's statements as links), ``POST /api/economic/transactions`` (an adjustment line).
Each path also answers with the seed's trailing slash."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gridpilot.auth.dependencies import Configurer, Reader
from gridpilot.community import ledger, settlements
from gridpilot.community.schemas import Envelope
from gridpilot.community.seed_paths import both, error_answer
from gridpilot.community.settlement_routes import settlement_out
from gridpilot.community.settlement_schemas import (
    AdjustmentIn,
    DistributeIn,
    Report,
    SettlementOut,
    TransactionOut,
)
from gridpilot.db.dependencies import SessionDep

seed_router = APIRouter(tags=["community"])

CommunityId = Annotated[int, Query(ge=1, le=2**31 - 1, description="Community id")]
Year = Annotated[int, Query(ge=2024, le=2100)]
Month = Annotated[int, Query(ge=1, le=12)]


NOT_FOUND = {404: error_answer("No such community (or not one the caller may see), or month")}
FORBIDDEN = {403: error_answer("Only the community's admins (with configure) may do this")}
CONFLICT = {409: error_answer("The month is already closed: a closed month never changes")}
INVALID = {422: error_answer("Invalid body, or the month has not ended yet")}


@both(
    seed_router.get,
    "/api/economic/benefits",
    summary="A month's benefits, computed now without writing (a closed month: as stored)",
    responses=NOT_FOUND,
)
async def benefits(
    principal: Reader, session: SessionDep, community: CommunityId, year: Year, month: Month
) -> Envelope[SettlementOut]:
    """Members and viewers see the totals and their own lines; ``id`` is null before a first run."""
    preview, access = await settlements.preview_settlement(
        session=session, principal=principal, community_id=community, year=year, month=month
    )
    return Envelope(data=settlement_out(preview, access))


@both(
    seed_router.post,
    "/api/economic/distribute",
    summary="Settle a month and close it: immutable, its ledger lines written",
    responses={**FORBIDDEN, **NOT_FOUND, **CONFLICT, **INVALID},
)
async def distribute(
    data: DistributeIn, principal: Configurer, session: SessionDep
) -> Envelope[SettlementOut]:
    settlement, _ = await settlements.run_settlement(
        session=session, principal=principal, community_id=data.community_id, year=data.year,
        month=data.month,
    )  # fmt: skip
    closed = await settlements.close_settlement(
        session=session, principal=principal, community_id=data.community_id,
        settlement_id=settlement.id,
    )  # fmt: skip
    _, access = await settlements.get_settlement(
        session=session, principal=principal, community_id=data.community_id,
        settlement_id=closed.id,
    )  # fmt: skip
    return Envelope(data=settlement_out(closed, access))


@both(
    seed_router.get,
    "/api/economic/reports",
    summary="A settled month's statements (CSV and PDF links) you may read",
    responses=NOT_FOUND,
)
async def reports(
    principal: Reader, session: SessionDep, community: CommunityId, year: Year, month: Month
) -> Envelope[Report]:
    report = await ledger.month_report(
        session=session, principal=principal, community_id=community, year=year, month=month
    )
    return Envelope(data=report)


@both(
    seed_router.post,
    "/api/economic/transactions",
    status_code=201,
    summary="Append an ADJUSTMENT line to the ledger (the community's admins)",
    responses={**FORBIDDEN, **NOT_FOUND, **INVALID},
)
async def add_transaction(
    data: AdjustmentIn, principal: Configurer, session: SessionDep
) -> Envelope[TransactionOut]:
    line = await ledger.add_adjustment(session=session, principal=principal, data=data)
    return Envelope(data=TransactionOut.model_validate(line))
