"""The security audit trail: who did what to what, how it ended, from where, when.

``record`` adds a row to the caller's session, so it commits (or rolls back) with the action it
describes. ``record_failure`` (a refused log-in, a lock-out) and ``failures_recorded`` (an
administrator's action) roll the failed action back and commit the failure's row on its own.

Rows never hold secrets: ``detail`` takes only the keys in ``DETAIL_KEYS`` (role, sites, reason,
channel...), never passwords, tokens, keys or TOTP codes. Action codes are stable (``ACTIONS``;
docs/security.md lists them). The client address comes from the request
(``auth.dependencies.get_principal`` and the token endpoint set ``client_var``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gridpilot.auth.models import AuditEvent
from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import GridpilotError
from gridpilot.core.logging import request_id_var, user_id_var
from gridpilot.core.periodic import Periodic
from gridpilot.core.runtime import runtime_of
from gridpilot.db.base import utcnow
from gridpilot.db.schedules import claimed_periodic

#: The client address of the request being served (None: the CLI or a background job).
client_var: ContextVar[str | None] = ContextVar("audit_client", default=None)

SUCCESS = "success"
FAILURE = "failure"

#: Every action code, with what it records (the table of docs/security.md).
ACTIONS: dict[str, str] = {
    "auth.login": "password log-in (token endpoint or dashboard: detail.via)",
    "auth.mfa": "second factor at log-in (TOTP or recovery code: detail.method)",
    "auth.lockout": "an account locked after repeated failures",
    "auth.client_login": "API key client-credentials grant",
    "auth.refresh_reuse": "a spent refresh token presented again (its family revoked)",
    "user.create": "user created",
    "user.register": "an account created by its owner (self-registration)",
    "user.update": "user's role, sites, disabled flag, e-mail or password changed by an admin",
    "user.delete": "user deleted",
    "user.password_change": "own password changed",
    "user.password_reset_request": "password reset asked for by e-mail",
    "user.password_reset": "password reset with an e-mailed token",
    "privacy.export": "a user's personal data exported (GDPR art. 15/20)",
    "privacy.erase": "a user erased by pseudonymisation (GDPR art. 17)",
    "mfa.enrol": "TOTP secret issued (not yet active)",
    "mfa.confirm": "TOTP confirmed by a first code: second factor on",
    "mfa.disable": "second factor turned off (own code or an administrator)",
    "key.create": "service API key created",
    "key.revoke": "service API key revoked",
    "device_key.create": "device key created",
    "device_key.revoke": "device key revoked",
    "alert_channel.create": "notification channel (e-mail, webhook) created",
    "alert_channel.update": "notification channel changed",
    "alert_channel.delete": "notification channel deleted",
    "site.create": "site created (API or dashboard)",
    "site.update": "site changed (detail.fields)",
    "site.delete": "site deleted with its assets and readings",
    "asset.create": "asset created (API or dashboard)",
    "asset.update": "asset changed (detail.fields)",
    "asset.delete": "asset deleted with its keys and readings",
}

#: The only keys ``detail`` may carry (anything else is dropped: no secret can slip in).
DETAIL_KEYS = frozenset(
    {"via", "method", "reason", "role", "sites", "disabled", "fields", "kind", "name", "asset",
     "site", "scope", "by_admin", "retry_after_s"}
)  # fmt: skip


def _detail(detail: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not detail:
        return None
    kept = {k: v for k, v in detail.items() if k in DETAIL_KEYS}
    return kept or None


def _row(
    action: str,
    outcome: str,
    actor: Principal | str | None,
    target: str | None,
    detail: Mapping[str, Any] | None,
    client: str | None,
) -> dict[str, Any]:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    in_request = request_id_var.get() is not None
    if isinstance(actor, Principal):
        subject, name = actor.subject, actor.name
    else:
        fallback = (user_id_var.get() or "anonymous") if in_request else "cli"
        subject, name = actor or fallback, None
    return {
        "at": utcnow(),
        "actor": subject[:200],
        "actor_name": name[:150] if name else None,
        "action": action,
        "target": target[:200] if target else None,
        "outcome": outcome,
        "client": client or (client_var.get() if in_request else None),
        "detail": _detail(detail),
    }


async def record(
    session: AsyncSession,
    *,
    action: str,
    outcome: str = SUCCESS,
    actor: Principal | str | None = None,
    target: str | None = None,
    detail: Mapping[str, Any] | None = None,
    client: str | None = None,
) -> None:
    """Add one event to ``session``'s transaction (it commits with the action).

    ``actor`` None: the request's authenticated subject (``user_id_var``), ``anonymous`` in a
    request without one, ``cli`` outside a request."""
    session.add(AuditEvent(**_row(action, outcome, actor, target, detail, client)))
    await session.flush()


async def record_change(
    session: AsyncSession,
    principal: Principal,
    *,
    action: str,
    target: str,
    fields: Iterable[str] | None = None,
) -> None:
    """A configuration change by a person or a key (API or dashboard alike: services call it);
    gridpilot's own ``system:*`` principals (simulator, demo, DR, flex) are not recorded."""
    if principal.subject.startswith("system:"):
        return
    detail = None if fields is None else {"fields": sorted(fields)}
    await record(session, action=action, actor=principal, target=target, detail=detail)


