"""HTTP routes of firmware images and roll-outs (docs/firmware.md).

Operators (CONFIGURE) register images and steer roll-outs; viewers read roll-outs whose every
device is on their sites (another's answer 404); a device key (or any principal with
``telemetry:write``) reports its own asset's progress. The changes are published on the bus
(``firmware.events``) once the transaction committed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth.dependencies import Configurer, Reader, TelemetryWriter
from gridpilot.core.runtime import runtime_of
from gridpilot.db.dependencies import SessionDep
from gridpilot.firmware import events, service
from gridpilot.firmware.schemas import (
    DeviceOut,
    DeviceReport,
    ImageCreate,
    ImageOut,
    RolloutCreate,
    RolloutOut,
)

router = APIRouter(prefix="/firmware", tags=["firmware"])

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="Items to skip")]


def _announce(request: Request, background: BackgroundTasks, session: AsyncSession) -> None:
    """Publish the session's firmware events once the answer is sent (after the commit)."""
    background.add_task(events.publish, runtime_of(request.app).bus, events.take(session))


@router.post(
    "/images",
    status_code=201,
    summary="Register a firmware image",
    description="Version, the asset kinds (and optionally models) it fits, its SHA-256 (64 hex "
    "digits, unique: 409 when registered already) and where devices fetch it.",
)
async def register_image(data: ImageCreate, principal: Configurer, session: SessionDep) -> ImageOut:
    image = await service.register_image(session=session, principal=principal, data=data)
    return ImageOut.model_validate(image)


@router.get("/images", summary="List firmware images", description="Newest first.")
async def list_images(
    principal: Reader, session: SessionDep, limit: Limit = 100, offset: Offset = 0
) -> list[ImageOut]:
    found = await service.list_images(session=session, limit=limit, offset=offset)
    return [ImageOut.model_validate(i) for i in found]


@router.get("/images/{image_id}", summary="A firmware image", description="404 when unknown.")
async def get_image(image_id: Id, principal: Reader, session: SessionDep) -> ImageOut:
    return ImageOut.model_validate(await service.get_image(session=session, image_id=image_id))


@router.post(
    "/rollouts",
    status_code=201,
    summary="Start a staged roll-out",
    description="To `asset_ids` or a device `group_id` (its members now; you must see all its "
    "sites). The canary (`canary_pct` of the devices, at least one) is offered at once, then "
    "waves of `wave_size` as each finishes; a wave failing above `max_failure_pct` pauses the "
    "roll-out. 422 `firmware_not_compatible` when a device's kind or model does not fit.",
)
async def start_rollout(
    data: RolloutCreate,
    principal: Configurer,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> RolloutOut:
    rollout = await service.start_rollout(session=session, principal=principal, data=data)
    _announce(request, background, session)
    return await service.view(session=session, rollout=rollout)


@router.get("/rollouts", summary="List roll-outs", description="Newest first, yours to see.")
async def list_rollouts(
    principal: Reader, session: SessionDep, limit: Limit = 100, offset: Offset = 0
) -> list[RolloutOut]:
    found = await service.list_rollouts(
        session=session, principal=principal, limit=limit, offset=offset
    )
    return [await service.view(session=session, rollout=r) for r in found]


@router.get(
    "/rollouts/{rollout_id}",
    summary="A roll-out with its waves",
    description="State, the current wave, each wave's devices per state and failure rate.",
)
async def get_rollout(rollout_id: Id, principal: Reader, session: SessionDep) -> RolloutOut:
    rollout = await service.get_rollout(session=session, principal=principal, rollout_id=rollout_id)
    return await service.view(session=session, rollout=rollout)


@router.get(
    "/rollouts/{rollout_id}/devices",
    summary="The devices of a roll-out",
    description="Each device's wave, state, reported version and error.",
)
async def list_devices(rollout_id: Id, principal: Reader, session: SessionDep) -> list[DeviceOut]:
    found = await service.list_devices(session=session, principal=principal, rollout_id=rollout_id)
    return [DeviceOut.model_validate(d) for d in found]


@router.post(
    "/rollouts/{rollout_id}/devices/{asset_id}/report",
    summary="Report a device's progress",
    description="`downloading`, `installed` with the `version` it now runs (verified when it is "
    "the image's, else failed) or `failed`. 409 `firmware_transition_refused` for a step that "
    "does not follow the device's state (a device not offered yet, one finished already).",
)
async def report(
    rollout_id: Id,
    asset_id: Id,
    data: DeviceReport,
    principal: TelemetryWriter,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> DeviceOut:
    device = await service.report(
        session=session, principal=principal, rollout_id=rollout_id, asset_id=asset_id, data=data
    )
    _announce(request, background, session)
    return DeviceOut.model_validate(device)


@router.post(
    "/rollouts/{rollout_id}/pause",
    summary="Pause a roll-out",
    description="No further wave is offered; devices already offered may still report. 409 "
    "unless running.",
)
async def pause(
    rollout_id: Id,
    principal: Configurer,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> RolloutOut:
    rollout = await service.pause(session=session, principal=principal, rollout_id=rollout_id)
    _announce(request, background, session)
    return await service.view(session=session, rollout=rollout)


@router.post(
    "/rollouts/{rollout_id}/resume",
    summary="Resume a paused roll-out",
    description="The current wave's failures so far are accepted (only further ones pause it "
    "again); a finished wave offers the next. 409 unless paused.",
)
async def resume(
    rollout_id: Id,
    principal: Configurer,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> RolloutOut:
    rollout = await service.resume(session=session, principal=principal, rollout_id=rollout_id)
    _announce(request, background, session)
    return await service.view(session=session, rollout=rollout)
