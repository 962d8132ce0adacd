"""Measurements of ``bench/fleet.py``: timed GETs (lean client), the dashboard page, memory."""

from __future__ import annotations

import asyncio
import contextlib
import re
import statistics
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

from lean_http import KeepAliveConnection, ProtocolError


@dataclass
class Timings:
    """Latencies of one measured request kind (seconds), errors and the answer's size."""

    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None
    body_bytes: int = 0
    seconds: float = 0.0  # wall time of the whole run
    note: str = ""

    def add(self, status: int, body: bytes, seconds: float) -> None:
        if status != 200:
            self.errors += 1
            self.first_error = self.first_error or f"{status} {body[:300]!r}"
            return
        self.latencies_s.append(seconds)
        self.body_bytes = max(self.body_bytes, len(body))

    def pct_ms(self, q: int) -> float:
        lat = self.latencies_s
        if len(lat) < 2:
            return lat[0] * 1000 if lat else float("nan")
        return statistics.quantiles(lat, n=100, method="inclusive")[q - 1] * 1000

    def summary(self) -> str:
        if not self.latencies_s:
            return "no answer"
        return f"p50 {self.pct_ms(50):,.0f} ms, p95 {self.pct_ms(95):,.0f} ms"

    def detail(self) -> str:
        rate = len(self.latencies_s) / self.seconds if self.seconds else 0.0
        text = (
            f"n={len(self.latencies_s)}, max {max(self.latencies_s, default=0) * 1000:,.0f} ms, "
            f"{rate:.1f}/s, {self.body_bytes / 1024:,.0f} KiB, {self.errors} errors"
        )
        if self.note:
            text += f"; {self.note}"
        if self.first_error:
            text += f"; first error: {self.first_error[:160]}"
        return text


def query(path: str, params: dict[str, str] | None = None) -> str:
    return f"{path}?{urlencode(params)}" if params else path


async def closed_loop(
    base_url: str, headers: dict[str, str], path: str, *, clients: int, per_client: int
) -> Timings:
    """``clients`` lean keep-alive connections each GET ``path`` ``per_client`` times, one after
    the other (closed loop), after one unmeasured GET per connection."""
    timings = Timings()
    connections = [KeepAliveConnection(base_url, headers, timeout_s=120) for _ in range(clients)]
    request = connections[0].request_bytes(path)

    async def run(connection: KeepAliveConnection, count: int, measured: bool) -> None:
        for _ in range(count):
            try:
                answer = await connection.get(request)
            except (OSError, TimeoutError, ProtocolError) as exc:
                timings.add(0, f"{type(exc).__name__}: {exc}".encode(), 0.0) if measured else None
                continue
            if measured:
                timings.add(answer.status, answer.body, answer.seconds)

    try:
        await asyncio.gather(*(run(c, 1, False) for c in connections))
        started = time.perf_counter()
        await asyncio.gather(*(run(c, per_client, True) for c in connections))
        timings.seconds = time.perf_counter() - started
    finally:
        for connection in connections:
            await connection.close()
    return timings


async def sequential(
    base_url: str, headers: dict[str, str], paths: list[str], *, runs: int, warm_up: int = 1
) -> Timings:
    """GET ``paths`` in turn (one sweep is one sample: a paged listing is several paths),
    ``warm_up`` unmeasured sweeps then ``runs`` measured ones, on one connection."""
    timings = Timings()
    connection = KeepAliveConnection(base_url, headers, timeout_s=300)
    started = time.perf_counter()
    try:
        for n in range(warm_up + runs):
            total, status, body = 0.0, 200, b""
            for path in paths:
                try:
                    answer = await connection.get(connection.request_bytes(path))
                except (OSError, TimeoutError, ProtocolError) as exc:  # too slow: stop here
                    timings.add(
                        0, f"{type(exc).__name__} after {connection.timeout_s:.0f} s".encode(), 0
                    )
                    return timings
                total += answer.seconds
                if answer.status != 200:
                    status, body = answer.status, answer.body
                    break
                body = answer.body if len(paths) == 1 else body + answer.body
            if n >= warm_up:
                timings.add(status, body, total)
    finally:
        await connection.close()
    timings.seconds = time.perf_counter() - started
    return timings