async def record_failure(
    session: AsyncSession,
    *,
    action: str,
    outcome: str = FAILURE,
    actor: Principal | str | None = None,
    target: str | None = None,
    detail: Mapping[str, Any] | None = None,
    client: str | None = None,
) -> None:
    """Record a failed action that the caller will not commit: the session's transaction is
    rolled back (the failure's changes undone), the event written and committed in a new one.
    (A separate connection would wait on SQLite for the session's write lock.) A session bound
    to one connection records in the caller's transaction instead."""
    if isinstance(session.bind, AsyncEngine):
        await session.rollback()
        await record(session, action=action, outcome=outcome, actor=actor, target=target,
                     detail=detail, client=client)  # fmt: skip
        await session.commit()
    else:
        await record(session, action=action, outcome=outcome, actor=actor, target=target,
                     detail=detail, client=client)  # fmt: skip


@asynccontextmanager
async def failures_recorded(
    session: AsyncSession,
    *,
    action: str,
    actor: Principal | str | None = None,
    target: str | None = None,
) -> AsyncIterator[None]:
    """Run an action; when it raises a ``GridpilotError`` roll its changes back, record the
    failure (``detail.reason`` = the error's code), commit that, and re-raise."""
    try:
        yield
    except GridpilotError as exc:
        await session.rollback()
        await record(
            session,
            action=action,
            outcome=FAILURE,
            actor=actor,
            target=target,
            detail={"reason": exc.code},
        )
        await session.commit()
        raise


def user_target(user_id: int) -> str:
    return f"user:{user_id}"


async def list_events(
    *,
    session: AsyncSession,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[AuditEvent], int]:
    """Events matching every filter given, newest first, and how many match in all.

    ``action`` ending in ``.`` or ``*`` matches a prefix (``auth.*``)."""
    query = select(AuditEvent)
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if action:
        prefix = action.rstrip("*")
        wildcard = action.endswith(("*", "."))
        query = query.where(
            AuditEvent.action.startswith(prefix, autoescape=True)
            if wildcard
            else AuditEvent.action == action
        )
    if target:
        query = query.where(AuditEvent.target == target)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit).offset(offset)
    )
    return list(rows), int(total or 0)


async def prune_events(*, session: AsyncSession, before: dt.datetime) -> int:
    """Delete the events older than ``before``; how many."""
    result = await session.execute(delete(AuditEvent).where(AuditEvent.at < before))
    return int(getattr(result, "rowcount", 0) or 0)


RETENTION_INTERVAL_S = 86_400.0


async def prune_trail(sessions: async_sessionmaker[AsyncSession], *, days: int) -> int:
    """Delete the events older than ``days`` days (``GRIDPILOT_AUDIT_RETENTION_DAYS``)."""
    async with sessions() as session, session.begin():
        return await prune_events(session=session, before=utcnow() - dt.timedelta(days=days))


def start_retention(app: Any) -> Periodic:
    """The daily retention job of the trail (one process of several runs it: ``claimed_periodic``);
    a runtime of the app (stopped with it)."""
    sessions = runtime_of(app).sessions
    days = runtime_of(app).settings.audit_retention_days

    async def job() -> None:
        await prune_trail(sessions, days=days)

    retention = claimed_periodic(
        sessions, "audit-retention", RETENTION_INTERVAL_S, job, first_delay_s=60.0,
        claim_name="audit_retention",
    )  # fmt: skip
    retention.start()
    return retention
