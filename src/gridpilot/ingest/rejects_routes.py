"""``GET /api/v1/ingest/rejects``: the dead-letter list of ingestion (operator and above)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from gridpilot.auth.dependencies import require
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.timestamps import from_ms, to_ms
from gridpilot.db.dependencies import SessionDep
from gridpilot.ingest.rejects import list_rejects

router = APIRouter(tags=["ingest"])
IngestAdmin = Annotated[Principal, Depends(require(Permission.INGEST_ADMIN))]

DESCRIPTION = """
Messages and readings that ingestion could not store (the dead-letter list), newest first:
undecodable or unknown MQTT messages, readings rejected by validation, status or ack messages
the control domain refused. Each has the channel (`mqtt`...), topic, the first 500 characters
of the payload and the reason.

Filters: `since` (ISO-8601 or epoch ms, on the receive time), `channel`, `asset` (asset id),
`site` (site id). Paginated with `limit`/`offset`; `total` counts every match.

Site-scoped users see only rejects attributed to their sites (through the resolved asset);
rejects that name no known asset are visible to unrestricted users only.
"""


class RejectOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    received_at: datetime
    channel: str
    topic: str | None
    asset_id: int | None
    site_id: int | None
    payload_excerpt: str
    reason: str


class RejectPage(BaseModel):
    items: list[RejectOut]
    total: int = Field(description="Rejects matching the filters (all pages)")
    limit: int
    offset: int


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return from_ms(to_ms(value))
    except (ValueError, ValidationFailed, OverflowError, OSError):
        raise ValidationFailed(
            f"since must be ISO-8601 or epoch milliseconds, not {value[:40]!r}"
        ) from None


@router.get(
    "/ingest/rejects",
    summary="List ingestion dead letters (rejected messages and readings)",
    description=DESCRIPTION,
)
async def get_rejects(
    principal: IngestAdmin,
    session: SessionDep,
    since: Annotated[str | None, Query(max_length=40, description="ISO-8601 or epoch ms")] = None,
    channel: Annotated[Literal["mqtt", "http", "import"] | None, Query()] = None,
    asset: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Asset id")] = None,
    site: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Site id")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> RejectPage:
    rows, total = await list_rejects(
        session=session,
        principal=principal,
        since=_since(since),
        channel=channel,
        asset_id=asset,
        site_id=site,
        limit=limit,
        offset=offset,
    )
    return RejectPage(
        items=[RejectOut.model_validate(r) for r in rows], total=total, limit=limit, offset=offset
    )
