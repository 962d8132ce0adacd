"""The demo's firmware roll-out: an edge-gateway image (the device reporting each simulated
asset) for every simulated asset, rolled out in a canary then waves (docs/firmware.md).

``prepare(sessions)`` (idempotent: the image is found by its SHA-256, the roll-out by its name)
registers the image and starts the roll-out through ``firmware.service``, as
``POST /api/v1/firmware/rollouts`` does. While the demo serves, the simulator's devices take
part (``sim/firmware.py``, one step every 2 s, about 5 % fail): the canary of 4 devices, then
waves of 8; a wave with two failures (25 %) passes the 20 % threshold and pauses the roll-out
(with the simulator's seed 42 and a fresh database, wave 1), for an operator to resume on
``/firmware``.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.assets.service import list_assets
from gridpilot.auth.permissions import Principal, Role
from gridpilot.firmware import service as firmware
from gridpilot.firmware.models import FirmwareImage, FirmwareRollout
from gridpilot.firmware.schemas import ImageCreate, RolloutCreate

DEMO = Principal(subject="system:demo", name="gridpilot demo", role=Role.ADMINISTRATOR)
VERSION = "3.2.0"
ROLLOUT = f"Edge gateways {VERSION}"
SHA256 = hashlib.sha256(f"gridpilot demo energy gateway {VERSION}".encode()).hexdigest()


async def _image(session: AsyncSession, kinds: list[str]) -> FirmwareImage:
    found = await session.scalar(select(FirmwareImage).where(FirmwareImage.sha256 == SHA256))
    if found is not None:
        return found
    data = ImageCreate(
        version=VERSION,
        kinds=kinds,
        sha256=SHA256,
        url=f"https://firmware.example.com/gateway-{VERSION}.bin",
        notes="Demo build of the edge gateway reporting each simulated asset",
    )
    return await firmware.register_image(session=session, principal=DEMO, data=data)


async def prepare(sessions: async_sessionmaker[AsyncSession]) -> str:
    """Register the image and start its roll-out (once); the banner's line."""
    async with sessions() as session, session.begin():
        assets = await list_assets(session=session, principal=DEMO)
        image = await _image(session, sorted({a.kind for a in assets}))
        rollout = await session.scalar(
            select(FirmwareRollout).where(FirmwareRollout.name == ROLLOUT)
        )
        if rollout is None:
            rollout = await firmware.start_rollout(
                session=session,
                principal=DEMO,
                data=RolloutCreate(
                    name=ROLLOUT,
                    image_id=image.id,
                    asset_ids=sorted(a.id for a in assets),
                    canary_pct=10,
                    wave_size=8,
                    max_failure_pct=20,
                ),
            )
        shown = await firmware.view(session=session, rollout=rollout)
    devices = sum(w.devices for w in shown.waves)
    return (
        f"firmware: roll-out '{ROLLOUT}' to {devices} devices in {len(shown.waves)} waves "
        f"({shown.state}); watch it on /firmware"
    )