#: How ``fleet_pages`` says that the first page did not answer in time.
NO_ANSWER = "no answer"


async def fleet_pages(
    base_url: str, headers: dict[str, str], sites: int, timeout_s: float = 300
) -> tuple[list[str], str]:
    """The paths that list every site of ``/api/v1/fleet/summary`` (largest accepted page), or
    ([], why) when the route is missing, refuses every page size or does not answer within
    ``timeout_s`` (why then starts with ``NO_ANSWER``)."""
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout_s) as http:
        for limit in (sites, 1000, 500, 200, 100, 50):
            try:
                answer = await http.get(
                    "/api/v1/fleet/summary", params={"limit": limit, "offset": 0}
                )
            except httpx.TransportError as exc:  # too slow (or gone): recorded, the run goes on
                return [], f"{NO_ANSWER} within {timeout_s:.0f} s (limit={limit}): {exc!r}"
            if answer.status_code == 404 and "fleet" not in answer.text.lower():
                return [], f"not yet: /api/v1/fleet/summary answers 404 ({answer.text[:80]})"
            if answer.status_code == 200:
                pages = range(0, sites, limit)
                return [
                    query("/api/v1/fleet/summary", {"limit": str(limit), "offset": str(offset)})
                    for offset in pages
                ], f"{len(pages)} page(s) of {limit}; answer shape: {shape(answer.content)}"
            if answer.status_code != 422:
                return [], f"{answer.status_code} {answer.text[:200]}"
    return [], "every page size refused (422)"


def shape(body: bytes) -> str:
    data = orjson.loads(body)
    if isinstance(data, list):
        return f"a list of {len(data)}"
    if isinstance(data, dict):
        lists = {k: len(v) for k, v in data.items() if isinstance(v, list)}
        return f"keys {sorted(data)[:8]}, lists {lists}"
    return type(data).__name__


# --- the dashboard -------------------------------------------------------------------------------

ELEMENTS = re.compile(r"parseElements\(String\.raw`(.*?)`\)", re.S)
CLIENT_ID = re.compile(r"'client_id': '([0-9a-f-]+)'")


def _listener(elements: dict[str, Any], testid: str, event: str) -> tuple[int, str]:
    """(element id, listener id) of the ``event`` listener of the element marked ``testid``."""
    for key, element in elements.items():
        if element.get("props", {}).get("data-testid") == testid:
            for listener in element.get("events", []):
                if listener["type"] == event:
                    return int(key), str(listener["listener_id"])
    raise RuntimeError(f"no {event} listener on data-testid={testid} in the log-in page")


async def dashboard_login(base_url: str, username: str, password: str) -> httpx.Cookies:
    """Log in through the dashboard's own page, as a browser would, without a browser: GET
    /login, then send the NiceGUI socket.io events of typing and clicking (the log-in runs in
    the page's event handler); the session cookie then opens the pages."""
    import socketio  # NiceGUI's own dependency; aiohttp is its client transport

    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        page = await http.get("/login")
        page.raise_for_status()
        cookies = http.cookies
    match, client = ELEMENTS.search(page.text), CLIENT_ID.search(page.text)
    if match is None or client is None:
        raise RuntimeError("the log-in page has no NiceGUI elements or client id")
    elements = orjson.loads(match.group(1))
    client_id = client.group(1)
    navigated = asyncio.Event()
    sio = socketio.AsyncClient()
    sio.on("open", lambda *_: navigated.set())  # ui.navigate.to after log-in
    params = {"client_id": client_id, "next_message_id": "0", "implicit_handshake": "true"}
    params |= {"tab_id": str(uuid.uuid4()), "document_id": str(uuid.uuid4()), "old_tab_id": ""}
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    await sio.connect(
        f"{base_url}?{urlencode(params)}",
        headers={"Cookie": cookie},
        transports=["websocket"],
        socketio_path="/_nicegui_ws/socket.io",
    )
    try:
        for testid, value in (("username", username), ("password", password)):
            element, listener = _listener(elements, testid, "update:value")
            await _event(sio, client_id, element, listener, [orjson.dumps(value).decode()])
        element, listener = _listener(elements, "login", "click")
        await _event(sio, client_id, element, listener, ["{}"])
        await asyncio.wait_for(navigated.wait(), 30)
    finally:
        await sio.disconnect()
    return cookies


