"""What the peak-shaving runtime reads and writes in the database, apart from commands.

- **Leases** (``take_leases``): each process runs the controllers whose lease it holds. One
  statement renews this process's leases and takes the lapsed ones of enabled sites (a
  compare-and-set on ``lease_owner``/``lease_until_ms``: of several processes exactly one
  gets a site), a second reads what it holds with the battery resources. Disabled sites are
  not renewed and lapse.
- **The schedule's base** (``latest_base``): the battery's planned power per step of the site's
  newest stored schedule [kW, positive = discharge].
- **The SOC latch** (``save_latch``), so a process taking over keeps the hysteresis.
- **Actions** (``record_action``): the controller's log.
- **Release** (``controlled_elsewhere``): whether a battery this process let go of is another
  process's now (then it is not handed back).
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.flex import PeakShavingSettings
from gridpilot.core.errors import ValidationFailed
from gridpilot.flex.models import FlexResource, FlexSchedule, PeakShavingAction, PeakShavingConfig
from gridpilot.flex.resources import resource_out
from gridpilot.flex.schemas import BatteryParams


def process_owner() -> str:
    """A lease owner unique to this process: host, pid and a random part."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class SiteControl:
    """A site's controller as loaded under its lease."""

    site_id: int
    resource_id: int
    resource_name: str
    battery_asset_id: int
    auto_dispatch: bool  # the MPC schedule's step is the base
    meter_asset_id: int
    meter_metric: str
    settings: PeakShavingSettings
    deadband_kw: float
    discharge_blocked: bool
    lease_until_ms: int


@dataclass(frozen=True)
class Base:
    """A stored schedule's battery power per step [kW, positive = discharge]."""

    schedule_id: int
    start_ms: int
    step_ms: int
    power_kw: tuple[float, ...]

    def at(self, t_ms: int) -> float | None:
        """The planned power of the step holding ``t_ms``; None outside the schedule."""
        index = (t_ms - self.start_ms) // self.step_ms
        return self.power_kw[index] if 0 <= index < len(self.power_kw) else None


def _control(row: PeakShavingConfig, resource: FlexResource) -> SiteControl | None:
    battery = resource_out(resource)
    params = battery.params
    if not isinstance(params, BatteryParams) or battery.asset_id is None or not battery.enabled:
        return None
    try:  # the battery resource may have changed since the settings were checked
        settings = PeakShavingSettings(
            threshold_kw=row.threshold_kw,
            discharge_max_kw=params.discharge_max_kw,
            charge_max_kw=params.charge_max_kw,
            soc_min_pct=params.soc_min_pct if row.soc_min_pct is None else row.soc_min_pct,
            soc_max_pct=params.soc_max_pct,
            soc_hysteresis_pct=row.soc_hysteresis_pct,
            recharge_below_kw=row.recharge_below_kw,
        )
    except ValidationFailed:
        return None
    return SiteControl(
        site_id=row.site_id,
        resource_id=battery.id,
        resource_name=battery.name,
        battery_asset_id=battery.asset_id,
        auto_dispatch=battery.auto_dispatch,
        meter_asset_id=row.meter_asset_id,
        meter_metric=row.meter_metric,
        settings=settings,
        deadband_kw=row.deadband_kw,
        discharge_blocked=row.discharge_blocked,
        lease_until_ms=row.lease_until_ms,
    )


async def take_leases(
    *, session: AsyncSession, owner: str, now_ms: int, ttl_ms: int
) -> list[SiteControl]:
    """Renew this owner's leases and take the lapsed ones; the controllers it now holds (a
    site whose battery resource is disabled or unlinked is held but left out). Nothing is
    written while no site has peak shaving enabled (no write lock on SQLite every round)."""
    enabled = select(PeakShavingConfig.site_id).where(PeakShavingConfig.enabled.is_(True))
    if await session.scalar(enabled.limit(1)) is None:
        return []
    await session.execute(
        update(PeakShavingConfig)
        .where(
            PeakShavingConfig.enabled.is_(True),
            (PeakShavingConfig.lease_owner == owner) | (PeakShavingConfig.lease_until_ms < now_ms),
        )
        .values(lease_owner=owner, lease_until_ms=now_ms + ttl_ms)
        .execution_options(synchronize_session=False)
    )
    rows = await session.execute(
        select(PeakShavingConfig, FlexResource)
        .join(FlexResource, FlexResource.id == PeakShavingConfig.resource_id)
        .where(
            PeakShavingConfig.enabled.is_(True),
            PeakShavingConfig.lease_owner == owner,
            PeakShavingConfig.lease_until_ms > now_ms,
        )
        .order_by(PeakShavingConfig.site_id)
    )
    found = [_control(config, resource) for config, resource in rows.all()]
    return [c for c in found if c is not None]


