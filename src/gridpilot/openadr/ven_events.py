"""What the VEN does with an OpenADR event: one gridpilot DR event per site the connection
serves (source ``openadr``), idempotent on the event id + modification number; a modification
that changes the window or target replaces the DR events (the old ones cancelled, saying by
which), a cancellation cancels them; the opt answer follows the connection's policy.

``apply_event`` flushes; the caller commits and then publishes the returned changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.core.errors import GridpilotError
from gridpilot.core.events import DrEventChanged
from gridpilot.dr import service as dr
from gridpilot.dr.events import changed
from gridpilot.flex import service as flex
from gridpilot.openadr.mapping import Mapped, Unsupported, flexible_kw, map_event, opts_in
from gridpilot.openadr.models import OpenAdrReceived, OpenAdrVen
from gridpilot.openadr.service import get_received, list_received

OPT_IN, OPT_OUT = "optIn", "optOut"
#: The fallback baseline method (``dr``'s stored day-ahead forecast).
FORECAST = "forecast"


def _new(cfg: OpenAdrVen, mapped: Mapped, site_id: int, method: str) -> dr.NewEvent:
    suffix = f":{mapped.modification_number}" if mapped.modification_number else ""
    return dr.NewEvent(
        site_id=site_id,
        start_ms=mapped.start_ms,
        end_ms=mapped.end_ms,
        method=method,
        target_reduction_kw=mapped.target_kw,
        target_reduction_pct=mapped.target_pct,
        signal_kind=mapped.signal_kind,
        signal_value=mapped.signal_value,
        source="openadr",
        external_id=f"{cfg.id}:{mapped.event_id}{suffix}"[:200],
        created_by=f"openadr:{cfg.id}",
    )


async def _create(
    session: AsyncSession, cfg: OpenAdrVen, mapped: Mapped, site_id: int
) -> dr.DrEvent:
    """The DR event of one site (its own savepoint; the stored forecast when the connection's
    method lacks history)."""
    failures = []
    for method in dict.fromkeys([cfg.baseline_method, FORECAST]):
        try:
            async with session.begin_nested():
                event, _ = await dr.create_event(
                    session=session, principal=dr.SYSTEM, new=_new(cfg, mapped, site_id, method)
                )
            return event
        except GridpilotError as exc:
            failures.append(f"{method}: {exc.message}")
    raise Unsupported("; ".join(failures))


async def _decide(session: AsyncSession, cfg: OpenAdrVen, event: dr.DrEvent, now_ms: int) -> bool:
    """Opt the site's DR event in or out per the policy; whether it takes part."""
    resources = await flex.list_resources(session=session, site_id=event.site_id, enabled_only=True)
    flexible = flexible_kw((r.kind, r.params.model_dump()) for r in resources)
    take_part = opts_in(cfg.opt_policy, target_kw=event.target_reduction_kw, flexible=flexible)
    if event.opted_out == take_part and event.end_ms > now_ms:
        await dr.set_opt_out(session=session, event=event, opt_out=not take_part, at_ms=now_ms)
    return take_part


async def _cancel(
    session: AsyncSession, received: OpenAdrReceived, reason: str, now_ms: int
) -> list[DrEventChanged]:
    changes: list[DrEventChanged] = []
    for event_id in received.dr_event_ids.values():
        event = await dr.get_event(session=session, principal=dr.SYSTEM, event_id=event_id)
        if event.status in dr.OPEN:
            previous = await dr.cancel_event(
                session=session, event=event, reason=reason, actor="the OpenADR VTN", at_ms=now_ms
            )
            changes.append(changed(event, previous, now_ms))
    return changes


def _same(event: dr.DrEvent, mapped: Mapped) -> bool:
    return (event.start_ms, event.end_ms, event.signal_kind, event.signal_value) == (
        mapped.start_ms,
        mapped.end_ms,
        mapped.signal_kind,
        mapped.signal_value,
    ) and (mapped.target_kw is None or event.target_reduction_kw == mapped.target_kw)


