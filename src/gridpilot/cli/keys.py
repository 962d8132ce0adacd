"""``gridpilot apikey ...``: create, list and revoke service API keys.

A revoked key stops working in running servers within ``auth.api_keys.CACHE_TTL_S`` (30 s).
"""

from __future__ import annotations

import typer
from rich.table import Column, Table
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth import service
from gridpilot.auth.permissions import Role
from gridpilot.cli.users import err, out, run_in_transaction

app = typer.Typer(no_args_is_help=True)


@app.command("create")
def create(
    name: str = typer.Option(..., "--name", help="What the key is for, e.g. scada-bridge."),
    role: str = typer.Option("service", help="service, operator or viewer."),
    site: int | None = typer.Option(None, "--site", help="Limit the key to this site id."),
) -> None:
    """Create a service key and print it (once: only its hash is stored)."""
    try:
        key_role = Role(role)
    except ValueError:
        raise typer.BadParameter(f"unknown role {role!r}", param_hint="--role") from None

    async def work(session: AsyncSession) -> tuple[str, str]:
        if site is not None:
            await service.check_sites_exist(session=session, site_ids=[site])
        key, raw = await service.create_api_key(
            session=session, name=name, role=key_role, site_id=site
        )
        return key.key_id, raw

    key_id, raw = run_in_transaction(work)
    err.print(f"[green]created API key {key_id}[/] ({name!r}, role {key_role.value}).")
    err.print("Store it now; it cannot be shown again:")
    typer.echo(raw)


@app.command("list")
def list_keys() -> None:
    """List API keys (service and device keys)."""

    async def work(session: AsyncSession) -> list[tuple[str, ...]]:
        keys = await service.list_api_keys(session=session)
        return [
            (
                k.key_id,
                k.name,
                k.role,
                "-" if k.asset_id is None else str(k.asset_id),
                "all" if k.site_id is None else str(k.site_id),
                k.last_used_at.strftime("%Y-%m-%d %H:%M") if k.last_used_at else "never",
                "revoked" if k.revoked_at else "active",
            )
            for k in keys
        ]

    table = Table("name", "role", "asset", "site", "last used (UTC)", "status")
    table.columns.insert(0, Column("key_id", no_wrap=True, min_width=16))
    for row in run_in_transaction(work):
        table.add_row(*row)
    out.print(table)


@app.command("revoke")
def revoke(key_id: str = typer.Argument(..., help="The key's public key_id.")) -> None:
    """Revoke an API key."""

    async def work(session: AsyncSession) -> None:
        await service.revoke_api_key(session=session, key_id=key_id)

    run_in_transaction(work)
    err.print(f"[green]API key {key_id} revoked[/] (servers stop accepting it within 30 s)")