async def drop_leases(*, session: AsyncSession, owner: str) -> None:
    """Let another process take this owner's sites at once (on shutdown)."""
    await session.execute(
        update(PeakShavingConfig)
        .where(PeakShavingConfig.lease_owner == owner)
        .values(lease_until_ms=0)
        .execution_options(synchronize_session=False)
    )


async def holds_lease(*, session: AsyncSession, site_id: int, owner: str, now_ms: int) -> bool:
    """Whether ``owner`` still holds the site's lease (checked in the command's transaction)."""
    found = await session.scalar(
        select(PeakShavingConfig.site_id).where(
            PeakShavingConfig.site_id == site_id,
            PeakShavingConfig.enabled.is_(True),
            PeakShavingConfig.lease_owner == owner,
            PeakShavingConfig.lease_until_ms > now_ms,
        )
    )
    return found is not None


async def controlled_elsewhere(
    *, session: AsyncSession, battery_asset_id: int, owner: str, now_ms: int
) -> bool:
    """Whether another process runs enabled peak shaving with this battery (a live lease)."""
    found = await session.scalar(
        select(PeakShavingConfig.site_id)
        .join(FlexResource, FlexResource.id == PeakShavingConfig.resource_id)
        .where(
            FlexResource.asset_id == battery_asset_id,
            PeakShavingConfig.enabled.is_(True),
            PeakShavingConfig.lease_owner != owner,
            PeakShavingConfig.lease_until_ms > now_ms,
        )
        .limit(1)
    )
    return found is not None


async def save_latch(*, session: AsyncSession, site_id: int, blocked: bool) -> None:
    await session.execute(
        update(PeakShavingConfig)
        .where(PeakShavingConfig.site_id == site_id)
        .values(discharge_blocked=blocked)
        .execution_options(synchronize_session=False)
    )


async def latest_base(
    *, session: AsyncSession, site_id: int, resource_name: str, known_id: int | None
) -> Base | bool | None:
    """The battery's plan in the site's newest schedule; ``True`` when that is still
    ``known_id`` (nothing to reload); None without a schedule or without this battery."""
    newest = await session.scalar(
        select(FlexSchedule.id)
        .where(FlexSchedule.site_id == site_id)
        .order_by(FlexSchedule.created_ms.desc(), FlexSchedule.id.desc())
        .limit(1)
    )
    if newest is None:
        return None
    if newest == known_id:
        return True
    row = await session.get(FlexSchedule, newest)
    battery = (row.series.get("batteries") or {}).get(resource_name) if row else None
    if row is None or battery is None:
        return None
    net = [d - c for d, c in zip(battery["discharge_kw"], battery["charge_kw"], strict=True)]
    return Base(row.id, row.start_ms, row.step_s * 1000, tuple(net))


async def record_action(
    *,
    session: AsyncSession,
    site_id: int,
    ts_ms: int,
    reason: str,
    grid_import_kw: float | None = None,
    battery_power_kw: float | None = None,
    soc_pct: float | None = None,
    setpoint_kw: float | None = None,
    base_kw: float | None = None,
    command_id: int | None = None,
    detail: str = "",
) -> None:
    session.add(
        PeakShavingAction(
            site_id=site_id,
            ts_ms=ts_ms,
            reason=reason,
            grid_import_kw=grid_import_kw,
            battery_power_kw=battery_power_kw,
            soc_pct=soc_pct,
            setpoint_kw=setpoint_kw,
            base_kw=base_kw,
            command_id=command_id,
            detail=detail[:500],
        )
    )


async def shaved_resources(*, session: AsyncSession, site_id: int) -> set[int]:
    """Battery resources of the site under enabled peak shaving (the MPC leaves them to it)."""
    found = await session.scalars(
        select(PeakShavingConfig.resource_id).where(
            PeakShavingConfig.site_id == site_id, PeakShavingConfig.enabled.is_(True)
        )
    )
    return set(found)
