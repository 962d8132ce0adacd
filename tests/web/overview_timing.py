"""Time the overview's data and page build for a seeded fleet, in process:

    python -m tests.web.overview_timing --sites 1000 --assets 10 [--database-url postgresql://...]

Seeds the fleet through the services (``tests.web.fleet_seed``), stores ``--hours`` of
quarter-hour power through the telemetry API in process, waits for the rollups, then times
the fleet summary, the 24 h balance and ``GET /`` (the page function) with a logged-in cookie.
Run it under ``flock /tmp/gridpilot-bench.lock``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import httpx
from tests.web.fleet_seed import readings_at, seed_fleet

from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import now_ms

QUARTER_MS = 900_000


def _timed(label: str, started: float) -> float:
    seconds = time.perf_counter() - started
    print(f"{label}: {seconds * 1000:,.0f} ms", flush=True)
    return seconds


async def _store(http: httpx.AsyncClient, readings: list[dict[str, object]]) -> None:
    for i in range(0, len(readings), 40_000):
        answer = await http.post("/api/v1/telemetry", json={"readings": readings[i : i + 40_000]})
        assert answer.status_code == 200, answer.text[:300]


async def run(args: argparse.Namespace) -> None:
    from gridpilot.api.app import create_app
    from gridpilot.auth.permissions import Principal, Role
    from gridpilot.web import context
    from gridpilot.web.fleet_view import load_fleet, power_history

    data_dir = Path(tempfile.mkdtemp(prefix="gp-overview-"))
    settings = Settings(
        data_dir=data_dir,
        database_url=args.database_url,
        web_enabled=False,
        sim_autostart=None,
        rollup_interval_s=1.0,
    )
    started = time.perf_counter()
    fleet = await seed_fleet(settings, args.sites, args.assets)
    _timed(f"seed {args.sites:,} sites x {args.assets} assets", started)
    app = create_app(settings)
    context.bind(app)
    admin = Principal(subject="timing", name="timing", role=Role.ADMINISTRATOR)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        token = await _token(app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", headers=token, timeout=600
        ) as http:
            at = now_ms()
            start = at - at % QUARTER_MS - args.hours * 3_600_000
            readings = []
            for ts in range(start, at - 60_000, QUARTER_MS):
                readings += readings_at(fleet, ts)
            started = time.perf_counter()
            await _store(http, readings + readings_at(fleet, at - 5_000))
            _timed(f"store {len(readings):,} readings", started)
        await asyncio.sleep(args.settle)
        for run_no in range(args.runs):
            started = time.perf_counter()
            summary = await load_fleet(admin)
            _timed(f"run {run_no}: fleet summary ({summary.total:,} sites)", started)
            started = time.perf_counter()
            await power_history([e.site.id for e in summary.every], hours=24)
            _timed(f"run {run_no}: 24 h balance", started)


async def _token(app: object) -> dict[str, str]:
    from gridpilot.auth import service as auth_service
    from gridpilot.auth.permissions import Role
    from gridpilot.db.engine import transaction

    sessions = app.state.sessions  # type: ignore[attr-defined]
    async with transaction(sessions) as session:
        await auth_service.create_user(
            session=session, username="timing", password="x" * 20, role=Role.ADMINISTRATOR
        )
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        answer = await http.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": "timing", "password": "x" * 20},
        )
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--assets", type=int, default=10)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--database-url", default=None)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
