"""``gridpilot demo``: the four simulated scenarios with history, an admin user, then serve.

Creates (or reuses) the database, an administrator (password printed only when created), the
sites and assets of the factory, office building, renewable portfolio and energy community
scenarios, backfills ``--days`` of history at a ``--step`` (continuing where a previous run
stopped), creates the energy community in the community domain with a member user (``member``,
password printed only when created) and settles a month (``sim.community_seed``), puts the
portfolio's battery and the office's EV chargers under the flex MPC with a first schedule
(``cli.demo_flex``), starts a firmware roll-out to the assets' gateways
(``cli.demo_firmware``), then serves the API with the live simulation running in-process
(``GRIDPILOT_SIM_AUTOSTART=all``).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from datetime import UTC, datetime, timedelta

import typer
from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.cli.simulate import SCENARIO_NAMES, parse_duration_ms
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import MS_PER_DAY

console = Console(stderr=True)

ADMIN = "admin"


async def _ensure_admin(sessions: async_sessionmaker[AsyncSession]) -> str | None:
    """Create the admin user if missing; returns its new password (else None)."""
    from gridpilot.auth import service as auth_service
    from gridpilot.auth.permissions import Role
    from gridpilot.db.engine import transaction

    async with transaction(sessions) as session:
        if await auth_service.find_user(session=session, username=ADMIN) is not None:
            return None
        password = secrets.token_urlsafe(12)
        await auth_service.create_user(
            session=session, username=ADMIN, password=password, role=Role.ADMINISTRATOR
        )
        return password


async def _ensure_member_user(
    sessions: async_sessionmaker[AsyncSession], site_id: int
) -> tuple[int, str | None]:
    """The demo member's user (a viewer of their own site); (id, new password or None)."""
    from gridpilot.auth import service as auth_service
    from gridpilot.auth.permissions import Role
    from gridpilot.db.engine import transaction
    from gridpilot.sim.community_seed import MEMBER_USER

    async with transaction(sessions) as session:
        user = await auth_service.find_user(session=session, username=MEMBER_USER)
        if user is not None:
            return user.id, None
        password = secrets.token_urlsafe(12)
        user = await auth_service.create_user(
            session=session, username=MEMBER_USER, password=password, role=Role.VIEWER,
            site_ids=[site_id],
        )  # fmt: skip
        return user.id, password


async def seed_community(
    sessions: async_sessionmaker[AsyncSession], assets: list, history_start: datetime
) -> tuple[str, str | None]:
    """The energy community of the simulated scenario; (panel line, member password or None)."""
    from gridpilot.sim.community_seed import VIEW_MEMBER, community_assets
    from gridpilot.sim.community_seed import seed_community as seed_domain

    mine = community_assets(assets)
    viewer = next(a for a in mine if a.spec.name == VIEW_MEMBER)
    user_id, password = await _ensure_member_user(sessions, viewer.site_id)
    summary = await seed_domain(
        sessions, assets, history_start=history_start, now=datetime.now(UTC),
        member_user_id=user_id,
    )  # fmt: skip
    line = (
        f"energy community: {summary.members} members, {summary.plants} PODs; {summary.note}; "
        f"GSE estimate EUR {summary.gse_estimate_eur}"
    )
    return line, password


