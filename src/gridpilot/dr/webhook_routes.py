"""Routes of the utility webhook (``webhook_router``, at the seed's path) and of the utilities
administrators manage (``utility_router``, under /api/v1). See ``webhook.py`` for the checks
and docs/demand-response.md for how to sign a notification."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response

from gridpilot.auth.dependencies import Administrator
from gridpilot.core.runtime import runtime_of
from gridpilot.core.timestamps import from_ms, now_ms
from gridpilot.db.dependencies import SessionDep
from gridpilot.dr import utilities, webhook
from gridpilot.dr.models import DrUtility, DrWebhookDelivery
from gridpilot.dr.schemas import (
    DeliveryOut,
    NotificationAccepted,
    UtilityCreate,
    UtilityNotification,
    UtilityOut,
    UtilityUpdate,
)
from gridpilot.dr.tasks import DR

utility_router = APIRouter(tags=["demand response"])
webhook_router = APIRouter(tags=["demand response"])

UtilityId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
WEBHOOK_ANSWERS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or malformed webhook headers, a timestamp more than 5 min "
          "from now, or a signature no utility's secret makes", "content": ERROR},
    403: {"description": "A facility the utility may not address", "content": ERROR},
    409: {"description": "The webhook-id was already received (replay)", "content": ERROR},
    422: {"description": "The payload is not the seed's, or its window is not acceptable",
          "content": ERROR},
    429: {"description": "Too many requests (see Retry-After)", "content": ERROR},
    503: {"description": "The database is unavailable; try again", "content": ERROR},
}  # fmt: skip
HeaderText = Annotated[str | None, Header(max_length=1000)]


def utility_out(utility: DrUtility, site_ids: list[int], *, secret: bool = False) -> UtilityOut:
    return UtilityOut(
        id=utility.id, name=utility.name, site_ids=site_ids,
        baseline_method=utility.baseline_method, enabled=utility.enabled,
        created_at=utility.created_at, secret=utility.secret if secret else None,
    )  # fmt: skip


def delivery_out(delivery: DrWebhookDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id, webhook_id=delivery.webhook_id, received=from_ms(delivery.received_ms),
        state=delivery.state, payload=delivery.payload, event_ids=delivery.event_ids,
        errors=delivery.errors,
        processed=from_ms(delivery.processed_ms) if delivery.processed_ms is not None else None,
    )  # fmt: skip


@webhook_router.post(
    "/webhooks/utility/dr-notification",
    status_code=202,
    summary="Utility DR notification (facility seed webhook)",
    description="Signed like Standard Webhooks with the utility's secret (headers "
    "`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of "
    "id.timestamp.body>`). Answers 202 once the notification is checked and stored; one DR "
    "event per facility is then made in the background, idempotent on `event_id`.",
    responses=WEBHOOK_ANSWERS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": UtilityNotification.model_json_schema(
                        ref_template="#/components/schemas/{model}"
                    )
                }
            },
        }
    },
)
async def utility_notification(
    request: Request,
    session: SessionDep,
    webhook_id: HeaderText = None,
    webhook_timestamp: HeaderText = None,
    webhook_signature: HeaderText = None,
) -> NotificationAccepted:
    body = await request.body()
    received = now_ms()
    notification = webhook.parse(body, received)  # pure: no database work before the signature
    utility = await webhook.authenticate(
        session=session, message_id=webhook_id, timestamp=webhook_timestamp,
        signature=webhook_signature, body=body, now_s=int(time.time()),
    )  # fmt: skip
    assert webhook_id is not None
    await webhook.check_facilities(session=session, utility=utility, notification=notification)
    delivery = await utilities.record_delivery(
        session=session, utility_id=utility.id, webhook_id=webhook_id,
        payload=notification.model_dump(mode="json"), at_ms=received,
    )  # fmt: skip
    await session.commit()
    runtime = runtime_of(request.app).get(DR)
    if runtime is not None:
        runtime.wake()
    return NotificationAccepted(
        delivery_id=delivery.id, webhook_id=webhook_id, utility_id=utility.id,
        facility_ids=notification.facility_ids,
    )  # fmt: skip


@utility_router.post(
    "/dr-utilities",
    status_code=201,
    summary="Register a utility (administrators)",
    description="A utility that may notify DR events for `site_ids`. The answer holds its "
    "signing `secret` (Standard Webhooks, `whsec_...`), shown this once.",
)
async def create_utility(
    data: UtilityCreate, principal: Administrator, session: SessionDep
) -> UtilityOut:
    utility = await utilities.create_utility(session=session, principal=principal, data=data)
    return utility_out(utility, sorted(set(data.site_ids)), secret=True)


@utility_router.get("/dr-utilities", summary="List utilities (administrators)")
async def list_utilities(principal: Administrator, session: SessionDep) -> list[UtilityOut]:
    found = await utilities.list_utilities(session=session)
    sites = await utilities.sites_of(session=session, utility_ids=[u.id for u in found])
    return [utility_out(u, sites[u.id]) for u in found]


@utility_router.get("/dr-utilities/{utility_id}", summary="Get a utility (administrators)")
async def get_utility(
    utility_id: UtilityId, principal: Administrator, session: SessionDep
) -> UtilityOut:
    utility = await utilities.get_utility(session=session, utility_id=utility_id)
    sites = await utilities.sites_of(session=session, utility_ids=[utility.id])
    return utility_out(utility, sites[utility.id])


@utility_router.patch(
    "/dr-utilities/{utility_id}",
    summary="Change a utility (administrators)",
    description="Name, sites, baseline method, enabled; `rotate_secret` makes a new secret, "
    "answered this once (the old one stops working at once).",
)
async def update_utility(
    utility_id: UtilityId, data: UtilityUpdate, principal: Administrator, session: SessionDep
) -> UtilityOut:
    utility = await utilities.get_utility(session=session, utility_id=utility_id)
    rotated = await utilities.update_utility(
        session=session, principal=principal, utility=utility, data=data
    )
    sites = await utilities.sites_of(session=session, utility_ids=[utility.id])
    return utility_out(utility, sites[utility.id], secret=rotated)


@utility_router.delete(
    "/dr-utilities/{utility_id}", status_code=204, summary="Delete a utility (administrators)"
)
async def delete_utility(
    utility_id: UtilityId, principal: Administrator, session: SessionDep
) -> Response:
    utility = await utilities.get_utility(session=session, utility_id=utility_id)
    await utilities.delete_utility(session=session, utility=utility)
    return Response(status_code=204)


@utility_router.get(
    "/dr-utilities/{utility_id}/deliveries",
    summary="Notifications received from a utility (administrators)",
    description="Newest first: state pending, processed or failed, the events made and, per "
    "facility, why none was made.",
)
async def list_deliveries(
    utility_id: UtilityId,
    principal: Administrator,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> list[DeliveryOut]:
    await utilities.get_utility(session=session, utility_id=utility_id)
    found = await utilities.list_deliveries(
        session=session, utility_id=utility_id, limit=limit, offset=offset
    )
    return [delivery_out(d) for d in found]
