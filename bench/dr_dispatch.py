"""DR dispatch latency (issue #17): utility notification received -> first command sent.

    flock /tmp/gridpilot-bench.lock .venv/bin/python bench/dr_dispatch.py [--rounds 10]

A real ``gridpilot serve`` (fresh PostgreSQL database, then the embedded SQLite default) with
the MQTT command link on the local Mosquitto (a topic prefix of its own). ``--rounds`` sites,
each a consumer meter with 10 weeks of 15-min history (``POST /api/v1/telemetry``), a battery
and an HVAC flexible resource on assets that are online (a fresh reading each), and one
utility allowed to address them. Per round, one signed notification
(``POST /webhooks/utility/dr-notification``, Standard Webhooks) for one site, for an event
already started (the current quarter hour + 1 h), so the DR loop (woken by the webhook) makes
the event with its CAISO 10-in-10 baseline, starts it, plans, and queues the commands, which
the command link publishes. A subscriber on the commands topics takes the time each arrives.

Figures per round, from the moment the request is sent:
- ``answer``: the webhook's 202;
- ``queued``: the first dispatch command's ``created_ms`` (the server's clock, same machine);
- ``sent``: its ``sent_ms``, when the command link published it (same clock);
- ``on MQTT``: the first command received by the subscriber (the target: < 2 s);
- peer in the same run: an operator's command (``POST /api/v1/assets/{id}/commands``) to the
  same battery, request -> received on MQTT: the plain command path without DR.
No assertions; see bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import aiomqtt
import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from harness import PASSWORD, PgServer, fresh_pg_database, gridpilot_server, run_cli

QUARTER_MS = 15 * 60_000
DAY_MS = 86_400_000
HISTORY_DAYS = 70


def admin_token(base_url: str) -> str:
    response = httpx.post(
        f"{base_url}/api/v1/auth/token",
        data={"grant_type": "password", "username": "benchadmin", "password": PASSWORD},
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def history(meter: int, now_ms: int) -> list[dict]:
    """10 weeks of 15-min power of an office-like load [kW] up to the current quarter."""
    end = now_ms - now_ms % QUARTER_MS
    ts = np.arange(end - HISTORY_DAYS * DAY_MS, end, QUARTER_MS)
    hour = (ts % DAY_MS) / 3_600_000
    weekday = ((ts // DAY_MS) + 3) % 7 < 5  # 1970-01-01 was a Thursday
    load = 60 + np.where(weekday, 80, 10) * np.exp(-(((hour - 13) / 4) ** 2))
    return [{"asset": meter, "metric": "power_kw", "ts": int(t), "value": round(float(v), 3)}
            for t, v in zip(ts, load, strict=True)]  # fmt: skip


def provision(http: httpx.Client, n: int) -> list[dict]:
    """``n`` sites, each a meter with history, a battery and an HVAC resource online."""
    now = int(time.time() * 1000)
    sites = []
    for i in range(n):
        site = http.post("/api/v1/sites", json={"name": f"DR site {i}", "timezone": "UTC"})
        site.raise_for_status()
        sid = site.json()["id"]

        def asset(name: str, kind: str, sid: int = sid, **extra: object) -> int:
            body = {"site_id": sid, "name": name, "kind": kind, **extra}
            made = http.post("/api/v1/assets", json=body)
            made.raise_for_status()
            return int(made.json()["id"])

        meter = asset("Meter", "meter", role="consumer")
        battery = asset("Battery", "battery")
        ahu = asset("AHU", "hvac", parent_asset_id=meter)
        sent = http.post("/api/v1/telemetry", json={"readings": history(meter, now)}, timeout=120)
        sent.raise_for_status()
        for body in (
            {"kind": "battery", "name": "BESS", "asset_id": battery, "params": {
                "capacity_kwh": 200, "charge_max_kw": 50, "discharge_max_kw": 50}},
            {"kind": "hvac", "name": "AHU", "asset_id": ahu,
             "params": {"kw_per_degc": 10, "max_offset_degc": 2}},
        ):  # fmt: skip
            http.post(f"/api/v1/sites/{sid}/flex-resources", json=body).raise_for_status()
        sites.append({"site_id": sid, "battery": battery, "ahu": ahu})
    return sites


def keep_online(http: httpx.Client, sites: list[dict]) -> None:
    """A fresh reading of every commanded asset (the command link sends to online ones)."""
    now = int(time.time() * 1000)
    readings = [
        {"asset": s[key], "metric": "power_kw", "ts": now, "value": 0.0}
        for s in sites for key in ("battery", "ahu")
    ]  # fmt: skip
    http.post("/api/v1/telemetry", json={"readings": readings}).raise_for_status()


def signed(secret: str, body: bytes) -> dict[str, str]:
    msg_id, ts = f"msg_{uuid.uuid4().hex}", str(int(time.time()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return {"content-type": "application/json", "webhook-id": msg_id, "webhook-timestamp": ts,
            "webhook-signature": "v1," + base64.b64encode(mac).decode()}  # fmt: skip


class Arrivals:
    """Command messages received on the commands topics: (asset id, created_by?) -> time."""

    def __init__(self, url: str, prefix: str) -> None:
        self.host = url.split("://")[-1].split(":")[0]
        self.prefix = prefix
        self.seen: dict[int, float] = {}  # command id -> perf_counter time
        self.kinds: dict[int, int] = {}  # command id -> asset id
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    async def run(self) -> None:
        async with aiomqtt.Client(self.host, 1883, identifier=f"bench-{uuid.uuid4().hex[:8]}") as c:
            await c.subscribe(f"{self.prefix}gridpilot/+/+/commands", qos=1)
            self.ready.set()
            async for message in c.messages:
                at = time.perf_counter()
                body = json.loads(bytes(message.payload))  # type: ignore[arg-type]
                self.seen.setdefault(int(body["command_id"]), at)
                self.kinds[int(body["command_id"])] = int(str(message.topic).split("/")[-2])

    async def first_for(self, asset_ids: set[int], after: float, timeout_s: float = 30) -> float:
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            times = [
                t for cid, t in self.seen.items() if self.kinds[cid] in asset_ids and t > after
            ]
            if times:
                return min(times)
            await asyncio.sleep(0.002)
        return float("nan")


async def measure(server, rounds: int) -> dict[str, list[float]]:  # type: ignore[no-untyped-def]
    run_cli(["user", "create", "benchadmin", "--role", "administrator", "--password-stdin"],
            server.env, PASSWORD)  # fmt: skip
    headers = {"Authorization": f"Bearer {admin_token(server.base_url)}"}
    http = httpx.Client(base_url=server.base_url, headers=headers, timeout=60)
    sites = provision(http, rounds)
    utility = http.post("/api/v1/dr-utilities", json={
        "name": "Bench utility", "site_ids": [s["site_id"] for s in sites]})  # fmt: skip
    utility.raise_for_status()
    secret = utility.json()["secret"]
    arrivals = Arrivals(server.env["GRIDPILOT_MQTT_URL"], server.env["GRIDPILOT_MQTT_TOPIC_PREFIX"])
    listener = asyncio.create_task(arrivals.run())
    await arrivals.ready.wait()
    figures: dict[str, list[float]] = {
        "answer": [], "queued": [], "sent": [], "on MQTT": [], "peer": []}  # fmt: skip
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
        for i, site in enumerate(sites):
            keep_online(http, sites)
            await asyncio.sleep(1.0)  # the status tracker marks them online
            now = int(time.time() * 1000)
            start = now - now % QUARTER_MS
            body = json.dumps({
                "event_id": f"BENCH-{uuid.uuid4().hex[:8]}", "facility_ids": [site["site_id"]],
                "event_start": start, "event_end": start + 4 * QUARTER_MS,
                "target_reduction_percentage": 10}).encode()  # fmt: skip
            sent_wall, sent = time.time(), time.perf_counter()
            answer = await client.post("/webhooks/utility/dr-notification", content=body,
                                       headers=signed(secret, body))  # fmt: skip
            figures["answer"].append(time.perf_counter() - sent)
            if answer.status_code != 202:
                print(f"round {i}: webhook answered {answer.status_code} {answer.text[:200]}")
                continue
            got = await arrivals.first_for({site["battery"], site["ahu"]}, sent)
            figures["on MQTT"].append(got - sent)
            commands = [
                c for key in ("battery", "ahu")
                for c in http.get(f"/api/v1/assets/{site[key]}/commands").json()
                if c["created_by"] == "system:dr"
            ]  # fmt: skip
            if commands:
                figures["queued"].append(min(c["created_ms"] for c in commands) / 1000 - sent_wall)
                sent_ms = [c["sent_ms"] for c in commands if c["sent_ms"]]
                if sent_ms:
                    figures["sent"].append(min(sent_ms) / 1000 - sent_wall)
            keep_online(http, sites)
            await asyncio.sleep(0.5)
            peer_sent = time.perf_counter()
            manual = await client.post(
                f"/api/v1/assets/{site['ahu']}/commands", headers=headers,
                json={"kind": "setpoint", "params": {"temperature_c": 23.0}},
            )  # fmt: skip
            if manual.status_code in (201, 202):
                got = await arrivals.first_for({site["ahu"]}, peer_sent)
                figures["peer"].append(got - peer_sent)
    listener.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await listener
    http.close()
    return figures


def report(label: str, figures: dict[str, list[float]]) -> None:
    print(f"\n{label}")
    print(f"{'figure':<10} {'n':>3} {'median ms':>10} {'p90 ms':>8} {'max ms':>8}")
    for name, values in figures.items():
        vals = sorted(v * 1000 for v in values if v == v)
        if not vals:
            print(f"{name:<10} {0:>3}")
            continue
        p90 = vals[min(len(vals) - 1, int(0.9 * len(vals)))]
        rounds = " ".join(f"{v * 1000:.0f}" for v in values)
        print(f"{name:<10} {len(vals):>3} {statistics.median(vals):>10.0f} {p90:>8.0f} "
              f"{vals[-1]:>8.0f}   by round: {rounds}")  # fmt: skip


async def main_async(rounds: int, skip_sqlite: bool, skip_pg: bool) -> None:
    prefix = f"bench{uuid.uuid4().hex[:6]}/"
    os.environ["GRIDPILOT_MQTT_URL"] = "mqtt://127.0.0.1:1883"  # the server's env is ours
    os.environ["GRIDPILOT_MQTT_TOPIC_PREFIX"] = prefix
    pg = PgServer()
    if not skip_pg:
        async with fresh_pg_database(pg) as name:
            with gridpilot_server(pg.url(name)) as server:
                report(f"PostgreSQL, {rounds} rounds", await measure(server, rounds))
    if not skip_sqlite:
        with gridpilot_server(None) as server:
            report(f"SQLite, {rounds} rounds", await measure(server, rounds))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    asyncio.run(main_async(args.rounds, args.skip_sqlite, args.skip_pg))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
