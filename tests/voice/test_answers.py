"""Spoken answers of the KPI intents (cost, CO2, peak) against hand-computed values, Italian
answers, the no-data paths of alerts, DR and forecasts, and the answer cache (memory and the
real Redis)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import select
from tests.voice.voice_data import MINUTE, ZONE, make_asset, store

from gridpilot.core.timestamps import now_ms
from gridpilot.voice.cache import AnswerCache
from gridpilot.voice.models import VoiceInteraction
from gridpilot.voice.scope import Answer

UTTERANCE = "/api/v1/voice/utterance"
MONTHS = "January February March April May June July August September October November December"


def _yesterday() -> tuple[dt.date, int, int]:
    """Yesterday in Rome and its bounds [ms]."""
    zone = ZoneInfo(ZONE)
    today = dt.datetime.fromtimestamp(now_ms() / 1000, tz=zone).date()
    day = today - dt.timedelta(days=1)
    start = dt.datetime.combine(day, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(today, dt.time(), tzinfo=zone)
    return day, int(start.timestamp() * 1000), int(end.timestamp() * 1000)


async def press_yesterday(app, client, headers) -> dt.date:
    """Plant C (flat 0.20 EUR/kWh, 0.5 kg CO2/kWh) whose Press 1 drew 60 kW all of yesterday
    (a reading every minute, both midnights included): 60 kW x 24 h = 1440 kWh, 288.00 EUR,
    720 kg CO2, a 60 kW peak from the first quarter-hour."""
    tariff = {"currency": "EUR", "periods": [], "default_rate_per_kwh": 0.2}
    site = await client.post("/api/v1/sites", headers=headers, json={
        "name": "Plant C", "timezone": ZONE, "tariff": tariff,
        "emission_factor_kg_per_kwh": 0.5})  # fmt: skip
    assert site.status_code == 201, site.text
    press = await make_asset(client, headers, site.json()["id"], "Press 1", "machine")
    day, start, end = _yesterday()
    ts = np.arange(start, end + 1, MINUTE, dtype="int64")
    await store(app, press, "power_kw", ts, np.full(len(ts), 60.0))
    return day


async def ask(client, headers, utterance: str) -> dict:
    answer = await client.post(UTTERANCE, json={"utterance": utterance}, headers=headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def test_cost_co2_and_peak_of_yesterday(app, client, admin):
    day = await press_yesterday(app, client, admin)
    got = await ask(client, admin, "How much did press one cost yesterday?")
    assert got["intent"] == "energy_cost"
    assert got["text"] == "The energy cost of Press 1 yesterday was 288.00 euros."
    assert (got["data"]["value"], got["data"]["unit"]) == (288.0, "EUR")
    got = await ask(client, admin, "how much CO2 did press one produce yesterday")
    assert got["text"] == "Press 1 emitted 720 kilograms of CO2 yesterday."
    assert (got["data"]["value"], got["data"]["unit"]) == (pytest.approx(720.0), "kg")
    got = await ask(client, admin, "what was the peak demand of press one yesterday")
    month = MONTHS.split()[day.month - 1]
    assert got["text"] == (f"The peak demand of Press 1 yesterday was 60 kilowatts, on "
                           f"{day.day} {month} at 00:00.")  # fmt: skip
    start, end = got["data"]["timeframe"].split("/")
    assert start == f"{day.isoformat()}T00:00+01:00"
    assert end == f"{(day + dt.timedelta(days=1)).isoformat()}T00:00+01:00"


async def test_italian_answers_are_in_italian(app, client, admin):
    await press_yesterday(app, client, admin)
    got = await ask(client, admin, "Qual è il costo dell'energia della pressa uno ieri?")
    assert got["lang"] == "it"
    assert got["text"] == "Il costo dell'energia di Press 1 ieri è stato di 288,00 euro."
    got = await ask(client, admin, "Ci sono allarmi attivi?")
    assert got["text"] == "Non ci sono allarmi attivi." and got["data"]["value"] == 0


async def test_no_alerts_no_dr_event_and_no_forecast_are_said(app, client, admin):
    await press_yesterday(app, client, admin)
    got = await ask(client, admin, "are there any active alerts")
    assert got["text"] == "There are no active alerts."
    got = await ask(client, admin, "is there an active demand response event")
    assert got["text"] == "No demand response event is active or scheduled."
    assert got["data"]["value"] is None
    got = await ask(client, admin, "what is the forecast peak of plant c tomorrow")
    assert got["intent"] == "forecast_peak" and got["data"]["value"] is None
    assert got["text"].startswith("I can't forecast Plant C for tomorrow: ")


async def test_a_repeated_question_is_answered_from_the_cache(app, client, admin):
    await press_yesterday(app, client, admin)
    first = await ask(client, admin, "how much did press one cost yesterday")
    again = await ask(client, admin, "How much did Press 1 cost yesterday?")
    assert again == first
    async with app.state.sessions() as session:
        rows = await session.scalars(select(VoiceInteraction).order_by(VoiceInteraction.id))
        logged = [(r.intent, r.cached, r.outcome) for r in rows.all()]
    assert logged == [("energy_cost", False, "answered"), ("energy_cost", True, "answered")]


@pytest.mark.parametrize("where", ["memory", "redis"])
async def test_the_cache_keeps_an_answer_for_its_lifetime(where):
    url = "redis://127.0.0.1:6379/0" if where == "redis" else None
    cache = AnswerCache(url, ttl_s=0.5)
    key = f"gridpilot:voice:test-{uuid.uuid4().hex}"
    answer = Answer("Compressor 1 is drawing 60 kilowatts right now.", 60.0, "kW", "x/y")
    try:
        assert await cache.get(key) is None
        await cache.put(key, answer)
        assert await cache.get(key) == answer
        await asyncio.sleep(0.7)
        assert await cache.get(key) is None
    except OSError as exc:  # pragma: no cover - Redis down
        pytest.skip(f"Redis not reachable: {exc}")
    finally:
        await cache.close()
