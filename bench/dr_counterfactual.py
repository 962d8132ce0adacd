"""DR: the measured reduction of dispatched events against the simulated truth (issue #17's
target: within +-10 %).

    flock /tmp/gridpilot-bench.lock .venv/bin/python bench/dr_counterfactual.py [--events 10] [--pg]
        [--methods caiso_10in10,nyiso_high5of10,...]

A gridpilot app in this process on a fresh database (the embedded SQLite default; PostgreSQL
as well with ``--pg``), its DR loop stepped in its own (past) time. The site is the simulator's
office building (``sim.buildings``: HVAC, lighting, plug loads), whose devices obey the
commands dispatch sends (``tests/dr/sim_loop.py``: readings every 5 min through the loop, the
commands handed to the device models and acknowledged through the control service), with the
demo's flexible resources (``cli/demo_dr.py``: the HVAC offset, 2 kW/degC up to 2 degC, and
the lighting, 20 kW at 0.50 EUR/kWh: dimmed, its asset being of kind ``lighting``). Six weeks of
history from the same models, then on ``--events`` weekdays 8 days apart (from 21 September, every
weekday in turn) an event 14:00-16:00 (Rome)
with a target of ``--target-kw``, made through ``POST /api/dr-events`` with the CAISO 10-in-10
baseline (or each of ``--methods`` in turn, a fresh database each, so the per-event error of
the presets is compared in one run; from the site's own history and the event morning, earlier
events excluded), dispatched
(plan, commands, re-plans on a measured shortfall, restore) and measured by the DR loop as in
operation. The truth: the same devices from the same state at 13:00 without any command, the
counterfactual. Per event: the measured mean reduction (the event's ``achieved_reduction_kw``)
and the true one (truth - metered over the same intervals), the error, the plan's revisions.
No figure is asserted; see bench/README.md. ``--events 1 --history-days 10`` is the smoke run
of ``tests/bench/test_dr_bench.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the closed loop of the DR tests (tests/dr/sim_loop.py)

from tests.dr.dr_data import ZONE, iso_utc, local_ms  # noqa: E402
from tests.dr.sim_loop import QUARTER_MS, STEP_MS, SimSite  # noqa: E402

from gridpilot.api.app import create_app  # noqa: E402
from gridpilot.auth.dependencies import token_config  # noqa: E402
from gridpilot.auth.models import User  # noqa: E402
from gridpilot.auth.tokens import encode_access_token  # noqa: E402
from gridpilot.cli.demo_dr import DEMO_HVAC, DEMO_LIGHTING  # noqa: E402
from gridpilot.core.settings import Settings  # noqa: E402
from gridpilot.db.engine import make_engine  # noqa: E402
from gridpilot.db.migrate import upgrade  # noqa: E402
from gridpilot.dr.tasks import DrRuntime  # noqa: E402
from gridpilot.sim.buildings import BuildingHvac, Lighting, PlugLoads  # noqa: E402
from harness import PgServer, fresh_pg_database  # noqa: E402  (bench/ is a directory of scripts)

LAT, LON = 45.464, 9.190
HOUR = 3_600_000
FIRST_EVENT_DAY = dt.date(2026, 9, 21)  # a Monday; the last of 10 events on 4 December
#: Days between events: a programme's few events a month, on every weekday in turn. Back to
#: back events would leave the baseline only the days before the first one (event days are
#: excluded), weeks away from the weather of the last.
EVENT_EVERY_DAYS = 8
HOLIDAYS = {dt.date(2026, 11, 1), dt.date(2026, 12, 8), dt.date(2026, 12, 25)}  # Italian


def event_days(n: int) -> list[dt.date]:
    """``n`` weekdays, ``EVENT_EVERY_DAYS`` apart (a weekend or holiday: the next weekday)."""
    days: list[dt.date] = []
    day = FIRST_EVENT_DAY
    while len(days) < n:
        while day.weekday() >= 5 or day in HOLIDAYS:
            day += dt.timedelta(days=1)
        days.append(day)
        day += dt.timedelta(days=EVENT_EVERY_DAYS)
    return days


@asynccontextmanager
async def app_on(database_url: str, data_dir: Path) -> AsyncIterator[Any]:
    settings = Settings(
        database_url=database_url, data_dir=data_dir, jwt_secret=uuid.uuid4().hex * 2,
        log_json=False, auto_migrate=False, web_enabled=False, gc_tuning=False,
        api_rate_limit_per_min=0, dr_interval_s=0, forecast_interval_s=0,
        baseline_refit_check_s=0, rollup_interval_s=3600.0,
        # the events follow one another within seconds of real time here; in operation the
        # per-asset command rate limit (real time) is far from a DR event's few commands
        command_rate_limit_per_min=10_000,
        # the simulated past is months old: raw retention (30 days) would drop it meanwhile
        retention_raw_days=None, retention_1m_days=None,
    )  # fmt: skip
    engine = make_engine(settings)
    await upgrade(engine)
    await engine.dispose()
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def admin_headers(app: Any) -> dict[str, str]:
    async with app.state.sessions() as session, session.begin():
        user = User(username="bench-admin", password_hash="!", role="administrator",
                    disabled=False, site_restricted=False)  # fmt: skip
        session.add(user)
        await session.flush()
    claims = {"role": "administrator", "name": "bench-admin", "sites": None}
    token = encode_access_token(token_config(app.state.settings), f"user:{user.id}", claims)
    return {"Authorization": f"Bearer {token}"}


async def post(http: httpx.AsyncClient, headers: dict[str, str], path: str, body: dict) -> Any:
    answer = await http.post(path, json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def run(
    app: Any, days: list[dt.date], target_kw: float, history_days: int = 42,
    method: str = "caiso_10in10",
) -> list[dict[str, Any]]:  # fmt: skip
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        admin = await admin_headers(app)
        site = (await post(http, admin, "/api/v1/sites",
                           {"name": "Sim office (bench)", "timezone": ZONE}))["id"]  # fmt: skip
        sim = SimSite(app, LAT, LON, ZONE)
        ids = {}
        for name, kind, rated, model in (
            ("HVAC", "hvac", 180.0, BuildingHvac()),
            ("Lighting", "lighting", 63.0, Lighting(LAT, LON)),
            ("Plugs", "plug_load", 40.0, PlugLoads()),
        ):
            body = {"site_id": site, "name": name, "kind": kind, "role": "consumer",
                    "rated_capacity_kw": rated, "attributes": {"hvac_mode": "heating"}
                    if kind == "hvac" else {}}  # fmt: skip
            ids[name] = (await post(http, admin, "/api/v1/assets", body))["id"]
            sim.add(name, ids[name], model)
        for body in (
            {"kind": "hvac", "name": "HVAC setpoint offset", "asset_id": ids["HVAC"],
             "params": DEMO_HVAC},
            {"kind": "curtailable_load", "name": "Lighting", "asset_id": ids["Lighting"],
             "params": DEMO_LIGHTING},
        ):  # fmt: skip
            await post(http, admin, f"/api/v1/sites/{site}/flex-resources", body)
        sim.now_ms = local_ms(str(days[0] - dt.timedelta(days=history_days)) + " 00:00")
        runtime = DrRuntime(app.state.settings, app.state.sessions, app.state.bus)
        rows = []
        for day in days:
            start, end = local_ms(f"{day} 14:00"), local_ms(f"{day} 16:00")
            await sim.advance(start - HOUR, QUARTER_MS if sim.now_ms % QUARTER_MS == 0 else STEP_MS)
            truth = sim.truth(start, end)
            event = (await post(http, admin, "/api/dr-events", {
                "facility_id": site, "event_start": iso_utc(start), "event_end": iso_utc(end),
                "target_reduction_kw": target_kw, "baseline_method": method,
            }))["event_id"]  # fmt: skip
            began = time.perf_counter()
            times = [*range(start - HOUR, end, STEP_MS), *range(end, end + 2 * HOUR, QUARTER_MS)]
            for t, then in zip(times, [*times[1:], end + 2 * HOUR], strict=True):
                await runtime.step(t)
                await sim.deliver(t)
                await sim.advance(then)
            await runtime.step(end + 2 * HOUR)  # the event is judged (every interval metered)
            found = (await http.get(f"/api/v1/dr-events/{event}", headers=admin)).json()
            metered = np.array([i["metered_kw"] for i in found["intervals"]], dtype=float)
            true_kw = float(np.mean(truth.to_numpy() - metered))
            measured = float(found["achieved_reduction_kw"])
            rows.append({
                "day": str(day), "status": found["status"], "measured_kw": measured,
                "true_kw": true_kw, "error_pct": 100 * (measured - true_kw) / true_kw,
                "revisions": found["dispatch"]["revision"],
                "boost_kw": found["dispatch"]["boost_kw"],
                "baseline_kw": float(np.mean([i["baseline_kw"] for i in found["intervals"]])),
                "loop_s": time.perf_counter() - began,
            })  # fmt: skip
            print(f"  {rows[-1]}", flush=True)
        return rows


def report(label: str, rows: list[dict[str, Any]], target_kw: float) -> str:
    """Print the events' table and figures; the summary line."""
    print(f"\n{label}: {len(rows)} events 14:00-16:00 (Rome), target {target_kw:g} kW")
    print("| day | status | measured kW | true kW | error | revisions (boost) | baseline kW |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['day']} | {r['status']} | {r['measured_kw']:.2f} | {r['true_kw']:.2f} | "
              f"{r['error_pct']:+.1f} % | {r['revisions']} ({r['boost_kw']:g}) | "
              f"{r['baseline_kw']:.1f} |")  # fmt: skip
    errors = [r["error_pct"] for r in rows]
    within = sum(abs(e) <= 10 for e in errors)
    pooled = 100 * (sum(r["measured_kw"] for r in rows) / sum(r["true_kw"] for r in rows) - 1)
    true = [r["true_kw"] for r in rows]
    summary = (f"mean error {statistics.mean(errors):+.1f} %, mean |error| "
               f"{statistics.mean(abs(e) for e in errors):.1f} %, pooled {pooled:+.1f} %, "
               f"{within} of {len(rows)} within +-10 %; true reduction "
               f"{min(true):.1f}-{max(true):.1f} kW")  # fmt: skip
    print(summary)
    return summary


