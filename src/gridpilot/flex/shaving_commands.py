"""Turn a peak-shaving set point into a battery command through ``control``, in one transaction
with the lease check, the manual-override check and the action log.

- set point > 0 (discharge): ``discharge`` ``power_kw``, ``min_soc_pct`` (the controller's
  floor), ``duration_s``;
- set point < 0 (charge): ``charge`` ``power_kw``, ``target_soc_pct`` (the battery's
  ceiling), ``duration_s``;
- 0: ``setpoint`` ``power_kw: 0`` (hold the battery idle).

``duration_s`` is ``GRIDPILOT_PEAK_SHAVING_HOLD_S``: the runtime re-sends a set point still
wanted when half of it is gone, so a controller that stops (process gone, lease lost) releases
the battery within it. The TTL is the same: a set point not delivered by then is stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.service import get_asset
from gridpilot.control.events import CommandChange
from gridpilot.control.service import queue_command
from gridpilot.core.errors import GridpilotError
from gridpilot.core.settings import Settings
from gridpilot.flex.dispatch import IDLE_KW, SHAVING, manual_override
from gridpilot.flex.shaving_store import SiteControl, holds_lease, record_action


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
    one), ``refused`` (control's reason in ``detail``)."""

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
