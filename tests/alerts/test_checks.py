"""The rule conditions of ``alerts.checks`` on their own (no database)."""

from __future__ import annotations

from collections import deque

from gridpilot.alerts.checks import (
    AssetView,
    Clear,
    RuleView,
    SiteNow,
    SiteView,
    Watch,
    rate_per_min,
)
from gridpilot.alerts.lifecycle import Raise
from gridpilot.alerts.schemas import validated_params

METER = AssetView(id=1, site_id=10, name="M", kind="meter", role="consumer", expected_interval_s=60)
PUMP = AssetView(id=2, site_id=10, name="P", kind="pump", role="consumer", expected_interval_s=None)


def rule(kind: str, rule_id: int = 7, **fields) -> RuleView:
    params = validated_params(kind, fields.pop("params", {}))
    base = {"name": "r", "metric": None, "site_id": None, "asset_id": None, "asset_kind": None}
    return RuleView(id=rule_id, kind=kind, params=params, **{**base, **fields})


def readings(asset: AssetView, ts: int, **values: float) -> dict:
    latest = {k: {"ts": ts, "value": v} for k, v in values.items()}
    return {"assets": [{"asset_id": asset.id, "site_id": asset.site_id, "latest": latest}]}


def test_threshold_with_duration_and_hysteresis():
    watch = Watch(assets={1: METER})
    watch.rules = [
        rule(
            "threshold",
            metric="power_kw",
            params={"threshold": 100, "hysteresis": 10, "duration_s": 60},
        )
    ]
    assert watch.on_readings(readings(METER, 0, power_kw=150), 0) == []  # pending
    assert watch.on_readings(readings(METER, 30_000, power_kw=150), 0) == []
    [raised] = watch.on_readings(readings(METER, 60_000, power_kw=101), 0)
    assert isinstance(raised, Raise) and raised.asset_id == 1 and raised.value == 101
    watch.open.add((7, "asset:1"))
    assert watch.on_readings(readings(METER, 70_000, power_kw=95), 0) == []  # in the band
    [cleared] = watch.on_readings(readings(METER, 80_000, power_kw=90), 0)
    assert cleared == Clear(7, "asset:1", 90.0)


def test_a_dip_restarts_the_duration():
    watch = Watch(assets={1: METER})
    watch.rules = [rule("threshold", metric="power_kw", params={"threshold": 1, "duration_s": 10})]
    watch.on_readings(readings(METER, 0, power_kw=5), 0)
    watch.on_readings(readings(METER, 5_000, power_kw=0), 0)
    assert watch.on_readings(readings(METER, 12_000, power_kw=5), 0) == []
    assert watch.on_readings(readings(METER, 22_000, power_kw=5), 0) != []


def test_scope_by_kind_and_site():
    watch = Watch(assets={1: METER, 2: PUMP})
    watch.rules = [rule("threshold", metric="power_kw", asset_kind="pump", params={"threshold": 1})]
    assert watch.on_readings(readings(METER, 0, power_kw=5), 0) == []
    assert len(watch.on_readings(readings(PUMP, 0, power_kw=5), 0)) == 1
    watch.rules = [rule("threshold", metric="power_kw", site_id=99, params={"threshold": 1})]
    assert watch.on_readings(readings(PUMP, 1, power_kw=5), 0) == []


def test_rate_per_min():
    points = deque([(0, 0.0), (30_000, 5.0), (60_000, 10.0)])
    assert rate_per_min(points, 60_000) == 10.0
    assert rate_per_min(points, 30_000) == 10.0  # from 30 s to 60 s: 5 in half a minute
    assert rate_per_min(deque([(0, 1.0)]), 60_000) is None


def test_stale_limit_uses_the_expected_interval():
    watch = Watch(assets={1: METER, 2: PUMP}, last_seen={1: 0, 2: 0})
    watch.arrival_lag_ms = {1: 0, 2: 0}  # both were live
    watch.rules = [rule("stale")]
    # the meter expects data every 60 s (limit 180 s), the pump has the default 300 s (900 s)
    [meter] = watch.on_tick(181_000)
    assert isinstance(meter, Raise) and meter.asset_id == 1
    assert {d.asset_id for d in watch.on_tick(901_000) if isinstance(d, Raise)} == {1, 2}


def test_stale_limit_of_an_asset_without_interval_follows_the_status_default():
    watch = Watch(assets={2: PUMP}, last_seen={2: 0}, default_interval_s=20)
    watch.arrival_lag_ms = {2: 0}  # it was live
    watch.rules = [rule("stale")]  # factor 3: 60 s
    assert watch.on_tick(59_000) == []
    [pump] = watch.on_tick(61_000)
    assert isinstance(pump, Raise) and pump.asset_id == 2


def balance(site_id: int = 10, ts: int = 0, flagged: bool = False, **power_kw) -> SiteNow:
    """A site's current balance [kW]: the terms given, import consumed unless told."""
    terms = {"import": 0.0, "export": 0.0, "generation": 0.0, "discharge": 0.0, "charge": 0.0}
    terms["consumption"] = power_kw.get("import", 0.0)
    return SiteNow(site_id, {**terms, **power_kw}, flagged, ts)


def test_contract_demand_is_the_grid_import_of_the_balance():
    watch = Watch(assets={1: METER, 2: PUMP}, sites={10: SiteView(10, "S", 100.0)})
    watch.rules = [rule("contract_demand")]
    assert watch.balance_sites(readings(METER, 0, power_kw=60)) == [10]
    # a meter and loads of 500 kW, but 80 kW of import: the import is what counts
    assert watch.on_balance({10: balance(**{"import": 80.0, "consumption": 500.0})}) == []
    assert watch.on_balance({10: balance(**{"export": 30.0, "generation": 80.0})}) == []
    [raised] = watch.on_balance({10: balance(**{"import": 110.0})})
    assert isinstance(raised, Raise) and raised.asset_id is None and raised.value == 110
    assert watch.on_balance({10: balance(**{"import": None})}) == []  # unknown: no decision


