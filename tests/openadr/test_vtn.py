"""gridpilot's VTN (an aggregator for its fleet) against openleadr's own VEN (OpenADRClient) in
the test process: registration of configured VENs only, an event for a group of sites queued
for the VENs serving them, their opt answers and usage reports stored with the event,
cancellation; over plain HTTP and over TLS with client certificates and signed messages."""

from __future__ import annotations

import datetime as dt

import pytest
from openleadr import OpenADRClient
from tests.dr.dr_data import make_site
from tests.openadr.conftest import free_port
from tests.openadr.oadr_helpers import until

from gridpilot.core.timestamps import now_ms
from gridpilot.openadr.vtn import VtnRuntime

PEERS = "/api/v1/openadr/peers"
VTN_EVENTS = "/api/v1/openadr/vtn/events"
QUARTER = 900_000
#: What the fleet VEN meters and reports: 55 500 W, sent with SI scale none.
REPORTED_W = 55_500.0


class FleetVen:
    """openleadr's VEN of a fleet site: answers ``opt`` and reports ``REPORTED_W``."""

    def __init__(self, url: str, name: str, opt: str = "optIn", **tls) -> None:
        self.client = OpenADRClient(
            ven_name=name, vtn_url=url, show_fingerprint=False, disable_signature=not tls, **tls
        )
        self.seen: list[tuple[str, int, str, float]] = []
        self.opt = opt
        self.client.add_handler("on_event", self.on_event)
        self.client.add_handler("on_update_event", self.on_event)
        self.client.add_report(
            callback=lambda: REPORTED_W,
            resource_id="main-meter",
            measurement="power_real",
            unit="W",
            scale="none",
            sampling_rate=dt.timedelta(seconds=10),
            report_duration=dt.timedelta(seconds=10),
        )

    async def on_event(self, event) -> str:
        descriptor = event["event_descriptor"]
        signal = event["event_signals"][0]
        self.seen.append(
            (
                descriptor["event_id"],
                descriptor["modification_number"],
                descriptor["event_status"],
                signal["intervals"][0]["signal_payload"],
            )
        )
        return self.opt


@pytest.fixture
async def running():
    started: list = []

    async def start(app, **settings) -> tuple[VtnRuntime, str]:
        port = free_port()
        merged = {
            "openadr_vtn_enabled": True,
            "openadr_vtn_port": port,
            "openadr_vtn_poll_s": 1.0,
            **settings,
        }
        runtime = VtnRuntime(
            app.state.settings.model_copy(update=merged), app.state.sessions, owner="test"
        )
        await runtime.tick()
        started.append(runtime)
        scheme = "https" if settings else "http"
        return runtime, f"{scheme}://127.0.0.1:{port}/OpenADR2/Simple/2.0b"

    yield start
    for item in started:
        await item.stop()


async def _event(client, admin, event_id: int) -> dict:
    answer = await client.get(f"{VTN_EVENTS}/{event_id}", headers=admin)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def test_fleet_event_opt_report_and_cancel(app, client, admin, running):
    site, _ = await make_site(client, admin, "Depot")
    other, _ = await make_site(client, admin, "Office")
    peer = await client.post(
        PEERS, json={"ven_name": "depot-ven", "ven_id": "VEN-A", "site_ids": [site]}, headers=admin
    )
    assert peer.status_code == 201, peer.text
    third, _ = await make_site(client, admin, "Yard")
    for name, ven_id, served in (("office-ven", "VEN-B", other), ("yard-ven", "VEN-C", third)):
        made = await client.post(
            PEERS, json={"ven_name": name, "ven_id": ven_id, "site_ids": [served]}, headers=admin
        )
        assert made.status_code == 201, made.text
    vtn, url = await running(app)
    ven = FleetVen(url, "depot-ven", opt="optOut")
    office = FleetVen(url, "office-ven", opt="optIn")
    stranger = FleetVen(url, "stranger")
    try:
        await ven.client.run()
        await office.client.run()
        await stranger.client.run()
        assert (ven.client.ven_id, ven.client.registration_id is not None) == ("VEN-A", True)
        assert stranger.client.registration_id is None  # not configured: refused

        start = now_ms() - now_ms() % QUARTER
        made = await client.post(
            VTN_EVENTS,
            headers=admin,
            json={
                "site_ids": [site, other],
                "start": start,
                "end": start + 4 * QUARTER,
                "signal": "level",
                "value": 2,
                "event_id": "FLEET-1",
            },
        )
        assert made.status_code == 201, made.text
        assert made.json()["status"] == "pending"
        assert [d["ven_id"] for d in made.json()["deliveries"]] == ["VEN-A", "VEN-B"]
        event_id = made.json()["id"]
        await vtn.tick()

        async def answered():
            found = await _event(client, admin, event_id)
            first, second = found["deliveries"]
            return found if first["reports"] and second["opt_type"] and first["opt_type"] else None

        found = await until(answered, timeout_s=40)
        assert ven.seen[0] == ("FLEET-1", 0, "active", 2.0)
        delivery = found["deliveries"][0]
        assert (found["status"], delivery["opt_type"]) == ("queued", "optOut")
        assert found["deliveries"][1]["opt_type"] == "optIn"  # every VEN's answer is kept
        assert delivery["delivered"] is not None
        assert {(r["resource_id"], r["value_kw"]) for r in delivery["reports"]} == {
            ("main-meter", 55.5)
        }  # 55 500 W

        # the office VEN changes its mind: a new oadrCreatedEvent
        await office.client.created_event(
            request_id="again", event_id="FLEET-1", opt_type="optOut", modification_number=0
        )
        found = await _event(client, admin, event_id)
        assert [d["opt_type"] for d in found["deliveries"]] == ["optOut", "optOut"]

        cancel = await client.post(f"{VTN_EVENTS}/{event_id}/cancel", headers=admin)
        assert (cancel.status_code, cancel.json()["status"]) == (200, "cancel_requested")
        await vtn.tick()
        assert (await _event(client, admin, event_id))["status"] == "cancelled"
        await until(lambda: _seen(ven, "cancelled"))
        assert ven.seen[-1][:3] == ("FLEET-1", 1, "cancelled")
    finally:
        for party in (ven, office, stranger):
            await party.client.stop()