async def seed(
    settings: Settings,
    *,
    days: float,
    step_ms: int,
    seed_value: int = 42,
    progress: Progress | None = None,
) -> tuple[str | None, int, int, tuple[str, str | None], str]:
    """Create the demo data; returns (new admin password or None, readings written, assets,
    (community line, new member password or None), demand-response and flexibility lines)."""
    from gridpilot.cli import demo_dr, demo_firmware, demo_flex
    from gridpilot.cli.offline import offline_writer
    from gridpilot.core.datadir import secure_data_dir
    from gridpilot.core.timestamps import now_ms
    from gridpilot.sim.backfill import backfill
    from gridpilot.sim.community_seed import backfill_settled_month, demo_settings
    from gridpilot.sim.provision import provision, with_parts

    secure_data_dir(settings.data_dir)  # 0700: the database (and later the secrets) live there
    began = datetime.now(UTC)
    # no server runtimes while seeding: no alert evaluator judging history as "offline", no
    # background job to cancel mid-query at the end; a raw retention that takes the community's
    # last complete month (its closed settlement)
    seeding = demo_settings(settings.model_copy(update={"auto_migrate": True}), began)
    async with offline_writer(seeding) as offline:
        password = await _ensure_admin(offline.sessions)
        assets = await provision(
            sessions=offline.sessions, bus=offline.bus, scenarios=list(SCENARIO_NAMES)
        )
        community_start = await backfill_settled_month(
            assets, runtime=offline.telemetry, now=began,
            history_start=began - timedelta(days=days), seed=seed_value,
        )  # fmt: skip
        task = progress.add_task("history", total=None) if progress else None

        def on_progress(done: int, total: int) -> None:
            if progress is not None and task is not None:
                progress.update(task, completed=done, total=total)

        report = await backfill(
            assets,
            runtime=offline.telemetry,
            seed=seed_value,
            span_ms=int(days * MS_PER_DAY),
            step_ms=step_ms,
            on_progress=on_progress,
        )
        if report.rejected:
            raise RuntimeError(f"demo data rejected ({report.rejected}): {report.reasons[:1]}")
        community = await seed_community(offline.sessions, assets, community_start)
        dr_line = await demo_dr.prepare(offline.sessions, now_ms())  # resources, an event
        flex_line = await demo_flex.prepare(offline.sessions, now_ms(), settings)
        firmware_line = await demo_firmware.prepare(offline.sessions)  # an image, a roll-out
    lines = f"{dr_line}\n{flex_line}\n{firmware_line}"
    return password, report.stored, len(with_parts(assets)), community, lines


def demo(
    host: str | None = typer.Option(None, help="Bind address (default GRIDPILOT_HOST)."),
    port: int | None = typer.Option(None, help="Port (default GRIDPILOT_PORT)."),
    days: float = typer.Option(14.0, min=0.1, max=29.0, help="Days of history to backfill."),
    step: str = typer.Option("15m", help="Step of the backfilled history (e.g. 5m, 15m)."),
    serve: bool = typer.Option(True, help="Serve the API after seeding (--no-serve: seed only)."),
    live: bool = typer.Option(True, help="Run the live simulation while serving."),
) -> None:
    """Simulated factory, building, portfolio and community with history; then serve the API."""
    settings = Settings()
    began = time.monotonic()
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("asset-days"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        password, written, count, (community, member_password), dr_line = asyncio.run(
            seed(settings, days=days, step_ms=parse_duration_ms(step), progress=progress)
        )
    lines = [
        f"{count} simulated assets; readings written: {written} ({time.monotonic() - began:.0f} s)",
        community,
        dr_line,
    ]
    if serve:
        url = f"http://{host or settings.host}:{port or settings.port}"
        lines.append(f"dashboard: {url}/   API docs: {url}/docs")
    else:
        lines.append("not served (--no-serve): `gridpilot demo` serves it and runs it live")
    if password:
        lines.append(f"administrator: [bold]{ADMIN}[/]  password: [bold]{password}[/]")
        lines.append("(shown only now; change it with `gridpilot user set-password admin`)")
    else:
        lines.append(f"administrator: {ADMIN} (exists; password as printed on the first run)")
    if member_password:
        lines.append(f"community member (own view): [bold]member[/]  password: {member_password}")
    Console().print(Panel("\n".join(lines), title="gridpilot demo"))
    if serve:
        from gridpilot.cli.main import serve as serve_command

        os.environ.setdefault("GRIDPILOT_LOG_JSON", "false")  # a person watches this terminal
        if live:
            os.environ.setdefault("GRIDPILOT_SIM_AUTOSTART", "all")
        serve_command(host=host, port=port, workers=1, tls_cert=None, tls_key=None)
