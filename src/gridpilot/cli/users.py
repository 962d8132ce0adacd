"""``gridpilot user ...``: create, list, re-password and disable users.

Each command runs in one database transaction (GRIDPILOT_DATABASE_URL). The embedded SQLite
database is migrated first when needed, as ``serve`` does; PostgreSQL must be migrated with
``gridpilot migrate``.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth import service, user_admin
from gridpilot.auth.models import User
from gridpilot.auth.permissions import Role
from gridpilot.core.errors import GridpilotError
from gridpilot.core.settings import Settings

app = typer.Typer(no_args_is_help=True)
out = Console()
err = Console(stderr=True)

T = TypeVar("T")


async def _run(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    from gridpilot.db.engine import make_engine, make_sessionmaker, transaction
    from gridpilot.db.migrate import current_revision, head_revision, upgrade

    settings = Settings()
    engine = make_engine(settings)
    try:
        if settings.should_auto_migrate:
            await upgrade(engine)
        elif await current_revision(engine) != head_revision():
            raise GridpilotError("the database is not migrated: run `gridpilot migrate` first")
        async with transaction(make_sessionmaker(engine)) as session:
            return await work(session)
    finally:
        await engine.dispose()


def run_in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work(session)`` in one committed transaction; errors end the command with code 1."""
    try:
        return asyncio.run(_run(work))
    except GridpilotError as exc:
        err.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(1) from None
    except IntegrityError:
        err.print("[red]error:[/] the change conflicts with existing data (duplicate?)")
        raise typer.Exit(1) from None
    except (SQLAlchemyError, OSError) as exc:
        err.print(f"[red]error:[/] database unavailable: {exc}")
        raise typer.Exit(1) from None


def read_password(password_stdin: bool) -> str:
    """The password from the first line of stdin, or prompted twice with hidden input."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            err.print("[red]error:[/] no password on stdin")
            raise typer.Exit(1)
        return password
    prompted: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return prompted


def parse_sites(sites: str | None) -> list[int] | None:
    if sites is None:
        return None
    try:
        return [int(s) for s in sites.split(",") if s.strip()]
    except ValueError:
        raise typer.BadParameter("--sites takes site ids separated by commas, e.g. 1,2") from None


@app.command("create")
def create(
    name: str = typer.Argument(..., help="Username."),
    role: str = typer.Option(..., help="viewer, operator, administrator or service."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
    sites: str | None = typer.Option(
        None, help="Limit the user to these site ids (comma-separated); default all sites."
    ),
    email: str | None = typer.Option(None, help="E-mail address (for password resets)."),
) -> None:
    """Create a user."""
    try:
        user_role = Role(role)
    except ValueError:
        raise typer.BadParameter(
            f"unknown role {role!r}; one of {', '.join(r.value for r in Role)}",
            param_hint="--role",
        ) from None
    site_ids = parse_sites(sites)
    password = read_password(password_stdin)

    async def work(session: AsyncSession) -> int:
        user = await service.create_user(
            session=session,
            username=name,
            password=password,
            role=user_role,
            site_ids=site_ids,
            email=email,
        )
        return user.id

    user_id = run_in_transaction(work)
    scope = "all sites" if site_ids is None else f"sites {site_ids}"
    err.print(f"[green]created user {name!r}[/] (id {user_id}, role {user_role.value}, {scope})")


@app.command("list")
def list_users() -> None:
    """List users."""

    async def work(session: AsyncSession) -> list[tuple[int, str, str, bool, list[int] | None]]:
        users = await service.list_users(session=session)
        sites = await service.site_ids_of(session=session, users=users)
        return [(u.id, u.username, u.role, u.disabled, sites[u.id]) for u in users]

    table = Table("id", "username", "role", "sites", "status")
    for user_id, username, role, disabled, site_ids in run_in_transaction(work):
        where = "all" if site_ids is None else ",".join(map(str, site_ids)) or "none"
        table.add_row(str(user_id), username, role, where, "disabled" if disabled else "active")
    out.print(table)


async def _user_named(session: AsyncSession, name: str) -> User:
    user = await service.find_user(session=session, username=name)
    if user is None:
        raise GridpilotError(f"no user named {name!r}")
    return user


@app.command("set-password")
def set_password(
    name: str = typer.Argument(..., help="Username."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
) -> None:
    """Set a user's password (ends the user's sessions: refresh tokens, and access tokens
    within GRIDPILOT_AUTH_RECHECK_S)."""
    password = read_password(password_stdin)

    async def work(session: AsyncSession) -> None:
        user = await _user_named(session, name)
        await service.set_password(session=session, user=user, password=password)
        await service.revoke_sessions(session=session, user=user)

    run_in_transaction(work)
    err.print(f"[green]password of {name!r} changed[/]")


@app.command("disable")
def disable(name: str = typer.Argument(..., help="Username.")) -> None:
    """Disable a user: no more logins or refreshes (access tokens expire within their TTL)."""

    async def work(session: AsyncSession) -> None:
        user = await _user_named(session, name)
        await user_admin.update_user(session=session, user_id=user.id, changes={"disabled": True})

    run_in_transaction(work)
    err.print(f"[green]user {name!r} disabled[/]")
