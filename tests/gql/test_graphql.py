"""``POST /api/v1/graphql`` on both back ends: one query's answers equal the REST answers for
the same data (fleet summary's now and today, latest values, series, alerts); another site's
data is refused at the top level and never reached through nested fields; over-deep and
over-costly queries are refused before executing; no credentials is 401; bad input is a
GraphQL error (4xx or an error entry), never a 500; the number of SQL statements does not grow
with the number of sites."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from tests.fleet.test_fleet_summary import build_fleet, summary
from tests.insights.kpis.kpi_test_data import add_tariff

from gridpilot.alerts.lifecycle import Raise, raise_alert
from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import iso, now_ms

URL = "/api/v1/graphql"

COMBINED = """
query Fleet($start: String, $end: String) {
  sites(limit: 10) {
    id name
    balance { timestamp importKw exportKw generationKw consumptionKw chargeKw dischargeKw
              contractUtilizationPct flagged }
    today { start coverage flaggedIntervals importKwh exportKwh generationKwh consumptionKwh
            chargeKwh dischargeKwh selfConsumption selfSufficiency
            gridRevenue { amount currency exportKwh priced notes } }
    assets {
      id name
      latest { metric ts value unit }
      series(metric: "energy_kwh", start: $start, end: $end, resolution: "15m", agg: "delta") {
        metric unit resolution agg source start end points { ts value }
      }
    }
    alerts { id title severity state site { id } }
  }
}
"""


@pytest.fixture
async def admin(auth_headers):
    return await auth_headers(Role.ADMINISTRATOR)


async def gql(client, headers, query: str, variables: dict | None = None, status: int = 200):
    body = {"query": query, "variables": variables or {}}
    response = await client.post(URL, json=body, headers=headers)
    assert response.status_code == status, response.text
    return response.json()


async def _alert(app, sessions, client, admin, site_id: int, asset_id: int) -> None:
    rule = {"name": "High", "kind": "threshold", "severity": "critical", "metric": "power_kw"}
    answer = await client.post(
        "/api/v1/alert-rules", json={**rule, "params": {"threshold": 1000}}, headers=admin
    )
    assert answer.status_code == 201, answer.text
    async with sessions() as session:
        found = Raise(answer.json()["id"], site_id, asset_id, "High", "too high", 1.0)
        await raise_alert(session=session, found=found, flap_window_s=60, flap_max_raises=5)
        await session.commit()


async def test_one_query_answers_what_rest_answers(client, admin, app, sessions):
    fleet = await build_fleet(client, admin)
    await _alert(app, sessions, client, admin, fleet["a"], fleet["grid"])
    await add_tariff(client, admin, fleet["a"], 0, {"default_rate_per_kwh": 0.2})
    now = now_ms()
    window = {"start": iso(now - 6 * 3_600_000), "end": iso(now + 60_000)}
    body = await gql(client, admin, COMBINED, window)
    assert "errors" not in body, body
    rest = {s["id"]: s for s in (await summary(client, admin))["sites"]}
    sites = body["data"]["sites"]
    assert [s["id"] for s in sites] == sorted(rest)
    for site in sites:
        expected = rest[site["id"]]
        for term in ("import", "export", "generation", "consumption", "charge", "discharge"):
            assert site["balance"][f"{term}Kw"] == expected["now"][f"{term}_kw"], term
            assert site["today"][f"{term}Kwh"] == expected["today"][f"{term}_kwh"], term
        assert site["balance"]["timestamp"] == expected["now"]["timestamp"]
        util = expected["now"]["contract_utilization_pct"]
        assert site["balance"]["contractUtilizationPct"] == util
        assert site["today"]["start"] == expected["today"]["start"]
        assert site["today"]["selfSufficiency"] == expected["today"]["self_sufficiency"]
        assert site["today"]["gridRevenue"]["amount"] == expected["today"]["grid_revenue"]["amount"]
        for asset in site["assets"]:
            latest = (
                await client.get(f"/api/v1/assets/{asset['id']}/latest", headers=admin)
            ).json()
            assert {v["metric"]: [v["ts"], v["value"], v["unit"]] for v in asset["latest"]} == {
                k: [v["ts"], v["value"], v["unit"]] for k, v in latest.items()
            }
            params = {**window, "metric": "energy_kwh", "resolution": "15m", "agg": "delta"}
            series = await client.get(
                f"/api/v1/assets/{asset['id']}/series", params=params, headers=admin
            )
            want = series.json()
            got = asset["series"]
            assert [[p["ts"], p["value"]] for p in got["points"]] == [
                [p["ts"], p["value"]] for p in want["points"]
            ]
            for key in ("metric", "unit", "resolution", "agg", "source", "start", "end"):
                assert got[key] == want[key], key
        params = {"site_id": site["id"], "state": "open"}
        alerts = (await client.get("/api/v1/alerts", params=params, headers=admin)).json()
        assert [a["id"] for a in site["alerts"]] == [a["id"] for a in alerts]
        assert all(a["site"]["id"] == site["id"] for a in site["alerts"])
    alpha = next(s for s in sites if s["id"] == fleet["a"])
    assert alpha["balance"]["importKw"] == 12 and alpha["today"]["importKwh"] == 15  # by hand
    assert alpha["alerts"][0]["severity"] == "critical"


async def test_another_sites_data_is_refused_top_level_and_nested(
    client, admin, app, sessions, auth_headers
):
    fleet = await build_fleet(client, admin)
    await _alert(app, sessions, client, admin, fleet["a"], fleet["grid"])
    viewer = await auth_headers(Role.VIEWER, sites=[fleet["b"]])
    refused = [
        (f"{{ site(id: {fleet['a']}) {{ name }} }}", "site"),
        (f"{{ sites(ids: [{fleet['b']}, {fleet['a']}]) {{ name }} }}", "sites"),
        (f"{{ asset(id: {fleet['grid']}) {{ name }} }}", "asset"),
    ]
    for query, field in refused:
        body = await gql(client, viewer, query)
        assert body["data"] is None, body
        assert body["errors"][0]["extensions"]["code"] == "not_found"
        assert body["errors"][0]["path"] == [field]
        assert "Alpha" not in str(body)
    listed = await gql(
        client, viewer, "{ sites { id name alerts { id } assets { id site { id } } } }"
    )
    assert [s["id"] for s in listed["data"]["sites"]] == [fleet["b"]]
    assert listed["data"]["sites"][0]["alerts"] == []
    assert {a["site"]["id"] for a in listed["data"]["sites"][0]["assets"]} == {fleet["b"]}
    nested = await gql(
        client,
        viewer,
        f"{{ alerts {{ id site {{ id name }} }} a: alerts(siteId: {fleet['a']}) {{ id }} }}",
    )
    assert nested["data"] == {"alerts": [], "a": []}  # the open alert is Alpha's
    admin_sees = await gql(client, admin, "{ alerts { site { name } } }")
    assert admin_sees["data"]["alerts"] == [{"site": {"name": "Alpha works"}}]


async def test_over_deep_and_over_costly_queries_are_refused_before_executing(client, admin):
    deep = "{ sites { assets { site { assets { site { assets { site { id } } } } } } } }"
    body = await gql(client, admin, deep, status=400)
    assert body["data"] is None
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] == "graphql_validation"
    costly = '{ sites(limit: 1000) { assets { series(metric: "power_kw") { points { ts } } } } }'
    body = await gql(client, admin, costly, status=400)
    error = body["errors"][0]
    assert error["extensions"]["code"] == "query_too_costly"
    assert error["extensions"]["cost"] == 1 + 1000 * (1 + 20 * 10)  # by the documented weights
    fine = "{ sites(limit: 100) { balance { importKw } today { importKwh } } }"
    assert "errors" not in await gql(client, admin, fine)  # 1 + 100 x (1 + 3) = 401
    # sizes given through variables count by their values
    by_ids = (
        "query($ids: [Int!]) { sites(ids: $ids) { balance { importKw } "
        "today { gridRevenue { amount } } } }"
    )
    body = await gql(client, admin, by_ids, {"ids": list(range(1, 1001))}, status=400)
    assert body["errors"][0]["extensions"]["cost"] == 1 + 1000 * (1 + 3 + 1)  # over 5,000
    body = await gql(client, admin, by_ids, {"ids": [999_999]})  # cost 6: runs, not found
    assert body["errors"][0]["extensions"]["code"] == "not_found"
    by_limit = (
        'query($n: Int) { sites(limit: $n) { assets { series(metric: "power_kw") { unit } } } }'
    )
    body = await gql(client, admin, by_limit, {"n": 2})  # 1 + 2 x (1 + 20 x 10) = 403
    assert "errors" not in body
    await gql(client, admin, by_limit, {"n": 30}, status=400)  # 6,031


async def test_no_credentials_is_401_and_bad_input_is_never_a_500(client, admin):
    response = await client.post(URL, json={"query": "{ sites { id } }"})
    assert response.status_code == 401
    for raw in ("not json", '{"query": 5}', '{"nothing": "here"}', "[]"):
        answer = await client.post(
            URL, content=raw, headers={**admin, "Content-Type": "application/json"}
        )
        assert answer.status_code == 422, (raw, answer.text)
        assert answer.json()["error"] == "validation_failed"
    for query in ("{ nope }", '{ site(id: "x") { id } }', "{ sites { ", "query { sites { id } "):
        body = await gql(client, admin, query, status=400)
        assert body["errors"][0]["extensions"]["code"] == "graphql_validation", query
    executed = [
        ("{ sites(limit: 0) { id } }", "validation_failed"),
        ("{ site(id: 999999) { id } }", "not_found"),
    ]
    for query, code in executed:
        body = await gql(client, admin, query)
        assert body["errors"][0]["extensions"]["code"] == code, query
    fleet = await build_fleet(client, admin)
    series = '(metric: "power_kw", resolution: "fortnight") { unit }'
    bad_series = f"{{ asset(id: {fleet['grid']}) {{ series{series} }} }}"
    body = await gql(client, admin, bad_series)
    assert body["errors"][0]["extensions"]["code"] == "validation_failed"
    assert "fortnight" in body["errors"][0]["message"]
    typed_query = "query($n: Int!) { sites(limit: $n) { id } }"
    typed = await gql(client, admin, typed_query, {"n": "ten"}, status=400)
    assert typed["errors"][0]["extensions"]["code"] == "graphql_validation"


async def test_statements_do_not_grow_with_the_number_of_sites(client, admin, app):
    """Balance, today, yesterday's KPIs and alerts of 2 sites and of 6 sites take the same
    number of SQL statements (set-based loads, no statement per site). The engine's listener
    also sees the app's background work (balance refreshes, alert ticks), which only adds
    statements: each count is the fewest of three runs."""
    query = (
        "{ sites { balance { importKw } today { importKwh gridRevenue { amount } } "
        'kpis(period: "yesterday") { importKwh gridRevenue { amount } } '
        "alerts { id } assets { id } } }"
    )
    counts = []
    engine = app.state.engine.sync_engine
    for n in (2, 6):
        while len((await gql(client, admin, "{ sites { id } }"))["data"]["sites"]) < n:
            name = f"Site {now_ms()}"
            created = await client.post(
                "/api/v1/sites", json={"name": name, "timezone": "Europe/Rome"}, headers=admin
            )
            site = created.json()["id"]
            await client.post(
                "/api/v1/assets",
                json={"site_id": site, "name": f"{name} meter", "kind": "grid_connection"},
                headers=admin,
            )
        await gql(client, admin, query)  # caches filled once (metric catalogue, lookups)
        runs = []
        for _ in range(3):
            statements: list[str] = []

            def count(*args, statements=statements) -> None:
                statements.append(args[2])

            event.listen(engine, "before_cursor_execute", count)
            try:
                body = await gql(client, admin, query)
            finally:
                event.remove(engine, "before_cursor_execute", count)
            assert "errors" not in body and len(body["data"]["sites"]) == n
            runs.append(len(statements))
        counts.append(min(runs))
    assert counts[0] == counts[1], counts


def test_the_documented_schema_is_the_schema():
    from pathlib import Path

    from gridpilot.gql.schema import sdl

    page = (Path(__file__).parents[2] / "docs" / "graphql.md").read_text()
    block = page.rsplit("```graphql\n", 1)[1].split("```", 1)[0]  # the last block
    assert block == sdl(), "docs/graphql.md: paste the output of `gridpilot graphql-schema`"


async def test_api_keys_work_and_a_device_key_gets_no_site_figures(client, admin, sessions):
    from gridpilot.auth.service import create_api_key

    fleet = await build_fleet(client, admin)
    async with sessions() as session, session.begin():
        _, service = await create_api_key(session=session, name="bridge")
        _, device = await create_api_key(
            session=session, name="pv", asset_id=fleet["pv"], site_id=fleet["a"], role="service"
        )
    query = "{ sites { id balance { importKw } today { importKwh } assets { id } } }"
    body = await gql(client, {"X-API-Key": service}, query)
    assert {s["id"] for s in body["data"]["sites"]} == {fleet["a"], fleet["b"], fleet["c"]}
    alpha = next(s for s in body["data"]["sites"] if s["id"] == fleet["a"])
    assert alpha["balance"]["importKw"] == 12
    body = await gql(client, {"X-API-Key": device}, query)
    assert body["data"]["sites"] == [
        {"id": fleet["a"], "balance": None, "today": None, "assets": [{"id": fleet["pv"]}]}
    ]
    wrong = await client.post(URL, json={"query": query}, headers={"X-API-Key": "gpk_1_nope"})
    assert wrong.status_code == 401
