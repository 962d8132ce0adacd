"""Ledger status changes (PENDING -> PROCESSED | FAILED, FAILED -> PENDING | PROCESSED,
PROCESSED final) with their history, who may make them, and a community's year summed from its
closed months as stored. Figures: the hand-worked month of ``test_settlements``."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tests.community.community_data import add_member, make_community
from tests.community.test_settlements import YEAR, settle, settlement_community

from gridpilot.auth.permissions import Role
from gridpilot.community.models import Settlement
from gridpilot.community.yearly import _member_sums

LEDGER = "/api/economic/transactions"


@pytest.fixture
async def closed(client, admin, person):
    """The hand-worked month, closed: its ledger written (all PENDING)."""
    cer = await settlement_community(client, admin, person)
    _, draft = await settle(client, admin, cer["id"])
    path = f"/api/v1/communities/{cer['id']}/settlements/{draft['id']}/close"
    assert (await client.post(path, headers=admin)).status_code == 200
    lines = (await client.get(LEDGER, params={"community": cer["id"]}, headers=admin)).json()
    cer["lines"] = {(t["transaction_type"], t["member_id"]): t["id"] for t in lines["data"]}
    cer["settlement"] = draft["id"]
    return cer


def line_of(cer: dict, member: str) -> int:
    return cer["lines"][("BENEFIT_DISTRIBUTION", cer["members"][member])]


async def test_a_line_is_paid_once_and_its_history_says_who(client, admin, closed):
    line = line_of(closed, "bob")
    body = {"status": "PROCESSED", "payment_method": "SEPA", "payment_reference": "TRN-0042"}
    paid = await client.patch(f"{LEDGER}/{line}", json=body, headers=admin)
    assert paid.status_code == 200, paid.text
    data = paid.json()["data"]
    assert (data["status"], data["amount_eur"], data["payment_reference"]) == (
        "PROCESSED", "9.23", "TRN-0042",
    )  # fmt: skip
    assert data["processed_at"] is not None
    again = await client.patch(f"{LEDGER}/{line}/", json={"status": "FAILED"}, headers=admin)
    assert again.status_code == 409
    assert again.json()["details"] == {"field": "status", "from": "PROCESSED", "to": "FAILED"}
    history = (await client.get(f"{LEDGER}/{line}/history", headers=admin)).json()["data"]
    assert [(e["from_status"], e["to_status"]) for e in history] == [("PENDING", "PROCESSED")]
    assert history[0]["actor"].startswith("user:") and history[0]["payment_method"] == "SEPA"


async def test_a_failed_payment_is_retried(client, admin, closed):
    line = closed["lines"][("GSE_PAYMENT", None)]
    for status, note in (("FAILED", "IBAN refused"), ("PENDING", None), ("PROCESSED", None)):
        body = {"status": status} | ({"note": note} if note else {})
        answer = await client.patch(f"{LEDGER}/{line}", json=body, headers=admin)
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"]["status"] == status
        assert (answer.json()["data"]["processed_at"] is None) == (status != "PROCESSED")
    history = (await client.get(f"{LEDGER}/{line}/history", headers=admin)).json()["data"]
    assert [(e["from_status"], e["to_status"], e["note"]) for e in history] == [
        ("PENDING", "FAILED", "IBAN refused"), ("FAILED", "PENDING", None),
        ("PENDING", "PROCESSED", None),
    ]  # fmt: skip
    same = await client.patch(f"{LEDGER}/{line_of(closed, 'ann')}", json={"status": "PENDING"},
                              headers=admin)  # fmt: skip
    assert same.status_code == 409


async def test_only_the_community_admins_change_a_status(client, admin, closed, person):
    line = line_of(closed, "bob")
    bob = closed["bob"]
    assert (await client.patch(f"{LEDGER}/{line}", json={"status": "PROCESSED"},
                               headers=bob)).status_code == 403  # fmt: skip
    user, member_operator = await person(Role.OPERATOR)
    await add_member(client, admin, closed["id"], "Olaf", user_id=user, role="MEMBER")
    refused = await client.patch(
        f"{LEDGER}/{closed['lines'][('GSE_PAYMENT', None)]}", json={"status": "PROCESSED"},
        headers=member_operator,
    )  # fmt: skip
    assert refused.status_code == 403
    other = await make_community(client, admin, "OTHER")
    user, outsider = await person(Role.OPERATOR)
    await add_member(client, admin, other, "Olga", user_id=user, role="ADMIN")
    hidden = await client.patch(f"{LEDGER}/{line}", json={"status": "PROCESSED"},
                                headers=outsider)  # fmt: skip
    assert hidden.status_code == 404
    assert (await client.get(f"{LEDGER}/{line}/history", headers=outsider)).status_code == 404
    bad = await client.patch(f"{LEDGER}/{line}", json={"status": "PAID"}, headers=admin)
    assert bad.status_code == 422
    extra = await client.patch(f"{LEDGER}/{line}", json={"status": "PROCESSED",
                               "amount_eur": "1.00"}, headers=admin)  # fmt: skip
    assert extra.status_code == 422  # the amount never changes
    lines = (await client.get(LEDGER, params={"community": closed["id"]}, headers=admin)).json()
    assert {t["status"] for t in lines["data"]} == {"PENDING"}


async def test_a_member_sees_the_history_of_their_own_lines_only(client, admin, closed):
    mine = line_of(closed, "bob")
    body = {"status": "FAILED", "note": "wrong IBAN"}
    assert (await client.patch(f"{LEDGER}/{mine}", json=body, headers=admin)).status_code == 200
    seen = await client.get(f"{LEDGER}/{mine}/history", headers=closed["bob"])
    assert seen.status_code == 200
    [event] = seen.json()["data"]
    assert (event["to_status"], event["note"], event["actor"]) == ("FAILED", "wrong IBAN", None)
    carl = await client.get(f"{LEDGER}/{line_of(closed, 'carl')}/history", headers=closed["bob"])
    assert carl.status_code == 404
    missing = await client.get(f"{LEDGER}/987654/history", headers=admin)
    assert missing.status_code == 404


async def test_the_year_sums_the_closed_months_as_stored(client, admin, person):
    cer = await settlement_community(client, admin, person)
    path = f"/api/v1/communities/{cer['id']}/years/{YEAR}"
    _, draft = await settle(client, admin, cer["id"])
    open_year = (await client.get(path, headers=admin)).json()
    assert open_year["closed_months"] == [] and open_year["members"] == []
    assert [m["status"] for m in open_year["months"]] == ["draft"]
    assert open_year["gse_estimate_eur"] == "0.00"
    close = f"/api/v1/communities/{cer['id']}/settlements/{draft['id']}/close"
    month = (await client.post(close, headers=admin)).json()
    year = (await client.get(path, headers=admin)).json()
    assert year["closed_months"] == [draft["month"]] and year["complete"] is False
    assert year["gse_estimate_eur"] == month["gse_estimate_eur"] == "39.17"
    assert year["fees_eur"] == {"platform": "1.00"} and year["reserve_eur"] == month["reserve_eur"]
    parts = {m["member_id"]: m["total_eur"] for m in month["members"]}
    assert {m["member_id"]: m["total_eur"] for m in year["members"]} == parts
    assert {m["member_name"] for m in year["members"]} == {"Ann", "Bob", "Carl", "Dora"}
    bob = (await client.get(path, headers=cer["bob"])).json()
    assert [(m["member_name"], m["total_eur"]) for m in bob["members"]] == [("Bob", "9.23")]
    assert bob["gse_estimate_eur"] == "39.17"
    other = await make_community(client, admin, "OTHER")
    user, outsider = await person(Role.OPERATOR)
    await add_member(client, admin, other, "Olga", user_id=user, role="ADMIN")
    assert (await client.get(path, headers=outsider)).status_code == 404
    assert (await client.get(f"/api/v1/communities/{cer['id']}/years/1999",
                             headers=admin)).status_code == 422  # fmt: skip


def _month(month: int, parts: dict[int, str]) -> Settlement:
    lines = [
        {"member_id": m, "consumption_kwh": 1.5, "produced_shared_kwh": 0.0,
         "producer_eur": "0.00", "consumer_eur": v, "excess_eur": "0.00", "total_eur": v}
        for m, v in parts.items()
    ]  # fmt: skip
    return Settlement(year=2026, month=month, status="closed", result={"members": lines})


def test_member_sums_add_months_to_the_cent():
    sums = _member_sums([_month(1, {1: "0.10", 2: "3.33"}), _month(2, {1: "0.20"})])
    assert sums[1]["total_eur"] == Decimal("0.30") and sums[1]["months"] == 2
    assert sums[2]["total_eur"] == Decimal("3.33") and sums[2]["months"] == 1
    assert sums[1]["consumption_kwh"] == 3.0
