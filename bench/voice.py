"""Voice query latency on the demo data: p50/p95 per intent, parser alone, a KPI peer.

    flock /tmp/gridpilot-bench.lock .venv/bin/python bench/voice.py [--days 14] [--rounds 5]

Seeds the demo (``gridpilot demo``'s data: every scenario's sites and assets, ``--days`` of
15-min history) into a temporary SQLite database, starts the app in process and asks
``POST /api/v1/voice/utterance`` one question after the other (httpx over ASGI: no network, the
client's cost included) with the answer cache off, then with it on, after one run of the
forecast job (which a deployment runs every 15 min: the forecast answer reads its result).
Peer in the same run: ``GET /api/v1/kpis?site=`` (last 24 h; the KPI service the cost, CO2 and peak
answers build on).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from gridpilot.api.app import create_app
from gridpilot.auth.dependencies import token_config
from gridpilot.auth.tokens import encode_access_token
from gridpilot.cli.demo import seed
from gridpilot.core.runtime import runtime_of
from gridpilot.core.settings import Settings
from gridpilot.insights.forecasts.tasks import FORECASTS
from gridpilot.voice.cache import AnswerCache
from gridpilot.voice.registry import parser
from gridpilot.voice.tasks import VOICE_CACHE

SECRET = "bench-secret-" + "x" * 40


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def questions(site: str, asset: str) -> list[tuple[str, str]]:
    return [
        ("energy_consumption", f"how much energy did {asset} use in the last hour"),
        ("energy_consumption", f"quanta energia ha consumato {site} oggi"),
        ("current_power", f"what is the current power of {asset}"),
        ("machines_above_power", "which machines are using more than 50 kilowatts"),
        ("top_consumers", "who are the top consumers today"),
        ("peak_demand", f"what was the peak demand of {site} this month"),
        ("energy_cost", f"what is the energy cost of {site} this month"),
        ("co2_emissions", f"what are the co2 emissions of {site} this month"),
        ("active_alerts", "are there any active alerts"),
        ("forecast_peak", f"what is the forecast peak of {site} tomorrow"),
        ("dr_status", "is there an active demand response event"),
        ("correlation", f"temperature effect on {asset}"),
    ]


async def run(days: float, rounds: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="gridpilot-voice-bench-"))
    settings = Settings(database_url=f"sqlite:///{root / 'bench.db'}", data_dir=root,
                        jwt_secret=SECRET, log_json=False, web_enabled=False,
                        auth_rate_limit_per_min=10**6, api_rate_limit_per_min=0)  # fmt: skip
    began = time.monotonic()
    _, stored, assets, *_ = await seed(settings, days=days, step_ms=900_000)
    spent = time.monotonic() - began
    print(f"demo data: {assets} assets, {stored} readings, {days} days ({spent:.0f} s)")
    began = time.perf_counter()
    parser()
    print(f"parser built in {time.perf_counter() - began:.2f} s")
    app = create_app(settings.model_copy(update={"forecast_interval_s": 0}))
    claims = {"role": "administrator", "name": "admin", "sites": None}
    token = encode_access_token(token_config(settings), "user:1", claims)
    headers = {"Authorization": f"Bearer {token}"}
    async with app.router.lifespan_context(app):
        began = time.perf_counter()
        forecasts = runtime_of(app).require(FORECASTS)
        await forecasts.run_once()  # what the 15-min forecast job keeps stored
        print(f"forecast job (every site): {time.perf_counter() - began:.1f} s")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://b") as http:
            sites = (await http.get("/api/v1/sites", headers=headers)).json()
            site = sites["data"][0] if isinstance(sites, dict) else sites[0]
            listed = (
                await http.get(f"/api/v1/assets?site_id={site['id']}", headers=headers)
            ).json()
            rows = listed["data"] if isinstance(listed, dict) else listed
            consumers = [a for a in rows if a["role"] == "consumer"]
            asset = next((a for a in consumers if a["name"] == "Compressor 1"), consumers[0])
            asked = questions(site["name"], asset["name"])
            for label, cache in (("cache off", AnswerCache(ttl_s=0)), ("cache on", AnswerCache())):
                runtime_of(app).put(VOICE_CACHE, cache)
                times: dict[str, list[float]] = {}
                for _ in range(rounds):
                    for intent, text in asked:
                        start = time.perf_counter()
                        got = await http.post("/api/v1/voice/utterance", headers=headers,
                                              json={"utterance": text})  # fmt: skip
                        times.setdefault(intent, []).append((time.perf_counter() - start) * 1000)
                        assert got.status_code == 200 and got.json()["intent"] == intent, (
                            text,
                            got.text,
                        )
                every = [t for ts in times.values() for t in ts]
                print(f"\n{label}: {len(every)} queries, p50 {statistics.median(every):.1f} ms, "
                      f"p95 {p95(every):.1f} ms")  # fmt: skip
                for intent, ts in times.items():
                    print(
                        f"  {intent:22s} p50 {statistics.median(ts):7.1f} ms  p95 {p95(ts):7.1f} ms"
                    )
            peer = []
            for _ in range(rounds):
                start = time.perf_counter()
                await http.get(f"/api/v1/kpis?site={site['id']}", headers=headers)
                peer.append((time.perf_counter() - start) * 1000)
            print(f"\npeer GET /api/v1/kpis?site= (last 24 h): p50 {statistics.median(peer):.1f} "
                  f"ms, p95 {p95(peer):.1f} ms")  # fmt: skip
    parse_times = []
    for _ in range(rounds):
        for _, text in asked:
            start = time.perf_counter()
            parser().parse(text)
            parse_times.append((time.perf_counter() - start) * 1000)
    print(
        f"parser alone: p50 {statistics.median(parse_times):.1f} ms, p95 {p95(parse_times):.1f} ms"
    )


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--days", type=float, default=14.0)
    args.add_argument("--rounds", type=int, default=5)
    parsed = args.parse_args()
    asyncio.run(run(parsed.days, parsed.rounds))


if __name__ == "__main__":
    main()
