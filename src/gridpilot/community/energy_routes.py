"""Hourly shared energy of a community: the seed's ``GET /api/energy/aggregations`` (envelope)
and ``GET /api/v1/communities/{id}/shared-energy`` (plain). Any role of the community may read
it: it is an aggregate."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Path, Query
from pydantic import TypeAdapter
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


#: The hours validated in one call (a year is 8,760 per substation: one model each was 0.8 s).
HOURS = TypeAdapter(list[SharedHour])


def _rounded(values: np.ndarray, keep: np.ndarray) -> list[float | None]:
    """``round(x, 6)`` of each value where ``keep`` and not NaN, else None."""
    return [
        round(x, 6) if k and x == x else None
        for x, k in zip(values.tolist(), keep.tolist(), strict=True)
    ]


def _substation(figures: Figures, j: int, hours: list[datetime]) -> SubstationEnergy:
    """One substation's figures; ``hours``: the UTC hour starts as datetimes."""
    shared = figures.shared
    name = shared.groups[j]
    complete = ~np.isnan(shared.shared_kwh[:, j])
    every = np.ones(len(hours), dtype=bool)
    columns = (
        _rounded(shared.injected_kwh[:, j], complete),
        _rounded(shared.withdrawn_kwh[:, j], complete),
        _rounded(shared.shared_kwh[:, j], every),
    )
    rows = HOURS.validate_python(
        [
            {"hour": hour, "injected_kwh": i, "withdrawn_kwh": w, "shared_kwh": e}
            for hour, i, w, e in zip(hours, *columns, strict=True)
        ]
    )
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
    hours = list(figures.shared.hours.to_pydatetime())
    return Aggregation(
        community_id=community_id,
        start=from_ms(figures.start_ms),
        end=from_ms(figures.end_ms),
        substations=[_substation(figures, j, hours) for j in range(len(figures.shared.groups))],
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