async def main_async(args: argparse.Namespace) -> None:
    days = event_days(args.events)
    summaries = []
    for method in args.methods.split(","):
        with tempfile.TemporaryDirectory(prefix="gridpilot-dr-cf-") as tmp:
            url = f"sqlite:///{Path(tmp, 'bench.db').as_posix()}"
            async with app_on(url, Path(tmp)) as app:
                rows = await run(app, days, args.target_kw, args.history_days, method)
                summaries.append(f"SQLite {method}: " + report(f"SQLite {method}", rows,
                                                               args.target_kw))  # fmt: skip
            if args.pg:
                pg = PgServer()
                async with fresh_pg_database(pg) as name, app_on(pg.url(name), Path(tmp)) as app:
                    rows = await run(app, days, args.target_kw, args.history_days, method)
                    summaries.append(f"PostgreSQL {method}: " + report(
                        f"PostgreSQL {method}", rows, args.target_kw))  # fmt: skip
    print("\n" + "\n".join(summaries))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10, help="events, 8 days apart (21 Sep on)")
    parser.add_argument("--target-kw", type=float, default=20.0)
    parser.add_argument("--history-days", type=int, default=42, help="before the first event")
    parser.add_argument("--pg", action="store_true", help="PostgreSQL too")
    parser.add_argument("--methods", default="caiso_10in10",
                        help="baseline methods, comma-separated, each run in turn")  # fmt: skip
    asyncio.run(main_async(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
