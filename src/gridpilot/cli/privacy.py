"""``gridpilot user export-data`` and ``gridpilot user erase``: GDPR access and erasure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth import audit
from gridpilot.cli.users import run_in_transaction
from gridpilot.privacy import service

err = Console(stderr=True)


def export_data(
    user_id: Annotated[int, typer.Argument(help="The user's id (gridpilot user list).")],
    out: Annotated[Path | None, typer.Option(help="Write the JSON here (default: stdout).")] = None,
) -> None:
    """Everything gridpilot holds about a user, as JSON (GDPR art. 15 and 20)."""

    async def work(session: AsyncSession) -> dict[str, Any]:
        data = await service.personal_data(session=session, user_id=user_id)
        await audit.record(session, action="privacy.export", target=audit.user_target(user_id))
        return data

    text = json.dumps(run_in_transaction(work), indent=2, ensure_ascii=False)
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text + "\n")
        err.print(f"personal data of user {user_id} written to {out}")


def erase(
    user_id: Annotated[int, typer.Argument(help="The user's id (gridpilot user list).")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this cannot be undone.")] = False,
) -> None:
    """Erase a user by pseudonymisation (GDPR art. 17): name, e-mail, sessions, second factor
    and voice queries go; records keep only user:ID; energy data stays (docs/privacy.md)."""
    if not yes:
        err.print("[red]error:[/] erasure cannot be undone: add --yes")
        raise typer.Exit(1)

    async def work(session: AsyncSession) -> dict[str, int]:
        changed = await service.erase(session=session, user_id=user_id)
        await audit.record(session, action="privacy.erase", target=audit.user_target(user_id))
        return changed

    changed = run_in_transaction(work)
    summary = ", ".join(f"{table} {n}" for table, n in sorted(changed.items()))
    err.print(f"[green]user {user_id} erased[/] (rows changed: {summary})")
