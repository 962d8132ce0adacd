"""``/api/v1/reports``: report kinds, definitions (CRUD), runs now, runs listed, files downloaded.

Reads need READ, changes and runs CONFIGURE. A report is of a site, a device group or an energy
community: definitions, runs and files the caller may not see answer 404 (their existence is not
disclosed); a group of which it sees only some sites answers 403 ``group_out_of_scope``. See
docs/reports.md.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth.dependencies import Configurer, Reader
from gridpilot.core.dependencies import SettingsDep
from gridpilot.core.timestamps import iso, to_ms
from gridpilot.db.dependencies import SessionDep
from gridpilot.reports import delivery, service
from gridpilot.reports.models import ReportDefinition, ReportRun
from gridpilot.reports.schemas import (
    DefinitionCreate,
    DefinitionOut,
    DefinitionUpdate,
    FileOut,
    KindOut,
    RunOut,
    RunRequest,
)

router = APIRouter(prefix="/reports", tags=["reports"])

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
OptionalId = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="Items to skip")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Not found or not in scope"}}
REFUSED: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    403: {"description": "Role may not configure, or part of a group (group_out_of_scope)"},
    422: {
        "description": "Invalid (codes: unknown_report_kind, recipient_not_allowed, "
        "recipient_without_email, report_period_invalid, baseline_not_on_site, "
        "report_target_unsupported, report_timezone_required, dr_event_not_on_site, ...)"
    },
}


def definition_out(definition: ReportDefinition) -> DefinitionOut:
    return DefinitionOut(
        id=definition.id,
        site_id=definition.site_id,
        group_id=definition.group_id,
        community_id=definition.community_id,
        timezone=definition.timezone,
        name=definition.name,
        kind=definition.kind,
        params=definition.params,
        formats=definition.formats,
        schedule=definition.schedule,
        recipients=definition.recipients,
        enabled=definition.enabled,
        next_run=iso(definition.next_run_ms) if definition.next_run_ms is not None else None,
        created_by=definition.created_by,
        created_at=definition.created_at,
        updated_at=definition.updated_at,
    )


def run_out(run: ReportRun, files: list[Any], site_ids: list[int]) -> RunOut:
    return RunOut(
        id=run.id,
        definition_id=run.definition_id,
        site_id=run.site_id,
        group_id=run.group_id,
        community_id=run.community_id,
        site_ids=site_ids,
        kind=run.kind,
        start=iso(run.start_ms),
        end=iso(run.end_ms),
        hours=(run.end_ms - run.start_ms) / 3_600_000,
        trigger=run.trigger,
        status=run.status,
        error=run.error,
        delivery=run.delivery,
        created=iso(run.created_ms),
        finished=iso(run.finished_ms) if run.finished_ms is not None else None,
        duration_ms=run.duration_ms,
        created_by=run.created_by,
        files=[
            FileOut(
                format=fmt,
                filename=name,
                content_type=kind,
                size_bytes=size,
                sha256=digest,
                url=f"/api/v1/reports/runs/{run.id}/files/{fmt}",
            )
            for fmt, name, kind, size, digest in files
        ],
    )


@router.get("/kinds", summary="Report kinds with their parameters", response_model=list[KindOut])
async def list_kinds(principal: Reader) -> list[dict[str, Any]]:
    return service.kinds()


@router.get("/runs", summary="Report runs, newest first", responses=NOT_FOUND)
async def list_runs(
    principal: Reader,
    session: SessionDep,
    definition_id: OptionalId = None,
    site_id: OptionalId = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[RunOut]:
    runs = await service.list_runs(
        session=session,
        principal=principal,
        definition_id=definition_id,
        site_id=site_id,
        limit=limit,
        offset=offset,
    )
    ids = [r.id for r in runs]
    files = await service.run_files(session=session, run_ids=ids)
    sites = await service.run_site_ids(session=session, run_ids=ids)
    return [run_out(r, files[r.id], sites[r.id]) for r in runs]


@router.get("/runs/{run_id:int}", summary="A report run with its files", responses=NOT_FOUND)
async def get_run(run_id: Id, principal: Reader, session: SessionDep) -> RunOut:
    run = await service.get_run(session=session, principal=principal, run_id=run_id)
    return await _run_out(session, run)


async def _run_out(session: AsyncSession, run: ReportRun) -> RunOut:
    files = await service.run_files(session=session, run_ids=[run.id])
    sites = await service.run_site_ids(session=session, run_ids=[run.id])
    return run_out(run, files[run.id], sites[run.id])


@router.get(
    "/runs/{run_id:int}/files/{fmt}",
    summary="Download a run's file (PDF or CSV)",
    description="`inline=true` asks the browser to show it (the dashboard's preview).",
    responses={
        **NOT_FOUND,
        200: {
            "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                "text/csv": {"schema": {"type": "string"}},
            }
        },
    },
)
async def get_file(
    run_id: Id,
    fmt: Literal["pdf", "csv"],
    principal: Reader,
    session: SessionDep,
    inline: bool = False,
) -> Response:
    found = await service.get_file(session=session, principal=principal, run_id=run_id, fmt=fmt)
    disposition = "inline" if inline else "attachment"
    return Response(
        found.content,
        media_type=found.content_type,
        headers={
            "Content-Disposition": f'{disposition}; filename="{found.filename}"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get("", summary="Report definitions you may see")
async def list_definitions(
    principal: Reader,
    session: SessionDep,
    site_id: OptionalId = None,
    group_id: OptionalId = None,
    community_id: OptionalId = None,
) -> list[DefinitionOut]:
    found = await service.list_definitions(
        session=session,
        principal=principal,
        site_id=site_id,
        group_id=group_id,
        community_id=community_id,
    )
    return [definition_out(d) for d in found]


@router.post(
    "",
    status_code=201,
    summary="Create a report definition",
    description="Of exactly one of `site_id`, `group_id` (a device group: you must see every "
    "site of its members; `timezone` of its periods, default the one zone of those sites) or "
    "`community_id` (an energy community you administer); 422 otherwise.",
    responses=REFUSED,
)
async def create_definition(
    data: DefinitionCreate, principal: Configurer, session: SessionDep
) -> DefinitionOut:
    definition = await service.create_definition(session=session, principal=principal, data=data)
    return definition_out(definition)


@router.get("/{report_id:int}", summary="A report definition", responses=NOT_FOUND)
async def get_definition(report_id: Id, principal: Reader, session: SessionDep) -> DefinitionOut:
    definition = await service.get_definition(
        session=session, principal=principal, definition_id=report_id
    )
    return definition_out(definition)


@router.patch("/{report_id:int}", summary="Change a report definition", responses=REFUSED)
async def update_definition(
    report_id: Id, data: DefinitionUpdate, principal: Configurer, session: SessionDep
) -> DefinitionOut:
    definition = await service.update_definition(
        session=session, principal=principal, definition_id=report_id, data=data
    )
    return definition_out(definition)


@router.delete(
    "/{report_id:int}",
    status_code=204,
    summary="Delete a definition, its runs and files",
    responses=REFUSED,
)
async def delete_definition(report_id: Id, principal: Configurer, session: SessionDep) -> Response:
    await service.delete_definition(session=session, principal=principal, definition_id=report_id)
    return Response(status_code=204)


@router.post(
    "/{report_id:int}/run",
    status_code=201,
    summary="Run a report now",
    description="Builds and stores the files at once (a run whose data cannot be reported is "
    "stored with status `failed` and its reason); `deliver` e-mails them to the recipients.",
    responses=REFUSED,
)
async def run_definition(
    report_id: Id,
    principal: Configurer,
    session: SessionDep,
    settings: SettingsDep,
    data: RunRequest | None = None,
) -> RunOut:
    data = data or RunRequest()
    run = await service.run_now(
        session=session,
        principal=principal,
        definition_id=report_id,
        settings=settings,
        start_ms=to_ms(data.start) if data.start is not None else None,
        end_ms=to_ms(data.end) if data.end is not None else None,
    )
    if data.deliver and run.status == "done":
        definition = await service.get_definition(
            session=session, principal=principal, definition_id=report_id
        )
        await delivery.deliver(session=session, settings=settings, definition=definition, run=run)
    return await _run_out(session, run)
