"""Status and acknowledgement messages from devices, routed here by the MQTT ingest worker.

- ``{base}/status``: ``online`` / ``offline`` / ``error`` (plain text, any case) or JSON
  ``{"status": "online"|"offline"|"error", "ts"?: epoch ms | ISO-8601}`` (birth message, Last
  Will, the device's own error report: offline, reason ``error``, until it says ``online``).
- ``{base}/commands/ack``: JSON ``{"command_id": int, "state": "acknowledged"|"succeeded"|"failed",
  "detail"?: str, "ts"?: ...}``.

Each call runs its own transaction and publishes its events after the commit. A malformed payload
(or an ack naming a command the asset does not have) raises ``ValidationFailed``; the worker then
writes a dead letter.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.control import service, status
from gridpilot.control.events import publish_command_changes, publish_status_changes
from gridpilot.core.bus import EventBus
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.timestamps import describe_ms, to_ms

ACK_STATES = (service.ACKNOWLEDGED, service.SUCCEEDED, service.FAILED)
MAX_PAYLOAD_BYTES = 64 * 1024


def _json_object(payload: bytes, what: str) -> dict[str, Any]:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ValidationFailed(f"{what} payload larger than {MAX_PAYLOAD_BYTES} bytes")
    try:
        value = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        raise ValidationFailed(f"{what} payload is not valid JSON") from None
    if not isinstance(value, dict):
        raise ValidationFailed(f"{what} payload must be a JSON object")
    return value


def _event_ms(value: object, received_ms: int) -> int:
    """The message's own time, never later than its reception (device clocks drift) nor
    before 1970 (``ValidationFailed``: it could not be stored or shown)."""
    if value is None:
        return received_ms
    ms = min(to_ms(value), received_ms)
    if ms < 0:
        raise ValidationFailed(f'"ts" {describe_ms(ms)} is before 1970')
    return ms


#: What a status message may say (any case): the community seed's ONLINE, OFFLINE, ERROR.
STATUS_WORDS = (status.ONLINE, status.OFFLINE, status.ERROR)


def parse_status(payload: bytes, received_ms: int) -> tuple[str, int]:
    """(``online``|``offline``|``error``, event time in epoch ms) of a status message."""
    text = payload.strip()
    plain = text.decode("ascii", "replace").lower()
    if plain in STATUS_WORDS:
        return plain, received_ms
    body = _json_object(text, "status")
    value = body.get("status")
    if not isinstance(value, str) or value.lower() not in STATUS_WORDS:
        raise ValidationFailed('status payload needs "status": "online", "offline" or "error"')
    return value.lower(), _event_ms(body.get("ts"), received_ms)


def parse_ack(payload: bytes, received_ms: int) -> tuple[int, str, str | None, int]:
    """(command id, state, detail, event time) of an acknowledgement."""
    body = _json_object(payload, "ack")
    command_id = body.get("command_id")
    if (
        isinstance(command_id, str)
        and command_id.isascii()
        and command_id.isdigit()
        and len(command_id) <= 10  # int() refuses beyond 4300 digits; ids end before
    ):
        command_id = int(command_id)
    if (
        not isinstance(command_id, int)
        or isinstance(command_id, bool)
        or not 0 < command_id < 2**31
    ):
        raise ValidationFailed('ack needs "command_id": a positive integer')
    state = body.get("state")
    if state not in ACK_STATES:
        raise ValidationFailed(f'ack "state" must be one of {", ".join(ACK_STATES)}')
    detail = body.get("detail")
    if detail is not None and not isinstance(detail, str):
        raise ValidationFailed('ack "detail" must be a string')
    return command_id, state, detail, _event_ms(body.get("ts"), received_ms)


async def handle_status(
    *,
    sessions: async_sessionmaker[AsyncSession],
    bus: EventBus,
    asset_id: int,
    site_id: int,
    payload: bytes,
    received_ms: int,
) -> None:
    """Apply a birth (``online``), Last Will (``offline``) or error report (``error``: offline
    until the device says ``online`` again) of the asset."""
    value, event_ms = parse_status(payload, received_ms)
    async with sessions() as session, session.begin():
        if value == status.ONLINE:
            _, change = await status.record_transition(
                session=session,
                asset_id=asset_id,
                site_id=site_id,
                status=status.ONLINE,
                reason=status.BIRTH,
                at_ms=event_ms,
                last_seen_ms=event_ms,
                from_states=(None, status.OFFLINE),
            )
        else:
            _, change = await status.record_transition(
                session=session,
                asset_id=asset_id,
                site_id=site_id,
                status=status.OFFLINE,
                reason=status.ERROR if value == status.ERROR else status.LWT,
                at_ms=event_ms,
                last_seen_ms=event_ms if value == status.ERROR else None,
                from_states=(None, status.ONLINE),
            )
    if change is not None:
        await publish_status_changes(bus, [change])


async def handle_ack(
    *,
    sessions: async_sessionmaker[AsyncSession],
    bus: EventBus,
    asset_id: int,
    site_id: int,
    payload: bytes,
    received_ms: int,
) -> None:
    """Apply a device's acknowledgement of one of its commands."""
    command_id, state, detail, _ = parse_ack(payload, received_ms)
    async with sessions() as session, session.begin():
        change = await service.apply_ack(
            session=session,
            asset_id=asset_id,
            command_id=command_id,
            state=state,
            detail=detail,
            received_ms=received_ms,  # the TTL is judged by reception, not the device's clock
        )
    if change is not None:
        await publish_command_changes(bus, [change])
