"""``gridpilot demo``: sample sites, assets and readings on the configured database, then serve.

Idempotent: a second run reuses what exists (the admin password is printed only when the admin
user is created) and fills the readings from where the last run stopped.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import typer
from rich.console import Console
from rich.panel import Panel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.api.app import create_app
from gridpilot.assets import service as assets_service
from gridpilot.assets.models import Asset, Site
from gridpilot.assets.schemas import AssetCreate, SiteCreate
from gridpilot.auth import service as auth_service
from gridpilot.auth.permissions import Principal, Role
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import MS_PER_DAY, MS_PER_HOUR, now_ms
from gridpilot.db.engine import make_engine, transaction
from gridpilot.db.migrate import upgrade
from gridpilot.sim import profiles
from gridpilot.telemetry import service as telemetry_service
from gridpilot.telemetry.tasks import TelemetryRuntime

console = Console(stderr=True)

SYSTEM = Principal(subject="system:demo", name="gridpilot demo", role=Role.ADMINISTRATOR)
ADMIN = "admin"
STEP_MS = 5 * 60_000
CHUNK = 5_000

#: name -> (site fields, [(asset fields), ...])
DEMO_SITES: dict[str, tuple[dict[str, object], list[dict[str, object]]]] = {
    "Demo factory (Bologna)": (
        {"timezone": "Europe/Rome", "latitude": 44.494, "longitude": 11.343,
         "contract_demand_kw": 900.0},
        [
            {"name": "Main meter", "kind": "meter", "expected_interval_s": 300},
            {"name": "Compressor 1", "kind": "compressor", "rated_capacity_kw": 75,
             "expected_interval_s": 300},
        ],
    ),
    "Demo solar park (Ravenna)": (
        {"timezone": "Europe/Rome", "latitude": 44.418, "longitude": 12.204},
        [
            {"name": "PV field A", "kind": "solar_pv", "source_id": "SOLAR-PV-ITA-00001",
             "rated_capacity": {"value": 1.2, "unit": "MW"}, "expected_interval_s": 300,
             "metadata": {"manufacturer": "Demo Solar", "model": "DS-550",
                          "certifications": ["IEC 61215"]}},
        ],
    ),
}  # fmt: skip


@dataclass
class Feed:
    """One demo asset's generator: readings (metric -> value) at a time, plus a register."""

    asset: Asset
    values_at: Callable[[int], dict[str, float]]
    register_metric: str = "energy_kwh"


def _feeds(site: Site, assets: list[Asset]) -> list[Feed]:
    lat, lon = site.latitude or 0.0, site.longitude or 0.0
    feeds = []
    for asset in assets:
        if asset.kind == "meter":
            feeds.append(Feed(asset, lambda t: {"power_kw": profiles.factory_load_kw(
                t, base_kw=180, peak_kw=820)}))  # fmt: skip
        elif asset.kind == "compressor":
            rated = asset.rated_capacity_kw or 75.0

            def compressor(t: int, rated: float = rated) -> dict[str, float]:
                power, pressure = profiles.compressor_kw_and_bar(t, rated_kw=rated)
                return {"power_kw": power, "pressure_bar": pressure}

            feeds.append(Feed(asset, compressor))
        elif asset.kind == "solar_pv":
            capacity = asset.rated_capacity_kw or 1000.0

            def pv(t: int, capacity: float = capacity) -> dict[str, float]:
                power, ghi = profiles.pv_power_kw(
                    t, capacity_kw=capacity, latitude_deg=lat, longitude_deg=lon, seed=1
                )
                return {"power_kw": power, "irradiance_wm2": ghi}

            feeds.append(Feed(asset, pv))
    return feeds


def _readings(feed: Feed, start_ms: int, end_ms: int, register_kwh: float) -> Iterator[dict]:
    """Readings every STEP_MS in [start, end]; the register integrates power (kWh)."""
    previous_kw: float | None = None
    for ts in range(start_ms, end_ms + 1, STEP_MS):
        values = feed.values_at(ts)
        power = values["power_kw"]
        if previous_kw is not None:
            register_kwh += (previous_kw + power) / 2 * STEP_MS / MS_PER_HOUR
        previous_kw = power
        values[feed.register_metric] = register_kwh
        for metric, value in values.items():
            yield {"asset": feed.asset.id, "metric": metric, "ts": ts, "value": round(value, 4)}


