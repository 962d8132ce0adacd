"""Firmware images and staged roll-outs: register, start, report progress, pause, resume.

A roll-out lists its devices once, when it starts (the group's members then), each in a wave
(``waves.plan_waves``). The current wave's devices are ``offered``; each device (or its gateway,
or the simulator) reports ``downloading``, ``installed`` with the version it now runs (verified
when it is the image's, else failed) or ``failed``. After each report: a wave failing above
``max_failure_pct`` pauses the roll-out (``paused_reason`` says which and how much); a finished
wave of a running roll-out offers the next; the last one completes it. ``resume`` goes on from
where it paused (failed devices stay failed; a finished wave is not judged again).

A verified device's asset gets the image's version as ``attributes.firmware_version`` (what
dynamic groups filter on). Every change is noted for the bus (``events``: the edge publishes
them after the commit).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.models import Asset
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gridpilot.db.base import utcnow
from gridpilot.firmware import events, waves
from gridpilot.firmware.models import FirmwareImage, FirmwareRollout, FirmwareRolloutDevice
from gridpilot.firmware.schemas import DeviceReport, ImageCreate, RolloutCreate, RolloutOut, WaveOut
from gridpilot.groups import service as groups

RUNNING, PAUSED, COMPLETED = "running", "paused", "completed"


class FirmwareNotCompatible(ValidationFailed):
    """A target device's kind or model is not one the image fits."""

    code = "firmware_not_compatible"


class TransitionRefused(Conflict):
    """A device reported a step that does not follow its state (or the roll-out is done)."""

    code = "firmware_transition_refused"


async def register_image(
    *, session: AsyncSession, principal: Principal, data: ImageCreate
) -> FirmwareImage:
    principal.require(Permission.CONFIGURE)
    if await session.scalar(select(FirmwareImage.id).where(FirmwareImage.sha256 == data.sha256)):
        raise Conflict(f"an image with SHA-256 {data.sha256} is already registered")
    image = FirmwareImage(**data.model_dump(), created_by=principal.name)
    session.add(image)
    await session.flush()
    return image


async def get_image(*, session: AsyncSession, image_id: int) -> FirmwareImage:
    image = await session.get(FirmwareImage, image_id)
    if image is None:
        raise NotFound(f"firmware image {image_id} not found")
    return image


async def list_images(*, session: AsyncSession, limit: int, offset: int) -> list[FirmwareImage]:
    query = select(FirmwareImage).order_by(FirmwareImage.id.desc()).limit(limit).offset(offset)
    return list((await session.scalars(query)).all())


async def _targets(session: AsyncSession, principal: Principal, data: RolloutCreate) -> list[Asset]:
    if data.group_id is not None:
        return await groups.target_assets(
            session=session, principal=principal, group_id=data.group_id
        )
    ids = sorted(set(data.asset_ids or []))
    found = {a.id: a for a in (await session.scalars(select(Asset).where(Asset.id.in_(ids))))}
    missing = [i for i in ids if i not in found or not principal.can_see_site(found[i].site_id)]
    if missing:
        raise NotFound(f"asset {missing[0]} not found")
    return [found[i] for i in ids]


def _check_fit(image: FirmwareImage, assets: list[Asset]) -> None:
    misfits = [
        a
        for a in assets
        if a.kind not in image.kinds or (image.models and a.model not in image.models)
    ]
    if misfits:
        raise FirmwareNotCompatible(
            f"image {image.version} does not fit asset {misfits[0].id} "
            f"(kind {misfits[0].kind!r}, model {misfits[0].model!r})",
            details=[{"asset_id": a.id, "kind": a.kind, "model": a.model} for a in misfits[:20]],
        )


async def start_rollout(
    *, session: AsyncSession, principal: Principal, data: RolloutCreate
) -> FirmwareRollout:
    """List the devices, plan the waves and offer the canary."""
    principal.require(Permission.CONFIGURE)
    image = await get_image(session=session, image_id=data.image_id)
    assets = await _targets(session, principal, data)
    if not assets:
        raise ValidationFailed("the roll-out reaches no device")
    _check_fit(image, assets)
    plan = waves.plan_waves(len(assets), data.canary_pct, data.wave_size)
    rollout = FirmwareRollout(
        image_id=image.id,
        name=data.name,
        state=RUNNING,
        canary_pct=data.canary_pct,
        wave_size=data.wave_size,
        max_failure_pct=data.max_failure_pct,
        current_wave=0,
        waves=max(plan) + 1,
        group_id=data.group_id,
        created_by=principal.name,
    )
    session.add(rollout)
    await session.flush()
    now = utcnow()
    for asset, wave in zip(assets, plan, strict=True):
        state = waves.OFFERED if wave == 0 else waves.PENDING
        session.add(
            FirmwareRolloutDevice(
                rollout_id=rollout.id,
                asset_id=asset.id,
                site_id=asset.site_id,
                wave=wave,
                state=state,
                updated_at=now,
            )
        )
    await session.flush()
    await events.rollout_changed(session, rollout, image.version, None)
    return rollout


