"""The measured workloads: HTTP batch ingest, raw asyncpg COPY (the ceiling), series queries."""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

import asyncpg
import httpx
import orjson

from lean_http import KeepAliveConnection, ProtocolError

DAY_MS = 86_400_000
QUARTER_MS = 900_000


@dataclass(frozen=True)
class Dataset:
    """``per_asset`` power readings for each asset, evenly over 24 h ending at ``end_ms``."""

    asset_ids: list[int]
    per_asset: int
    end_ms: int

    @property
    def step_ms(self) -> int:
        return max(1, DAY_MS // self.per_asset)

    @property
    def start_ms(self) -> int:
        return self.end_ms - self.per_asset * self.step_ms

    @property
    def total(self) -> int:
        return self.per_asset * len(self.asset_ids)

    def rows(self) -> Iterator[tuple[int, int, float]]:
        """(asset_id, ts_ms, value_kw), time-major: every asset at one instant, then the next."""
        for k in range(self.per_asset):
            ts = self.start_ms + k * self.step_ms
            swing = 40.0 * math.sin(k / 500.0)
            for n, asset_id in enumerate(self.asset_ids):
                yield asset_id, ts, round(50.0 + swing + (n % 17), 3)

    def bodies(self, batch: int) -> list[bytes]:
        """Bodies of ``batch`` readings for ``POST /api/v1/telemetry`` (ts in epoch ms)."""
        bodies: list[bytes] = []
        readings: list[dict[str, object]] = []
        for asset_id, ts, value in self.rows():
            readings.append({"asset": asset_id, "metric": "power_kw", "ts": ts, "value": value})
            if len(readings) == batch:
                bodies.append(orjson.dumps({"readings": readings}))
                readings = []
        if readings:
            bodies.append(orjson.dumps({"readings": readings}))
        return bodies


@dataclass
class IngestFigures:
    stored: int
    rejected: int
    failed_requests: int
    seconds: float
    batch_latencies_s: list[float]
    first_error: str | None = None

    @property
    def per_second(self) -> float:
        return self.stored / self.seconds if self.seconds else 0.0


async def http_ingest(
    base_url: str, headers: dict[str, str], bodies: list[bytes], clients: int
) -> IngestFigures:
    """POST every body to ``/api/v1/telemetry`` from ``clients`` concurrent connections."""
    figures = IngestFigures(0, 0, 0, 0.0, [])
    pending = iter(bodies)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    send_headers = headers | {"Content-Type": "application/json"}

    async def client(http: httpx.AsyncClient) -> None:
        for body in pending:  # one shared iterator: each body is sent once
            started = time.perf_counter()
            response = await http.post("/api/v1/telemetry", content=body, headers=send_headers)
            figures.batch_latencies_s.append(time.perf_counter() - started)
            if response.status_code not in (200, 207, 422):
                figures.failed_requests += 1
                figures.first_error = figures.first_error or (
                    f"{response.status_code} {response.text[:300]}"
                )
                continue
            answer = orjson.loads(response.content)
            figures.stored += int(answer["stored"])
            figures.rejected += len(answer["rejected"])
            if answer["rejected"] and figures.first_error is None:
                figures.first_error = f"rejected: {answer['rejected'][0]}"

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=300) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        figures.seconds = time.perf_counter() - started
    return figures


@dataclass
class CopyFigures:
    rows: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


async def copy_ceiling(
    database_url: str,
    records: list[tuple[int, int, int, float]],
    *,
    connections: int,
    chunk: int,
    unlogged: bool,
) -> CopyFigures:
    """asyncpg ``copy_records_to_table`` of ``records`` into a plain table shaped like ``readings``.

    Same columns and primary key (asset_id, metric_id, ts); ``chunk`` rows per COPY, over
    ``connections`` concurrent connections, each COPY in its own transaction (committed).
    """
    table = "bench_copy_unlogged" if unlogged else "bench_copy_logged"
    setup = await asyncpg.connect(database_url)
    try:
        await setup.execute(f"DROP TABLE IF EXISTS {table}")
        await setup.execute(
            f"CREATE {'UNLOGGED ' if unlogged else ''}TABLE {table} ("
            " asset_id integer NOT NULL, metric_id integer NOT NULL,"
            " ts bigint NOT NULL, value double precision NOT NULL,"
            " PRIMARY KEY (asset_id, metric_id, ts))"
        )
        chunks = iter(range(0, len(records), chunk))
        pool = [await asyncpg.connect(database_url) for _ in range(connections)]

        async def writer(conn: asyncpg.Connection) -> None:
            for offset in chunks:
                await conn.copy_records_to_table(
                    table,
                    records=records[offset : offset + chunk],
                    columns=["asset_id", "metric_id", "ts", "value"],
                )

        try:
            started = time.perf_counter()
            await asyncio.gather(*(writer(conn) for conn in pool))
            seconds = time.perf_counter() - started
        finally:
            for conn in pool:
                await conn.close()
        stored = int(await setup.fetchval(f"SELECT count(*) FROM {table}"))
        await setup.execute(f"DROP TABLE {table}")
        return CopyFigures(stored, seconds)
    finally:
        await setup.close()