async def test_an_event_no_ven_serves_is_refused(app, client, admin):
    site, _ = await make_site(client, admin, "Lonely")
    start = now_ms() - now_ms() % QUARTER + QUARTER
    answer = await client.post(
        VTN_EVENTS,
        headers=admin,
        json={
            "site_ids": [site],
            "start": start,
            "end": start + QUARTER,
            "signal": "level",
            "value": 1,
        },
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "validation_failed"
    assert "no enabled VEN" in answer.json()["message"]


async def test_over_tls_with_signatures_and_fingerprints(app, client, admin, running, pki):
    site, _ = await make_site(client, admin, "Plant")
    peer = await client.post(
        PEERS,
        headers=admin,
        json={
            "ven_name": "plant-ven",
            "ven_id": "VEN-P",
            "site_ids": [site],
            "fingerprint": pki.fingerprints["ven"],
        },
    )
    assert peer.status_code == 201, peer.text
    cert, key = pki.paths["vtn"]
    vtn, url = await running(
        app, openadr_vtn_cert=cert, openadr_vtn_key=key, openadr_vtn_ca_file=pki.ca_file
    )
    ven_cert, ven_key = pki.paths["ven"]
    ven = FleetVen(
        url,
        "plant-ven",
        cert=ven_cert,
        key=ven_key,
        ca_file=pki.ca_file,
        vtn_fingerprint=pki.fingerprints["vtn"],
    )
    try:
        await ven.client.run()
        assert ven.client.ven_id == "VEN-P"
        start = now_ms() - now_ms() % QUARTER
        made = await client.post(
            VTN_EVENTS,
            headers=admin,
            json={
                "site_ids": [site],
                "start": start,
                "end": start + QUARTER,
                "signal": "kw_target",
                "value": 12.5,
            },
        )
        assert made.status_code == 201, made.text
        await vtn.tick()

        async def opted():
            found = await _event(client, admin, made.json()["id"])
            return found if found["deliveries"][0]["opt_type"] else None

        found = await until(opted)
        assert found["deliveries"][0]["opt_type"] == "optIn"
        assert ven.seen[0][3] == 12.5
    finally:
        await ven.client.stop()


async def _seen(ven: FleetVen, status: str) -> bool:
    return any(s[2] == status for s in ven.seen)


async def test_one_process_runs_the_vtn(app, running):
    first, _ = await running(app)
    port = first.settings.openadr_vtn_port
    second = VtnRuntime(first.settings, app.state.sessions, owner="another process")
    await second.tick()  # the lease is taken: it does not try to listen on the same port
    assert (first.vtn is not None, second.vtn) == (True, None)
    await first.stop()  # gives the lease back
    await second.tick()
    try:
        assert second.vtn is not None and second.settings.openadr_vtn_port == port
    finally:
        await second.stop()
