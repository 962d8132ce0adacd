"""The fleet of ``bench/fleet.py``: its plan, its provisioning and its synthetic readings.

A fleet is ``sites`` ordinary sites of ``assets_per_site`` assets each (a ``grid_connection``
main meter, a PV ``producer``, a battery on every third site, two ``prosumer`` households on
every other site, the rest ``consumer`` loads) plus one big site: a main meter and
``big_site_meters`` consumer sub-meters under it. Readings are deterministic functions of time
and consistent with the balance of docs/site-energy.md: a main meter reads what the loads, the
PV and the battery behind it add up to, and every register integrates its power.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import httpx
import orjson

MINUTE_MS = 60_000
QUARTER_MS = 900_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
#: Prosumers report their generation apart (docs/site-energy.md); not a built-in metric.
EXTRA_METRIC = {"key": "power_produced_kw", "unit": "kW", "min_value": 0, "max_value": 1e7}
CONSUMER_KINDS = ("hvac", "lighting", "compressor", "ev_charger", "pump", "plug_load")


@dataclass(frozen=True)
class FleetSize:
    sites: int = 1_000
    assets_per_site: int = 10
    big_site_meters: int = 1_000
    days: float = 7.0


@dataclass
class AssetSpec:
    """One asset to create; ``register`` lists its energy registers besides ``power_kw``."""

    name: str
    kind: str
    role: str
    rated_kw: float
    registers: tuple[str, ...] = ()
    sub_meter: bool = False  # a sub-meter of its site's main meter (parent_asset_id)
    asset_id: int = 0  # filled in by provisioning


@dataclass
class SiteSpec:
    name: str
    latitude: float
    longitude: float
    contract_kw: float
    assets: list[AssetSpec] = field(default_factory=list)
    site_id: int = 0

    @property
    def main(self) -> AssetSpec:
        return self.assets[0]


def site_assets(n: int, count: int) -> list[AssetSpec]:
    """The ``count`` assets of ordinary site ``n``: main meter, PV, maybe a battery and two
    prosumers, then loads (every fourth with an energy register)."""
    grid = AssetSpec(
        f"S{n} main meter",
        "grid_connection",
        "grid_connection",
        250.0,
        ("energy_kwh", "energy_export_kwh"),
    )
    assets = [grid, AssetSpec(f"S{n} PV", "solar_pv", "producer", 60.0 + n % 5 * 20)]
    if n % 3 == 0:
        assets.append(AssetSpec(f"S{n} battery", "battery", "storage", 50.0))
    if n % 2 == 0:
        for p in range(2):
            assets.append(AssetSpec(f"S{n} home {p}", "household", "prosumer", 6.0))
    loads = 0
    while len(assets) < count:
        kind = CONSUMER_KINDS[(n + loads) % len(CONSUMER_KINDS)]
        registers = ("energy_kwh",) if loads % 4 == 0 else ()
        assets.append(AssetSpec(f"S{n} {kind} {loads}", kind, "consumer", 20.0 + loads, registers))
        loads += 1
    return assets[:count]


def big_site(meters: int) -> SiteSpec:
    site = SiteSpec("Big site", 45.46, 9.19, 4_000.0)
    site.assets.append(
        AssetSpec("Big main meter", "grid_connection", "grid_connection", 5_000.0, ("energy_kwh",))
    )
    for m in range(meters):
        registers = ("energy_kwh",) if m % 4 == 0 else ()
        site.assets.append(
            AssetSpec(f"Big meter {m:04d}", "meter", "consumer", 3.0 + m % 7, registers, True)
        )
    return site


def plan_fleet(size: FleetSize) -> list[SiteSpec]:
    """The big site first, then the ordinary sites (coordinates spread over northern Italy)."""
    sites = [big_site(size.big_site_meters)]
    for n in range(size.sites):
        site = SiteSpec(
            f"Site {n:04d}", 44.0 + (n % 40) * 0.08, 7.5 + (n // 40) * 0.2, 200.0 + n % 3 * 50
        )
        site.assets = site_assets(n, max(1, size.assets_per_site))
        sites.append(site)
    return sites


# --- readings ------------------------------------------------------------------------------------


def load_shape(hour: float) -> float:
    """0..1, a working-day load: low at night, high 8-18 h."""
    return 0.25 + 0.75 * max(0.0, math.sin(math.pi * (hour - 6.0) / 14.0)) if 6 < hour < 20 else 0.2


def sun(hour: float) -> float:
    return max(0.0, math.sin(math.pi * (hour - 6.0) / 12.0)) if 6 < hour < 18 else 0.0


def battery(hour: float) -> float:
    """Share of rated power charging (+) midday, discharging (-) in the evening."""
    return 0.4 if 10 <= hour < 14 else (-0.4 if 18 <= hour < 21 else 0.0)


def wiggle(asset_id: int, ts_ms: int) -> float:
    """Deterministic noise in [0, 0.1)."""
    return ((asset_id * 7_919 + ts_ms // MINUTE_MS * 104_729) % 1_000) / 10_000


class ReadingModel:
    """Power of every asset at an instant, and the energy registers integrating it."""

    def __init__(self, sites: list[SiteSpec]) -> None:
        self.sites = sites
        self.registers: dict[tuple[int, str], float] = {}

    def site_readings(self, site: SiteSpec, ts: int, hour: float) -> list[tuple[AssetSpec, float]]:
        """(asset, power kW) of one site; the main meter last, as the sum of what is behind it."""
        out: list[tuple[AssetSpec, float]] = []
        behind = 0.0
        for asset in site.assets[1:]:
            if asset.role == "producer":
                kw = asset.rated_kw * sun(hour) * (0.9 + wiggle(asset.asset_id, ts))
                behind -= kw
            elif asset.role == "storage":
                kw = asset.rated_kw * battery(hour)
                behind += kw
            elif asset.role == "prosumer":
                kw = 0.8 + 2.0 * load_shape(hour) - asset.rated_kw * sun(hour) * 0.8
            else:
                kw = asset.rated_kw * (load_shape(hour) * 0.8 + wiggle(asset.asset_id, ts))
                behind += kw
            out.append((asset, round(kw, 3)))
        out.append((site.main, round(behind, 3)))
        return out

    def readings_at(self, ts: int, step_ms: int) -> list[dict[str, object]]:
        """Every reading of the fleet at ``ts``; registers advance by power x ``step_ms``."""
        hour = ts % DAY_MS / HOUR_MS
        hours = step_ms / HOUR_MS
        readings: list[dict[str, object]] = []
        for site in self.sites:
            for asset, kw in self.site_readings(site, ts, hour):
                aid = asset.asset_id
                readings.append({"asset": aid, "metric": "power_kw", "ts": ts, "value": kw})
                if asset.role == "prosumer":
                    produced = round(asset.rated_kw * sun(hour) * 0.8, 3)
                    readings.append(
                        {"asset": aid, "metric": "power_produced_kw", "ts": ts, "value": produced}
                    )
                for key in asset.registers:
                    flow = -kw if key == "energy_export_kwh" else kw
                    total = self.registers.get((aid, key), 1_000.0) + max(flow, 0.0) * hours
                    self.registers[(aid, key)] = total
                    value = round(total, 4)
                    readings.append({"asset": aid, "metric": key, "ts": ts, "value": value})
        return readings

    def bodies(self, instants: Iterable[int], step_ms: int, batch: int) -> Iterator[bytes]:
        """``POST /api/v1/telemetry`` bodies of ``batch`` readings, instant after instant."""
        pending: list[dict[str, object]] = []
        for ts in instants:
            pending.extend(self.readings_at(ts, step_ms))
            while len(pending) >= batch:
                yield orjson.dumps({"readings": pending[:batch]})
                del pending[:batch]
        if pending:
            yield orjson.dumps({"readings": pending})

    def per_instant(self) -> int:
        """How many readings one instant has."""
        return sum(
            1 + (a.role == "prosumer") + len(a.registers) for s in self.sites for a in s.assets
        )


@dataclass(frozen=True)
class Timeline:
    """History at 15 min from ``start_ms`` to ``live_ms``, then live 1-min data to ``end_ms``."""

    start_ms: int
    live_ms: int
    end_ms: int

    @classmethod
    def ending(cls, now_ms: int, days: float, live_minutes: int = 30) -> Timeline:
        live = (now_ms - live_minutes * MINUTE_MS) // QUARTER_MS * QUARTER_MS
        start = live - int(days * DAY_MS) // QUARTER_MS * QUARTER_MS
        return cls(start, live, now_ms // MINUTE_MS * MINUTE_MS)

    def history(self) -> range:
        return range(self.start_ms, self.live_ms, QUARTER_MS)

    def live(self) -> range:
        return range(self.live_ms, self.end_ms + 1, MINUTE_MS)


# --- over HTTP ---------------------------------------------------------------------------------


async def provision(
    base_url: str,
    headers: dict[str, str],
    sites: list[SiteSpec],
    clients: int,
    advance: Callable[[int], object] = lambda n: None,
) -> None:
    """Create every site and asset through the public API, ``clients`` requests at a time
    (there is no bulk route); fills in ``site_id`` and ``asset_id``."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=120
    ) as http:
        await _post(http, "/api/v1/metrics", EXTRA_METRIC)
        todo = iter(sites)

        async def worker() -> None:
            for site in todo:  # shared iterator: each site once
                await create_site(http, site)
                advance(len(site.assets))

        await asyncio.gather(*(worker() for _ in range(clients)))