@dataclass
class QueryFigures:
    latencies_s: list[float]
    seconds: float
    points: int
    errors: int
    first_error: str | None = None

    def percentile_ms(self, q: float) -> float:
        if not self.latencies_s:
            return math.nan
        if len(self.latencies_s) == 1:
            return self.latencies_s[0] * 1000
        cuts = statistics.quantiles(self.latencies_s, n=100, method="inclusive")
        return cuts[round(q) - 1] * 1000

    @property
    def per_second(self) -> float:
        return len(self.latencies_s) / self.seconds if self.seconds else 0.0


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def series_params(start_ms: int) -> dict[str, str]:
    """Query parameters of the measured series: 24 h of power from ``start_ms``, 15 min averages."""
    start = start_ms - start_ms % QUARTER_MS
    return {
        "metric": "power_kw",
        "start": iso(start),
        "end": iso(start + DAY_MS),
        "resolution": "15m",
        "agg": "avg",
    }


def series_path(asset_id: int) -> str:
    return f"/api/v1/assets/{asset_id}/series"


async def series_queries(
    base_url: str,
    headers: dict[str, str],
    asset_ids: list[int],
    *,
    start_ms: int,
    clients: int,
    per_client: int,
    on_start: Callable[[], object] = lambda: None,
) -> QueryFigures:
    """``clients`` concurrent httpx clients each ask ``per_client`` 24 h / 15 min series.

    First one unmeasured query per asset (warm-up); ``on_start`` is called just before the
    clock starts. httpx costs about 2 ms of CPU per request; ``series_queries_lean`` measures
    the server rather than the client.
    """
    params = series_params(start_ms)
    figures = QueryFigures([], 0.0, 0, 0)
    chooser = random.Random(20261123)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client(http: httpx.AsyncClient) -> None:
        for _ in range(per_client):
            asset_id = chooser.choice(asset_ids)
            started = time.perf_counter()
            response = await http.get(series_path(asset_id), params=params)
            elapsed = time.perf_counter() - started
            record(figures, response.status_code, response.content, elapsed)

    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=60
    ) as http:
        for asset_id in asset_ids:  # warm-up, not measured
            await http.get(series_path(asset_id), params=params)
        on_start()
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        figures.seconds = time.perf_counter() - started
    return figures


async def series_queries_lean(
    base_url: str,
    headers: dict[str, str],
    asset_ids: list[int],
    *,
    start_ms: int,
    clients: int,
    per_client: int,
    on_start: Callable[[], object] = lambda: None,
) -> QueryFigures:
    """The same queries as ``series_queries`` through ``clients`` lean keep-alive connections.

    Requests are built once per asset; latency runs from writing the request to reading the
    last byte of the answer. Warm-up and ``on_start`` as in ``series_queries``.
    """
    query = urlencode(series_params(start_ms))
    figures = QueryFigures([], 0.0, 0, 0)
    chooser = random.Random(20261123)
    connections = [KeepAliveConnection(base_url, headers) for _ in range(clients)]
    requests = {a: connections[0].request_bytes(f"{series_path(a)}?{query}") for a in asset_ids}

    async def warm_up(connection: KeepAliveConnection, n: int) -> None:
        for asset_id in asset_ids[n :: len(connections)] or asset_ids[:1]:
            with contextlib.suppress(OSError, TimeoutError, ProtocolError):  # counted later
                await connection.get(requests[asset_id])

    async def client(connection: KeepAliveConnection) -> None:
        for _ in range(per_client):
            try:
                response = await connection.get(requests[chooser.choice(asset_ids)])
            except (OSError, TimeoutError, ProtocolError) as exc:  # reset, refused, too slow
                record(figures, 0, f"{type(exc).__name__}: {exc}".encode(), 0.0)
                continue
            record(figures, response.status, response.body, response.seconds)

    try:
        # open every connection and ask for every asset once before the clock starts
        await asyncio.gather(*(warm_up(c, n) for n, c in enumerate(connections)))
        on_start()
        started = time.perf_counter()
        await asyncio.gather(*(client(connection) for connection in connections))
        figures.seconds = time.perf_counter() - started
    finally:
        for connection in connections:
            await connection.close()
    return figures


def record(figures: QueryFigures, status: int, body: bytes, seconds: float) -> None:
    """Count one answer: its latency if 200 (and the number of points), else an error."""
    if status != 200:
        figures.errors += 1
        figures.first_error = figures.first_error or f"{status} {body[:300]!r}"
        return
    figures.latencies_s.append(seconds)
    figures.points = max(figures.points, len(orjson.loads(body)["points"]))
