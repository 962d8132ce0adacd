"""A month's settlement from stored readings, zonal prices and recorded parameters: member
parts that sum to the cent (figures worked out by hand below), reproducible runs, closing that
makes it immutable, and the ledger written on closing."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from tests.community.community_data import add_member, make_community, make_plant
from tests.insights.balance.balance_data import ingest, reading
from tests.insights.kpis.kpi_test_data import make_asset, make_site

from gridpilot.auth.permissions import Role

ROME = ZoneInfo("Europe/Rome")
H = 3_600_000
_this_month = datetime.now(ROME).replace(day=1)
PREVIOUS = (_this_month - timedelta(days=1)).replace(day=1)
YEAR, MONTH = PREVIOUS.year, PREVIOUS.month
#: 10:00 UTC on the 10th of last month (no DST change that day)
T = datetime(YEAR, MONTH, 10, 10, tzinfo=UTC)
T_MS = int(T.timestamp() * 1000)
STATUTE = {"fees_eur": {"platform": "1.00"}, "reserve_share": "0.15", "producer_share": "0.3"}


def registers(asset: int, metric: str, values: list[float]) -> list[dict]:
    return [reading(asset, metric, T_MS + k * H, v) for k, v in enumerate(values)]


async def pod_site(client, admin, name, imports, exports=None) -> int:
    site = await make_site(client, admin, name)
    meter = await make_asset(client, admin, site, "POD meter", "grid_connection")
    data = registers(meter, "energy_kwh", imports)
    if exports is not None:
        data += registers(meter, "energy_export_kwh", exports)
    await ingest(client, admin, data)
    return site


async def record(client, admin, name, value, valid_from="2024-01-01", **extra):
    body = {"name": name, "value": value, "valid_from": valid_from, **extra}
    return await client.post("/api/v1/community-parameters", json=body, headers=admin)


@pytest.fixture
async def cer(client, admin, person):
    return await settlement_community(client, admin, person)


async def settlement_community(client, admin, person) -> dict:
    """Substation AC001, zone NORD, Lombardia (PV bonus north +10 EUR/MWh).

    Hours T, T+1, T+2 [kWh]: Ann's 500 kW PV injects 400 | 0 | 0 and withdraws 0 | 10 | 30;
    Bob withdraws 100 | 20 | 30, Carl 170 | 0 | 0, Dora (an SME) 30 | 0 | 0. Shared: 300 in
    hour T only (400 injected, 300 withdrawn). Pz(T) = 100 EUR/MWh."""
    community = await make_community(
        client, admin, "SETTLE", primary_substations=["AC001"], distribution=STATUTE
    )
    bob_user, bob_headers = await person(Role.VIEWER)
    ids = {
        "ann": await add_member(client, admin, community, "Ann"),
        "bob": await add_member(client, admin, community, "Bob", user_id=bob_user),
        "carl": await add_member(client, admin, community, "Carl"),
        "dora": await add_member(client, admin, community, "Dora", user_type="BUSINESS",
                                 category="sme"),
    }  # fmt: skip
    pv = await pod_site(client, admin, "pv", [50, 50, 60, 90], [0, 400, 400, 400])
    await make_plant(client, admin, community, ids["ann"], "IT001E00000001", site=pv,
                     plant_type="PRODUCER", nominal_power_kw="500")  # fmt: skip
    for n, (name, imports) in enumerate(
        (("bob", [0, 100, 120, 150]), ("carl", [0, 170, 170, 170]), ("dora", [0, 30, 30, 30]))
    ):
        site = await pod_site(client, admin, name, imports)
        await make_plant(client, admin, community, ids[name], f"IT001E0000001{n}", site=site,
                         plant_type="CONSUMER", nominal_power_kw="0")  # fmt: skip
    local = T.astimezone(ROME)
    csv = f"Data;Ora;NORD\n{local:%Y%m%d};{local.hour + 1};100,00\n"
    stored = await client.post("/api/v1/community-zonal-prices", json={"csv": csv}, headers=admin)
    assert stored.status_code == 200, stored.text
    assert (
        await record(client, admin, "arera_valorisation_eur_per_mwh", "10.57")
    ).status_code == 201
    return {"id": community, "members": ids, "bob": bob_headers}


async def settle(client, headers, community) -> tuple[int, dict]:
    response = await client.post(
        f"/api/v1/communities/{community}/settlements",
        json={"year": YEAR, "month": MONTH},
        headers=headers,
    )
    assert response.status_code in (200, 201), response.text
    return response.status_code, response.json()


async def test_the_member_parts_sum_to_the_cent(client, admin, cer):
    """TIP (200-600 kW band, Pz 100): min(110, 70 + 80) + 10 = 120 EUR/MWh; 300 kWh -> 36.00.
    Excess: 300 > 0.55 x 400: 80 kWh, 36 x 80/300 = 9.60; ordinary 26.40. ARERA: 300 kWh x
    10.57 / 1000 = 3.171 -> 3.17. GSE estimate 39.17. Ordinary 29.57 - fee 1.00 = 28.57;
    reserve 15 % = 4.2855 -> 4.29; left 24.28; producers 30 % = 7.284 -> 7.28 (Ann); consumers
    17.00 by consumption in the sharing hour (Bob 100, Carl 170, Dora 30 of 300): 566.67,
    963.33, 170 cents -> the spare cent to Bob: 5.67, 9.63, 1.70. Excess 9.60 to non-business
    members with a weight (Bob 100, Carl 170): 355.56, 604.44 cents -> 3.56, 6.04."""
    status, body = await settle(client, admin, cer["id"])
    assert status == 201 and body["status"] == "draft"
    assert (body["incentive_eur"], body["valorisation_eur"], body["gse_estimate_eur"]) == (
        "36.00", "3.17", "39.17",
    )  # fmt: skip
    plant = body["plants"][0]
    assert (plant["shared_kwh"], plant["excess_eur"], plant["ordinary_eur"]) == (
        300, "9.60", "26.40",
    )  # fmt: skip
    m = cer["members"]
    totals = {p["member_id"]: p["total_eur"] for p in body["members"]}
    assert totals == {m["ann"]: "7.28", m["bob"]: "9.23", m["carl"]: "15.67", m["dora"]: "1.70"}
    assert (body["fees_eur"], body["reserve_eur"], body["social_fund_eur"]) == (
        {"platform": "1.00"}, "4.29", "0.00",
    )  # fmt: skip
    parts = [Decimal(v) for v in totals.values()] + [Decimal("1.00"), Decimal("4.29")]
    assert sum(parts) == Decimal(body["gse_estimate_eur"])
    assert body["parameters"]["arera_valorisation_eur_per_mwh"] == "10.57"


async def test_a_draft_run_is_reproducible_and_follows_a_correction(client, admin, cer):
    _, first = await settle(client, admin, cer["id"])
    status, again = await settle(client, admin, cer["id"])
    assert status == 200
    drop = ("computed_at", "parameters_as_of")
    assert {k: v for k, v in again.items() if k not in drop} == {
        k: v for k, v in first.items() if k not in drop
    }
    assert (await record(client, admin, "arera_valorisation_eur_per_mwh", "20")).status_code == 201
    _, corrected = await settle(client, admin, cer["id"])
    assert corrected["valorisation_eur"] == "6.00"  # 300 kWh x 20 EUR/MWh


async def test_a_closed_month_is_immutable(client, admin, cer):
    _, draft = await settle(client, admin, cer["id"])
    path = f"/api/v1/communities/{cer['id']}/settlements/{draft['id']}"
    closed = await client.post(f"{path}/close", headers=admin)
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert (await client.post(f"{path}/close", headers=admin)).status_code == 409

    refused = await record(client, admin, "arera_valorisation_eur_per_mwh", "30")
    assert refused.status_code == 409
    # periods are closed up to the latest closed month: the first day the version would change
    assert refused.json()["details"]["day"] == "2024-01-01"
    later = _this_month.date().isoformat()  # from this month on: no closed day changes
    assert (
        await record(client, admin, "arera_valorisation_eur_per_mwh", "30", later)
    ).status_code == 201

    status, rerun = await settle(client, admin, cer["id"])
    assert status == 200 and rerun["status"] == "closed"
    assert rerun == closed.json()
    assert (await client.get(path, headers=admin)).json() == closed.json()


async def test_closing_writes_the_ledger_and_members_see_their_own_lines(client, admin, cer):
    _, draft = await settle(client, admin, cer["id"])
    none = await client.get("/api/economic/transactions", params={"community": cer["id"]},
                            headers=admin)  # fmt: skip
    assert none.json()["data"] == []
    path = f"/api/v1/communities/{cer['id']}/settlements/{draft['id']}/close"
    assert (await client.post(path, headers=admin)).status_code == 200
    ledger = (
        await client.get("/api/economic/transactions", params={"community": cer["id"]},
                         headers=admin)
    ).json()  # fmt: skip
    lines = {(t["transaction_type"], t["member_id"]): t["amount_eur"] for t in ledger["data"]}
    m = cer["members"]
    assert lines == {
        ("GSE_PAYMENT", None): "39.17", ("FEE", None): "1.00",
        ("BENEFIT_DISTRIBUTION", m["ann"]): "7.28", ("BENEFIT_DISTRIBUTION", m["bob"]): "9.23",
        ("BENEFIT_DISTRIBUTION", m["carl"]): "15.67", ("BENEFIT_DISTRIBUTION", m["dora"]): "1.70",
    }  # fmt: skip
    assert {t["status"] for t in ledger["data"]} == {"PENDING"}
    assert ledger["meta"]["total"] == 6

    bob = cer["bob"]
    own = (
        await client.get("/api/economic/transactions", params={"community": cer["id"]},
                         headers=bob)
    ).json()  # fmt: skip
    assert {(t["transaction_type"], t["member_id"]) for t in own["data"]} == {
        ("GSE_PAYMENT", None), ("FEE", None), ("BENEFIT_DISTRIBUTION", m["bob"]),
    }  # fmt: skip
    seen = (await client.get(f"/api/v1/communities/{cer['id']}/settlements/{draft['id']}",
                             headers=bob)).json()  # fmt: skip
    assert [p["member_id"] for p in seen["members"]] == [m["bob"]]
    assert seen["plants"] == [] and seen["gse_estimate_eur"] == "39.17"


async def test_refusals_say_why(client, admin, cer, person):
    bad = await client.post(
        "/api/v1/community-zonal-prices", json={"csv": "Data;Ora;NORD\n20241301;1;x\n"},
        headers=admin,
    )  # fmt: skip
    assert bad.status_code == 422
    assert bad.json()["error"] == "zonal_prices_invalid"
    assert bad.json()["details"][0]["line"] == 2
    _, operator = await person(Role.OPERATOR)
    assert (await record(client, operator, "excess_threshold", "0.6")).status_code == 403
    unknown = await record(client, admin, "no_such_parameter", "1")
    assert unknown.status_code == 422
    this_month = {"year": _this_month.year, "month": _this_month.month}
    run = await client.post(
        f"/api/v1/communities/{cer['id']}/settlements", json=this_month, headers=admin
    )
    assert run.status_code == 201, run.text
    close = await client.post(
        f"/api/v1/communities/{cer['id']}/settlements/{run.json()['id']}/close", headers=admin
    )
    assert close.status_code == 422
    assert "not ended" in close.json()["message"]


async def test_another_community_cannot_see_or_run_settlements(client, admin, cer, person):
    _, draft = await settle(client, admin, cer["id"])
    other = await make_community(client, admin, "OTHER")
    carl_user, carl = await person(Role.OPERATOR)
    await add_member(client, admin, other, "Carl", user_id=carl_user, role="ADMIN")
    base = f"/api/v1/communities/{cer['id']}/settlements"
    assert (await client.get(f"{base}/{draft['id']}", headers=carl)).status_code == 404
    assert (await client.get(base, headers=carl)).status_code == 404
    assert (await client.post(f"{base}/{draft['id']}/close", headers=carl)).status_code == 404
    run = await client.post(base, json={"year": YEAR, "month": MONTH}, headers=carl)
    assert run.status_code == 404
    ledger = await client.get(
        "/api/economic/transactions", params={"community": cer["id"]}, headers=carl
    )
    assert ledger.status_code == 404
    # a member of the community may read but not run or close
    bob = cer["bob"]
    assert (await client.post(f"{base}/{draft['id']}/close", headers=bob)).status_code == 403
    # and a settlement of the other community is not one of this community's
    empty = await client.post(
        f"/api/v1/communities/{other}/settlements", json={"year": YEAR, "month": MONTH},
        headers=admin,
    )  # fmt: skip
    assert empty.status_code == 201, empty.text
    assert empty.json()["gse_estimate_eur"] == "0.00"  # no plant, nobody joined before today
    assert empty.json()["members"] == []
    mixed = f"/api/v1/communities/{cer['id']}/settlements/{empty.json()['id']}"
    assert (await client.get(mixed, headers=admin)).status_code == 404


def csv_rows(text: str) -> dict[tuple[str, str], str]:
    return {(r["section"], r["item"]): r["value"] for r in csv.DictReader(io.StringIO(text))}


async def test_a_statement_csv_has_the_totals_of_the_api(client, admin, cer):
    _, body = await settle(client, admin, cer["id"])
    base = f"/api/v1/communities/{cer['id']}/settlements/{body['id']}/statements"
    m = cer["members"]
    parts = {p["member_id"]: p for p in body["members"]}
    for name in ("ann", "bob", "carl", "dora"):
        response = await client.get(f"{base}/{m[name]}.csv", headers=admin)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        rows = csv_rows(response.text)
        part = parts[m[name]]
        assert rows[("benefit", "total")] == part["total_eur"]
        assert rows[("benefit", "excess_share")] == part["excess_eur"]
        assert rows[("community", "gse_estimate")] == body["gse_estimate_eur"] == "39.17"
    ann = csv_rows((await client.get(f"{base}/{m['ann']}.csv", headers=admin)).text)
    assert ann[("plant IT001E00000001", "shared")] == "300.0"
    assert ann[("plant IT001E00000001", "incentive")] == "36.00"
    # Bob gets his own statement, not Carl's
    bob = cer["bob"]
    assert (await client.get(f"{base}/{m['bob']}.csv", headers=bob)).status_code == 200
    assert (await client.get(f"{base}/{m['carl']}.csv", headers=bob)).status_code == 404


async def test_a_statement_pdf_shows_the_member_total(client, admin, cer):
    _, body = await settle(client, admin, cer["id"])
    m = cer["members"]
    path = f"/api/v1/communities/{cer['id']}/settlements/{body['id']}/statements/{m['carl']}.pdf"
    response = await client.get(path, headers=admin)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert b"(15.67)" in response.content  # Carl's total, as in the API
    assert (await client.get(path, headers=cer["bob"])).status_code == 404


async def test_the_gse_statement_is_reconciled_with_the_estimates(client, admin, cer):
    await settle(client, admin, cer["id"])
    month = f"{YEAR:04d}-{MONTH:02d}"
    path = f"/api/v1/communities/{cer['id']}/gse-reconciliation"
    statement = f"mese;importo\n{month};40,00\n2020-01;5\n"
    response = await client.post(path, json={"csv": statement}, headers=admin)
    assert response.status_code == 200, response.text
    by_month = {r["month"]: r for r in response.json()}
    # 40.00 - 39.17 = 0.83, i.e. 2.119 % of the estimate -> 2.12
    assert by_month[month] == {
        "month": month, "estimated_eur": "39.17", "settlement_status": "draft",
        "paid_eur": "40.00", "difference_eur": "0.83", "difference_pct": "2.12",
    }  # fmt: skip
    assert by_month["2020-01"]["estimated_eur"] is None
    assert by_month["2020-01"]["paid_eur"] == "5.00"
    bad = await client.post(path, json={"csv": "mese;importo\n13/2026;x\n"}, headers=admin)
    assert bad.status_code == 422
    assert bad.json()["details"][0]["line"] == 2
