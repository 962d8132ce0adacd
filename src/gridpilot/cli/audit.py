"""``gridpilot audit list``: the security audit trail as a table (newest first, times in UTC)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth import audit
from gridpilot.auth.models import AuditEvent
from gridpilot.cli.users import run_in_transaction

app = typer.Typer(no_args_is_help=True)
out = Console(width=160)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """A time without offset is read as UTC."""
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


@app.command("list")
def list_events(
    actor: Annotated[str | None, typer.Option(help="user:ID, key:KEY_ID, cli, anonymous")] = None,
    action: Annotated[str | None, typer.Option(help="action code or prefix: auth.*")] = None,
    target: Annotated[str | None, typer.Option(help="user:ID, key:KEY_ID, channel:ID...")] = None,
    since: Annotated[dt.datetime | None, typer.Option(help="from (UTC unless an offset)")] = None,
    until: Annotated[dt.datetime | None, typer.Option(help="to, exclusive")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
) -> None:
    """List audit events matching every filter given."""

    async def work(session: AsyncSession) -> tuple[list[AuditEvent], int]:
        return await audit.list_events(
            session=session,
            actor=actor,
            action=action,
            target=target,
            since=_aware(since),
            until=_aware(until),
            limit=limit,
        )

    events, total = run_in_transaction(work)
    table = Table(title=f"audit trail: {len(events)} of {total} events")
    for column in ("at (UTC)", "actor", "action", "target", "outcome", "client", "detail"):
        table.add_column(column)
    for e in events:
        table.add_row(
            e.at.astimezone(dt.UTC).isoformat(timespec="seconds"),
            e.actor if not e.actor_name else f"{e.actor} ({e.actor_name})",
            e.action,
            e.target or "",
            e.outcome,
            e.client or "",
            ", ".join(f"{k}={v}" for k, v in sorted((e.detail or {}).items())),
        )
    out.print(table)
