"""Utility notifications ``POST /webhooks/utility/dr-notification`` (the facility seed's webhook).

Accepting (in the request, before the 202), in this order:

1. the payload: JSON (400) of the seed's shape ``{event_id, facility_ids[], event_start,
   event_end, target_reduction_percentage}`` on 15-min boundaries, at most 25 h, not ended
   (422 with the reasons); pure checks of a body whose size the API caps, no database work;
2. the Standard Webhooks headers and timestamp (``signature.check_headers``; 401);
3. the signature against every enabled utility's secret: the one that made it is the sender
   (``signature.signer``; 401);
4. every facility must be one the utility may address (403 listing those it may not);
5. the ``webhook-id`` must be new for this utility (409: replay).

The delivery is then stored as pending and the DR loop (``tasks.py``) turns it into one event
per facility, idempotent on the utility's ``event_id``: a notification delivered again under
another ``webhook-id`` finds the events it made. Each event's target is the percentage of its
baseline's mean [kW]; when the utility's method lacks history, the stored forecast is tried.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.core.errors import BadRequest, GridpilotError, PermissionDenied, ValidationFailed
from gridpilot.core.events import DrEventChanged
from gridpilot.core.validation_report import MAX_LISTED_ERRORS, error_entry, invalid_request
from gridpilot.dr import service, utilities
from gridpilot.dr.baseline import FORECAST
from gridpilot.dr.events import changed
from gridpilot.dr.models import DrUtility, DrWebhookDelivery
from gridpilot.dr.schemas import UtilityNotification
from gridpilot.dr.signature import check_headers, signer


class FacilityRefused(PermissionDenied):
    """A facility the utility may not address (HTTP 403)."""

    code = "facility_not_addressable"


async def authenticate(
    *,
    session: AsyncSession,
    message_id: str | None,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now_s: int,
) -> DrUtility:
    """The utility that signed ``body`` (steps 2 and 3 of the module docstring)."""
    sent_s = check_headers(message_id, timestamp, signature, now_s)
    assert message_id is not None and signature is not None
    candidates = [(u, u.secret) for u in await utilities.enabled_utilities(session=session)]
    return signer(candidates, message_id, sent_s, body, signature)


def parse(body: bytes, now_ms: int) -> UtilityNotification:
    """The notification in ``body`` (step 1)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest("the body is not JSON") from None
    try:
        notification = UtilityNotification.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        listed = [error_entry(e["loc"], e["msg"]) for e in errors[:MAX_LISTED_ERRORS]]
        raise invalid_request(listed, len(errors)) from None
    start_ms, end_ms = notification.window_ms()
    service.check_window(start_ms, end_ms)
    if end_ms <= now_ms:
        raise ValidationFailed("the event has already ended (event_end is in the past)")
    return notification


async def check_facilities(
    *, session: AsyncSession, utility: DrUtility, notification: UtilityNotification
) -> None:
    """Step 4: ``FacilityRefused`` listing the facilities ``utility`` may not address."""
    allowed = set((await utilities.sites_of(session=session, utility_ids=[utility.id]))[utility.id])
    refused = [f for f in notification.facility_ids if f not in allowed]
    if refused:
        shown = ", ".join(str(f) for f in refused[:20])
        raise FacilityRefused(
            f"utility {utility.name!r} may not address facility {shown}: an administrator "
            "lists the sites of a utility (PATCH /api/v1/dr-utilities/{id})",
            details={"refused_facility_ids": refused},
        )


def _new_event(
    delivery: DrWebhookDelivery, utility: DrUtility, site_id: int, method: str
) -> service.NewEvent:
    note = UtilityNotification.model_validate(delivery.payload)
    start_ms, end_ms = note.window_ms()
    return service.NewEvent(
        site_id=site_id, start_ms=start_ms, end_ms=end_ms, method=method,
        target_reduction_pct=note.target_reduction_percentage, signal_kind="kw_target",
        source="utility_webhook", utility_id=utility.id, external_id=note.event_id,
        created_by=f"utility:{utility.id}",
    )  # fmt: skip


async def _event_for(
    session: AsyncSession, delivery: DrWebhookDelivery, utility: DrUtility, site_id: int
) -> tuple[int, bool]:
    """(event id, created) for one facility; its own savepoint, the forecast as fallback."""
    methods = [utility.baseline_method]
    if utility.baseline_method != FORECAST:
        methods.append(FORECAST)
    failures: list[str] = []
    for method in methods:
        new = _new_event(delivery, utility, site_id, method)
        try:
            async with session.begin_nested():
                event, created = await service.create_event(
                    session=session, principal=service.SYSTEM, new=new
                )
            return event.id, created
        except IntegrityError:  # another process made it just now: find it
            event, _ = await service.create_event(
                session=session, principal=service.SYSTEM, new=new
            )
            return event.id, False
        except GridpilotError as exc:
            failures.append(f"{method}: {exc.message}")
    raise ValidationFailed("; ".join(failures))


async def process_delivery(
    *, session: AsyncSession, delivery: DrWebhookDelivery, now_ms: int
) -> list[DrEventChanged]:
    """Make the events of a claimed delivery; the changes to publish after the commit."""
    utility = await utilities.get_utility(session=session, utility_id=delivery.utility_id)
    payload: dict[str, Any] = delivery.payload
    event_ids: list[int] = []
    errors: dict[str, str] = {}
    changes: list[DrEventChanged] = []
    for site_id in payload["facility_ids"]:
        try:
            event_id, created = await _event_for(session, delivery, utility, int(site_id))
        except GridpilotError as exc:
            errors[str(site_id)] = exc.message
            continue
        event_ids.append(event_id)
        if created:
            event = await service.get_event(
                session=session, principal=service.SYSTEM, event_id=event_id
            )
            changes.append(changed(event, None, now_ms))
    delivery.event_ids = event_ids
    delivery.errors = errors
    delivery.state = "processed" if event_ids else "failed"
    delivery.processed_ms = now_ms
    await session.flush()
    return changes