def test_contract_demand_needs_a_contract():
    watch = Watch(assets={1: METER}, sites={10: SiteView(10, "S", None)})
    watch.rules = [rule("contract_demand")]
    assert watch.balance_sites(readings(METER, 0, power_kw=60)) == []
    assert watch.on_balance({10: balance(**{"import": 500.0})}) == []


def test_balance_check_needs_the_flag_for_its_duration():
    watch = Watch(assets={1: METER}, sites={10: SiteView(10, "S", None)})
    watch.rules = [rule("balance_check", params={"duration_s": 60, "clear_after_s": 30})]
    assert watch.balance_sites(readings(METER, 0, power_kw=60)) == [10]
    wrong = {"import": 5.0, "consumption": 3.0}
    assert watch.on_balance({10: balance(0, 0, True, **wrong)}) == []
    assert watch.on_balance({10: balance(10, 30_000, False, **wrong)}) == []  # restarts
    assert watch.on_balance({10: balance(10, 40_000, True, **wrong)}) == []
    [raised] = watch.on_balance({10: balance(10, 100_000, True, **wrong)})
    assert isinstance(raised, Raise) and raised.value == 2.0 and "+2.0 kW" in raised.message
    watch.open.add((7, "site:10"))
    good = {"import": 5.0, "consumption": 5.0}
    assert watch.on_balance({10: balance(10, 110_000, False, **good)}) == []  # for 30 s
    assert watch.on_balance({10: balance(10, 130_000, False, **{"import": None})}) == []
    assert watch.on_balance({10: balance(10, 140_000, False, **good)}) == []
    assert watch.on_balance({10: balance(10, 170_000, False, **good)}) == [Clear(7, "site:10", 0.0)]


COMPRESSOR = AssetView(
    id=3, site_id=10, name="C", kind="compressor", role="consumer", expected_interval_s=1
)


def test_a_one_second_device_is_not_offline_before_the_floor():
    watch = Watch(assets={3: COMPRESSOR}, min_stale_s=60)
    watch.rules = [rule("stale")]  # factor 3 x 1 s = 3 s, raised to 60 s
    watch.on_readings(readings(COMPRESSOR, 0, power_kw=1.0), 0)  # live data, which stops
    assert watch.on_tick(3_001) == []
    assert watch.on_tick(59_000) == []
    [raised] = watch.on_tick(61_000)
    assert isinstance(raised, Raise) and "limit 60 s" in raised.message


def test_history_written_by_a_backfill_raises_no_offline_alert():
    day = 86_400_000
    watch = Watch(assets={1: METER})
    watch.rules = [rule("stale")]  # the meter: limit 180 s
    now = 10 * day
    for ts in range(0, now - day, day // 4):  # a backfill writes the old days
        assert watch.on_readings(readings(METER, ts, power_kw=1.0), now) == []
        assert watch.on_tick(now) == []
    first_status = {"asset_id": 1, "status": "offline", "previous": None, "reason": "stale"}
    assert watch.on_status(first_status, now) == []  # first seen through old data

    watch.on_readings(readings(METER, now, power_kw=1.0), now)  # then live data, which stops
    assert watch.on_tick(now + 179_000) == []
    [raised] = watch.on_tick(now + 181_000)
    assert isinstance(raised, Raise) and raised.asset_id == 1


def test_a_device_that_was_online_and_went_stale_is_still_reported():
    watch = Watch(assets={1: METER}, last_seen={1: 0})
    watch.rules = [rule("stale")]
    went = {"asset_id": 1, "status": "offline", "previous": "online", "reason": "stale"}
    [raised] = watch.on_status(went, 1_000)
    assert isinstance(raised, Raise) and "reported offline" in raised.message


def test_a_silence_that_began_before_the_process_started_raises_only_through_its_status():
    day = 86_400_000  # a demo seeded yesterday, served today without its simulator
    watch = Watch(assets={1: METER, 3: COMPRESSOR}, last_seen={1: 0, 3: 0}, min_stale_s=60)
    watch.rules = [rule("stale", params={"use_status": False}), rule("stale", rule_id=8)]
    assert watch.on_tick(day) == []  # nothing arrived since the start: history, not an outage
    went = {"asset_id": 1, "status": "offline", "previous": "online", "reason": "stale"}
    raised = watch.on_status(went, day)  # it was live when the server stopped, and went quiet
    assert {(r.rule_id, r.asset_id) for r in raised} == {(7, 1), (8, 1)}
    assert {r.asset_id for r in watch.on_tick(day)} == {1}  # by its age too; not the compressor


def test_a_source_stopped_on_purpose_is_not_expected_to_report():
    watch = Watch(assets={3: COMPRESSOR}, min_stale_s=60)
    watch.rules = [rule("stale")]
    watch.on_readings(readings(COMPRESSOR, 0, power_kw=1.0), 0)  # the simulator feeds it
    stopped = {"asset_id": 3, "status": "offline", "previous": "online", "reason": "stopped"}
    assert watch.on_status(stopped, 1_000) == []
    assert watch.on_tick(3_600_000) == []  # an hour of silence: no outage
    watch.on_readings(readings(COMPRESSOR, 3_600_000, power_kw=1.0), 3_600_000)  # started again
    [raised] = watch.on_tick(3_661_000)  # and fell silent without being stopped
    assert isinstance(raised, Raise) and raised.asset_id == 3
