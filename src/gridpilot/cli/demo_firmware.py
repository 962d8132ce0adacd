"""The demo's firmware roll-out: an energy-gateway image for the community's simulated
households and buildings, rolled out in a canary then waves (docs/firmware.md).

``prepare(sessions)`` (idempotent: the image is found by its SHA-256, the roll-out by its name)
registers the image and starts the roll-out through ``firmware.service``, as
``POST /api/v1/firmware/rollouts`` does. While the demo serves, the simulator's devices take
part (``sim/firmware.py``, one step every 2 s, about 5 % fail): the canary of 2 devices, then
waves of 6, a wave with one failure (17 %) passes the 15 % threshold and pauses the roll-out,
for an operator to resume on ``/firmware``.
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
KINDS = ["household", "building"]
ROLLOUT = f"Energy gateways {VERSION}"
SHA256 = hashlib.sha256(f"gridpilot demo energy gateway {VERSION}".encode()).hexdigest()


async def _image(session: AsyncSession) -> FirmwareImage:
    found = await session.scalar(select(FirmwareImage).where(FirmwareImage.sha256 == SHA256))
    if found is not None:
        return found
    data = ImageCreate(
        version=VERSION,
        kinds=KINDS,
        sha256=SHA256,
        url=f"https://firmware.example.com/gateway-{VERSION}.bin",
        notes="Demo build for the community's energy gateways",
    )
    return await firmware.register_image(session=session, principal=DEMO, data=data)


async def prepare(sessions: async_sessionmaker[AsyncSession]) -> str:
    """Register the image and start its roll-out (once); the banner's line."""
    async with sessions() as session, session.begin():
        image = await _image(session)
        rollout = await session.scalar(
            select(FirmwareRollout).where(FirmwareRollout.name == ROLLOUT)
        )
        if rollout is None:
            assets = await list_assets(session=session, principal=DEMO, kinds=KINDS)
            rollout = await firmware.start_rollout(
                session=session,
                principal=DEMO,
                data=RolloutCreate(
                    name=ROLLOUT,
                    image_id=image.id,
                    asset_ids=sorted(a.id for a in assets),
                    canary_pct=10,
                    wave_size=6,
                    max_failure_pct=15,
                ),
            )
        shown = await firmware.view(session=session, rollout=rollout)
    devices = sum(w.devices for w in shown.waves)
    return (
        f"firmware: roll-out '{ROLLOUT}' to {devices} devices in {len(shown.waves)} waves "
        f"({shown.state}); watch it on /firmware"
    )
