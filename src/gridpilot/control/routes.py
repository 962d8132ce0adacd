"""HTTP routes of asset status and device commands (thin: see ``status`` and ``service``).

Status reads need READ; sending commands COMMANDS_SEND (operator+). Other sites' assets and
commands answer 404. ``command.updated`` is published once the transaction committed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from gridpilot.assets import service as assets_service
from gridpilot.assets.models import Asset
from gridpilot.auth.dependencies import Reader, require
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.control import bulk, service, status
from gridpilot.control.events import CommandChange, publish_command_changes
from gridpilot.control.kinds import validate_params
from gridpilot.control.machine_status import alert_levels_of, machine_facts
from gridpilot.control.schemas import (
    AssetStatusOut,
    BulkCommandIn,
    BulkRejection,
    BulkResult,
    CommandDetail,
    CommandIn,
    CommandOut,
    SiteStatusOut,
    TransitionOut,
)
from gridpilot.control.tasks import CONTROL, status_policy
from gridpilot.core.dependencies import BusDep, SettingsDep
from gridpilot.core.errors import Conflict, NotFound, RateLimited, ValidationFailed
from gridpilot.core.runtime import runtime_of
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import now_ms
from gridpilot.db.dependencies import SessionDep
from gridpilot.groups import service as groups_service

router = APIRouter()

CommandSender = Annotated[Principal, Depends(require(Permission.COMMANDS_SEND))]
DbId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="Items to skip")]


def _tracked(request: Request) -> Callable[[int], int | None]:
    runtime = runtime_of(request.app).get(CONTROL)
    return runtime.tracker.last_seen if runtime is not None else (lambda _asset_id: None)


# --- status ------------------------------------------------------------------------------------

STATUS_DESCRIPTION = """`online` / `offline` / `unknown` with the newest sign of life
(`last_seen_ms`). Offline when the device's MQTT Last Will said so and nothing arrived since
(`reason: lwt`), or when nothing arrived for `stale_after_s` = factor x the asset's
`expected_interval_s` (`stale`). Online after fresh data (`data`) or a birth message (`birth`).
A machine's status also carries its total operating hours (`operating_hours_total` [h], the
newest reading of its `operating_hours` register) and its current `alert_level` (`normal`,
`warning`, `critical`: the highest severity among its open alerts)."""


@router.get(
    "/assets/{asset_id}/status",
    tags=["control"],
    summary="Online/offline status and last-seen time of an asset",
    description=STATUS_DESCRIPTION,
)
async def asset_status(
    asset_id: DbId, principal: Reader, session: SessionDep, settings: SettingsDep, request: Request
) -> AssetStatusOut:
    asset = await assets_service.get_asset(session=session, asset_id=asset_id, principal=principal)
    views = await status.read_statuses(
        session=session,
        assets=[(asset.id, asset.site_id, asset.expected_interval_s)],
        tracked=_tracked(request),
        policy=status_policy(settings),
        now_ms=now_ms(),
    )
    facts = await machine_facts(
        session=session, asset_ids=[asset.id], levels=alert_levels_of(request.app)
    )
    return AssetStatusOut.of(views[0], facts[asset.id])


@router.get(
    "/sites/{site_id}/status",
    tags=["control"],
    summary="Status of every asset of a site, with counts",
    description=STATUS_DESCRIPTION,
)
async def site_status(
    site_id: DbId, principal: Reader, session: SessionDep, settings: SettingsDep, request: Request
) -> SiteStatusOut:
    await assets_service.get_site(session=session, site_id=site_id, principal=principal)
    assets = await assets_service.list_assets(
        session=session, principal=principal, site_id=site_id, limit=100_000
    )
    views = await status.read_statuses(
        session=session,
        assets=[(a.id, a.site_id, a.expected_interval_s) for a in assets],
        tracked=_tracked(request),
        policy=status_policy(settings),
        now_ms=now_ms(),
    )
    counts = {s: sum(1 for v in views if v.status == s) for s in ("online", "offline", "unknown")}
    facts = await machine_facts(
        session=session, asset_ids=[a.id for a in assets], levels=alert_levels_of(request.app)
    )
    outs = [AssetStatusOut.of(v, facts[v.asset_id]) for v in views]
    return SiteStatusOut(site_id=site_id, assets=outs, **counts)


# --- commands ----------------------------------------------------------------------------------

COMMAND_DESCRIPTION = """Queue a command for the device; it is published on the asset's MQTT
`.../commands` topic (QoS 1) once the asset is online, and moves queued -> sent ->
acknowledged -> succeeded | failed | expired (at `ttl_s`). Kinds and params (units in names):
`set_power_limit {limit_kw}`, `start {}`, `stop {}`, `setpoint {exactly one of temperature_c,
power_kw, soc_pct, humidity_pct, pressure_bar, flow_m3h}`, `charge {power_kw, target_soc_pct?,
duration_s?}`, `discharge {power_kw, min_soc_pct?, duration_s?}`.
**201** queued; **200** the same `idempotency_key` was used before (the earlier command);
**409** that key was used with another kind/params; **429** the device's command rate limit."""


