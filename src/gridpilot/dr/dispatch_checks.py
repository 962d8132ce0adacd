"""Watching a dispatch: the state of each step's command, acknowledgement timeouts, the
manual-command rule, and the alerts (manual intervention, under target).

Alerts are the alerts domain's rule-less system alerts (``alerts.system``): kind
``dr_manual_intervention`` (critical, one per failed step, naming the command) and
``dr_under_target`` (warning, once per event).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.alerts.models import Alert
from gridpilot.alerts.system import raise_system_alert
from gridpilot.assets.service import get_site
from gridpilot.control.service import (
    ACKNOWLEDGED,
    EXPIRED,
    FAILED,
    OPEN_STATES,
    QUEUED,
    SENT,
    SUCCEEDED,
    get_command,
    list_commands,
)
from gridpilot.core.timestamps import from_ms
from gridpilot.dr.command_text import command_text, outcome_text
from gridpilot.dr.models import DrDispatchPlan, DrDispatchStep, DrEvent
from gridpilot.dr.service import SYSTEM, intervals

#: A sent command not acknowledged within this time counts as failed [s].
ACK_TIMEOUT_S = 60
#: Step states whose command is in force or on its way.
LIVE = (QUEUED, SENT, ACKNOWLEDGED, SUCCEEDED)
#: Step states whose reduction the restore releases (a command not acknowledged in time may
#: still have been carried out: releasing it is harmless).
HELD = (*LIVE, "timed_out")
#: Commands of these subjects are the automation's own, not manual ones.
AUTOMATION = frozenset({SYSTEM.subject, "system:flex"})


async def steps_of(*, session: AsyncSession, plan_id: int) -> list[DrDispatchStep]:
    """The plan's steps by start time."""
    query = select(DrDispatchStep).where(DrDispatchStep.plan_id == plan_id)
    order = (DrDispatchStep.start_ms, DrDispatchStep.id)
    return list((await session.scalars(query.order_by(*order))).all())


async def manual_command(*, session: AsyncSession, asset_id: int, now_ms: int) -> int | None:
    """The id of a manual command in force on the asset: open and not expired, or succeeded
    with a ``duration_s`` still running (as ``flex.dispatch`` decides); else None."""
    commands = await list_commands(
        session=session, asset_id=asset_id, states=[*OPEN_STATES, SUCCEEDED], limit=50
    )
    for command in commands:
        if command.created_by in AUTOMATION:
            continue
        if command.state in OPEN_STATES and command.expires_ms > now_ms:
            return command.id
        duration_s = command.params.get("duration_s")
        if command.state == SUCCEEDED and (
            duration_s and command.created_ms + int(duration_s) * 1000 > now_ms
        ):
            return command.id
    return None


async def check_sent(
    *, session: AsyncSession, plan: DrDispatchPlan, now_ms: int, ack_timeout_s: int = ACK_TIMEOUT_S
) -> list[DrDispatchStep]:
    """Update the steps whose command is open from the control service; the steps that
    failed now (command failed or expired, or not acknowledged within ``ack_timeout_s``)."""
    failed: list[DrDispatchStep] = []
    for step in await steps_of(session=session, plan_id=plan.id):
        if step.command_id is None or step.state not in (QUEUED, SENT, ACKNOWLEDGED):
            continue
        command = await get_command(session=session, command_id=step.command_id, principal=SYSTEM)
        step.state = command.state
        if command.state in (FAILED, EXPIRED):
            step.detail = (command.detail or f"command {command.state}")[:500]
            failed.append(step)
        elif command.state in (QUEUED, SENT) and (
            step.sent_ms is not None and now_ms - step.sent_ms >= ack_timeout_s * 1000
        ):
            step.state = "timed_out"
            step.detail = f"timed out after {ack_timeout_s} s without an acknowledgement"
            failed.append(step)
    await session.flush()
    return failed


async def alert_failed(
    *, session: AsyncSession, event: DrEvent, steps: list[DrDispatchStep]
) -> list[Alert]:
    """A manual-intervention alert per failed step, naming its command."""
    raised: list[Alert] = []
    for step in steps:
        what = f"command {step.command_id}" if step.command_id else "a command"
        command = command_text(step.command_kind, step.command_params)
        outcome = outcome_text(step.state, step.detail)
        alert = await raise_system_alert(
            session=session, kind="dr_manual_intervention", subject=f"dr-step:{step.id}",
            site_id=event.site_id, asset_id=step.asset_id, severity="critical",
            title=f"DR event {event.id}: manual intervention on {step.resource_name}",
            message=(
                f"{what} ({command}) to {step.resource_name} for demand-response event "
                f"{event.id}: {outcome}. Carry it out by hand or check the device; the dispatch "
                "moved to the next resources."
                if step.phase == "shed" else
                f"{what} ({command}) releasing {step.resource_name} after event {event.id}: "
                f"{outcome}. Restore the device by hand."
            ),
            detail={
                "event_id": event.id, "step_id": step.id, "command_id": step.command_id,
                "command_kind": step.command_kind, "command_params": step.command_params,
                "resource": step.resource_name, "phase": step.phase, "state": step.state,
            },
        )  # fmt: skip
        if alert is not None:
            raised.append(alert)
    return raised


async def under_target(
    *, session: AsyncSession, event: DrEvent, plan: DrDispatchPlan
) -> list[Alert]:
    """The under-target alert, once per event: the newest measured interval's reduction is
    below the target x ``pass_pct`` / 100."""
    if plan.under_target_alerted:
        return []
    rows = await intervals(session=session, event_id=event.id)
    measured = [r for r in rows if r.reduction_kw is not None]
    if not measured:
        return []
    last = measured[-1]
    needed = event.target_reduction_kw * event.pass_pct / 100
    if last.reduction_kw is None or last.reduction_kw >= needed:
        return []
    site = await get_site(session=session, site_id=event.site_id, principal=SYSTEM)
    local = from_ms(last.ts_ms).astimezone(ZoneInfo(site.timezone)).strftime("%H:%M")
    alert = await raise_system_alert(
        session=session, kind="dr_under_target", subject=f"dr-event:{event.id}",
        site_id=event.site_id, asset_id=None, severity="warning",
        title=f"DR event {event.id} under target",
        message=(
            f"reduction {last.reduction_kw:.1f} kW in the interval from {local} ({site.timezone})"
            f", target {event.target_reduction_kw:.1f} kW; planned {plan.planned_kw:.1f} kW"
        ),
        value=last.reduction_kw,
        detail={"event_id": event.id, "interval": from_ms(last.ts_ms).isoformat(),
                "reduction_kw": last.reduction_kw, "target_kw": event.target_reduction_kw},
    )  # fmt: skip
    plan.under_target_alerted = True
    return [alert] if alert is not None else []


async def finished(*, session: AsyncSession, plan: DrDispatchPlan) -> bool:
    """Whether nothing of the plan is left to send or to wait for."""
    steps = await steps_of(session=session, plan_id=plan.id)
    return all(s.state not in ("pending", QUEUED, SENT) for s in steps)