async def _devices(session: AsyncSession, rollout_id: int) -> list[FirmwareRolloutDevice]:
    query = select(FirmwareRolloutDevice).where(FirmwareRolloutDevice.rollout_id == rollout_id)
    return list((await session.scalars(query.order_by(FirmwareRolloutDevice.asset_id))).all())


def _check_scope(principal: Principal, devices: list[FirmwareRolloutDevice]) -> None:
    """Only a principal who sees every device's site may see or steer a roll-out."""
    if not all(principal.can_see_site(d.site_id) for d in devices):
        raise NotFound("roll-out not found")


async def get_rollout(
    *,
    session: AsyncSession,
    principal: Principal,
    rollout_id: int,
    lock: bool = False,
    device_key: bool = False,
) -> FirmwareRollout:
    """The roll-out; ``NotFound`` unless the principal sees every device's site (``device_key``:
    a device key reporting for its own asset needs only that, checked by ``report``)."""
    query = select(FirmwareRollout).where(FirmwareRollout.id == rollout_id)
    rollout = await session.scalar(query.with_for_update() if lock else query)
    if rollout is None:
        raise NotFound(f"roll-out {rollout_id} not found")
    if not device_key:
        _check_scope(principal, await _devices(session, rollout_id))
    return rollout


async def _offer_next(session: AsyncSession, rollout: FirmwareRollout) -> None:
    rollout.current_wave += 1
    rollout.accepted_failures = 0
    await session.execute(
        update(FirmwareRolloutDevice)
        .where(
            FirmwareRolloutDevice.rollout_id == rollout.id,
            FirmwareRolloutDevice.wave == rollout.current_wave,
        )
        .values(state=waves.OFFERED, updated_at=utcnow())
    )


async def _settle(session: AsyncSession, rollout: FirmwareRollout) -> None:
    """Pause on a failure burst, else offer the next wave when the current one finished."""
    while rollout.state == RUNNING:
        devices = await _devices(session, rollout.id)
        current = [d.state for d in devices if d.wave == rollout.current_wave]
        if waves.over_threshold(current, rollout.max_failure_pct, rollout.accepted_failures):
            rollout.state = PAUSED
            rollout.paused_reason = (
                f"wave {rollout.current_wave}: {waves.failure_pct(current):.0f} % failed "
                f"(threshold {rollout.max_failure_pct:g} %)"
            )
        elif not waves.wave_finished(current):
            break
        elif rollout.current_wave + 1 >= rollout.waves:
            rollout.state = COMPLETED
        else:
            await _offer_next(session, rollout)
    rollout.updated_at = utcnow()
    await session.flush()


async def _settle_noted(session: AsyncSession, rollout: FirmwareRollout, previous: str) -> None:
    """``_settle``, noting the roll-out's change (state or wave) for the bus."""
    wave = rollout.current_wave
    await _settle(session, rollout)
    if (rollout.state, rollout.current_wave) != (previous, wave):
        image = await get_image(session=session, image_id=rollout.image_id)
        await events.rollout_changed(session, rollout, image.version, previous)


async def _installed(session: AsyncSession, asset_id: int, version: str) -> None:
    """A verified device runs ``version``: its asset's ``attributes.firmware_version``."""
    asset = await session.get(Asset, asset_id)
    if asset is not None and (asset.attributes or {}).get("firmware_version") != version:
        asset.attributes = {**(asset.attributes or {}), "firmware_version": version}
        events.asset_changed(session, asset_id)


async def report(
    *,
    session: AsyncSession,
    principal: Principal,
    rollout_id: int,
    asset_id: int,
    data: DeviceReport,
) -> FirmwareRolloutDevice:
    """Record a device's progress; may pause the roll-out or offer its next wave."""
    if principal.asset_ids is not None and asset_id not in principal.asset_ids:
        raise PermissionDenied("a device key reports for its own asset only")
    rollout = await get_rollout(
        session=session,
        principal=principal,
        rollout_id=rollout_id,
        lock=True,
        device_key=principal.asset_ids is not None,
    )
    device = await session.scalar(
        select(FirmwareRolloutDevice).where(
            FirmwareRolloutDevice.rollout_id == rollout_id,
            FirmwareRolloutDevice.asset_id == asset_id,
        )
    )
    if device is None:
        raise NotFound(f"asset {asset_id} is not in roll-out {rollout_id}")
    if data.state not in waves.NEXT.get(device.state, frozenset()):
        raise TransitionRefused(f"a device {device.state} cannot report {data.state}")
    image = await get_image(session=session, image_id=rollout.image_id)
    state: str = data.state
    error = data.error
    if data.state == waves.INSTALLED:
        state, error = waves.verdict(data.version, image.version)
    previous = device.state
    device.state, device.error = state, error
    device.reported_version = data.version or device.reported_version
    device.updated_at = utcnow()
    if state == waves.VERIFIED:
        await _installed(session, asset_id, image.version)
    await session.flush()
    events.device_changed(session, device, previous)
    await _settle_noted(session, rollout, rollout.state)
    return device