async def _queue(
    session: SessionDep,
    asset: Asset,
    principal: Principal,
    data: CommandIn,
    key: str,
    settings: Settings,
) -> tuple[CommandOut, CommandChange | None]:
    command, change = await service.queue_command(
        session=session,
        asset=asset,
        principal=principal,
        kind=data.kind,
        params=data.params,
        settings=settings,
        ttl_s=data.ttl_s,
        idempotency_key=key,
    )
    return CommandOut.of(command), change


@router.post(
    "/assets/{asset_id}/commands",
    tags=["control"],
    status_code=201,
    summary="Send a command to a device",
    description=COMMAND_DESCRIPTION,
    responses={200: {"model": CommandOut, "description": "Known idempotency key"}},
)
async def send_command(
    asset_id: DbId,
    data: CommandIn,
    principal: CommandSender,
    session: SessionDep,
    settings: SettingsDep,
    bus: BusDep,
    background: BackgroundTasks,
) -> JSONResponse:
    asset = await assets_service.get_asset(session=session, asset_id=asset_id, principal=principal)
    validate_params(data.kind, data.params)  # 422 before any other check
    key = data.idempotency_key or service.new_idempotency_key()
    out, change = await _queue(session, asset, principal, data, key, settings)
    if change is not None:
        background.add_task(publish_command_changes, bus, [change])
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if change else 200)


BULK_DESCRIPTION = """The command for every asset of `asset_ids`, of `site_id` (optionally
only `asset_kinds`), or of the device group `group_id` (its members now; 403
`group_out_of_scope` when the group reaches sites you may not see). One idempotency key covers
them all (generated when absent). Per asset the command is queued, returned again (known key)
or rejected with a reason (rate limit, unsuitable asset). **201** all queued or known; **200**
all known; **207** some rejected; **422**/**429** all rejected; **409** `conflict` when the key
was used before for another command of one of the assets (nothing is queued). Assets you may
not see: 404. All the commands are queued in one transaction (two multi-row inserts), whatever
the number of devices.

"""


async def _bulk_targets(
    session: SessionDep, principal: Principal, data: BulkCommandIn
) -> list[Asset]:
    if data.group_id is not None:
        assets = await groups_service.target_assets(
            session=session, principal=principal, group_id=data.group_id
        )
        if not assets:
            raise ValidationFailed(f"group {data.group_id} has no members")
        return assets
    if data.site_id is not None:
        await assets_service.get_site(session=session, site_id=data.site_id, principal=principal)
        assets = await assets_service.list_assets(
            session=session,
            principal=principal,
            site_id=data.site_id,
            kinds=data.asset_kinds,
            limit=100_000,
        )
        if not assets:
            raise ValidationFailed(f"site {data.site_id} has no matching assets")
        return assets
    return await bulk.visible_assets(
        session=session, principal=principal, asset_ids=data.asset_ids or []
    )


