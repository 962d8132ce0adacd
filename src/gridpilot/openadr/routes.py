"""OpenADR routes under /api/v1/openadr: VTN connections of gridpilot's VEN and what they
received (administrators configure, viewers read), the fleet's VENs of gridpilot's VTN
(administrators), and the VTN's events (operators create and cancel, viewers read).
See docs/openadr.md."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from gridpilot.auth.dependencies import Administrator, Configurer, Reader
from gridpilot.core.timestamps import from_ms, now_ms
from gridpilot.db.dependencies import SessionDep
from gridpilot.openadr import service
from gridpilot.openadr.models import OpenAdrPeer, OpenAdrReceived, OpenAdrVen, OpenAdrVtnEvent
from gridpilot.openadr.schemas import (
    DeliveryOut,
    PeerCreate,
    PeerOut,
    ReceivedOut,
    VenCreate,
    VenOut,
    VtnEventCreate,
    VtnEventOut,
)

router = APIRouter(prefix="/openadr", tags=["openadr"])
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
Answers = dict[int | str, dict[str, Any]]
NOT_FOUND: Answers = {404: {"description": "Not found"}}
CONFLICT: Answers = {409: {"description": "Name or id already used, or the event has ended"}}


def ven_out(ven: OpenAdrVen) -> VenOut:
    return VenOut.model_validate(ven, from_attributes=True)


def received_out(row: OpenAdrReceived) -> ReceivedOut:
    return ReceivedOut(
        event_id=row.event_id,
        modification_number=row.modification_number,
        event_status=row.event_status,
        signal_name=row.signal_name,
        signal_type=row.signal_type,
        intervals=row.intervals,
        start=from_ms(row.start_ms),
        end=from_ms(row.end_ms),
        opt_type=row.opt_type,
        dr_event_ids=row.dr_event_ids,
        errors=row.errors,
    )


def peer_out(peer: OpenAdrPeer) -> PeerOut:
    return PeerOut.model_validate(peer, from_attributes=True)


@router.post(
    "/vens",
    status_code=201,
    summary="Add a VTN connection (gridpilot as VEN)",
    responses={**CONFLICT, 404: {"description": "A site not found"}},
)
async def create_ven(data: VenCreate, session: SessionDep, principal: Administrator) -> VenOut:
    ven = await service.create_ven(session=session, principal=principal, data=data)
    await session.commit()
    return ven_out(ven)


@router.get("/vens", summary="List VTN connections")
async def list_vens(session: SessionDep, principal: Administrator) -> list[VenOut]:
    return [ven_out(v) for v in await service.list_vens(session=session)]


@router.get("/vens/{ven_config_id}", summary="A VTN connection", responses=NOT_FOUND)
async def get_ven(ven_config_id: Id, session: SessionDep, principal: Administrator) -> VenOut:
    return ven_out(await service.get_ven(session=session, ven_config_id=ven_config_id))


@router.put(
    "/vens/{ven_config_id}",
    summary="Replace a VTN connection (it restarts)",
    responses={**NOT_FOUND, **CONFLICT},
)
async def update_ven(
    ven_config_id: Id, data: VenCreate, session: SessionDep, principal: Administrator
) -> VenOut:
    ven = await service.get_ven(session=session, ven_config_id=ven_config_id)
    await service.update_ven(session=session, principal=principal, ven=ven, data=data)
    await session.commit()
    return ven_out(ven)


@router.delete(
    "/vens/{ven_config_id}", status_code=204, summary="Remove a VTN connection", responses=NOT_FOUND
)
async def delete_ven(ven_config_id: Id, session: SessionDep, principal: Administrator) -> Response:
    ven = await service.get_ven(session=session, ven_config_id=ven_config_id)
    await service.delete_ven(session=session, ven=ven)
    await session.commit()
    return Response(status_code=204)


@router.get(
    "/vens/{ven_config_id}/events",
    summary="OpenADR events received on a connection",
    responses=NOT_FOUND,
)
async def received(ven_config_id: Id, session: SessionDep, principal: Reader) -> list[ReceivedOut]:
    await service.get_ven(session=session, ven_config_id=ven_config_id)
    rows = await service.list_received(session=session, ven_config_id=ven_config_id)
    return [received_out(r) for r in rows]


@router.post(
    "/peers",
    status_code=201,
    summary="Allow a fleet VEN to register (gridpilot as VTN)",
    responses={**CONFLICT, 404: {"description": "A site not found"}},
)
async def create_peer(data: PeerCreate, session: SessionDep, principal: Administrator) -> PeerOut:
    peer = await service.create_peer(session=session, principal=principal, data=data)
    await session.commit()
    return peer_out(peer)


@router.get("/peers", summary="List the fleet's VENs")
async def list_peers(session: SessionDep, principal: Administrator) -> list[PeerOut]:
    return [peer_out(p) for p in await service.list_peers(session=session)]


@router.delete(
    "/peers/{peer_id}", status_code=204, summary="Remove a fleet VEN", responses=NOT_FOUND
)
async def delete_peer(peer_id: Id, session: SessionDep, principal: Administrator) -> Response:
    await service.delete_peer(
        session=session, peer=await service.get_peer(session=session, peer_id=peer_id)
    )
    await session.commit()
    return Response(status_code=204)


async def vtn_event_out(session: SessionDep, event: OpenAdrVtnEvent) -> VtnEventOut:
    rows = await service.deliveries(session=session, vtn_event_id=event.id)
    return VtnEventOut(
        id=event.id,
        event_id=event.event_id,
        site_ids=event.site_ids,
        start=from_ms(event.start_ms),
        end=from_ms(event.end_ms),
        signal_name=event.signal_name,
        signal_type=event.signal_type,
        signal_value=event.signal_value,
        status=event.status,
        deliveries=[
            DeliveryOut(
                ven_id=p.ven_id,
                opt_type=d.opt_type,
                reports=d.reports,
                delivered=None if d.delivered_ms is None else from_ms(d.delivered_ms),
            )
            for d, p in rows
        ],
    )


@router.post(
    "/vtn/events",
    status_code=201,
    summary="Send an event to the VENs serving sites",
    description="Stores the event; the VTN process queues it for every enabled VEN "
    "serving one of `site_ids` within a tick.",
    responses={
        **CONFLICT,
        404: {"description": "A site not found"},
        422: {"description": "No VEN serves these sites, or the event ended"},
    },
)
async def create_vtn_event(
    data: VtnEventCreate, session: SessionDep, principal: Configurer
) -> VtnEventOut:
    event = await service.create_vtn_event(
        session=session, principal=principal, data=data, now_ms=now_ms()
    )
    await session.commit()
    return await vtn_event_out(session, event)


@router.get("/vtn/events", summary="The VTN's events, newest first")
async def list_vtn_events(
    session: SessionDep,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> list[VtnEventOut]:
    events = await service.list_vtn_events(session=session, limit=limit, offset=offset)
    return [await vtn_event_out(session, e) for e in events]


@router.get(
    "/vtn/events/{vtn_event_id}",
    summary="A VTN event with its VENs' opt answers and usage",
    responses=NOT_FOUND,
)
async def get_vtn_event(vtn_event_id: Id, session: SessionDep, principal: Reader) -> VtnEventOut:
    return await vtn_event_out(
        session, await service.get_vtn_event(session=session, vtn_event_id=vtn_event_id)
    )


@router.post(
    "/vtn/events/{vtn_event_id}/cancel",
    summary="Cancel a VTN event",
    responses={**NOT_FOUND, **CONFLICT},
)
async def cancel_vtn_event(
    vtn_event_id: Id, session: SessionDep, principal: Configurer
) -> VtnEventOut:
    event = await service.get_vtn_event(session=session, vtn_event_id=vtn_event_id)
    await service.cancel_vtn_event(session=session, event=event, now_ms=now_ms())
    await session.commit()
    return await vtn_event_out(session, event)
