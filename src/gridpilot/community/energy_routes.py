"""Hourly shared energy of a community: the seed's ``GET /api/energy/aggregations`` (envelope)
and ``GET /api/v1/communities/{id}/shared-energy`` (plain). Any role of the community may read
it: it is an aggregate."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, Path, Query
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth.dependencies import Reader
from gridpilot.auth.permissions import Principal
from gridpilot.community.access import community_access
from gridpilot.community.energy import Aggregation as Figures
from gridpilot.community.energy import aggregate
from gridpilot.community.schemas import (
    NOT_FOUND,
    Aggregation,
    Envelope,
    SharedHour,
    SubstationEnergy,
)
from gridpilot.community.seed_paths import both
from gridpilot.core.timestamps import from_ms, parse_period
from gridpilot.db.dependencies import SessionDep

router = APIRouter(tags=["community"])
seed_router = APIRouter(tags=["community"])

When = Annotated[str | None, Query(max_length=40, description="ISO-8601 or epoch ms")]


def _kwh(x: float) -> float | None:
    return None if np.isnan(x) else round(float(x), 6)


def _substation(figures: Figures, j: int) -> SubstationEnergy:
    shared = figures.shared
    name = shared.groups[j]
    complete = ~np.isnan(shared.shared_kwh[:, j])
    rows = [
        SharedHour(
            hour=hour.to_pydatetime(),
            injected_kwh=_kwh(shared.injected_kwh[i, j]) if complete[i] else None,
            withdrawn_kwh=_kwh(shared.withdrawn_kwh[i, j]) if complete[i] else None,
            shared_kwh=_kwh(shared.shared_kwh[i, j]),
        )
        for i, hour in enumerate(shared.hours)
    ]
    return SubstationEnergy(
        substation=name,
        pods=figures.pods_per_substation.get(name, 0),
        injected_kwh=round(float(shared.injected_kwh[complete, j].sum()), 6),
        withdrawn_kwh=round(float(shared.withdrawn_kwh[complete, j].sum()), 6),
        shared_kwh=round(shared.total_kwh(name), 6),
        coverage=round(shared.coverage[name], 6),
        missing_hours=[h.to_pydatetime() for h in shared.missing_hours[name]],
        hours=rows,
    )


async def shared_energy_of(
    session: AsyncSession,
    principal: Principal,
    community_id: int,
    start: str | None,
    end: str | None,
) -> Aggregation:
    """The community's hourly shared energy over ``[start, end)`` (default: the last day)."""
    access = await community_access(session, principal, community_id)
    start_ms, end_ms = parse_period(start, end)
    figures = await aggregate(session, access.community, start_ms, end_ms)
    return Aggregation(
        community_id=community_id,
        start=from_ms(figures.start_ms),
        end=from_ms(figures.end_ms),
        substations=[_substation(figures, j) for j in range(len(figures.shared.groups))],
    )


@both(
    seed_router.get,
    "/api/energy/aggregations",
    summary="Hourly shared energy per primary substation of a community",
    responses=NOT_FOUND,
)
async def aggregations(
    principal: Reader,
    session: SessionDep,
    community: Annotated[int, Query(ge=1, le=2**31 - 1, description="Community id")],
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
) -> Envelope[Aggregation]:
    """``from``/``to``: ISO-8601 or epoch ms, widened to whole UTC hours (at most 366 days;
    default the last 24 h). Missing hours are listed and have no shared energy."""
    return Envelope(data=await shared_energy_of(session, principal, community, start, end))


@router.get(
    "/communities/{community_id}/shared-energy",
    summary="Hourly shared energy per primary substation of a community",
)
async def shared_energy(
    community_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    principal: Reader,
    session: SessionDep,
    start: When = None,
    end: When = None,
) -> Aggregation:
    """As ``GET /api/energy/aggregations``, without the envelope."""
    return await shared_energy_of(session, principal, community_id, start, end)
