"""Dispatch the step of a schedule that holds now as device commands (``control`` service).

Only resources with ``auto_dispatch`` and a linked asset are dispatched: a battery gets
``discharge`` (``min_soc_pct`` its floor) or ``charge`` (``target_soc_pct`` its ceiling) at the
planned power, an EV charger ``charge``; each command lasts until the end of the step
(``duration_s``), so an idle step needs no command. PV curtailment gets ``set_power_limit``
with the PV power the plan keeps (forecast minus curtailed: the site's PV through its linked
inverter) while the plan curtails, and ``limit_kw: null`` in the first step without
curtailment after one. Deferrable loads are not dispatched: a re-plan cannot see what a load
already took in a window under way (``planning.py`` leaves such a window out), so it would
stop a started load after one step. The idempotency key is the resource and the step's start, so
re-planning within one quarter hour never sends a second command for it.
A manual command wins until it expires: while a command not sent by gridpilot's flexibility
(the MPC or peak shaving) is open (queued, sent, acknowledged) and not expired, or succeeded
with a ``duration_s`` still running, the asset is left alone. A battery under enabled peak
shaving is not dispatched here: the peak-shaving runtime follows the schedule's step for it
(``shaving_runtime.py``). The control service acknowledges, expires and publishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.service import get_asset
from gridpilot.auth.permissions import Principal, Role
from gridpilot.control.events import CommandChange
from gridpilot.control.models import Command
from gridpilot.control.service import OPEN_STATES, SUCCEEDED, list_commands, queue_command
from gridpilot.core.errors import Conflict, GridpilotError
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import to_ms
from gridpilot.flex.schedule_schemas import ScheduleOut
from gridpilot.flex.schemas import (
    BatteryParams,
    EVChargerParams,
    PvCurtailmentParams,
    ResourceOut,
)
from gridpilot.flex.shaving_store import shaved_resources

#: The principal the MPC loop plans and sends commands as.
FLEX = Principal(subject="system:flex", name="gridpilot flexibility", role=Role.ADMINISTRATOR)
#: The principal the peak-shaving runtime sends commands as.
SHAVING = Principal(
    subject="system:peak-shaving", name="gridpilot peak shaving", role=Role.ADMINISTRATOR
)
#: Senders whose commands are gridpilot's own, not manual.
AUTOMATIC = frozenset({FLEX.subject, SHAVING.subject})
#: Below this the plan is idle for a resource [kW].
IDLE_KW = 0.01


@dataclass(frozen=True)
class Dispatched:
    """What happened to one resource: a command, or why none (``skipped``)."""

    resource: str
    asset_id: int
    kind: str | None = None
    power_kw: float = 0.0
    command_id: int | None = None
    skipped: str | None = None


async def manual_override(*, session: AsyncSession, asset_id: int, now_ms: int) -> int | None:
    """The id of a manual command still in force on the asset, else None."""
    commands = await list_commands(
        session=session, asset_id=asset_id, states=[*OPEN_STATES, SUCCEEDED], limit=50
    )
    for command in commands:
        if command.created_by in AUTOMATIC:
            continue
        if command.state in OPEN_STATES and command.expires_ms > now_ms:
            return command.id
        duration_s = command.params.get("duration_s")
        running = duration_s and command.created_ms + int(duration_s) * 1000 > now_ms
        if command.state == SUCCEEDED and running:
            return command.id
    return None


def _command(r: ResourceOut, schedule: ScheduleOut) -> tuple[str, dict[str, Any]] | None:
    """The command kind and params of the first step for ``r`` (None: idle)."""
    step = schedule.steps[0]
    if isinstance(r.params, BatteryParams):
        battery = step.batteries.get(r.name)
        if battery is None:
            return None
        if battery.discharge_kw >= IDLE_KW:
            power = {"power_kw": round(battery.discharge_kw, 3)}
            return "discharge", {**power, "min_soc_pct": r.params.soc_min_pct}
        if battery.charge_kw >= IDLE_KW:
            power = {"power_kw": round(battery.charge_kw, 3)}
            return "charge", {**power, "target_soc_pct": r.params.soc_max_pct}
        return None
    if isinstance(r.params, EVChargerParams):
        power_kw = step.ev_kw.get(r.name, 0.0)
        return ("charge", {"power_kw": round(power_kw, 3)}) if power_kw >= IDLE_KW else None
    return None


def _switched(r: ResourceOut, schedule: ScheduleOut) -> tuple[str, dict[str, Any]] | None:
    """The command of the first step for PV curtailment while the plan curtails
    (``set_power_limit`` to the PV kept), else None."""
    step = schedule.steps[0]
    if isinstance(r.params, PvCurtailmentParams) and step.pv_curtailed_kw >= IDLE_KW:
        kept = max(0.0, step.pv_kw - step.pv_curtailed_kw)
        return "set_power_limit", {"limit_kw": round(kept, 3)}
    return None


#: What lifts the power limit curtailment set.
LIFT: tuple[str, dict[str, Any]] = ("set_power_limit", {"limit_kw": None})


async def _holding(session: AsyncSession, asset_id: int) -> Command | None:
    """The newest automatic power limit on the asset while it still holds (a limit with a
    value, queued or carried out); None when gridpilot lifted it already."""
    commands = await list_commands(
        session=session, asset_id=asset_id, states=[*OPEN_STATES, SUCCEEDED], limit=20
    )
    for command in commands:  # newest first
        if command.created_by not in AUTOMATIC or command.kind != LIFT[0]:
            continue
        return command if command.params.get("limit_kw") is not None else None
    return None


async def _planned(
    session: AsyncSession, r: ResourceOut, schedule: ScheduleOut
) -> tuple[str, dict[str, Any]] | str | None:
    """The command for ``r`` in the first step: timed set points of storage, PV's power limit
    or what lifts the one gridpilot set before; a reason when the command in force already is
    the plan's; None: nothing to do."""
    if isinstance(r.params, BatteryParams | EVChargerParams):
        return _command(r, schedule)
    if r.asset_id is None or not isinstance(r.params, PvCurtailmentParams):
        return None
    switched = _switched(r, schedule)
    holding = await _holding(session, r.asset_id)
    if holding is not None and switched == (holding.kind, holding.params):
        return f"command {holding.id} in force"
    if switched is None and holding is not None:
        return LIFT
    return switched


