"""WIA production goes through the same plausibility checks: an implausible instantaneous power
is refused for its object and field, the object's other values and the other objects stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.wia.test_wia_production import SID, SOURCES, operator, production, source  # noqa: F401


async def test_an_implausible_production_value_is_refused_per_object(
    client,
    operator,  # noqa: F811
    source,  # noqa: F811
):
    ts = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    body = [
        production(ts, production={"instantaneous": {"value": 0.9, "unit": "MW"}}),
        production(  # 50 MW from a 1.2 MW plant
            ts + timedelta(minutes=1),
            production={"instantaneous": {"value": 50, "unit": "MW"}},
            environmentalConditions={"temperature": 21.0},
        ),
        production(  # a PV plant's power flows one way (tolerance: 1 % of 1200 kW)
            ts + timedelta(minutes=2), production={"instantaneous": {"value": -50, "unit": "kW"}}
        ),
    ]
    posted = await client.post(f"{SOURCES}/{SID}/production", json=body, headers=operator)
    assert posted.status_code == 207, posted.text
    answer = posted.json()
    assert answer["stored"] == 2  # 0.9 MW and the temperature
    assert [(r["index"], r["field"]) for r in answer["rejected"]] == [
        (1, "production.instantaneous"),
        (2, "production.instantaneous"),
    ]
    first, second = (r["reason"] for r in answer["rejected"])
    assert first.endswith("1.5 x the asset's rated capacity of 1200 kW [over_capacity]")
    assert "negative beyond the 12 kW tolerance" in second and second.endswith("[negative_power]")
