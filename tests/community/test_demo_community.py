"""The demo's energy community (issue #18 item 7): ``sim.community_seed`` creates the simulated
scenario's community through the community services, with shared energy in sunny hours and a
settlement; a rerun changes nothing. Both back ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from gridpilot.auth.permissions import Principal, Role
from gridpilot.core.errors import NotFound
from gridpilot.core.timestamps import MS_PER_DAY, iso, now_ms
from gridpilot.sim.backfill import backfill
from gridpilot.sim.community_seed import (
    CODE,
    ROME,
    VIEW_MEMBER,
    member_kind,
    seed_community,
    settlement_month,
)
from gridpilot.sim.provision import SIMULATOR as PRINCIPAL_ADMIN
from gridpilot.sim.provision import provision
from gridpilot.sim.zonal_prices import gme_csv, hours_of
from gridpilot.web import community_view


def test_settlement_month_closes_the_last_month_only_when_the_history_covers_it():
    now = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)
    assert settlement_month(now, now - timedelta(days=14)) == (2026, 12, False)
    start_of_november = datetime(2026, 11, 1, tzinfo=ROME)
    assert settlement_month(now, start_of_november) == (2026, 11, True)
    assert settlement_month(now, start_of_november + timedelta(minutes=15)) == (2026, 12, False)
    january = datetime(2027, 1, 2, 9, 0, tzinfo=UTC)
    assert settlement_month(january, datetime(2026, 11, 30, tzinfo=UTC)) == (2026, 12, True)


def test_member_kinds_and_gme_csv():
    assert member_kind("Household 03") == ("PRIVATE", "none")
    assert member_kind("Bakery 2") == ("BUSINESS", "sme")
    assert member_kind("Office 3") == ("PRIVATE", "public_body")
    text = gme_csv(datetime(2026, 10, 25).date(), datetime(2026, 10, 26).date())
    lines = text.splitlines()
    assert lines[0] == "Data;Ora;SUD;PUN"
    assert hours_of(datetime(2026, 10, 25).date()) == 25  # the October clock change
    assert len(lines) == 1 + 25 + 24
    assert gme_csv(datetime(2026, 10, 25).date(), datetime(2026, 10, 26).date()) == text


async def test_demo_community_has_members_shared_energy_and_a_settlement(
    app, client, admin, make_user
):
    assets = await provision(
        sessions=app.state.sessions, bus=app.state.bus, scenarios=["community"]
    )
    end = now_ms() // 900_000 * 900_000
    report = await backfill(
        assets, runtime=app.state.telemetry, seed=7, span_ms=MS_PER_DAY, step_ms=900_000,
        end_ms=end,
    )  # fmt: skip
    assert report.rejected == 0, report.reasons
    now = datetime.now(UTC)
    user = await make_user("demo-member", Role.VIEWER)
    summary = await seed_community(
        app.state.sessions, assets, history_start=now - timedelta(days=1), now=now,
        member_user_id=user.id,
    )  # fmt: skip
    again = await seed_community(
        app.state.sessions, assets, history_start=now - timedelta(days=1), now=now
    )
    assert again.community_id == summary.community_id

    answer = (await client.get("/api/cer", headers=admin)).json()
    (cer,) = [c for c in answer["data"] if c["code"] == CODE]
    assert cer["members_count"] == 20 and cer["plants_count"] == 20
    assert cer["primary_substations"] == ["AC001E00345", "AC001E00346"]
    members = (await client.get(f"/api/cer/{cer['id']}/members", headers=admin)).json()["data"]
    kinds = {(m["user_type"], m["category"]) for m in members}
    assert {("PRIVATE", "none"), ("BUSINESS", "sme"), ("PRIVATE", "public_body")} <= kinds

    params = {"community": cer["id"], "from": iso(end - MS_PER_DAY), "to": iso(end)}
    energy = await client.get("/api/energy/aggregations", params=params, headers=admin)
    assert energy.status_code == 200, energy.text
    substations = energy.json()["data"]["substations"]
    assert [s["substation"] for s in substations] == ["AC001E00345", "AC001E00346"]
    for substation in substations:
        midday = [
            h["shared_kwh"]
            for h in substation["hours"]
            if 10 <= datetime.fromisoformat(h["hour"]).astimezone(ROME).hour < 14
        ]
        assert midday and all(v is not None for v in midday)
        assert max(midday) > 0, substation["substation"]

    listed = await client.get(f"/api/v1/communities/{cer['id']}/settlements", headers=admin)
    (settlement,) = listed.json()
    assert (settlement["year"], settlement["month"]) == (summary.year, summary.month)
    assert settlement["status"] == summary.status == "draft"
    assert Decimal(settlement["gse_estimate_eur"]) == summary.gse_estimate_eur > 0

    # the dashboard's view of it: the member user sees their own lines only (as the API)
    member = Principal(subject=f"user:{user.id}", name=user.username, role=Role.VIEWER,
                       user_id=user.id)  # fmt: skip
    async with app.state.sessions() as session:
        full = await community_view.load(session, PRINCIPAL_ADMIN, summary.community_id)
        own = await community_view.load(session, member, summary.community_id)
    assert len(full.members) == 20 and len(full.settlements[0].members) >= 19
    assert [m.name for m in own.members] == [VIEW_MEMBER] and not own.sees_all
    assert own.pods == {own.own_member: 1}
    assert [p.member_id for p in own.settlements[0].members] == [own.own_member]
    other = next(m.member_id for m in full.members if m.member_id != own.own_member)
    sid = own.settlements[0].id
    async with app.state.sessions() as session:
        content, name, kind = await community_view.statement_file(
            session, member, summary.community_id, sid, own.own_member or 0, "csv"
        )
        assert name.endswith(".csv") and kind.startswith("text/csv")
        assert VIEW_MEMBER in content.decode()
        with pytest.raises(NotFound):
            await community_view.statement_file(
                session, member, summary.community_id, sid, other, "pdf"
            )
