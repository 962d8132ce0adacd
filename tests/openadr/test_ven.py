"""gridpilot's VEN against openleadr's own VTN in the test process (no network but 127.0.0.1):
register, receive an event (a DR event of source openadr per site), a modification (replaced),
a cancellation, opt in and out by policy, and the usage report's value."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from tests.openadr.conftest import free_port
from tests.openadr.oadr_helpers import FLAT_KW, UtilityVtn, site_with_history, tomorrow, until

from gridpilot.openadr import service
from gridpilot.openadr.models import OpenAdrVen
from gridpilot.openadr.schemas import VenCreate
from gridpilot.openadr.ven import VenRuntime

EVENTS = "/api/v1/dr-events"
VENS = "/api/v1/openadr/vens"


async def connection(app, vtn: UtilityVtn, site: int, **kw) -> int:
    from gridpilot.dr.service import SYSTEM

    data = VenCreate(
        name="utility",
        vtn_url=vtn.url,
        ven_name="gridpilot-ven",
        site_ids=[site],
        report_interval_s=10,
        **kw,
    )
    async with app.state.sessions() as session, session.begin():
        ven = await service.create_ven(session=session, principal=SYSTEM, data=data)
    return ven.id


async def dr_events(client, admin) -> list[dict]:
    answer = await client.get(EVENTS, headers=admin)
    assert answer.status_code == 200, answer.text
    return sorted(answer.json(), key=lambda e: e["id"])


@pytest.fixture
async def vtn():
    servers: list[UtilityVtn] = []

    async def start(**kw) -> UtilityVtn:
        server = UtilityVtn(free_port(), ven_name="gridpilot-ven", **kw)
        await server.server.run()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.server.stop()


async def test_event_created_modified_cancelled_and_usage_reported(app, client, admin, vtn):
    site = await site_with_history(app, client, admin, "Plant")
    utility = await vtn()
    cfg = await connection(app, utility, site, opt_policy="always_in")
    runtime = VenRuntime(app.state.sessions, app.state.bus, interval_s=5, owner="test")
    try:
        await runtime.tick()
        assert cfg in runtime.connections and utility.registered
        start = tomorrow(10)
        utility.add_event("EV-1", start, 60, 25.0)
        made = await until(lambda: dr_events(client, admin))
        assert [
            (
                e["site_id"],
                e["source"],
                e["status"],
                e["target_reduction_kw"],
                e["external_id"],
                e["signal"],
            )
            for e in made
        ] == [
            (
                site,
                "openadr",
                "scheduled",
                25.0,
                f"{cfg}:EV-1",
                {"kind": "kw_target", "value": 25.0},
            )
        ]
        assert made[0]["start"] == start.strftime("%Y-%m-%dT%H:%M:%SZ")
        await until(lambda: _async(utility.opts))
        assert utility.opts == [("VEN-1", "EV-1", "optIn")]

        # a modification: 30 kW from 15 min later for 30 min -> replaced
        utility.modify("EV-1", start + dt.timedelta(minutes=15), 30, 30.0)
        events = await until(lambda: _two(client, admin))
        old, new = events
        assert (old["status"], new["status"]) == ("cancelled", "scheduled")
        assert f"replaced by DR event {new['id']}" in old["status_reason"]
        assert (new["target_reduction_kw"], new["external_id"]) == (30.0, f"{cfg}:EV-1:1")
        assert new["start"] == (start + dt.timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M:%SZ")

        # the usage report: the last whole 15-min interval's consumption
        reports = await until(lambda: _async(utility.reports), timeout_s=40)
        resource, _, value = reports[0]
        assert (resource, value) == (f"site-{site}", FLAT_KW)

        # the VTN cancels
        utility.server.cancel_event("VEN-1", "EV-1")
        await until(lambda: _status(client, admin, new["id"], "cancelled"))
        async with app.state.sessions() as session:
            received = await service.get_received(
                session=session, ven_config_id=cfg, event_id="EV-1"
            )
        assert received is not None
        assert (received.modification_number, received.event_status) == (2, "cancelled")
        assert received.dr_event_ids == {str(site): new["id"]}
    finally:
        await runtime.stop()


async def test_opt_out_by_policy_and_by_missing_flexibility(app, client, admin, vtn):
    site = await site_with_history(app, client, admin, "Office")
    utility = await vtn()
    await connection(app, utility, site, opt_policy="flexibility")
    runtime = VenRuntime(app.state.sessions, app.state.bus, interval_s=5, owner="test")
    try:
        await runtime.tick()
        utility.add_event("EV-2", tomorrow(14), 60, 40.0)
        await until(lambda: _async(utility.opts))
        assert utility.opts == [("VEN-1", "EV-2", "optOut")]  # no flexible resource: 0 kW
        (event,) = await dr_events(client, admin)
        assert (event["status"], event["opt_out"]) == ("scheduled", True)
    finally:
        await runtime.stop()


async def test_two_runtimes_never_both_run_a_connection(app, client, admin, vtn):
    site = await site_with_history(app, client, admin, "Shop")
    utility = await vtn()
    cfg = await connection(app, utility, site)
    first = VenRuntime(app.state.sessions, app.state.bus, interval_s=5, owner="a")
    second = VenRuntime(app.state.sessions, app.state.bus, interval_s=5, owner="b")
    try:
        await first.tick()
        await second.tick()
        assert (cfg in first.connections, cfg in second.connections) == (True, False)
    finally:
        await first.stop()
        await second.stop()
    async with app.state.sessions() as session:
        assert (await session.scalars(select(OpenAdrVen.last_error))).all() == [None]


async def _async(value):
    return value


async def _two(client, admin):
    events = await dr_events(client, admin)
    return events if len(events) == 2 and events[0]["status"] == "cancelled" else None


async def _status(client, admin, event_id: int, status: str) -> bool:
    answer = await client.get(f"{EVENTS}/{event_id}", headers=admin)
    return bool(answer.json()["status"] == status)


async def test_over_tls_with_signatures_and_fingerprints(app, client, admin, vtn, pki):
    site = await site_with_history(app, client, admin, "Works")
    utility = await vtn(tls=(*pki.paths["vtn"], pki.ca_file), fingerprint=pki.fingerprints["ven"])
    cert, key = pki.paths["ven"]
    await connection(
        app,
        utility,
        site,
        cert_path=cert,
        key_path=key,
        ca_file=pki.ca_file,
        vtn_fingerprint=pki.fingerprints["vtn"],
    )
    runtime = VenRuntime(app.state.sessions, app.state.bus, interval_s=5, owner="test")
    try:
        await runtime.tick()
        assert utility.registered and utility.url.startswith("https://")
        utility.add_event("EV-T", tomorrow(9), 45, 15.0)
        await until(lambda: _async(utility.opts))
        assert utility.opts == [("VEN-1", "EV-T", "optIn")]
        (event,) = await dr_events(client, admin)
        assert (event["target_reduction_kw"], event["source"]) == (15.0, "openadr")
    finally:
        await runtime.stop()


async def test_a_wrong_vtn_fingerprint_takes_no_event(app, client, admin, vtn, pki):
    site = await site_with_history(app, client, admin, "Mill")
    utility = await vtn(tls=(*pki.paths["vtn"], pki.ca_file), fingerprint=pki.fingerprints["ven"])
    cert, key = pki.paths["ven"]
    cfg = await connection(
        app,
        utility,
        site,
        cert_path=cert,
        key_path=key,
        ca_file=pki.ca_file,
        vtn_fingerprint=pki.fingerprints["ven"],
    )  # not the VTN's
    runtime = VenRuntime(app.state.sessions, app.state.bus, interval_s=5, owner="test")
    try:
        await runtime.tick()
        assert cfg not in runtime.connections  # the VTN's answers fail the signature check
        async with app.state.sessions() as session:
            ven = await service.get_ven(session=session, ven_config_id=cfg)
        assert ven.last_error == "the VTN did not register this VEN"
        assert await dr_events(client, admin) == []
    finally:
        await runtime.stop()


async def test_flexibility_that_covers_the_target_opts_in(app, client, admin, vtn):
    site = await site_with_history(app, client, admin, "Cold store")
    shed = await client.post(
        f"/api/v1/sites/{site}/flex-resources",
        headers=admin,
        json={"kind": "curtailable_load", "name": "Chiller", "params": {"shed_kw": 30}},
    )
    assert shed.status_code == 201, shed.text
    utility = await vtn()
    await connection(app, utility, site, opt_policy="flexibility")
    runtime = VenRuntime(app.state.sessions, app.state.bus, interval_s=5, owner="test")
    try:
        await runtime.tick()
        utility.add_event("EV-F", tomorrow(11), 30, 30.0)  # 30 kW asked, 30 kW sheddable
        await until(lambda: _async(utility.opts))
        assert utility.opts == [("VEN-1", "EV-F", "optIn")]
        (event,) = await dr_events(client, admin)
        assert event["opt_out"] is False
    finally:
        await runtime.stop()


async def test_the_connection_routes_check_their_input(app, client, admin):
    site = await site_with_history(app, client, admin, "Yard")
    body = {
        "name": "utility",
        "vtn_url": "http://127.0.0.1:9/OpenADR2/Simple/2.0b",
        "ven_name": "ven",
        "site_ids": [site],
    }
    made = await client.post(VENS, json=body, headers=admin)
    assert made.status_code == 201, made.text
    assert (made.json()["opt_policy"], made.json()["level_pct"]) == ("always_in", 10.0)
    again = await client.post(VENS, json=body, headers=admin)
    assert again.status_code == 409
    unknown = await client.post(
        VENS, json={**body, "name": "b", "site_ids": [site + 99]}, headers=admin
    )
    assert unknown.status_code == 404
    half = await client.post(VENS, json={**body, "name": "c", "cert_path": "/x.pem"}, headers=admin)
    assert half.status_code == 422 and "go together" in half.text
    bad = await client.post(
        VENS,
        json={**body, "name": "d", "opt_policy": "sometimes", "vtn_fingerprint": "zz"},
        headers=admin,
    )
    assert bad.status_code == 422
    assert {e["loc"][-1] for e in bad.json()["details"]} == {"opt_policy", "vtn_fingerprint"}
    listed = await client.get(f"{VENS}/{made.json()['id']}/events", headers=admin)
    assert (listed.status_code, listed.json()) == (200, [])


async def test_an_operator_opt_out_is_sent_to_the_vtn(app, client, admin, vtn):
    site = await site_with_history(app, client, admin, "Bakery")
    utility = await vtn()
    await connection(app, utility, site, opt_policy="always_in")
    runtime = VenRuntime(app.state.sessions, app.state.bus, interval_s=5, owner="test")
    try:
        await runtime.tick()
        utility.add_event("EV-O", tomorrow(15), 60, 10.0)
        await until(lambda: _async(utility.opts))
        (event,) = await dr_events(client, admin)
        answer = await client.post(
            f"{EVENTS}/{event['id']}/opt", json={"opt_out": True}, headers=admin
        )
        assert answer.status_code == 200, answer.text
        await runtime.tick()
        await until(lambda: _async(len(utility.opts) == 2))
        assert utility.opts == [("VEN-1", "EV-O", "optIn"), ("VEN-1", "EV-O", "optOut")]
        await runtime.tick()  # sent once
        assert len(utility.opts) == 2
    finally:
        await runtime.stop()
