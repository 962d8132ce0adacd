"""WIA production history benchmark (issue #21 item 8): ``GET /api/v1/sources/{id}/production``.

A wind source on a throw-away PostgreSQL database (``bench/harness.py``) with ``--days`` (90) of
10-min Production Data objects (power, lifetime register, efficiency and the four environmental
values: 7 readings each), posted through ``POST /api/v1/sources/{id}/production`` into the app
run in-process (httpx ASGI transport), rolled up, then aged with the seed's retention (raw
30 days, 15 min 1 year). Then, ``--repeat`` (30) times each after one unmeasured warm-up:

* the default call (the last 24 h, ``limit=100``), and ``limit=1000`` over the whole period,
  through the app (client wall time);
* a day 60 days ago (past the raw retention: 96 objects from the 15-min rollups);
* the same two raw-period queries through the previous implementation
  (``wia/history.py`` at ``LEGACY_COMMIT``, loaded from git, called with a session), and through
  the new one the same way, so the two compare without HTTP;
* a raw SQL baseline: one ``SELECT`` of the readings the default call answers.

WIA's criterion: p95 < 200 ms.

    flock /tmp/gridpilot-bench.lock .venv/bin/python bench/wia_history.py [--days 90] [--repeat 30]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from harness import PgServer, fresh_pg_database

LEGACY_COMMIT = "5271699c7ddbaf57f463e5cd12f4ce22e73a5a4d"
SID = "WIND-ON-DEU-00090"
STEP = timedelta(minutes=10)


def objects(start: datetime, count: int) -> list[dict[str, Any]]:
    """``count`` 10-min production objects from ``start`` (a daily wind shape, deterministic)."""
    out, register = [], 1_000_000.0
    for i in range(count):
        ts = start + i * STEP
        wind = 6.0 + 4.0 * math.sin(i / 37.0) + 2.0 * math.sin(i / 5.3)
        power = min(4_000.0, max(0.0, 30.0 * wind**2))
        register += power / 6
        out.append(
            {
                "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%SZ"), "sourceId": SID,
                "production": {"instantaneous": {"value": round(power, 1), "unit": "kW"},
                               "cumulative": {"lifetime": round(register, 1), "unit": "kWh"}},
                "efficiency": {"current": round(35 + wind, 2)},
                "environmentalConditions": {"temperature": 8 + (i % 144) / 20, "humidity": 70,
                                            "windSpeed": round(wind, 2), "solarIrradiance": 0},
            }
        )  # fmt: skip
    return out


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, math.ceil(0.95 * len(ms)) - 1)]
    return f"p50 {statistics.median(ms):8.1f} ms   p95 {p95:8.1f} ms"


async def timed(call: Callable[[], Awaitable[Any]], repeat: int) -> list[float]:
    await call()  # warm-up
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - t0)
    return samples


def legacy_module() -> types.ModuleType:
    """The previous ``wia/history.py``, from git, as a module."""
    source = subprocess.run(
        ["git", "show", f"{LEGACY_COMMIT}:src/gridpilot/wia/history.py"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    ).stdout
    module = types.ModuleType("legacy_wia_history")
    exec(compile(source, "legacy_wia_history.py", "exec"), module.__dict__)
    return module


async def seed(app: Any, http: httpx.AsyncClient, headers: dict[str, str], days: int) -> None:
    from gridpilot.telemetry.retention import apply_retention
    from gridpilot.telemetry.rollups import refresh_pending

    body = {"sourceId": SID, "sourceType": "WIND-ON", "name": "Bench wind",
            "ratedCapacity": {"value": 4, "unit": "MW"}, "location": {"timezone": "Europe/Berlin"},
            "installDate": "2019-04-01T00:00:00Z"}  # fmt: skip
    created = await http.post("/api/v1/sources", json=body, headers=headers)
    assert created.status_code == 201, created.text
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now.replace(minute=now.minute - now.minute % 10) - timedelta(days=days)
    items = objects(start, days * 144)
    t0 = time.perf_counter()
    for i in range(0, len(items), 2_000):
        posted = await http.post(
            f"/api/v1/sources/{SID}/production", json=items[i : i + 2_000], headers=headers
        )
        assert posted.status_code == 201, posted.text
    await app.state.telemetry.flush()
    await refresh_pending(sessions=app.state.sessions, settings=app.state.settings)
    aged = app.state.settings.model_copy(update={"retention_raw_days": 30})
    report = await apply_retention(sessions=app.state.sessions, settings=aged)
    print(
        f"seeded {len(items)} objects ({len(items) * 7} readings) in "
        f"{time.perf_counter() - t0:.0f} s; retention dropped "
        f"{len(report.partitions_dropped)} daily partitions"
    )


async def measure(database_url: str, days: int, repeat: int) -> None:
    from gridpilot.api.app import create_app
    from gridpilot.auth.dependencies import token_config
    from gridpilot.auth.models import User
    from gridpilot.auth.tokens import encode_access_token
    from gridpilot.core.settings import Settings
    from gridpilot.core.timestamps import now_ms
    from gridpilot.wia import history, service

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=database_url,
            data_dir=Path(tmp),
            jwt_secret="bench-" + "x" * 40,
            log_json=False,
            retention_raw_days=None,
            web_enabled=False,
            api_rate_limit_per_min=0,
            auto_migrate=True,
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            async with app.state.sessions() as session, session.begin():
                user = User(username="bench", password_hash="x", role="administrator",
                            disabled=False, site_restricted=False)  # fmt: skip
                session.add(user)
                await session.flush()
                user_id = user.id
            token = encode_access_token(
                token_config(settings), f"user:{user_id}", {"role": "administrator", "name": "b"}
            )
            headers = {"Authorization": f"Bearer {token}"}
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
                await seed(app, http, headers, days)
                url = f"/api/v1/sources/{SID}/production"
                old_day = datetime.now(UTC) - timedelta(days=60)
                old_day = old_day.replace(hour=0, minute=0, second=0, microsecond=0)
                calls = {
                    "default (24 h, limit=100)": {},
                    f"limit=1000 over {days} d": {
                        "limit": 1000,
                        "start": (datetime.now(UTC) - timedelta(days=days)).isoformat(),
                    },
                    "a day 60 d ago (rollups)": {
                        "start": old_day.isoformat(),
                        "end": (old_day + timedelta(days=1)).isoformat(),
                    },
                }
                print(f"\nthrough the app, {repeat} calls each (client wall time)")
                for name, params in calls.items():
                    answer = await http.get(url, params=params, headers=headers)
                    assert answer.status_code == 200, answer.text

                    async def call(params: dict[str, Any] = params) -> None:
                        await http.get(url, params=params, headers=headers)

                    found = len(answer.json())
                    samples = await timed(call, repeat)
                    print(f"  {name:28s} {found:5d} objects   {percentiles(samples)}")

            legacy = legacy_module()
            async with app.state.sessions() as session:
                asset, site = await service.get_source_asset(
                    session=session, source_id=SID, principal=_admin()
                )
            end = now_ms()
            periods = {"default (24 h, limit=100)": (end - 86_400_000, 100),
                       f"limit=1000 over {days} d": (end - days * 86_400_000, 1000)}  # fmt: skip
            print(f"\ncalled with a session, {max(3, repeat // 5)} calls each")
            for name, (start_ms, limit) in periods.items():
                for label, module in (("previous", legacy), ("new", history)):

                    async def direct(
                        module: Any = module, a: int = start_ms, n: int = limit
                    ) -> None:
                        async with app.state.sessions() as session:
                            await module.production_history(
                                session=session, asset=asset, site=site, start_ms=a, end_ms=end,
                                limit=n, max_points=settings.max_series_points,
                                max_gap_s=settings.energy_max_gap_s,
                            )  # fmt: skip

                    samples = await timed(direct, max(3, repeat // 5))
                    print(f"  {name:28s} {label:9s} {percentiles(samples)}")

            async def baseline() -> None:
                async with app.state.sessions() as session:
                    await session.execute(
                        text(
                            "SELECT metric_id, ts, value FROM readings WHERE asset_id = :a"
                            " AND ts >= :lo AND ts < :hi ORDER BY ts DESC"
                        ),
                        {"a": asset.id, "lo": end - 86_400_000, "hi": end},
                    )

            samples = await timed(baseline, repeat)
            print(f"\nraw SQL baseline (the default call's readings) {percentiles(samples)}")


def _admin() -> Any:
    from gridpilot.auth.permissions import Principal, Role

    return Principal(subject="bench", name="bench", role=Role.ADMINISTRATOR)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    async with fresh_pg_database(PgServer()) as name:
        await measure(PgServer().url(name), args.days, args.repeat)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