async def pause(*, session: AsyncSession, principal: Principal, rollout_id: int) -> FirmwareRollout:
    principal.require(Permission.CONFIGURE)
    rollout = await get_rollout(session=session, principal=principal, rollout_id=rollout_id)
    if rollout.state != RUNNING:
        raise Conflict(f"roll-out {rollout_id} is {rollout.state}, not running")
    rollout.state, rollout.paused_reason = PAUSED, f"paused by {principal.name}"
    await session.flush()
    image = await get_image(session=session, image_id=rollout.image_id)
    await events.rollout_changed(session, rollout, image.version, RUNNING)
    return rollout


async def resume(
    *, session: AsyncSession, principal: Principal, rollout_id: int
) -> FirmwareRollout:
    """Go on: the current wave's failures so far are accepted; a finished wave offers the next."""
    principal.require(Permission.CONFIGURE)
    rollout = await get_rollout(session=session, principal=principal, rollout_id=rollout_id)
    if rollout.state != PAUSED:
        raise Conflict(f"roll-out {rollout_id} is {rollout.state}, not paused")
    devices = await _devices(session, rollout.id)
    current = [d.state for d in devices if d.wave == rollout.current_wave]
    rollout.state, rollout.paused_reason = RUNNING, None
    rollout.accepted_failures = sum(s == waves.FAILED for s in current)
    await _settle(session, rollout)
    image = await get_image(session=session, image_id=rollout.image_id)
    await events.rollout_changed(session, rollout, image.version, PAUSED)
    return rollout


async def open_steps(
    *, session: AsyncSession, asset_ids: Collection[int]
) -> list[tuple[int, int, str, str]]:
    """``(rollout_id, asset_id, state, image version)`` of the given assets still to move on
    (offered or downloading) in roll-outs not completed: what a simulated device does next."""
    if not asset_ids:
        return []
    rows = await session.execute(
        select(
            FirmwareRolloutDevice.rollout_id,
            FirmwareRolloutDevice.asset_id,
            FirmwareRolloutDevice.state,
            FirmwareImage.version,
        )
        .join(FirmwareRollout, FirmwareRollout.id == FirmwareRolloutDevice.rollout_id)
        .join(FirmwareImage, FirmwareImage.id == FirmwareRollout.image_id)
        .where(
            FirmwareRolloutDevice.asset_id.in_(sorted(asset_ids)),
            FirmwareRolloutDevice.state.in_([waves.OFFERED, waves.DOWNLOADING]),
            FirmwareRollout.state.in_([RUNNING, PAUSED]),
        )
        .order_by(FirmwareRolloutDevice.rollout_id, FirmwareRolloutDevice.asset_id)
    )
    return [(int(r), int(a), str(s), str(v)) for r, a, s, v in rows]


async def list_devices(
    *, session: AsyncSession, principal: Principal, rollout_id: int
) -> list[FirmwareRolloutDevice]:
    await get_rollout(session=session, principal=principal, rollout_id=rollout_id)
    return await _devices(session, rollout_id)


async def list_rollouts(
    *, session: AsyncSession, principal: Principal, limit: int, offset: int
) -> list[FirmwareRollout]:
    query = select(FirmwareRollout).order_by(FirmwareRollout.id.desc())
    found = []
    for rollout in (await session.scalars(query)).all():
        devices = await _devices(session, rollout.id)
        if all(principal.can_see_site(d.site_id) for d in devices):
            found.append(rollout)
    return found[offset : offset + limit]


async def view(*, session: AsyncSession, rollout: FirmwareRollout) -> RolloutOut:
    """The roll-out with its waves' counts per state and failure rates."""
    image = await get_image(session=session, image_id=rollout.image_id)
    devices = await _devices(session, rollout.id)
    shown = []
    for wave in range(rollout.waves):
        states = [d.state for d in devices if d.wave == wave]
        shown.append(
            WaveOut(
                wave=wave,
                devices=len(states),
                states=dict(Counter(states)),
                failure_pct=round(waves.failure_pct(states), 1),
            )
        )
    return RolloutOut(
        id=rollout.id,
        name=rollout.name,
        image_id=image.id,
        version=image.version,
        state=rollout.state,
        canary_pct=rollout.canary_pct,
        wave_size=rollout.wave_size,
        max_failure_pct=rollout.max_failure_pct,
        current_wave=rollout.current_wave,
        waves=shown,
        group_id=rollout.group_id,
        paused_reason=rollout.paused_reason,
        created_by=rollout.created_by,
        created_at=rollout.created_at,
        updated_at=rollout.updated_at,
    )
