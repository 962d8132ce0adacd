"""Answers about an event's dispatch (the event detail's ``dispatch``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from gridpilot.core.timestamps import from_ms
from gridpilot.dr.models import DrDispatchPlan, DrDispatchStep
from gridpilot.dr.schemas import DrEventOut


class DispatchStepOut(BaseModel):
    """One command of the dispatch and its state."""

    id: int
    revision: int = Field(description="The plan's revision it belongs to (0: first plan)")
    phase: Literal["shed", "restore"]
    resource_id: int | None
    resource: str = Field(description="The flexible resource's name")
    resource_kind: str
    asset_id: int | None
    start: datetime = Field(description="From when the resource holds the reduction (UTC)")
    end: datetime
    reduction_kw: float = Field(description="Reduction held from `start` [kW]; 0: released")
    command_kind: str | None
    command_params: dict[str, Any]
    command_id: int | None = Field(description="The control service's command, once queued")
    state: str = Field(
        description="pending, the command's state (queued, sent, acknowledged, succeeded, "
        "failed, expired), timed_out (not acknowledged in time), skipped (a manual command "
        "wins, or none needed) or superseded (re-planned)"
    )
    detail: str | None
    sent: datetime | None


class DispatchOut(BaseModel):
    """How the event is dispatched: the plan and every command."""

    status: Literal["active", "restoring", "done", "no_resources"]
    revision: int = Field(
        description="Re-plans so far (a fallback after a failed command, or a measured shortfall)"
    )
    solver_status: str
    planned_kw: float = Field(description="Mean planned reduction over the event [kW]")
    shortfall_kw: float = Field(description="Largest part of the target not covered [kW]")
    boost_kw: float = Field(
        description="Planned on top of the target since a measured interval fell short [kW]"
    )
    cost_eur: Decimal = Field(description="Cost/discomfort of the plan [EUR], 2 decimals")
    pre_event_kw: float | None = Field(
        description="Site demand before the event [kW]: the restore stays at or below it"
    )
    excluded_resource_ids: list[int]
    notes: list[str]
    steps: list[DispatchStepOut]


class DrEventDetail(DrEventOut):
    """An event with its intervals, baseline record and dispatch (null: not dispatched)."""

    dispatch: DispatchOut | None = None


def dispatch_out(plan: DrDispatchPlan, steps: list[DrDispatchStep]) -> DispatchOut:
    return DispatchOut(
        status=plan.status, revision=plan.revision, solver_status=plan.solver_status,
        planned_kw=plan.planned_kw, shortfall_kw=plan.shortfall_kw, boost_kw=plan.boost_kw,
        cost_eur=Decimal(plan.cost_eur), pre_event_kw=plan.pre_event_kw,
        excluded_resource_ids=list(plan.excluded), notes=list(plan.notes),
        steps=[
            DispatchStepOut(
                id=s.id, revision=s.revision, phase=s.phase, resource_id=s.resource_id,
                resource=s.resource_name, resource_kind=s.resource_kind, asset_id=s.asset_id,
                start=from_ms(s.start_ms), end=from_ms(s.end_ms), reduction_kw=s.reduction_kw,
                command_kind=s.command_kind, command_params=dict(s.command_params),
                command_id=s.command_id, state=s.state, detail=s.detail,
                sent=from_ms(s.sent_ms) if s.sent_ms is not None else None,
            )
            for s in steps
        ],
    )  # fmt: skip
