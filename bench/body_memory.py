"""Server memory per oversized or hostile request body (issue #13, finding 3).

Starts a real ``gridpilot serve`` (embedded SQLite, ``bench/harness.py``), sends each body of the
finding (and a few neighbours) once, and reads the server process's resident memory from
``/proc/<pid>/status``: ``VmHWM`` (peak) after resetting it through ``clear_refs`` before each
request, and ``VmRSS`` sampled every 2 ms while the request runs. Prints the peak growth over
the RSS before the request beside the bound, and exits 1 when a case exceeds it.

    .venv/bin/python bench/body_memory.py
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

from harness import ServerProcess, gridpilot_server

MIB = 1024 * 1024
#: Peak RSS growth [MiB] any case may cause (the 32 MiB body itself included).
BOUND_MIB = 96
SID = "SOLAR-PV-ITA-00001"
PRODUCTION = f"/api/v1/sources/{SID}/production"
TELEMETRY = "/api/v1/telemetry"
SITES = "/api/v1/sites"
JSON = {"Content-Type": "application/json"}


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


class RssProbe:
    """Peak resident memory of one process while a request runs [KiB]."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, status_kib(self.pid, "VmRSS"))
            time.sleep(0.002)

    def __enter__(self) -> RssProbe:
        with contextlib.suppress(OSError):  # resets VmHWM to the current RSS (Linux >= 4.0)
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        self.before = status_kib(self.pid, "VmRSS")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.05)
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, status_kib(self.pid, "VmHWM"))
        self.after = status_kib(self.pid, "VmRSS")


@dataclass
class Case:
    name: str
    path: str
    body: Callable[[], bytes]
    headers: dict[str, str]
    authenticated: bool = True


def empty_objects(size: int) -> bytes:
    return b"[" + b"{}," * (size // 3 - 1) + b"{}]"


def tiny_csv(size: int) -> bytes:
    return b"asset,metric,ts,value\n" + b"1,p,1,1\n" * (size // 8)


def tiny_ndjson(size: int) -> bytes:
    return b'{"a":1}\n' * (size // 8)


def unknown_fields(size: int, **known: object) -> bytes:
    keys = {f"k{i:07d}": 0 for i in range(size // 13)}
    return orjson.dumps({**known, **keys})


def valid_readings(asset: int, count: int) -> bytes:
    start = int(time.time() * 1000) - 3_600_000
    readings = [{"asset": asset, "metric": "power_kw", "ts": start + i, "value": 1.5}
                for i in range(count)]  # fmt: skip
    return orjson.dumps(readings)


def cases(asset: int, site: int) -> list[Case]:
    csv = {"Content-Type": "text/csv"}
    ndjson = {"Content-Type": "application/x-ndjson"}
    tariff = {"valid_from": "2030-01-01T00:00:00Z", "definition": {}}
    big = 32_000_000
    return [
        Case("WIA production, [{},...] 0.43 MiB", PRODUCTION, lambda: empty_objects(450_000), JSON),
        Case("WIA production, [{},...] 32 MB", PRODUCTION, lambda: empty_objects(big), JSON),
        Case("telemetry, CSV of tiny rows 32 MB", TELEMETRY, lambda: tiny_csv(big), csv),
        Case("POST /sites 29 MiB, no credentials", SITES, lambda: b" " * (29 * MIB), JSON,
             authenticated=False),
        Case("POST /sites 29 MiB, authenticated", SITES, lambda: b" " * (29 * MIB), JSON),
        Case("telemetry, JSON [{},...] 32 MB", TELEMETRY, lambda: empty_objects(big), JSON),
        Case("telemetry, NDJSON tiny lines 32 MB", TELEMETRY, lambda: tiny_ndjson(big), ndjson),
        Case("POST /sites 1 MiB of unknown fields", SITES,
             lambda: unknown_fields(MIB - 100, name="x", timezone="UTC"), JSON),
        Case("POST /sites/{id}/tariffs 1 MiB of unknown fields", f"{SITES}/{site}/tariffs",
             lambda: unknown_fields(MIB - 200, **tariff), JSON),
        Case("telemetry, 50,000 valid readings (reference)", TELEMETRY,
             lambda: valid_readings(asset, 50_000), JSON),
    ]  # fmt: skip


def prepare(server: ServerProcess) -> tuple[int, int]:
    """A site, a meter and the WIA source; warm every route up once. (meter id, site id)"""
    with httpx.Client(base_url=server.base_url, headers=server.headers, timeout=60) as http:
        source = {"sourceId": SID, "sourceType": "SOLAR-PV", "name": "PV",
                  "ratedCapacity": {"value": 1, "unit": "MW"}}  # fmt: skip
        site = http.post("/api/v1/sources", json=source).raise_for_status().json()["siteId"]
        meter = {"site_id": site, "name": "M", "kind": "meter"}
        asset = http.post("/api/v1/assets", json=meter).raise_for_status().json()["id"]
        http.post("/api/v1/telemetry", content=valid_readings(asset, 10), headers=JSON)
        http.post(PRODUCTION, json=[{}])
        http.post("/api/v1/sites", json={"nope": 1})
        return int(asset), int(site)


def run_case(server: ServerProcess, pid: int, case: Case) -> tuple[str, float, float, float]:
    body = case.body()
    headers = {**case.headers, **(server.headers if case.authenticated else {})}
    with httpx.Client(base_url=server.base_url, timeout=120) as http, RssProbe(pid) as probe:
        started = time.perf_counter()
        try:
            answer = http.post(case.path, content=body, headers=headers)
            outcome = f"{answer.status_code} {answer.json().get('message', '')[:60]}"
        except httpx.HTTPError as exc:
            outcome = f"client error {type(exc).__name__}"
        seconds = time.perf_counter() - started
    del body
    growth = (probe.peak - probe.before) / 1024
    return outcome, growth, (probe.after - probe.before) / 1024, seconds


def main() -> int:
    worst = 0.0
    with gridpilot_server(None) as server:
        pid = server.process.pid
        asset, site = prepare(server)
        print(f"server pid {pid}, RSS {status_kib(pid, 'VmRSS') / 1024:.0f} MiB after warm-up")
        print(f"{'case':50} {'answer':66} {'peak +MiB':>9} {'after +MiB':>10} {'s':>6}")
        for case in cases(asset, site):
            outcome, growth, after, seconds = run_case(server, pid, case)
            reference = "(reference)" in case.name
            worst = max(worst, 0 if reference else growth)
            print(f"{case.name:50} {outcome:66} {growth:9.1f} {after:10.1f} {seconds:6.2f}")
    verdict = "within" if worst <= BOUND_MIB else "OVER"
    print(f"worst peak growth of a refused body: {worst:.1f} MiB; bound {BOUND_MIB} MiB: {verdict}")
    return 0 if worst <= BOUND_MIB else 1


if __name__ == "__main__":
    sys.exit(main())
