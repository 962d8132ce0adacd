"""The event catalogue: every topic of the bus, its payload, who publishes it and who listens.

One place for what used to be topic strings spread over the domains. Publishers and listeners
name a ``Topic`` from here (``bus.publish(READINGS_STORED.name, payload)``); the payloads are
``TypedDict``s, so a reader sees the fields and their units, and mypy checks the publishers that
build them. ``tests/core/test_event_catalogue.py`` fails when a module publishes or subscribes
to a topic string that is not in ``CATALOGUE`` (wildcards such as ``alert.*`` must match one).

Every event is published after the transaction that made it committed; handlers must be quick
(``core.bus``). With ``GRIDPILOT_REDIS_URL`` every process receives every event.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, TypedDict


@dataclass(frozen=True)
class Topic:
    """A bus topic: its name, its payload type and the modules that publish and listen."""

    name: str
    payload: type
    publishers: tuple[str, ...]
    listeners: tuple[str, ...]
    doc: str


class LatestValue(TypedDict):
    ts: int  # epoch ms
    value: float


class StoredAsset(TypedDict):
    asset_id: int
    site_id: int
    count: int  # readings of the asset in the batch
    newest_ts: int  # epoch ms, the newest of ``latest``
    latest: dict[str, LatestValue]  # metric key -> its newest reading in the batch


class ReadingsStored(TypedDict):
    count: int
    assets: list[StoredAsset]


class AssetChanged(TypedDict):
    asset_id: int
    action: str  # created | updated | deleted


class MetricChanged(TypedDict):
    metric_id: int
    key: str
    action: str  # created


class AssetStatus(TypedDict):
    asset_id: int
    site_id: int
    status: str  # online | offline
    previous: str | None
    reason: str  # lwt | stale | data | birth
    last_seen_ms: int | None
    changed_ms: int


class CommandUpdated(TypedDict):
    command_id: int
    asset_id: int
    site_id: int
    kind: str
    state: str  # queued | sent | acknowledged | succeeded | failed | expired
    previous: str | None
    updated_ms: int
    detail: str | None


class AlertEvent(TypedDict):
    alert_id: int
    rule_id: int
    asset_id: int | None
    site_id: int
    severity: str
    state: str  # active | acknowledged | resolved
    title: str
    message: str
    value: float | None
    ts: int  # epoch ms


class AlertRuleChanged(TypedDict):
    rule_id: int
    action: str  # created | updated | deleted


class AnomalyDetected(TypedDict):
    asset_id: int
    site_id: int
    metric: str
    ts: int  # epoch ms
    method: str
    score: float
    severity: str
    detail: dict[str, Any]


class ForecastStored(TypedDict):
    site_id: int
    asset_id: int | None
    metric: str
    quantity: str  # consumption | generation | net
    issued_ms: int  # epoch ms
    step_ms: int
    horizon: int  # steps
    peak: dict[str, Any] | None  # the forecast's peak (insights/forecasts/service.py::peak_of)


class DrEventChanged(TypedDict):
    event_id: int
    site_id: int
    status: str  # scheduled | active | completed | failed | cancelled
    previous: str | None  # None when the event was just created
    start_ms: int
    end_ms: int
    target_reduction_kw: float
    achieved_reduction_kw: float | None
    performance_pct: float | None
    reason: str | None
    changed_ms: int


class DrIntervalMeasured(TypedDict):
    ts_ms: int  # start of the 15-min interval, epoch ms
    baseline_kw: float
    target_kw: float  # the load to stay at or below: baseline - target reduction
    metered_kw: float
    reduction_kw: float  # baseline - metered


class DrEventPerformance(TypedDict):
    event_id: int
    site_id: int
    status: str  # the event's status when measured (active while it runs)
    target_reduction_kw: float
    intervals: list[DrIntervalMeasured]  # the intervals measured in this step of the DR loop
    achieved_reduction_kw: float  # mean reduction of every interval measured so far
    performance_pct: float  # 100 x achieved / target
    measured_intervals: int
    total_intervals: int
    measured_ms: int


class GroupChanged(TypedDict):
    group_id: int
    action: str  # created | updated | deleted


class FirmwareRolloutUpdated(TypedDict):
    rollout_id: int
    site_ids: list[int]  # the sites of its devices (a principal of all of them sees it)
    image_id: int
    version: str  # the image's
    state: str  # running | paused | completed
    previous: str | None  # None when the roll-out just started
    current_wave: int  # 0: the canary
    paused_reason: str | None
    changed_ms: int  # epoch ms


class FirmwareDeviceUpdated(TypedDict):
    rollout_id: int
    asset_id: int
    site_id: int
    wave: int
    state: str  # downloading | installed | verified | failed
    previous: str  # offered | downloading | installed
    reported_version: str | None
    error: str | None
    changed_ms: int  # epoch ms


READINGS_STORED = Topic(
    "readings.stored",
    ReadingsStored,
    ("telemetry/writer.py",),
    ("balance/cache.py", "control/tasks.py", "alerts/evaluator.py", "live/hub.py", "web/pages"),
    "A batch of readings was committed: the newest value of every series it touched.",
)
ASSET_CHANGED = Topic(
    "asset.changed",
    AssetChanged,
    (
        "assets/events.py (assets routes, wia routes, sim/provision.py)",
        "firmware/events.py (a verified device's firmware_version)",
    ),
    (
        "telemetry/tasks.py",
        "balance/cache.py",
        "control/tasks.py",
        "alerts/evaluator.py",
        "ingest/mqtt_worker.py",
    ),
    "An asset was created, updated or deleted: caches of assets are evicted.",
)
METRIC_CHANGED = Topic(
    "metric.changed",
    MetricChanged,
    ("assets/events.py",),
    ("telemetry/tasks.py", "balance/cache.py"),
    "A metric was added to the catalogue.",
)
ASSET_STATUS = Topic(
    "asset.status",
    AssetStatus,
    ("control/events.py (tracker, inbound status)",),
    ("control/tasks.py", "control/wakeup.py", "alerts/evaluator.py", "live/hub.py", "web/pages"),
    "An asset went online or offline.",
)
COMMAND_UPDATED = Topic(
    "command.updated",
    CommandUpdated,
    ("control/events.py",),
    ("live/hub.py", "web/pages/asset.py", "ingest/command_link.py"),
    "A device command changed state.",
)
ALERT_RAISED = Topic(
    "alert.raised",
    AlertEvent,
    ("alerts/evaluator.py", "alerts/events.py"),
    ("alerts/evaluator.py", "live/hub.py", "web/layout.py", "web/pages/alerts.py"),
    "An alert became active.",
)
ALERT_ACKNOWLEDGED = Topic(
    "alert.acknowledged",
    AlertEvent,
    ("alerts/events.py", "web/pages/alerts.py"),
    ("live/hub.py", "web/pages/alerts.py"),
    "A user acknowledged an alert.",
)
ALERT_RESOLVED = Topic(
    "alert.resolved",
    AlertEvent,
    ("alerts/evaluator.py", "alerts/events.py", "web/pages/alerts.py"),
    ("alerts/evaluator.py", "live/hub.py", "web/pages/alerts.py"),
    "An alert was resolved (by its rule or by hand).",
)
ALERT_RULE_CHANGED = Topic(
    "alert_rule.changed",
    AlertRuleChanged,
    ("alerts/events.py",),
    ("alerts/evaluator.py",),
    "An alert rule was created, updated or deleted: evaluators reload their rules.",
)
ANOMALY_DETECTED = Topic(
    "anomaly.detected",
    AnomalyDetected,
    ("insights/anomalies/events.py",),
    ("alerts/evaluator.py", "live/hub.py"),
    "A reading scored as anomalous.",
)
FORECAST_STORED = Topic(
    "forecast.stored",
    ForecastStored,
    ("insights/forecasts/tasks.py",),
    ("alerts/evaluator.py",),
    "A site's forecast was stored.",
)
DR_EVENT_UPDATED = Topic(
    "dr_event.updated",
    DrEventChanged,
    ("dr/events.py (dr routes, dr/tasks.py)",),
    ("live/hub.py",),
    "A demand-response event was created or changed status.",
)
DR_EVENT_PERFORMANCE = Topic(
    "dr_event.performance",
    DrEventPerformance,
    ("dr/events.py (dr/tasks.py, after dr/lifecycle.py measured intervals)",),
    ("live/hub.py", "web/pages/dr.py"),
    "A demand-response event's intervals were measured: achieved reduction per interval and so "
    "far.",
)
GROUP_CHANGED = Topic(
    "group.changed",
    GroupChanged,
    ("groups/events.py (groups routes)",),
    ("alerts/evaluator.py",),
    "A device group was created, changed or deleted: rules on groups reload their members.",
)
FIRMWARE_ROLLOUT_UPDATED = Topic(
    "firmware_rollout.updated",
    FirmwareRolloutUpdated,
    ("firmware/events.py (firmware routes, sim/firmware.py, web/pages/firmware.py)",),
    ("live/hub.py", "web/pages/firmware.py"),
    "A firmware roll-out started, paused, resumed, offered its next wave or completed.",
)
FIRMWARE_DEVICE_UPDATED = Topic(
    "firmware_device.updated",
    FirmwareDeviceUpdated,
    ("firmware/events.py (firmware routes, sim/firmware.py)",),
    ("live/hub.py", "web/pages/firmware.py"),
    "A device of a firmware roll-out reported a step: downloading, verified or failed.",
)

CATALOGUE: dict[str, Topic] = {
    t.name: t
    for t in (
        READINGS_STORED,
        ASSET_CHANGED,
        METRIC_CHANGED,
        ASSET_STATUS,
        COMMAND_UPDATED,
        ALERT_RAISED,
        ALERT_ACKNOWLEDGED,
        ALERT_RESOLVED,
        ALERT_RULE_CHANGED,
        ANOMALY_DETECTED,
        FORECAST_STORED,
        DR_EVENT_UPDATED,
        DR_EVENT_PERFORMANCE,
        GROUP_CHANGED,
        FIRMWARE_ROLLOUT_UPDATED,
        FIRMWARE_DEVICE_UPDATED,
    )
}


def known(pattern: str) -> bool:
    """Whether ``pattern`` (a topic or a wildcard such as ``alert.*``) names catalogued topics."""
    return any(fnmatchcase(name, pattern) for name in CATALOGUE)