async def _make_events(
    session: AsyncSession,
    cfg: OpenAdrVen,
    mapped: Mapped,
    received: OpenAdrReceived,
    now_ms: int,
) -> tuple[bool, list[DrEventChanged]]:
    """The DR events of ``mapped`` for every site (kept when a modification left them as they
    were); (whether any site takes part, changes)."""
    changes: list[DrEventChanged] = []
    ids: dict[str, int] = {}
    errors: dict[str, str] = {}
    any_in = False
    for site_id in cfg.site_ids:
        old_id = received.dr_event_ids.get(str(site_id))
        old = None
        if old_id is not None:
            old = await dr.get_event(session=session, principal=dr.SYSTEM, event_id=old_id)
        try:
            if old is not None and (old.status not in dr.OPEN or _same(old, mapped)):
                event = old
            else:
                event = await _create(session, cfg, mapped, site_id)
                changes.append(changed(event, None, now_ms))
                if old is not None and old.status in dr.OPEN:
                    reason = (
                        f"modified by the VTN (modification {mapped.modification_number}): "
                        f"replaced by DR event {event.id}"
                    )
                    previous = await dr.cancel_event(
                        session=session,
                        event=old,
                        reason=reason,
                        actor="the OpenADR VTN",
                        at_ms=now_ms,
                    )
                    changes.append(changed(old, previous, now_ms))
            ids[str(site_id)] = event.id
            any_in = await _decide(session, cfg, event, now_ms) or any_in
        except Unsupported as exc:
            errors[str(site_id)] = str(exc)
    received.dr_event_ids, received.errors = ids, errors
    return any_in, changes


async def apply_event(
    *, session: AsyncSession, cfg: OpenAdrVen, event: Mapping[str, Any], now_ms: int
) -> tuple[str, list[DrEventChanged]]:
    """Take one OpenADR event (an openleadr event dict) received on ``cfg``: the opt answer
    (``optIn``/``optOut``) and the DR event changes to publish after the commit."""
    descriptor = event["event_descriptor"]
    event_id = str(descriptor["event_id"])
    modification = int(descriptor.get("modification_number") or 0)
    status = str(descriptor.get("event_status") or "far")
    received = await get_received(session=session, ven_config_id=cfg.id, event_id=event_id)
    if received is not None and modification <= received.modification_number:
        return received.opt_type, []  # seen: the same answer
    if status == "cancelled":
        if received is None:
            return OPT_OUT, []
        received.modification_number, received.event_status = modification, status
        received.updated_ms = now_ms
        changes = await _cancel(session, received, "cancelled by the VTN", now_ms)
        await session.flush()
        return received.opt_type, changes
    try:
        mapped: Mapped | None = map_event(event, level_pct=cfg.level_pct, price_pct=cfg.price_pct)
    except (Unsupported, KeyError, TypeError, ValueError) as exc:
        mapped, reason = None, str(exc) or type(exc).__name__
    if received is None:
        received = OpenAdrReceived(
            ven_config_id=cfg.id,
            event_id=event_id,
            dr_event_ids={},
            errors={},
            received_ms=now_ms,
            opt_type=OPT_OUT,
        )
        session.add(received)
    received.modification_number, received.event_status = modification, status
    received.updated_ms = now_ms
    if mapped is None:
        _fill(received, None)
        received.errors = {"event": reason}
        changes = await _cancel(session, received, f"modified by the VTN: {reason}", now_ms)
        received.opt_type = OPT_OUT
        await session.flush()
        return OPT_OUT, changes
    _fill(received, mapped)
    any_in, changes = await _make_events(session, cfg, mapped, received, now_ms)
    received.opt_type = OPT_IN if any_in else OPT_OUT
    await session.flush()
    return received.opt_type, changes


def _fill(received: OpenAdrReceived, mapped: Mapped | None) -> None:
    if mapped is None:
        received.signal_name = received.signal_name or "?"
        received.signal_type = received.signal_type or "?"
        received.intervals = received.intervals or []
        received.start_ms = received.start_ms or 0
        received.end_ms = received.end_ms or 0
        return
    received.signal_name, received.signal_type = mapped.signal_name, mapped.signal_type
    received.intervals = mapped.intervals
    received.start_ms, received.end_ms = mapped.start_ms, mapped.end_ms


async def opt_changes(
    *, session: AsyncSession, cfg: OpenAdrVen, now_ms: int
) -> list[tuple[OpenAdrReceived, str]]:
    """Events of ``cfg`` not ended nor cancelled whose answer no longer matches their DR events
    (an operator opted a site in or out): ``(received, new answer)``. optIn while at least one
    of its DR events is open and not opted out."""
    found = []
    for received in await list_received(session=session, ven_config_id=cfg.id):
        if received.end_ms <= now_ms or received.event_status == "cancelled":
            continue
        if not received.dr_event_ids:
            continue
        taking_part = False
        for event_id in received.dr_event_ids.values():
            event = await dr.get_event(session=session, principal=dr.SYSTEM, event_id=event_id)
            taking_part = taking_part or (event.status in dr.OPEN and not event.opted_out)
        answer = OPT_IN if taking_part else OPT_OUT
        if answer != received.opt_type:
            found.append((received, answer))
    return found
