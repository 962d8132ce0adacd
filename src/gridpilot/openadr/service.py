"""The openadr domain's services: VEN connections and what they received, the fleet's VENs and
the VTN's events, and the leases that keep each connection (and the VTN) in one process.

Keyword-only, flush only (the caller commits). Other domains are read through their services:
``dr.service`` (events), ``flex.service`` (resources), ``balance.service`` (metered usage).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.service import get_site
from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import Conflict, NotFound, ValidationFailed
from gridpilot.openadr.models import (
    OpenAdrLease,
    OpenAdrPeer,
    OpenAdrReceived,
    OpenAdrVen,
    OpenAdrVtnDelivery,
    OpenAdrVtnEvent,
)
from gridpilot.openadr.schemas import PeerCreate, VenCreate, VtnEventCreate

#: Usage points kept per delivery of a VTN event.
MAX_REPORTS = 500
SIGNALS = {
    "level": ("SIMPLE", "level"),
    "price": ("ELECTRICITY_PRICE", "price"),
    "kw_target": ("LOAD_DISPATCH", "delta"),
}


async def _check_sites(
    session: AsyncSession, site_ids: list[int], principal: Principal
) -> list[int]:
    for site_id in sorted(set(site_ids)):
        await get_site(session=session, site_id=site_id, principal=principal)
    return sorted(set(site_ids))


# ---- VEN connections -------------------------------------------------------------------


async def create_ven(*, session: AsyncSession, principal: Principal, data: VenCreate) -> OpenAdrVen:
    if await session.scalar(select(OpenAdrVen.id).where(OpenAdrVen.name == data.name)):
        raise Conflict(f"a VTN connection named {data.name!r} already exists")
    fields = data.model_dump(exclude={"site_ids"})
    fields["vtn_url"] = str(data.vtn_url).rstrip("/")
    ven = OpenAdrVen(
        **fields, site_ids=await _check_sites(session, data.site_ids, principal), config_version=1
    )
    session.add(ven)
    await session.flush()
    return ven


async def get_ven(*, session: AsyncSession, ven_config_id: int) -> OpenAdrVen:
    ven = await session.get(OpenAdrVen, ven_config_id)
    if ven is None:
        raise NotFound(f"VTN connection {ven_config_id} not found")
    return ven


async def list_vens(*, session: AsyncSession, enabled_only: bool = False) -> list[OpenAdrVen]:
    query = select(OpenAdrVen).order_by(OpenAdrVen.id)
    if enabled_only:
        query = query.where(OpenAdrVen.enabled.is_(True))
    return list((await session.scalars(query)).all())


async def update_ven(
    *, session: AsyncSession, principal: Principal, ven: OpenAdrVen, data: VenCreate
) -> None:
    """Replace a connection's configuration; a running connection restarts with it."""
    other = await session.scalar(select(OpenAdrVen.id).where(OpenAdrVen.name == data.name))
    if other is not None and other != ven.id:
        raise Conflict(f"a VTN connection named {data.name!r} already exists")
    for key, value in data.model_dump(exclude={"site_ids"}).items():
        setattr(ven, key, value)
    ven.vtn_url = str(data.vtn_url).rstrip("/")
    ven.site_ids = await _check_sites(session, data.site_ids, principal)
    ven.config_version += 1
    await session.flush()


async def delete_ven(*, session: AsyncSession, ven: OpenAdrVen) -> None:
    await session.delete(ven)
    await session.flush()