async def _event(sio: Any, client_id: str, element: int, listener: str, args: list[str]) -> None:
    message = {"id": element, "client_id": client_id, "listener_id": listener, "args": args}
    await sio.emit("event", message)
    await asyncio.sleep(0.1)  # the server handles events in order; let the value land first


async def overview_page(base_url: str, cookies: httpx.Cookies, runs: int) -> Timings:
    """Time ``GET /`` (the page function runs server-side: the overview's queries and its
    elements) ``runs`` times after one unmeasured GET; an answer without the overview's chart
    (e.g. the log-in redirect) counts as an error."""
    timings = Timings()
    async with httpx.AsyncClient(base_url=base_url, cookies=cookies, timeout=120) as http:
        started = time.perf_counter()
        for n in range(runs + 1):
            t0 = time.perf_counter()
            try:
                answer = await http.get("/")
            except httpx.TransportError as exc:  # a timeout is an error of this sample
                if n:
                    timings.add(0, f"{type(exc).__name__} after {http.timeout.read} s".encode(), 0)
                continue
            seconds = time.perf_counter() - t0
            ok = answer.status_code == 200 and "power-chart" in answer.text
            status = answer.status_code if answer.status_code != 200 or ok else 299
            if n:
                timings.add(status, answer.content if ok else page_problem(answer.text), seconds)
        timings.seconds = time.perf_counter() - started
    return timings


def page_problem(html: str) -> bytes:
    """What a page that is not the overview says (NiceGUI's timeout message, or its start)."""
    found = re.search(r"The page took longer than the response_timeout of [0-9.]+ seconds", html)
    return (found.group(0) if found else "not the overview page: " + html[:200]).encode()


# --- memory ------------------------------------------------------------------------------------


def rss_mib(pids: list[int]) -> tuple[float, float]:
    """(resident set now, its high-water mark) of ``pids`` in MiB, from /proc/<pid>/status."""
    now = peak = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    now += int(line.split()[1]) / 1024
                elif line.startswith("VmHWM:"):
                    peak += int(line.split()[1]) / 1024
    return now, peak


# --- PostgreSQL plans ----------------------------------------------------------------------------


BIND = re.compile(r"(?<![:\w]):(site_ids|lo|hi|level|now)\b")


async def explain(database_url: str, site_id: int, now_ms: int, days: int) -> dict[str, str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the balance SQL over ``days`` and of the newest-power SQL of
    ``/current`` for one site, rendered by the served gridpilot's own query builders."""
    import asyncpg

    from gridpilot.balance.latest_sql import latest_power_sql
    from gridpilot.balance.queries import balance_sql
    from gridpilot.balance.service import balance_step
    from gridpilot.telemetry.rollups import floor_to

    start = now_ms - days * 86_400_000
    step = balance_step(start, now_ms)
    lo, hi = floor_to(start, step), -floor_to(-now_ms, step)
    values = {"site_ids": f"({site_id})", "lo": lo, "hi": hi, "level": step, "now": now_ms}
    statements = {f"balance-{days}d": balance_sql(step).text, "current": latest_power_sql().text}
    plans: dict[str, str] = {}
    conn = await asyncpg.connect(database_url)
    try:
        for name, statement in statements.items():
            sql = BIND.sub(lambda m: str(values[m.group(1)]), statement)
            rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            plans[name] = "\n".join(str(row[0]) for row in rows)
    finally:
        await conn.close()
    return plans
