"""A site to plan: forecasts stored as the forecast job stores them, a tariff, resources."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
from tests.insights.kpis.kpi_test_data import add_tariff, make_asset, make_site

from gridpilot.analytics.forecast import Forecast
from gridpilot.core.timestamps import MS_PER_DAY, now_ms
from gridpilot.insights.forecasts.forecast_store import store_forecast

QUARTER_MS = 15 * 60_000
#: 0.40 EUR/kWh from 08:00 to 20:00 (UTC site), 0.10 otherwise; no holidays.
TARIFF = {
    "currency": "EUR",
    "country": None,
    "default_rate_per_kwh": 0.10,
    "periods": [{"name": "peak", "rate_per_kwh": 0.40, "start": "08:00", "end": "20:00"}],
}
BATTERY = {
    "kind": "battery",
    "name": "BESS",
    "params": {
        "capacity_kwh": 100,
        "charge_max_kw": 50,
        "discharge_max_kw": 50,
        "soc_start_pct": 50,
        "soc_min_pct": 10,
        "soc_max_pct": 90,
    },
}


def zone_where_it_is(hour: int) -> str:
    """A fixed-offset time zone whose local time now is ``hour``:xx (``Etc/GMT-N`` is UTC+N),
    so a test meets the same local hours whenever it runs."""
    offset = (hour - datetime.now(UTC).hour) % 24
    if offset > 14:
        offset -= 24
    return f"Etc/GMT{-offset:+d}"


def flat_forecast(start_ms: int, points: int, kw: float) -> Forecast:
    index = pd.DatetimeIndex(
        pd.to_datetime(start_ms + QUARTER_MS * np.arange(points), unit="ms", utc=True)
    )
    values = np.full(points, kw)
    return Forecast(index, values, values, values, values, values, QUARTER_MS, (), (), 0)


async def store_forecasts(
    sessions, site_id: int, load_kw: float, pv_kw: float = 0.0, hours: int = 50
) -> None:
    """Consumption and generation forecasts issued now, ``hours`` from the quarter holding now
    (the job stores about 24 h; longer ones let a test plan 48 h without history)."""
    now = now_ms()
    start = now - now % QUARTER_MS
    async with sessions() as session, session.begin():
        for quantity, kw in (("consumption", load_kw), ("generation", pv_kw)):
            await store_forecast(
                session=session,
                site_id=site_id,
                asset_id=None,
                forecast=flat_forecast(start, hours * 4, kw),
                issued_ms=now,
                quantity=quantity,
            )


async def plan_site(
    client, sessions, headers, name, *, contract_kw=None, load_kw=30.0, timezone="UTC"
) -> int:
    """A site (UTC unless told) with the tariff and forecasts (flat ``load_kw``, no PV), no
    resources."""
    fields = {"timezone": timezone}
    if contract_kw is not None:
        fields["contract_demand_kw"] = contract_kw
    site_id = await make_site(client, headers, name, **fields)
    added = await add_tariff(client, headers, site_id, now_ms() - MS_PER_DAY, TARIFF)
    assert added.status_code == 201, added.text
    await store_forecasts(sessions, site_id, load_kw)
    return site_id


async def add_battery(client, headers, site_id: int, **params) -> int:
    asset = await make_asset(client, headers, site_id, "Battery", "battery")
    body = {**BATTERY, "asset_id": asset, "params": {**BATTERY["params"], **params}}
    response = await client.post(
        f"/api/v1/sites/{site_id}/flex-resources", json=body, headers=headers
    )
    assert response.status_code == 201, response.text
    return asset
