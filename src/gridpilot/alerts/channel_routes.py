"""HTTP routes of notification channels (CONFIGURE: operators and administrators).

A webhook channel's signing secret is answered once, when the channel is created (or when a new
``secret`` is set); it is never listed again.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request, Response

from gridpilot.alerts import channels, outbox, webhook_target
from gridpilot.alerts.events import publish_all
from gridpilot.alerts.schemas import (
    ChannelCreate,
    ChannelCreated,
    ChannelOut,
    ChannelUpdate,
    DeliveryOut,
)
from gridpilot.auth.dependencies import Configurer
from gridpilot.core.dependencies import SettingsDep
from gridpilot.db.dependencies import SessionDep

router = APIRouter(prefix="/notification-channels", tags=["alerts"])

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="Items to skip")]


@router.get("", summary="List notification channels")
async def list_channels(
    principal: Configurer, session: SessionDep, limit: Limit = 1000, offset: Offset = 0
) -> list[ChannelOut]:
    found = await channels.list_channels(
        session=session, principal=principal, limit=limit, offset=offset
    )
    return [ChannelOut.model_validate(c) for c in found]


@router.post(
    "",
    status_code=201,
    summary="Create a webhook or e-mail channel",
    description="Webhook: `url` (http(s), no user info or control characters; non-public "
    "targets are refused unless GRIDPILOT_WEBHOOK_ALLOW_PRIVATE=true, and public hosts may only "
    "use ports 80, 443 and GRIDPILOT_WEBHOOK_ALLOWED_PORTS) and an optional Standard Webhooks "
    "`secret` "
    "(`whsec_...`; generated when omitted, answered only now). E-mail: `recipients`. "
    "`min_severity` and `events` (raised, acknowledged, resolved) filter what is sent.",
)
async def create_channel(
    data: ChannelCreate, principal: Configurer, session: SessionDep, settings: SettingsDep
) -> ChannelCreated:
    channel = await channels.create_channel(
        session=session,
        principal=principal,
        data=data,
        guard=webhook_target.Guard.from_settings(settings),
    )
    return ChannelCreated.model_validate(channel)


@router.get("/{channel_id}", summary="Get a notification channel")
async def get_channel(channel_id: Id, principal: Configurer, session: SessionDep) -> ChannelOut:
    channel = await channels.get_channel(
        session=session, channel_id=channel_id, principal=principal
    )
    return ChannelOut.model_validate(channel)


@router.patch("/{channel_id}", summary="Change a notification channel")
async def update_channel(
    channel_id: Id,
    changes: ChannelUpdate,
    principal: Configurer,
    session: SessionDep,
    settings: SettingsDep,
) -> ChannelOut:
    channel = await channels.update_channel(
        session=session,
        channel_id=channel_id,
        principal=principal,
        changes=changes,
        guard=webhook_target.Guard.from_settings(settings),
    )
    return ChannelOut.model_validate(channel)


@router.delete("/{channel_id}", status_code=204, summary="Delete a notification channel")
async def delete_channel(channel_id: Id, principal: Configurer, session: SessionDep) -> Response:
    await channels.delete_channel(session=session, channel_id=channel_id, principal=principal)
    return Response(status_code=204)


@router.post(
    "/{channel_id}/test",
    status_code=202,
    summary="Send a test notification through the channel",
)
async def test_channel(
    channel_id: Id,
    principal: Configurer,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> DeliveryOut:
    delivery = await channels.queue_test(
        session=session, channel_id=channel_id, principal=principal
    )
    background.add_task(publish_all, request.app, [])
    return DeliveryOut.model_validate(delivery)


@router.get("/{channel_id}/deliveries", summary="Notification deliveries of a channel")
async def list_deliveries(
    channel_id: Id,
    principal: Configurer,
    session: SessionDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[DeliveryOut]:
    """Newest first: state (pending, delivered, failed, cancelled), attempts, last error."""
    await channels.get_channel(session=session, channel_id=channel_id, principal=principal)
    rows = await outbox.list_deliveries(
        session=session, channel_id=channel_id, limit=limit, offset=offset
    )
    return [DeliveryOut.model_validate(r) for r in rows]
