"""HTTP routes of KPIs, tariff versions and a site's current demand (thin: see the services).

Reads need READ, new tariff versions CONFIGURE. Sites and assets outside the caller's scope
answer 404. Times are ISO-8601 (UTC when no offset) or epoch milliseconds.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from gridpilot.auth.dependencies import Configurer, Reader
from gridpilot.balance.dependencies import CacheDep
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.runtime import runtime_of
from gridpilot.core.timestamps import iso, parse_period, to_ms
from gridpilot.db.dependencies import SessionDep
from gridpilot.insights.kpis import tariffs
from gridpilot.insights.kpis.current import current_demand
from gridpilot.insights.kpis.models import TariffVersion
from gridpilot.insights.kpis.schemas import TariffCreate, TariffOut
from gridpilot.insights.kpis.service import compute_kpis
from gridpilot.telemetry.query_routes import parse_resolution

router = APIRouter(tags=["kpis"])

SiteId = Annotated[int, Path(ge=1, le=2**31 - 1)]
OptionalId = Annotated[int | None, Query(ge=1, le=2**31 - 1)]


def _parse_ids(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        ids = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValidationFailed("assets must be a comma-separated list of asset ids") from None
    if not ids or any(not 1 <= i <= 2**31 - 1 for i in ids):
        raise ValidationFailed("assets must be a comma-separated list of asset ids")
    return ids


@router.get(
    "/kpis",
    summary="KPIs of an asset, a site or a group of assets over a period",
    description=(
        "Energy, peak demand, load factor, SEC, cost (versioned time-of-use tariff), carbon, "
        "contract utilisation, capacity factor, specific yield, performance ratio, availability, "
        "self-consumption and self-sufficiency: every KPI that applies, each with its coverage "
        "(fraction of intervals with data). Give exactly one of asset, site or assets (comma-"
        "separated ids). `interval` is the demand interval (default 15m). See docs/kpis.md."
    ),
)
async def get_kpis(
    request: Request,
    principal: Reader,
    session: SessionDep,
    asset: OptionalId = None,
    site: OptionalId = None,
    assets: Annotated[str | None, Query(max_length=3000)] = None,
    start: str | None = None,
    end: str | None = None,
    interval: str = "15m",
) -> dict[str, Any]:
    ids = _parse_ids(assets)
    start_ms, end_ms = parse_period(start, end)
    step_ms = parse_resolution(interval)
    if step_ms is None:
        raise ValidationFailed("interval must be a duration such as 15m, 30m or 1h")
    return await compute_kpis(
        session=session,
        principal=principal,
        start_ms=start_ms,
        end_ms=end_ms,
        interval_ms=step_ms,
        max_gap_s=runtime_of(request.app).settings.energy_max_gap_s,
        asset_id=asset,
        site_id=site,
        asset_ids=ids,
    )


@router.get(
    "/sites/{site_id}/current",
    summary="Current demand of a site against its contract demand",
    description=(
        "The site's current energy balance [kW] (docs/site-energy.md): the newest reading of "
        "every power series of the site (readings older than `max_age_s`, or than two of the "
        "asset's `expected_interval_s` when longer, are stale and left out), solved like an "
        "interval: demand (consumption), generation, grid import and export, storage, net "
        "demand; contract utilisation [%] and headroom [kW] against the grid import. Answered "
        "from memory, kept current from the stored readings and re-read from the database "
        "every GRIDPILOT_BALANCE_REFRESH_S (10 s)."
    ),
)
async def get_current(
    site_id: SiteId,
    principal: Reader,
    session: SessionDep,
    cache: CacheDep,
    max_age_s: Annotated[float, Query(gt=0, le=86_400 * 7)] = 300.0,
) -> dict[str, Any]:
    return await current_demand(
        session=session,
        site_id=site_id,
        principal=principal,
        max_age_ms=int(max_age_s * 1000),
        cache=cache,
    )


def _out(version: TariffVersion, next_from: int | None) -> TariffOut:
    return TariffOut(
        id=version.id,
        site_id=version.site_id,
        valid_from=iso(version.valid_from_ms),
        valid_to=iso(next_from) if next_from is not None else None,
        definition=version.definition,
        created_by=version.created_by,
        created_at=version.created_at,
    )


@router.get(
    "/sites/{site_id}/tariffs",
    summary="Tariff versions of a site",
    description="Oldest first; each is valid from `valid_from` until the next one's start.",
)
async def list_tariffs(site_id: SiteId, principal: Reader, session: SessionDep) -> list[TariffOut]:
    versions = await tariffs.list_tariffs(session=session, site_id=site_id, principal=principal)
    ends: list[int | None] = [v.valid_from_ms for v in versions[1:]]
    return [_out(v, n) for v, n in zip(versions, [*ends, None], strict=False)]


@router.post(
    "/sites/{site_id}/tariffs",
    status_code=201,
    summary="Add a tariff version to a site",
    description=(
        "Append-only: `valid_from` must be after the newest version's and, unless "
        "`backdate` is true, not in the past, so costs already reported never change."
    ),
)
async def create_tariff(
    site_id: SiteId, data: TariffCreate, principal: Configurer, session: SessionDep
) -> TariffOut:
    version = await tariffs.create_tariff(
        session=session,
        site_id=site_id,
        principal=principal,
        valid_from_ms=to_ms(data.valid_from),
        definition=data.definition,
        backdate=data.backdate,
    )
    return _out(version, None)
