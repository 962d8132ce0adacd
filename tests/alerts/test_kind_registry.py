"""The registry of rule kinds (``alerts.kinds.KINDS``): every kind is registered once and the
API, its OpenAPI document and the docs follow it; params get their defaults and clear 422s."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridpilot.alerts.kinds import HOOKS, KINDS, rules_description

DOCS = Path(__file__).parents[2] / "docs" / "alerts.md"
ALL_KINDS = {
    "threshold",
    "rate_of_change",
    "stale",
    "contract_demand",
    "forecast_contract",
    "anomaly",
    "balance_check",
}
#: The least each kind needs besides its name.
MINIMAL = {
    "threshold": {"metric": "power_kw", "params": {"threshold": 5}},
    "rate_of_change": {"metric": "power_kw", "params": {"max_rate_per_min": 1}},
}


def test_every_kind_is_registered_with_a_check_and_docs():
    assert set(KINDS) == ALL_KINDS
    text = DOCS.read_text()
    for name, kind in KINDS.items():
        assert kind.name == name and kind.doc
        assert any(getattr(kind, hook) for hook in HOOKS), name
        assert kind.events, name
        assert f"- `{name}`" in rules_description()
        assert f"| `{name}`" in text, f"{name} missing from docs/alerts.md"


async def test_the_api_follows_the_registry(env, client):
    document = (await client.get("/openapi.json")).json()
    create = document["components"]["schemas"]["RuleCreate"]["properties"]["kind"]
    assert create["enum"] == list(KINDS)
    post = document["paths"]["/api/v1/alert-rules"]["post"]["description"]
    assert all(f"`{name}`" in post for name in KINDS)
    site_id, _ = await env.site("Registry site")
    for name, kind in KINDS.items():
        extra = MINIMAL.get(name, {"params": {}})
        rule = await env.rule(name=name, kind=name, site_id=site_id, **extra)
        assert rule["params"] == kind.params.model_validate(extra["params"]).model_dump()
        listed = await client.get(
            "/api/v1/alert-rules", params={"kind": name, "site_id": site_id}, headers=env.operator
        )
        assert [r["id"] for r in listed.json()] == [rule["id"]]


BAD_PARAMS = [
    ("balance_check", {"duration_s": -1}, "params.duration_s", "greater than or equal to 0"),
    ("balance_check", {"clear_after_s": 10**9}, "params.clear_after_s", "less than or equal"),
    ("contract_demand", {"hysteresis_pct": 101}, "params.hysteresis_pct", "less than or equal"),
    ("forecast_contract", {"band": "hi99"}, "params.band", "'yhat', 'hi80' or 'hi95'"),
    ("stale", {"factor": 0}, "params.factor", "greater than 0"),
    ("anomaly", {"colour": "red"}, "params.colour", "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("kind", "params", "field", "reason"), BAD_PARAMS)
async def test_params_out_of_bounds_are_a_clear_422(env, client, kind, params, field, reason):
    body = {"name": "bad", "kind": kind, "params": params}
    response = await client.post("/api/v1/alert-rules", json=body, headers=env.operator)
    assert response.status_code == 422, response.text
    assert f"invalid params for a {kind} rule" in response.text
    assert field in response.text and reason in response.text, response.text


async def test_an_unknown_kind_names_the_known_ones(env, client):
    body = {"name": "bad", "kind": "magic"}
    response = await client.post("/api/v1/alert-rules", json=body, headers=env.operator)
    assert response.status_code == 422
    assert "unknown rule kind 'magic'" in response.text and "balance_check" in response.text
    listed = await client.get("/api/v1/alert-rules", params={"kind": "magic"}, headers=env.operator)
    assert listed.status_code == 422