async def create_site(http: httpx.AsyncClient, site: SiteSpec) -> None:
    body = {
        "name": site.name,
        "timezone": "UTC",
        "latitude": site.latitude,
        "longitude": site.longitude,
        "contract_demand_kw": site.contract_kw,
    }
    site.site_id = int((await _post(http, "/api/v1/sites", body))["id"])
    for asset in site.assets:
        body = {
            "site_id": site.site_id,
            "name": asset.name,
            "kind": asset.kind,
            "role": asset.role,
            "rated_capacity_kw": asset.rated_kw,
            "expected_interval_s": 60,
        }
        if asset.sub_meter:
            body["parent_asset_id"] = site.main.asset_id
        asset.asset_id = int((await _post(http, "/api/v1/assets", body))["id"])


async def _post(http: httpx.AsyncClient, path: str, body: dict[str, object]) -> dict[str, object]:
    response = await http.post(path, json=body)
    if response.status_code != 201:
        raise RuntimeError(f"POST {path} answered {response.status_code}: {response.text[:300]}")
    answer: dict[str, object] = response.json()
    return answer


@dataclass
class Sent:
    stored: int = 0
    rejected: int = 0
    requests: int = 0
    seconds: float = 0.0
    first_error: str | None = None


async def send_bodies(
    base_url: str,
    headers: dict[str, str],
    bodies: Iterator[bytes],
    clients: int,
    advance: Callable[[int], object] = lambda n: None,
) -> Sent:
    """POST every body to ``/api/v1/telemetry`` from ``clients`` connections (bodies are made
    as they are sent: the whole history would not fit in memory pre-serialised)."""
    sent = Sent()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    send_headers = headers | {"Content-Type": "application/json"}
    loop = asyncio.get_running_loop()

    async def client(http: httpx.AsyncClient) -> None:
        for body in bodies:  # one shared iterator
            response = await http.post("/api/v1/telemetry", content=body, headers=send_headers)
            sent.requests += 1
            if response.status_code not in (200, 207, 422):
                sent.first_error = sent.first_error or f"{response.status_code} {response.text}"
                continue
            answer = orjson.loads(response.content)
            sent.stored += int(answer["stored"])
            sent.rejected += len(answer["rejected"])
            if answer["rejected"] and sent.first_error is None:
                sent.first_error = f"rejected: {answer['rejected'][0]}"
            advance(int(answer["stored"]) + len(answer["rejected"]))

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=600) as http:
        started = loop.time()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        sent.seconds = loop.time() - started
    return sent