@router.post(
    "/commands",
    tags=["control"],
    status_code=201,
    summary="Send one command to a group of devices",
    description=BULK_DESCRIPTION + COMMAND_DESCRIPTION,
    response_model=BulkResult,
    responses={207: {"model": BulkResult}, 422: {"model": BulkResult}},
)
async def send_bulk_command(
    data: BulkCommandIn,
    principal: CommandSender,
    session: SessionDep,
    settings: SettingsDep,
    bus: BusDep,
    background: BackgroundTasks,
) -> JSONResponse:
    params = validate_params(data.kind, data.params)
    ttl_s = service.command_ttl_s(data.ttl_s, settings)
    assets = await _bulk_targets(session, principal, data)
    order = bulk.BulkOrder(
        principal=principal, kind=data.kind, params=params, ttl_s=ttl_s,
        idempotency_key=data.idempotency_key or service.new_idempotency_key(),
        rate_limit_per_min=settings.command_rate_limit_per_min,
    )  # fmt: skip
    for attempt in range(2):  # a concurrent request with the same key: plan again, once
        now = now_ms()
        answers = await bulk.plan_many(session=session, assets=assets, order=order, now_ms=now)
        conflict = next((a for a in answers if a.error == Conflict.code), None)
        if conflict is not None:  # before anything is written
            raise Conflict(conflict.message or "idempotency key used before")
        try:
            changes = await bulk.insert_planned(session=session, answers=answers, now_ms=now)
            break
        except IntegrityError:
            if attempt:
                raise
    commands = [CommandOut.of(a.command) for a in answers if a.command is not None]
    rejected = [
        BulkRejection(asset_id=a.asset.id, error=a.error, message=a.message or a.error)
        for a in answers
        if a.command is None and a.error is not None
    ]
    if changes:
        background.add_task(publish_command_changes, bus, changes)
    result = BulkResult(
        created=len(changes), existing=len(commands) - len(changes), commands=commands,
        rejected=rejected,
    )  # fmt: skip
    return JSONResponse(result.model_dump(mode="json"), status_code=_bulk_status(result))


def _bulk_status(result: BulkResult) -> int:
    if not result.rejected:
        return 201 if result.created else 200
    if result.commands:
        return 207
    limited = all(r.error == RateLimited.code for r in result.rejected)
    return 429 if limited else 422


@router.get(
    "/assets/{asset_id}/commands",
    tags=["control"],
    summary="Command history of an asset (newest first)",
)
async def list_asset_commands(
    asset_id: DbId,
    principal: Reader,
    session: SessionDep,
    state: Annotated[
        list[str] | None, Query(description="Only these states (repeatable)", max_length=6)
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[CommandOut]:
    await assets_service.get_asset(session=session, asset_id=asset_id, principal=principal)
    unknown = sorted(set(state or ()) - set(service.STATES))
    if unknown:
        raise ValidationFailed(f"unknown state(s) {unknown}; known: {', '.join(service.STATES)}")
    commands = await service.list_commands(
        session=session, asset_id=asset_id, states=state, limit=limit, offset=offset
    )
    return [CommandOut.of(c) for c in commands]


@router.get(
    "/commands/{command_id}",
    tags=["control"],
    summary="A command with its state history",
)
async def get_command(command_id: DbId, principal: Reader, session: SessionDep) -> CommandDetail:
    command = await service.get_command(session=session, command_id=command_id, principal=principal)
    try:  # a device key sees only its own asset's commands
        await assets_service.get_asset(
            session=session, asset_id=command.asset_id, principal=principal
        )
    except NotFound:
        raise NotFound(f"command {command_id} not found") from None
    transitions = await service.transitions_of(session=session, command_id=command_id)
    return CommandDetail(
        **CommandOut.of(command).model_dump(),
        transitions=[TransitionOut.model_validate(t, from_attributes=True) for t in transitions],
    )
