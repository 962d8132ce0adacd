"""``GET /api/v1/audit``: the security audit trail, for administrators of every site."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict

from gridpilot.auth import audit
from gridpilot.auth.dependencies import require
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.core.errors import ValidationFailed
from gridpilot.db.dependencies import SessionDep

router = APIRouter(prefix="/audit", tags=["auth"])

AuditReader = Annotated[Principal, Depends(require(Permission.SYSTEM_ADMIN))]


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: dt.datetime
    actor: str
    actor_name: str | None
    action: str
    target: str | None
    outcome: str
    client: str | None
    detail: dict[str, Any] | None


def _aware(value: str | None, name: str) -> dt.datetime | None:
    """The ISO-8601 query time with its offset (422 without one, or for anything else)."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise ValidationFailed(
            f"{name} must be a date and time with a UTC offset (e.g. 2026-12-04T21:00:00Z)"
        )
    return parsed


@router.get(
    "",
    response_model=list[AuditEventOut],
    summary="Security audit trail (administrators of every site)",
    responses={200: {"headers": {"X-Total-Count": {"description": "events matching"}}}},
)
async def list_audit_events(
    principal: AuditReader,
    session: SessionDep,
    response: Response,
    actor: Annotated[str | None, Query(max_length=200, description="user:ID, key:ID, cli")] = None,
    action: Annotated[
        str | None, Query(max_length=60, description="an action code, or a prefix like auth.*")
    ] = None,
    target: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[
        str | None, Query(max_length=40, description="from (inclusive), ISO 8601 with offset")
    ] = None,
    until: Annotated[
        str | None, Query(max_length=40, description="to (exclusive), ISO 8601 with offset")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> list[AuditEventOut]:
    """Newest first; times are UTC (ISO 8601 with offset). ``X-Total-Count`` gives how many
    events match the filters in all. Nothing secret is recorded (docs/security.md)."""
    events, total = await audit.list_events(
        session=session,
        actor=actor,
        action=action,
        target=target,
        since=_aware(since, "since"),
        until=_aware(until, "until"),
        limit=limit,
        offset=offset,
    )
    response.headers["X-Total-Count"] = str(total)
    return [AuditEventOut.model_validate(e) for e in events]