async def dispatch_first_step(
    *,
    session: AsyncSession,
    schedule: ScheduleOut,
    resources: list[ResourceOut],
    settings: Settings,
    now_ms: int,
) -> tuple[list[Dispatched], list[CommandChange]]:
    """Queue the commands of the schedule's first step; publish the changes after commit."""
    step_start = to_ms(schedule.steps[0].ts)
    step_end = step_start + schedule.step_s * 1000
    done: list[Dispatched] = []
    changes: list[CommandChange] = []
    shaved = await shaved_resources(session=session, site_id=schedule.site_id)
    for r in resources:
        if not (r.auto_dispatch and r.enabled and r.asset_id is not None):
            continue
        if r.id in shaved:
            done.append(Dispatched(r.name, r.asset_id, skipped="dispatched by peak shaving"))
            continue
        override = await manual_override(session=session, asset_id=r.asset_id, now_ms=now_ms)
        if override is not None:
            done.append(Dispatched(r.name, r.asset_id, skipped=f"manual command {override}"))
            continue
        planned = await _planned(session, r, schedule)
        if planned is None or isinstance(planned, str):
            done.append(Dispatched(r.name, r.asset_id, skipped=planned or "idle"))
            continue
        kind, params = planned
        if kind in ("charge", "discharge"):  # set points of storage last until the step ends
            params["duration_s"] = max(1, (step_end - now_ms) // 1000)
        try:
            asset = await get_asset(session=session, asset_id=r.asset_id, principal=FLEX)
            command, change = await queue_command(
                session=session, asset=asset, principal=FLEX, kind=kind, params=params,
                settings=settings, idempotency_key=f"flex-{r.id}-{step_start}",
            )  # fmt: skip
        except Conflict:  # re-planned within the step: its command went out already
            done.append(Dispatched(r.name, r.asset_id, kind, skipped="sent earlier this step"))
            continue
        except GridpilotError as exc:  # a rate limit, an asset that cannot take the command
            done.append(Dispatched(r.name, r.asset_id, kind, skipped=exc.message))
            continue
        if change is not None:
            changes.append(change)
        power = params.get("power_kw", params.get("limit_kw")) or 0.0
        done.append(Dispatched(r.name, r.asset_id, kind, power, command.id))
    return done, changes