async def _ensure_admin(sessions: async_sessionmaker[AsyncSession]) -> str | None:
    """Create the admin user if missing; returns its new password (else None)."""
    async with transaction(sessions) as session:
        if await auth_service.find_user(session=session, username=ADMIN) is not None:
            return None
        password = secrets.token_urlsafe(12)
        await auth_service.create_user(
            session=session, username=ADMIN, password=password, role=Role.ADMINISTRATOR
        )
        return password


async def _ensure_sites(
    sessions: async_sessionmaker[AsyncSession],
) -> list[tuple[Site, list[Asset]]]:
    result = []
    async with transaction(sessions) as session:
        existing = {
            s.name: s for s in await assets_service.list_sites(session=session, principal=SYSTEM)
        }
        for name, (site_fields, asset_specs) in DEMO_SITES.items():
            site = existing.get(name) or await assets_service.create_site(
                session=session, principal=SYSTEM, data=SiteCreate(name=name, **site_fields)
            )
            have = {a.name: a for a in await assets_service.list_assets(
                session=session, principal=SYSTEM, site_id=site.id)}  # fmt: skip
            assets = [
                have.get(str(spec["name"]))
                or await assets_service.create_asset(
                    session=session, principal=SYSTEM, data=AssetCreate(site_id=site.id, **spec)
                )
                for spec in asset_specs
            ]
            result.append((site, assets))
    return result


async def seed(settings: Settings, *, days: float) -> tuple[str | None, int]:
    """Create the demo data; returns (new admin password or None, readings written)."""
    engine = make_engine(settings)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    app = create_app(settings)
    written = 0
    async with app.router.lifespan_context(app):
        sessions = app.state.sessions
        runtime = app.state.telemetry
        password = await _ensure_admin(sessions)
        now = now_ms() // STEP_MS * STEP_MS
        for site, assets in await _ensure_sites(sessions):
            for feed in _feeds(site, assets):
                async with sessions() as session:
                    latest = await telemetry_service.latest_values(
                        session=session, asset_id=feed.asset.id
                    )
                register = latest.get(feed.register_metric)
                start = now - int(days * MS_PER_DAY)
                if register is not None:
                    start = max(start, register.ts_ms + STEP_MS)
                batch: list[dict] = []
                for reading in _readings(feed, start, now, register.value if register else 0.0):
                    batch.append(reading)
                    if len(batch) >= CHUNK:
                        written += await _store(batch, runtime)
                        batch = []
                if batch:
                    written += await _store(batch, runtime)
        await runtime.flush()
    return password, written


async def _store(batch: list[dict], runtime: TelemetryRuntime) -> int:
    result = await telemetry_service.ingest(batch, principal=SYSTEM, runtime=runtime)
    if result.rejected:
        first = result.rejected[0]
        raise RuntimeError(f"demo data rejected ({len(result.rejected)}): {first.reason}")
    return result.stored


def demo(
    host: str | None = typer.Option(None, help="Bind address (default GRIDPILOT_HOST)."),
    port: int | None = typer.Option(None, help="Port (default GRIDPILOT_PORT)."),
    days: float = typer.Option(2.0, min=0.1, max=29.0, help="Days of sample history."),
    serve: bool = typer.Option(True, help="Serve the API after seeding (--no-serve: seed only)."),
) -> None:
    """Create sample sites, assets and readings (and an admin user), then serve the API."""
    settings = Settings()
    with console.status("preparing the demo data..."):
        password, written = asyncio.run(seed(settings, days=days))
    url = f"http://{host or settings.host}:{port or settings.port}"
    lines = [f"readings written: {written}", f"API docs: {url}/docs"]
    if password:
        lines.append(f"administrator: [bold]{ADMIN}[/]  password: [bold]{password}[/]")
        lines.append("(shown only now; change it with `gridpilot user set-password admin`)")
    else:
        lines.append(f"administrator: {ADMIN} (exists; password as printed on the first run)")
    Console().print(Panel("\n".join(lines), title="gridpilot demo"))
    if serve:
        from gridpilot.cli.main import serve as serve_command

        os.environ.setdefault("GRIDPILOT_LOG_JSON", "false")  # a person watches this terminal
        serve_command(host=host, port=port, workers=1)
