"""Voice routes on both back ends: the seed's contract answered from stored readings (values
by hand), free text, out-of-domain text, the interaction log, the seed's sample routes, the
correlation with and without temperature data, bad input, and RBAC."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import select
from tests.voice.voice_data import daily_temperatures, hvac_on_temperature, plants

from gridpilot.auth.permissions import Role
from gridpilot.voice.models import VoiceInteraction
from gridpilot.voice.tasks import prune_log

QUERY = "/api/v1/voice/query"
UTTERANCE = "/api/v1/voice/utterance"


async def test_the_seed_contract_answers_a_machine_energy_for_speech(app, client, admin):
    await plants(app, client, admin)
    body = {"intent": "energy_consumption",
            "entities": {"machine": "compressor-1", "timeframe": "last_hour"}}  # fmt: skip
    answer = await client.post(QUERY, json=body, headers=admin)
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert set(got) == {"text", "data"} and set(got["data"]) == {"value", "unit", "timeframe"}
    assert got["data"]["value"] == pytest.approx(60.0, abs=1e-6)  # 60 kW for one hour
    assert got["data"]["unit"] == "kWh"
    assert got["text"] == "Compressor 1 consumed 60 kilowatt-hours in the last hour."
    start, end = got["data"]["timeframe"].split("/")
    assert start.endswith("+01:00") and end.endswith("+01:00")  # Rome in December


async def test_free_text_in_english_and_italian(app, client, admin):
    await plants(app, client, admin)
    said = {"utterance": "How much energy did compressor two use in the last hour?"}
    got = (await client.post(UTTERANCE, json=said, headers=admin)).json()
    assert got["intent"] == "energy_consumption" and got["lang"] == "en"
    assert got["entities"] == {"target": "compressor 2", "timeframe": "last_hour"}
    assert got["text"] == "Compressor 2 consumed 80 kilowatt-hours in the last hour."
    said = {"utterance": "Quanta energia ha consumato il compressore uno nelle ultime due ore?"}
    got = (await client.post(UTTERANCE, json=said, headers=admin)).json()
    assert got["lang"] == "it" and got["data"]["value"] == pytest.approx(120.0, abs=1e-6)
    assert got["text"] == "Compressor 1 ha consumato 120 chilowattora nelle ultime 2 ore."


async def test_machines_over_a_power_spoken_and_by_the_seed_route(app, client, admin):
    await plants(app, client, admin)
    said = {"utterance": "Which machines are using more than fifty kilowatts?"}
    got = (await client.post(UTTERANCE, json=said, headers=admin)).json()
    assert got["text"] == ("2 machines are above 50 kilowatts: Compressor 2 at 80 kilowatts "
                           "and Compressor 1 at 60 kilowatts.")  # fmt: skip
    assert got["data"]["value"] == 2
    rows = (await client.get("/api/v1/energy/machines?min_power=70", headers=admin)).json()
    assert [(m["name"], m["power_kw"]) for m in rows["machines"]] == [("Compressor 2", 80.0)]
    one = await client.get("/api/v1/energy/machine/compressor-1?duration=2h", headers=admin)
    assert one.status_code == 200, one.text
    assert one.json()["energy_kwh"] == pytest.approx(120.0, abs=1e-6)
    assert one.json()["machine"]["name"] == "Compressor 1"


async def test_out_of_domain_is_refused_politely_and_everything_is_logged(app, client, admin):
    await plants(app, client, admin)
    got = await client.post(UTTERANCE, json={"utterance": "tell me a joke"}, headers=admin)
    assert got.json()["text"] == "Sorry, I can't help with that."
    assert got.json()["intent"] is None and got.json()["data"]["value"] is None
    it = {"utterance": "accendi la luce", "lang": "it"}
    got = await client.post(UTTERANCE, json=it, headers=admin)
    assert got.json()["text"] == "Mi dispiace, non posso aiutarti con questo."
    async with app.state.sessions() as session:
        rows = await session.scalars(select(VoiceInteraction).order_by(VoiceInteraction.id))
        logged = rows.all()
    assert [(r.utterance, r.intent, r.outcome, r.lang) for r in logged] == [
        ("tell me a joke", None, "no_match", "en"),
        ("accendi la luce", None, "no_match", "it"),
    ]
    assert all(r.latency_ms >= 0 and r.subject.startswith("user:") for r in logged)


async def test_an_unknown_or_ambiguous_name_is_said_not_guessed(app, client, admin):
    await plants(app, client, admin)
    said = {"utterance": "how much energy did compressor three use today"}
    got = (await client.post(UTTERANCE, json=said, headers=admin)).json()
    assert got["text"] == "I don't know anything called compressor 3."
    assert got["data"]["value"] is None
    said = {"utterance": "how much energy did the compressor use today"}
    got = (await client.post(UTTERANCE, json=said, headers=admin)).json()
    assert got["text"] == "Which one do you mean: Compressor 1 and Compressor 2?"


async def test_correlation_with_temperature_and_without_driver_data(app, client, admin):
    ids = await plants(app, client, admin)
    await hvac_on_temperature(app, ids)
    got = await client.get(
        "/api/v1/analytics/correlation?machine=hvac-1&driver=temperature", headers=admin
    )
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["slope_kwh_per_degc"] == pytest.approx(48.0, rel=1e-6)  # 24 h x 2 kW/degC
    assert body["intercept_kwh"] == pytest.approx(240.0, rel=1e-6)  # 24 h x 10 kW
    assert body["pearson_r"] == pytest.approx(1.0, abs=1e-9) and body["n"] == 30
    assert body["driver_asset_id"] == ids["Weather station"]
    assert np.ptp(daily_temperatures(30)) > 0
    said = {"utterance": "temperature effect on HVAC"}
    spoken = (await client.post(UTTERANCE, json=said, headers=admin)).json()
    assert spoken["data"]["value"] == pytest.approx(1.0, abs=1e-6)
    assert "48 kilowatt-hours" in spoken["text"] and "100 percent" in spoken["text"]
    none = await client.get("/api/v1/analytics/correlation?machine=compressor-2", headers=admin)
    assert none.status_code == 200 and none.json()["pearson_r"] is None
    assert "no outdoor temperature" in none.json()["problem"]
    said = {"utterance": "how does the temperature affect compressor two"}
    spoken = (await client.post(UTTERANCE, json=said, headers=admin)).json()
    assert spoken["text"] == ("There is no outdoor temperature measured at Compressor 2's "
                              "site, so I can't tell its effect.")  # fmt: skip


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"intent": "make_coffee", "entities": {}}, "unknown intent"),
        ({"intent": "energy_consumption", "entities": {"colour": "red"}}, "no entity"),
        ({"intent": "energy_consumption", "entities": {"timeframe": "fortnight"}},
         "unknown timeframe"),
        ({"intent": "machines_above_power", "entities": {"min_power": "lots"}}, "number"),
        ({"intent": "machines_above_power", "entities": {}}, "needs the entity"),
    ],
)  # fmt: skip
async def test_bad_queries_are_refused_with_a_reason(app, client, admin, body, fragment):
    got = await client.post(QUERY, json=body, headers=admin)
    assert got.status_code == 422, got.text
    assert got.json()["error"] == "validation_failed" and fragment in got.json()["message"]


async def test_a_viewer_limited_to_a_site_hears_nothing_about_another(app, client, admin,
                                                                      auth_headers):  # fmt: skip
    ids = await plants(app, client, admin)
    viewer = await auth_headers(Role.VIEWER, sites=[ids["Plant A"]])
    said = {"utterance": "how much energy did compressor two use in the last hour"}
    got = (await client.post(UTTERANCE, json=said, headers=viewer)).json()
    assert got["text"] == "I don't know anything called compressor 2."
    said = {"utterance": "which machines are using more than fifty kilowatts"}
    got = (await client.post(UTTERANCE, json=said, headers=viewer)).json()
    assert got["text"] == "One machine is above 50 kilowatts: Compressor 1 at 60 kilowatts."
    got = (await client.post(UTTERANCE, json={"utterance": "the top consumers in the last "
                             "hour"}, headers=viewer)).json()  # fmt: skip
    assert "Compressor 2" not in got["text"] and "Compressor 1" in got["text"]
    body = {"intent": "energy_consumption", "entities": {"machine": "plant b"}}
    got = (await client.post(QUERY, json=body, headers=viewer)).json()
    assert got["text"] == "I don't know anything called plant b." and got["data"]["value"] is None
    seed = await client.get("/api/v1/energy/machine/compressor-2", headers=viewer)
    assert seed.status_code == 404 and seed.json()["error"] == "not_found"
    rows = (await client.get("/api/v1/energy/machines?min_power=0", headers=viewer)).json()
    assert [m["name"] for m in rows["machines"]] == ["Compressor 1"]
    # the same questions from the administrator do name Plant B's machine
    got = (await client.post(UTTERANCE, json=said, headers=admin)).json()
    assert "Compressor 2" in got["text"]


async def test_the_log_keeps_90_days(app, client, admin):
    await client.post(UTTERANCE, json={"utterance": "tell me a joke"}, headers=admin)
    now = dt.datetime.now(dt.UTC)
    async with app.state.sessions() as session, session.begin():
        row = (await session.scalars(select(VoiceInteraction))).one()
        row.at = now - dt.timedelta(days=91)
        old = VoiceInteraction(subject="user:1", channel="query", lang="en", slots={},
                               outcome="answered", answer="x", latency_ms=1.0, cached=False,
                               at=now - dt.timedelta(days=89))  # fmt: skip
        session.add(old)
    assert await prune_log(app.state.sessions, now=now) == 1
    async with app.state.sessions() as session:
        left = (await session.scalars(select(VoiceInteraction))).all()
    assert [r.answer for r in left] == ["x"]
