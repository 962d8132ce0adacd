"""The seed's economic paths: a month's benefits computed without writing, distribution
(settle and close), the statements' index and manual ledger adjustments; each with the seed's
envelope, its trailing-slash form, members limited to their own lines, another community 404.
Figures: the hand-worked month of ``test_settlements`` (GSE estimate 39.17 EUR)."""

from __future__ import annotations

import pytest
from tests.community.community_data import add_member, make_community
from tests.community.test_settlements import (
    MONTH,
    YEAR,
    _this_month,
    settle,
    settlement_community,
)

from gridpilot.auth.permissions import Role

MONTH_Q = {"year": YEAR, "month": MONTH}


@pytest.fixture
async def cer(client, admin, person):
    return await settlement_community(client, admin, person)


@pytest.fixture
async def outsider(client, admin, person):
    """An admin of another community (with configure), unknown to ``cer``."""
    other = await make_community(client, admin, "OTHER")
    user, headers = await person(Role.OPERATOR)
    await add_member(client, admin, other, "Olga", user_id=user, role="ADMIN")
    return headers


async def test_benefits_are_the_draft_figures_and_nothing_is_written(client, admin, cer):
    query = {"community": cer["id"], **MONTH_Q}
    answer = await client.get("/api/economic/benefits", params=query, headers=admin)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["success"] is True and body["errors"] == []
    preview = body["data"]
    assert preview["status"] == "draft" and "id" in preview and preview["id"] is None
    assert preview["gse_estimate_eur"] == "39.17"
    runs = await client.get(f"/api/v1/communities/{cer['id']}/settlements", headers=admin)
    assert runs.json() == []  # computed, not stored
    _, stored = await settle(client, admin, cer["id"])
    parts = {m["member_id"]: m["total_eur"] for m in stored["members"]}
    assert {m["member_id"]: m["total_eur"] for m in preview["members"]} == parts
    slash = await client.get("/api/economic/benefits/", params=query, headers=admin)
    assert slash.status_code == 200
    assert slash.json()["data"]["id"] == stored["id"]


async def test_a_member_sees_the_totals_and_only_their_own_benefit(client, cer, outsider):
    query = {"community": cer["id"], **MONTH_Q}
    mine = (await client.get("/api/economic/benefits", params=query, headers=cer["bob"])).json()
    bob = cer["members"]["bob"]
    assert [m["member_id"] for m in mine["data"]["members"]] == [bob]
    assert mine["data"]["members"][0]["total_eur"] == "9.23"
    assert mine["data"]["plants"] == [] and mine["data"]["gse_estimate_eur"] == "39.17"
    hidden = await client.get("/api/economic/benefits", params=query, headers=outsider)
    assert hidden.status_code == 404


async def test_benefits_refuse_a_bad_month(client, admin, cer):
    query = {"community": cer["id"], "year": YEAR, "month": 13}
    bad = await client.get("/api/economic/benefits", params=query, headers=admin)
    assert bad.status_code == 422
    assert "month" in bad.text


async def test_distribution_closes_the_month_once(client, admin, cer, outsider):
    body = {"community_id": cer["id"], **MONTH_Q}
    assert (
        await client.post("/api/economic/distribute", json=body, headers=outsider)
    ).status_code == 404
    assert (
        await client.post("/api/economic/distribute", json=body, headers=cer["bob"])
    ).status_code == 403
    done = await client.post("/api/economic/distribute/", json=body, headers=admin)
    assert done.status_code == 200, done.text
    assert done.json()["data"]["status"] == "closed"
    assert done.json()["data"]["gse_estimate_eur"] == "39.17"
    again = await client.post("/api/economic/distribute", json=body, headers=admin)
    assert again.status_code == 409
    assert "already closed" in again.json()["message"]
    ledger = await client.get(
        "/api/economic/transactions", params={"community": cer["id"]}, headers=admin
    )
    assert ledger.json()["meta"]["total"] == 6
    benefits = await client.get(
        "/api/economic/benefits", params={"community": cer["id"], **MONTH_Q}, headers=admin
    )
    assert benefits.json()["data"] == done.json()["data"]  # a closed month, as stored


async def test_a_month_not_ended_is_not_distributed(client, admin, cer):
    body = {"community_id": cer["id"], "year": _this_month.year, "month": _this_month.month}
    early = await client.post("/api/economic/distribute", json=body, headers=admin)
    assert early.status_code == 422
    assert "not ended" in early.json()["message"]
    late = await client.post(
        "/api/economic/distribute", json={**body, "month": "May"}, headers=admin
    )
    assert late.status_code == 422


async def test_reports_link_the_statements_each_caller_may_read(client, admin, cer, outsider):
    query = {"community": cer["id"], **MONTH_Q}
    none = await client.get("/api/economic/reports", params=query, headers=admin)
    assert none.status_code == 404
    assert "not been settled" in none.json()["message"]
    await settle(client, admin, cer["id"])
    report = (await client.get("/api/economic/reports/", params=query, headers=admin)).json()
    m = cer["members"]
    links = {s["member_id"]: s for s in report["data"]["statements"]}
    assert set(links) == set(m.values())
    assert links[m["carl"]]["total_eur"] == "15.67"
    assert links[m["carl"]]["member_name"] == "Carl"
    statement = await client.get(links[m["carl"]]["csv_url"], headers=admin)
    assert statement.status_code == 200 and "15.67" in statement.text
    pdf = await client.get(links[m["carl"]]["pdf_url"], headers=admin)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    own = (await client.get("/api/economic/reports", params=query, headers=cer["bob"])).json()
    assert [s["member_id"] for s in own["data"]["statements"]] == [m["bob"]]
    hidden = await client.get("/api/economic/reports", params=query, headers=outsider)
    assert hidden.status_code == 404


async def test_an_adjustment_is_appended_to_the_cent(client, admin, cer, outsider):
    bob = cer["members"]["bob"]
    body = {
        "community_id": cer["id"], "member_id": bob, "amount_eur": "-2.50",
        "description": "meter fault refund", "period_start": "2025-01-01",
        "period_end": "2025-01-31",
    }  # fmt: skip
    made = await client.post("/api/economic/transactions/", json=body, headers=admin)
    assert made.status_code == 201, made.text
    line = made.json()["data"]
    assert line["amount_eur"] == "-2.50" and line["transaction_type"] == "ADJUSTMENT"
    seen = await client.get(
        "/api/economic/transactions", params={"community": cer["id"]}, headers=cer["bob"]
    )
    assert [(t["id"], t["amount_eur"]) for t in seen.json()["data"]] == [(line["id"], "-2.50")]
    assert (
        await client.post("/api/economic/transactions", json=body, headers=cer["bob"])
    ).status_code == 403
    assert (
        await client.post("/api/economic/transactions", json=body, headers=outsider)
    ).status_code == 404


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"amount_eur": "1.005"}, "decimal"),
        ({"transaction_type": "BENEFIT_DISTRIBUTION"}, "ADJUSTMENT"),
        ({"period_end": "2024-12-01"}, "before period_start"),
        ({"member_id": 999_999}, "never in community"),
    ],
)
async def test_a_bad_adjustment_says_why(client, admin, cer, change, reason):
    body = {
        "community_id": cer["id"], "amount_eur": "3.00", "description": "fix",
        "period_start": "2025-01-01", "period_end": "2025-01-31", **change,
    }  # fmt: skip
    refused = await client.post("/api/economic/transactions", json=body, headers=admin)
    assert refused.status_code == 422
    assert reason in refused.text