async def note_poll(
    *, session: AsyncSession, ven_config_id: int, at_ms: int, error: str | None, **ids: Any
) -> None:
    """Record a connection's last contact (or error) and the ids the VTN gave it."""
    values: dict[str, Any] = {"last_poll_ms": at_ms, "last_error": error}
    values.update({k: v for k, v in ids.items() if v is not None})
    await session.execute(
        update(OpenAdrVen)
        .where(OpenAdrVen.id == ven_config_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def get_received(
    *, session: AsyncSession, ven_config_id: int, event_id: str
) -> OpenAdrReceived | None:
    query = select(OpenAdrReceived).where(
        OpenAdrReceived.ven_config_id == ven_config_id, OpenAdrReceived.event_id == event_id
    )
    return (await session.scalars(query)).first()


async def list_received(*, session: AsyncSession, ven_config_id: int) -> list[OpenAdrReceived]:
    query = select(OpenAdrReceived).where(OpenAdrReceived.ven_config_id == ven_config_id)
    return list((await session.scalars(query.order_by(OpenAdrReceived.id.desc()))).all())


# ---- leases ----------------------------------------------------------------------------


async def take_lease(
    *, session: AsyncSession, name: str, owner: str, now_ms: int, ttl_ms: int
) -> bool:
    """Take or renew the lease ``name`` for ``owner`` until ``now_ms + ttl_ms``: whether this
    owner holds it (a compare-and-set: of several processes one wins)."""
    result = await session.execute(
        update(OpenAdrLease)
        .where(OpenAdrLease.name == name)
        .where((OpenAdrLease.owner == owner) | (OpenAdrLease.until_ms < now_ms))
        .values(owner=owner, until_ms=now_ms + ttl_ms)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) == 1:
        return True
    if await session.get(OpenAdrLease, name) is not None:
        return False
    async with session.begin_nested():
        session.add(OpenAdrLease(name=name, owner=owner, until_ms=now_ms + ttl_ms))
    return True


async def drop_lease(*, session: AsyncSession, name: str, owner: str) -> None:
    await session.execute(
        delete(OpenAdrLease).where(OpenAdrLease.name == name, OpenAdrLease.owner == owner)
    )


# ---- the fleet's VENs (VTN side) -------------------------------------------------------


async def create_peer(
    *, session: AsyncSession, principal: Principal, data: PeerCreate
) -> OpenAdrPeer:
    taken = await session.scalar(
        select(OpenAdrPeer.id).where(
            (OpenAdrPeer.ven_name == data.ven_name) | (OpenAdrPeer.ven_id == data.ven_id)
        )
    )
    if taken is not None:
        raise Conflict(f"VEN {data.ven_name!r} or id {data.ven_id!r} is already configured")
    peer = OpenAdrPeer(
        ven_name=data.ven_name,
        ven_id=data.ven_id,
        fingerprint=data.fingerprint,
        site_ids=await _check_sites(session, data.site_ids, principal),
        enabled=data.enabled,
    )
    session.add(peer)
    await session.flush()
    return peer


async def list_peers(*, session: AsyncSession) -> list[OpenAdrPeer]:
    return list((await session.scalars(select(OpenAdrPeer).order_by(OpenAdrPeer.id))).all())


async def get_peer(*, session: AsyncSession, peer_id: int) -> OpenAdrPeer:
    peer = await session.get(OpenAdrPeer, peer_id)
    if peer is None:
        raise NotFound(f"VEN {peer_id} not found")
    return peer


async def peer_by(*, session: AsyncSession, **where: str) -> OpenAdrPeer | None:
    """The enabled peer with this ``ven_id`` or ``ven_name``."""
    query = select(OpenAdrPeer).where(OpenAdrPeer.enabled.is_(True))
    for key, value in where.items():
        query = query.where(getattr(OpenAdrPeer, key) == value)
    return (await session.scalars(query)).first()


async def delete_peer(*, session: AsyncSession, peer: OpenAdrPeer) -> None:
    await session.delete(peer)
    await session.flush()


# ---- the VTN's events ------------------------------------------------------------------


async def create_vtn_event(
    *, session: AsyncSession, principal: Principal, data: VtnEventCreate, now_ms: int
) -> OpenAdrVtnEvent:
    """An event for ``data.site_ids`` with a delivery to each enabled VEN serving one of them
    (``ValidationFailed`` when none does); the VTN process queues it."""
    from gridpilot.core.timestamps import to_ms

    site_ids = await _check_sites(session, data.site_ids, principal)
    start_ms, end_ms = to_ms(data.start), to_ms(data.end)
    if end_ms <= now_ms:
        raise ValidationFailed("the event has already ended")
    peers = [
        p
        for p in await list_peers(session=session)
        if p.enabled and set(p.site_ids) & set(site_ids)
    ]
    if not peers:
        raise ValidationFailed("no enabled VEN serves these sites (POST /api/v1/openadr/peers)")
    event_id = data.event_id or f"gp-{uuid.uuid4().hex[:16]}"
    if await session.scalar(select(OpenAdrVtnEvent.id).where(OpenAdrVtnEvent.event_id == event_id)):
        raise Conflict(f"event id {event_id!r} is already used")
    name, kind = SIGNALS[data.signal]
    event = OpenAdrVtnEvent(
        event_id=event_id,
        site_ids=site_ids,
        start_ms=start_ms,
        end_ms=end_ms,
        signal_name=name,
        signal_type=kind,
        signal_value=data.value,
        status="pending",
        created_by=principal.subject,
        created_ms=now_ms,
        updated_ms=now_ms,
    )
    session.add(event)
    await session.flush()
    session.add_all(
        OpenAdrVtnDelivery(vtn_event_id=event.id, peer_id=p.id, reports=[]) for p in peers
    )
    await session.flush()
    return event


async def get_vtn_event(*, session: AsyncSession, vtn_event_id: int) -> OpenAdrVtnEvent:
    event = await session.get(OpenAdrVtnEvent, vtn_event_id)
    if event is None:
        raise NotFound(f"OpenADR event {vtn_event_id} not found")
    return event


async def list_vtn_events(
    *,
    session: AsyncSession,
    status: tuple[str, ...] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[OpenAdrVtnEvent]:
    query = select(OpenAdrVtnEvent).order_by(OpenAdrVtnEvent.id.desc())
    if status is not None:
        query = query.where(OpenAdrVtnEvent.status.in_(status))
    return list((await session.scalars(query.limit(limit).offset(offset))).all())


async def deliveries(
    *, session: AsyncSession, vtn_event_id: int
) -> list[tuple[OpenAdrVtnDelivery, OpenAdrPeer]]:
    rows = await session.execute(
        select(OpenAdrVtnDelivery, OpenAdrPeer)
        .join(OpenAdrPeer, OpenAdrPeer.id == OpenAdrVtnDelivery.peer_id)
        .where(OpenAdrVtnDelivery.vtn_event_id == vtn_event_id)
        .order_by(OpenAdrPeer.ven_id)
    )
    return [(d, p) for d, p in rows.all()]


async def cancel_vtn_event(*, session: AsyncSession, event: OpenAdrVtnEvent, now_ms: int) -> None:
    if event.status in ("cancel_requested", "cancelled"):
        return
    if event.end_ms <= now_ms:
        raise Conflict(f"OpenADR event {event.event_id} has ended")
    event.status = "cancel_requested"
    event.updated_ms = now_ms
    await session.flush()


async def record_opt(
    *, session: AsyncSession, ven_id: str, event_id: str, opt_type: str, now_ms: int
) -> None:
    """A VEN's opt answer to a VTN event (its first answer also marks the event delivered:
    openleadr's delivery callbacks are per event, not per VEN)."""
    delivery = await _delivery(session, ven_id, event_id)
    if delivery is not None:
        delivery.opt_type, delivery.opt_ms = opt_type, now_ms
        delivery.delivered_ms = delivery.delivered_ms or now_ms
        await session.flush()


async def _delivery(session: AsyncSession, ven_id: str, event_id: str) -> OpenAdrVtnDelivery | None:
    query = (
        select(OpenAdrVtnDelivery)
        .join(OpenAdrPeer, OpenAdrPeer.id == OpenAdrVtnDelivery.peer_id)
        .join(OpenAdrVtnEvent, OpenAdrVtnEvent.id == OpenAdrVtnDelivery.vtn_event_id)
        .where(OpenAdrPeer.ven_id == ven_id, OpenAdrVtnEvent.event_id == event_id)
    )
    return (await session.scalars(query)).first()


async def record_usage(
    *, session: AsyncSession, ven_id: str, points: list[tuple[str, int, float]], margin_ms: int
) -> int:
    """Store a VEN's usage points ``(resource_id, ts_ms, kW)`` in the deliveries of its events
    whose window (widened by ``margin_ms``) holds them; how many were stored."""
    rows = await session.execute(
        select(OpenAdrVtnDelivery, OpenAdrVtnEvent)
        .join(OpenAdrPeer, OpenAdrPeer.id == OpenAdrVtnDelivery.peer_id)
        .join(OpenAdrVtnEvent, OpenAdrVtnEvent.id == OpenAdrVtnDelivery.vtn_event_id)
        .where(OpenAdrPeer.ven_id == ven_id, OpenAdrVtnEvent.status != "cancelled")
    )
    stored = 0
    for delivery, event in rows.all():
        lo, hi = event.start_ms - margin_ms, event.end_ms + margin_ms
        new = [{"resource_id": r, "ts_ms": t, "value_kw": v} for r, t, v in points if lo <= t < hi]
        if new:
            delivery.reports = (list(delivery.reports) + new)[-MAX_REPORTS:]
            stored += len(new)
    await session.flush()
    return stored
