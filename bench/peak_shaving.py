"""Peak shaving reaction time (issue #23 item 4): grid reading stored -> battery command queued.

    flock /tmp/gridpilot-bench.lock .venv/bin/python bench/peak_shaving.py [--readings 200]
        [--gap-ms 100] [--skip-postgres]

The app of ``gridpilot serve`` built in this process (``create_app``, its lifespan: writer,
bus, control, the peak-shaving runtime), on the embedded SQLite default and then on a fresh
PostgreSQL database (127.0.0.1:5432, dropped at the end). One site: a grid meter and a battery
under peak shaving (threshold 100 kW, deadband 1 kW; ``GRIDPILOT_PEAK_SHAVING_MIN_INTERVAL_S``
0 so that every reading may command). A simulated load alternates 120 and 135 kW, the battery
follows each set point at once (the meter reads load minus battery), so every reading asks for
a new set point (20 or 35 kW). Each reading goes through ``telemetry.service.ingest`` (what
``POST /api/v1/telemetry`` and the MQTT worker call), ``--gap-ms`` apart. A probe on the bus
takes, from the moment ingest is called:

- ``ingest -> bus``: the ``readings.stored`` event of the batch (the writer's commit and
  publication; the same for every bus listener: live data, alerts, status);
- ``reading -> command``: the ``command.updated`` event of the battery's new command, queued
  and committed with its log entry (what the command link or the simulator sends next);
- ``runtime``: the difference, what peak shaving adds (bus delivery to its worker, the
  decision, the command's transaction).

The MQTT hop to the device (``bench/dr_dispatch.py`` measures the command link) is not in it.
No assertions; see bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

# bench/ last on the path, after the packages: a script's own directory comes first, and a
# bench module named like a package the app imports (bench/graphql.py once) would shadow it
sys.path.remove(str(Path(__file__).resolve().parent))
sys.path.append(str(Path(__file__).resolve().parent))
from gridpilot.api.app import create_app
from gridpilot.assets.schemas import AssetCreate, SiteCreate
from gridpilot.assets.service import create_asset, create_site
from gridpilot.auth.permissions import Principal, Role
from gridpilot.core import events as catalogue
from gridpilot.core.runtime import runtime_of
from gridpilot.core.settings import Settings
from gridpilot.flex.schemas import ResourceCreate
from gridpilot.flex.service import create_resource, put_peak_shaving
from gridpilot.flex.shaving_runtime import PEAK_SHAVING
from gridpilot.flex.shaving_schemas import PeakShavingIn
from gridpilot.telemetry.service import ingest
from harness import PgServer, fresh_pg_database

ADMIN = Principal(subject="bench:admin", name="bench", role=Role.ADMINISTRATOR)
LOADS_KW = (120.0, 135.0)


def settings_for(database_url: str, data_dir: str) -> Settings:
    return Settings(
        database_url=database_url, data_dir=Path(data_dir), auto_migrate=True, log_json=False,
        jwt_secret="bench-" + "x7Qp2v" * 8, web_enabled=False, gc_tuning=False,
        peak_shaving_min_interval_s=0.0, command_rate_limit_per_min=0,
        forecast_interval_s=0, flex_mpc_interval_s=0,
    )  # fmt: skip


async def provision(app: Any) -> tuple[int, int, int]:
    async with app.state.sessions() as session, session.begin():
        site = await create_site(
            session=session, principal=ADMIN, data=SiteCreate(name="Bench site", timezone="UTC")
        )
        made = [
            await create_asset(session=session, principal=ADMIN,
                               data=AssetCreate(site_id=site.id, name=name, kind=kind))
            for name, kind in (("Main meter", "grid_connection"), ("Battery", "battery"))
        ]  # fmt: skip
        meter, battery = made[0].id, made[1].id
        params = {"capacity_kwh": 500, "charge_max_kw": 100, "discharge_max_kw": 100}
        resource = TypeAdapter(ResourceCreate).validate_python(
            {"kind": "battery", "name": "BESS", "asset_id": battery, "params": params}
        )
        await create_resource(session=session, site_id=site.id, data=resource, principal=ADMIN)
        await put_peak_shaving(
            session=session, site_id=site.id, principal=ADMIN, now_ms=int(time.time() * 1000),
            data=PeakShavingIn(threshold_kw=100.0),
        )  # fmt: skip
    return site.id, meter, battery


async def measure(app: Any, readings: int, gap_s: float) -> dict[str, list[float]]:
    site_id, meter, battery = await provision(app)
    runtime = runtime_of(app).require(PEAK_SHAVING)
    for _ in range(500):  # the first lease round
        if site_id in runtime.sites:
            break
        await asyncio.sleep(0.01)
    stored_at: dict[int, float] = {}
    commands_at: list[float] = []

    async def on_stored(_topic: str, payload: dict[str, Any]) -> None:
        for entry in payload["assets"]:
            if entry["asset_id"] == meter:
                stored_at.setdefault(entry["newest_ts"], time.perf_counter())

    async def on_command(_topic: str, payload: dict[str, Any]) -> None:
        if payload["asset_id"] == battery and payload["state"] == "queued":
            commands_at.append(time.perf_counter())

    app.state.bus.subscribe(catalogue.READINGS_STORED.name, on_stored)
    app.state.bus.subscribe(catalogue.COMMAND_UPDATED.name, on_command)
    figures: dict[str, list[float]] = {"ingest -> bus": [], "reading -> command": [], "runtime": []}
    for i in range(readings):
        state = runtime.sites[site_id]
        battery_kw = state.last_kw or 0.0  # the battery follows its set point at once
        ts = int(time.time() * 1000)
        raw = [
            {"asset": meter, "metric": "power_kw", "ts": ts, "value": LOADS_KW[i % 2] - battery_kw}
        ]
        before = len(commands_at)
        sent = time.perf_counter()
        await ingest(raw, principal=ADMIN, runtime=app.state.telemetry)
        deadline = sent + 5.0
        while len(commands_at) == before and time.perf_counter() < deadline:
            await asyncio.sleep(0.0005)
        if ts in stored_at:
            figures["ingest -> bus"].append(stored_at[ts] - sent)
        if len(commands_at) > before and ts in stored_at:
            figures["reading -> command"].append(commands_at[before] - sent)
            figures["runtime"].append(commands_at[before] - stored_at[ts])
        await asyncio.sleep(gap_s)
    return figures


async def run_backend(name: str, url: str, data_dir: str, args: argparse.Namespace) -> None:
    app = create_app(settings_for(url, data_dir))
    async with app.router.lifespan_context(app):
        figures = await measure(app, args.readings, args.gap_ms / 1000)
    print(f"\n{name}: {args.readings} readings, {args.gap_ms} ms apart")
    for label, values in figures.items():
        if not values:
            print(f"  {label:20s} no samples")
            continue
        ms = sorted(v * 1000 for v in values)
        p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
        print(f"  {label:20s} p50 {statistics.median(ms):7.2f} ms   p95 {p95:7.2f} ms   "
              f"max {ms[-1]:7.2f} ms   n={len(ms)}")  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=200)
    parser.add_argument("--gap-ms", type=int, default=100)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    start = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    print(f"peak shaving reaction, started {start}")
    with tempfile.TemporaryDirectory() as tmp:
        await run_backend("SQLite (embedded)", f"sqlite:///{tmp}/bench.db", tmp, args)
    if not args.skip_postgres:
        pg = PgServer()
        async with fresh_pg_database(pg) as database:
            with tempfile.TemporaryDirectory() as tmp:
                await run_backend("PostgreSQL", pg.url(database), tmp, args)


if __name__ == "__main__":
    asyncio.run(main())
