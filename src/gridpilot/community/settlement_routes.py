"""Routes of incentive parameters, zonal prices, monthly settlements (/api/v1) and the seed's
ledger (``GET /api/economic/transactions``, envelope)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from gridpilot.analytics.community.incentives import DM_414_2023
from gridpilot.auth.dependencies import Configurer, Reader
from gridpilot.community import parameter_store, prices, settlements
from gridpilot.community.access import Access
from gridpilot.community.models import Settlement
from gridpilot.community.schemas import NOT_FOUND, Envelope, Meta
from gridpilot.community.seed_paths import both
from gridpilot.community.settlement_schemas import (
    GseStatementIn,
    MemberPart,
    MonthReconciliation,
    ParameterIn,
    ParameterOut,
    PlantPart,
    SettlementOut,
    SettlementRun,
    SubstationPart,
    TransactionOut,
    ZonalPricesIn,
    ZonalPricesStored,
)
from gridpilot.community.statement_pdf import statement_pdf
from gridpilot.community.statements import render_csv
from gridpilot.db.dependencies import SessionDep

router = APIRouter(tags=["community"])
seed_router = APIRouter(tags=["community"])

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


def settlement_out(settlement: Settlement, access: Access) -> SettlementOut:
    """The settlement as the caller may see it: members and viewers get their own lines."""
    result = settlement.result
    mine = access.sees_member
    return SettlementOut(
        id=settlement.id, community_id=settlement.community_id, year=settlement.year,
        month=settlement.month, status=settlement.status, computed_at=settlement.computed_at,
        closed_at=settlement.closed_at, parameters_as_of=settlement.parameters_as_of,
        parameters=settlement.parameters, statute=settlement.statute,
        incentive_eur=settlement.incentive_eur, valorisation_eur=settlement.valorisation_eur,
        gse_estimate_eur=settlement.gse_estimate_eur, fees_eur=result["fees_eur"],
        fees_unpaid_eur=result["fees_unpaid_eur"], reserve_eur=result["reserve_eur"],
        social_fund_eur=result["social_fund_eur"],
        substations=[SubstationPart(**s) for s in result["substations"]],
        plants=[
            PlantPart(**{k: v for k, v in p.items() if k != "plant_id"})
            for p in result["plants"] if mine(p["member_id"])
        ],
        members=[MemberPart(**m) for m in result["members"] if mine(m["member_id"])],
    )  # fmt: skip


@router.get("/community-parameters", summary="Incentive parameter versions (built-in first)")
async def list_parameters(principal: Reader, session: SessionDep) -> list[ParameterOut]:
    built_in = {id(v) for v in DM_414_2023}
    notes = {(r.name, r.recorded_at): r.note for r in await parameter_store.recorded(session)}
    return [
        ParameterOut(
            name=v.name, value=parameter_store.encode(v.name, v.value), valid_from=v.valid_from,
            valid_to=v.valid_to, recorded_at=v.recorded_at, built_in=id(v) in built_in,
            note=notes.get((v.name, v.recorded_at)),
        )
        for v in await parameter_store.versions(session)
    ]  # fmt: skip


@router.post(
    "/community-parameters",
    status_code=201,
    summary="Record a parameter version (administrators; 409 if it changes a closed month)",
)
async def add_parameter(
    data: ParameterIn, principal: Configurer, session: SessionDep
) -> ParameterOut:
    row = await parameter_store.record_version(
        session=session, principal=principal, name=data.name, value=data.value,
        valid_from=data.valid_from, valid_to=data.valid_to, note=data.note,
    )  # fmt: skip
    return ParameterOut(
        name=row.name, value=row.value, valid_from=row.valid_from, valid_to=row.valid_to,
        recorded_at=row.recorded_at, built_in=False, note=row.note,
    )  # fmt: skip


@router.post(
    "/community-zonal-prices",
    summary="Import GME hourly zonal prices from CSV text (administrators)",
)
async def import_zonal_prices(
    data: ZonalPricesIn, principal: Configurer, session: SessionDep
) -> ZonalPricesStored:
    zones, hours = await prices.import_prices(session=session, principal=principal, text=data.csv)
    return ZonalPricesStored(
        zones=zones, hours=len(hours), first_hour=hours[0].to_pydatetime(),
        last_hour=hours[-1].to_pydatetime(),
    )  # fmt: skip


@router.post(
    "/communities/{community_id}/settlements",
    status_code=201,
    summary="Settle a month (a draft: re-running recomputes it; a closed month is returned)",
    responses={200: {"model": SettlementOut, "description": "Recomputed draft, or closed"}},
)
async def run_settlement(
    community_id: Id, data: SettlementRun, principal: Configurer, session: SessionDep,
    response: Response,
) -> SettlementOut:  # fmt: skip
    settlement, created = await settlements.run_settlement(
        session=session, principal=principal, community_id=community_id, year=data.year,
        month=data.month,
    )  # fmt: skip
    response.status_code = 201 if created else 200
    _, access = await settlements.get_settlement(
        session=session, principal=principal, community_id=community_id,
        settlement_id=settlement.id,
    )  # fmt: skip
    return settlement_out(settlement, access)


@router.get("/communities/{community_id}/settlements", summary="A community's settlements")
async def list_settlements(
    community_id: Id, principal: Reader, session: SessionDep
) -> list[SettlementOut]:
    rows, access = await settlements.list_settlements(
        session=session, principal=principal, community_id=community_id
    )
    return [settlement_out(s, access) for s in rows]


@router.get("/communities/{community_id}/settlements/{settlement_id}", summary="A settlement")
async def get_settlement(
    community_id: Id, settlement_id: Id, principal: Reader, session: SessionDep
) -> SettlementOut:
    settlement, access = await settlements.get_settlement(
        session=session, principal=principal, community_id=community_id,
        settlement_id=settlement_id,
    )  # fmt: skip
    return settlement_out(settlement, access)


@router.post(
    "/communities/{community_id}/settlements/{settlement_id}/close",
    summary="Close a settlement of an ended month: immutable, ledger lines written",
)
async def close_settlement(
    community_id: Id, settlement_id: Id, principal: Configurer, session: SessionDep
) -> SettlementOut:
    settlement = await settlements.close_settlement(
        session=session, principal=principal, community_id=community_id,
        settlement_id=settlement_id,
    )  # fmt: skip
    _, access = await settlements.get_settlement(
        session=session, principal=principal, community_id=community_id,
        settlement_id=settlement_id,
    )  # fmt: skip
    return settlement_out(settlement, access)


@router.get(
    "/communities/{community_id}/settlements/{settlement_id}/statements/{member_id}.csv",
    summary="A member's monthly statement as CSV (admins: any member; members: their own)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def statement(
    community_id: Id, settlement_id: Id, member_id: Id, principal: Reader, session: SessionDep
) -> Response:
    rows, _, stem = await settlements.member_statement(
        session=session, principal=principal, community_id=community_id,
        settlement_id=settlement_id, member_id=member_id,
    )  # fmt: skip
    return Response(
        render_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'},
    )


@router.get(
    "/communities/{community_id}/settlements/{settlement_id}/statements/{member_id}.pdf",
    summary="A member's monthly statement as PDF (the CSV's rows)",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}
    },
)
async def statement_as_pdf(
    community_id: Id, settlement_id: Id, member_id: Id, principal: Reader, session: SessionDep
) -> Response:
    rows, title, stem = await settlements.member_statement(
        session=session, principal=principal, community_id=community_id,
        settlement_id=settlement_id, member_id=member_id,
    )  # fmt: skip
    return Response(
        statement_pdf(rows, title),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{stem}.pdf"'},
    )


@router.post(
    "/communities/{community_id}/gse-reconciliation",
    summary="Compare the GSE's statement (CSV) with the settlements' estimates, month by month",
)
async def gse_reconciliation(
    community_id: Id, data: GseStatementIn, principal: Configurer, session: SessionDep
) -> list[MonthReconciliation]:
    months = await settlements.reconcile_gse(
        session=session, principal=principal, community_id=community_id, text=data.csv
    )
    return [
        MonthReconciliation(
            month=d.month, estimated_eur=d.estimated_eur, settlement_status=status,
            paid_eur=d.paid_eur, difference_eur=d.difference_eur, difference_pct=d.difference_pct,
        )
        for d, status in months
    ]  # fmt: skip


@both(
    seed_router.get,
    "/api/economic/transactions",
    summary="A community's ledger (members: their own lines and the community's)",
    responses=NOT_FOUND,
)
async def transactions(
    principal: Reader,
    session: SessionDep,
    community: Annotated[int, Query(ge=1, le=2**31 - 1, description="Community id")],
    page: Annotated[int, Query(ge=1, le=10**6)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Envelope[list[TransactionOut]]:
    rows, total = await settlements.list_transactions(
        session=session, principal=principal, community_id=community, page=page,
        per_page=per_page,
    )  # fmt: skip
    return Envelope(
        data=[TransactionOut.model_validate(r) for r in rows],
        meta=Meta(page=page, per_page=per_page, total=total),
    )
