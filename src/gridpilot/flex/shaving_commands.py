"""Turn a peak-shaving set point into a battery command through ``control``, in one transaction
with the lease check, the manual-override check and the action log.

- set point > 0 (discharge): ``discharge`` ``power_kw``, ``min_soc_pct`` (the controller's
  floor), ``duration_s``;
- set point < 0 (charge): ``charge`` ``power_kw``, ``target_soc_pct`` (the battery's
  ceiling), ``duration_s``;
- 0: ``setpoint`` ``power_kw: 0`` (hold the battery idle).

``duration_s`` is ``GRIDPILOT_PEAK_SHAVING_HOLD_S``: the runtime re-sends a set point still
wanted when half of it is gone, so a controller that stops (process gone, lease lost) stops
driving the battery within it. The TTL is the same: a set point not delivered by then is stale.

**Release** (``release_battery``): timed set points and the idle ``setpoint`` put a storage
device under the EMS's remote control, where it stays (at 0 kW) after they run out. So when
the runtime lets go of a battery for good (settings disabled or deleted, another battery
chosen, the battery resource disabled or unlinked), it hands it back to its own operation:
``HAND_BACK`` (``discharge`` with ``power_kw: null``, ``control.kinds``), logged as
``released``. Not when the last command on the battery is not peak shaving's (a manual
command, the MPC's: theirs stands), when the resource is auto-dispatched (the MPC's next round
dispatches its schedule's step), or when another process now runs peak shaving with it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.assets.service import get_asset
from gridpilot.control.events import CommandChange, publish_command_changes
from gridpilot.control.service import list_commands, queue_command
from gridpilot.core.bus import EventBus
from gridpilot.core.errors import GridpilotError
from gridpilot.core.settings import Settings
from gridpilot.flex.dispatch import IDLE_KW, SHAVING, manual_override
from gridpilot.flex.shaving_store import (
    SiteControl,
    controlled_elsewhere,
    holds_lease,
    record_action,
)

log = logging.getLogger(__name__)

#: The command handing a storage device back to its own operation (``control.kinds``).
HAND_BACK: tuple[str, dict[str, Any]] = ("discharge", {"power_kw": None})


@dataclass(frozen=True)
class Decision:
    """What the controller measured and chose at ``at_ms`` (powers in kW, + discharge)."""

    at_ms: int
    grid_import_kw: float
    battery_power_kw: float
    soc_pct: float | None
    setpoint_kw: float
    base_kw: float | None
    reason: str


@dataclass(frozen=True)
class Outcome:
    """``sent`` with the command, or why not: ``lease``, ``manual`` (``command_id`` the manual
    one), ``refused`` (control's reason in ``detail``); ``released``: the hand-back sent."""

    status: str
    command_id: int | None = None
    detail: str = ""
    change: CommandChange | None = None


def command_for(c: SiteControl, setpoint_kw: float, hold_s: int) -> tuple[str, dict[str, Any]]:
    power = round(abs(setpoint_kw), 3)
    if setpoint_kw >= IDLE_KW:
        params = {"power_kw": power, "min_soc_pct": c.settings.soc_min_pct, "duration_s": hold_s}
        return "discharge", params
    if setpoint_kw <= -IDLE_KW:
        params = {"power_kw": power, "target_soc_pct": c.settings.soc_max_pct, "duration_s": hold_s}
        return "charge", params
    return "setpoint", {"power_kw": 0.0}


async def send_setpoint(
    *,
    session: AsyncSession,
    control: SiteControl,
    decision: Decision,
    owner: str,
    settings: Settings,
) -> Outcome:
    """Queue the command for ``decision`` and log it; nothing when the lease is gone, a manual
    command is in force or control refuses (logged with the reason). Publish
    ``Outcome.change`` after the commit."""
    c, d = control, decision
    if not await holds_lease(session=session, site_id=c.site_id, owner=owner, now_ms=d.at_ms):
        return Outcome("lease")

    async def log(reason: str, command_id: int | None, detail: str = "") -> None:
        await record_action(
            session=session, site_id=c.site_id, ts_ms=d.at_ms, reason=reason,
            grid_import_kw=d.grid_import_kw, battery_power_kw=d.battery_power_kw,
            soc_pct=d.soc_pct, setpoint_kw=d.setpoint_kw, base_kw=d.base_kw,
            command_id=command_id, detail=detail,
        )  # fmt: skip

    manual = await manual_override(session=session, asset_id=c.battery_asset_id, now_ms=d.at_ms)
    if manual is not None:
        await log("manual", manual, f"manual command {manual} in force")
        return Outcome("manual", manual)
    kind, params = command_for(c, d.setpoint_kw, settings.peak_shaving_hold_s)
    try:
        asset = await get_asset(session=session, asset_id=c.battery_asset_id, principal=SHAVING)
        command, change = await queue_command(
            session=session, asset=asset, principal=SHAVING, kind=kind, params=params,
            settings=settings, ttl_s=settings.peak_shaving_hold_s,
            idempotency_key=f"shave-{c.site_id}-{d.at_ms}",
        )  # fmt: skip
    except GridpilotError as exc:  # a rate limit, a battery that cannot take it
        await log("refused", None, exc.message)
        return Outcome("refused", detail=exc.message)
    await log(d.reason, command.id, f"{kind} " + ", ".join(f"{k}={v}" for k, v in params.items()))
    return Outcome("sent", command.id, change=change)


async def release_battery(
    *, session: AsyncSession, control: SiteControl, owner: str, now_ms: int, settings: Settings
) -> Outcome | None:
    """Hand the battery of a controller this process let go of back to its own operation
    (see the module docstring); None when it is not peak shaving's to hand back."""
    c = control
    if c.auto_dispatch or await controlled_elsewhere(
        session=session, battery_asset_id=c.battery_asset_id, owner=owner, now_ms=now_ms
    ):
        return None
    latest = await list_commands(session=session, asset_id=c.battery_asset_id, limit=1)
    kind, params = HAND_BACK
    if not latest or latest[0].created_by != SHAVING.subject or latest[0].params == params:
        return None
    try:
        asset = await get_asset(session=session, asset_id=c.battery_asset_id, principal=SHAVING)
        command, change = await queue_command(
            session=session, asset=asset, principal=SHAVING, kind=kind, params=params,
            settings=settings, ttl_s=settings.peak_shaving_hold_s,
            idempotency_key=f"shave-release-{c.site_id}-{c.battery_asset_id}-{now_ms}",
        )  # fmt: skip
    except GridpilotError as exc:
        await record_action(session=session, site_id=c.site_id, ts_ms=now_ms, reason="refused",
                            detail=f"hand-back: {exc.message}")  # fmt: skip
        return Outcome("refused", detail=exc.message)
    detail = "discharge power_kw=None (back to its own operation)"
    await record_action(session=session, site_id=c.site_id, ts_ms=now_ms, reason="released",
                        command_id=command.id, detail=detail)  # fmt: skip
    return Outcome("released", command.id, change=change)


async def release_batteries(
    sessions: async_sessionmaker[AsyncSession], bus: EventBus, let_go: list[SiteControl],
    owner: str, now_ms: int, settings: Settings,
) -> None:  # fmt: skip
    """``release_battery`` for each controller let go of, each in its own transaction; the
    commands published after it commits."""
    for c in let_go:
        try:
            async with sessions() as session, session.begin():
                outcome = await release_battery(
                    session=session, control=c, owner=owner, now_ms=now_ms, settings=settings
                )
        except Exception:
            log.exception("peak shaving: could not hand back the battery of site %d", c.site_id)
            continue
        if outcome is not None and outcome.change is not None:
            await publish_command_changes(bus, [outcome.change])
