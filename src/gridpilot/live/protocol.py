"""The ``/api/v1/live`` message protocol: bus topics -> event kinds, subscriptions, visibility.

Client messages are JSON objects with a ``type``: ``auth``, ``subscribe``, ``ping``. Server
messages: data (``readings``, ``status``, ``alert``, ``command``, ``anomaly``, ``forecast``,
``dr_event``, ``dr_performance``, ``firmware_rollout``, ``firmware_device``) and control
(``ready``, ``subscribed``, ``error``, ``pong``, ``dropped``). See docs/live.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gridpilot.auth.permissions import Principal
from gridpilot.core import events as catalogue
from gridpilot.core.errors import ValidationFailed

#: Subscription ``events`` name -> (bus topic glob, server message ``type``).
EVENT_KINDS: dict[str, tuple[str, str]] = {
    "readings": ("readings.stored", "readings"),
    "status": ("asset.status", "status"),
    "alerts": ("alert.*", "alert"),
    "commands": ("command.updated", "command"),
    "anomalies": ("anomaly.detected", "anomaly"),
    "forecasts": ("forecast.stored", "forecast"),
    "dr_events": ("dr_event.updated", "dr_event"),
    "dr_performance": ("dr_event.performance", "dr_performance"),
    "firmware_rollouts": ("firmware_rollout.updated", "firmware_rollout"),
    "firmware_devices": ("firmware_device.updated", "firmware_device"),
}
MAX_FILTER_ITEMS = 1000
MAX_METRIC_KEY_LENGTH = 64


def kind_of(topic: str) -> str | None:
    """The event kind (``EVENT_KINDS`` key) of a bus topic, or None when it is not streamed."""
    if topic == catalogue.READINGS_STORED.name:
        return "readings"
    if topic.startswith("alert."):
        return "alerts"
    for kind, (pattern, _) in EVENT_KINDS.items():
        if pattern == topic:
            return kind
    return None


def visible(principal: Principal, site_id: object, asset_id: object) -> bool:
    """Whether ``principal`` may see an event of ``site_id``/``asset_id`` (ids may be missing).

    An event without a site reaches only unrestricted principals; a site-level event (no asset)
    does not reach asset-restricted principals (device keys).
    """
    if principal.site_ids is not None and (
        not isinstance(site_id, int) or site_id not in principal.site_ids
    ):
        return False
    if principal.asset_ids is not None:
        return isinstance(asset_id, int) and asset_id in principal.asset_ids
    return True


def visible_sites(principal: Principal, site_ids: object) -> bool:
    """Whether ``principal`` may see an event over several sites (``site_ids``: a firmware
    roll-out's): only a principal of every one of them, as the REST answer (device keys never).
    """
    if principal.asset_ids is not None or not isinstance(site_ids, list):
        return False
    if principal.site_ids is None:
        return True
    return bool(site_ids) and all(s in principal.site_ids for s in site_ids)


@dataclass(frozen=True)
class Subscription:
    """What a client asked for. ``None`` filters mean "everything in scope".

    ``sites`` and ``assets`` add up: an event matches when it belongs to a listed site OR is
    about a listed asset (both unset: every site in scope). ``metrics`` narrows readings (and
    events naming a ``metric``) to those keys.
    """

    sites: frozenset[int] | None = None
    assets: frozenset[int] | None = None
    metrics: frozenset[str] | None = None
    events: frozenset[str] = frozenset(EVENT_KINDS)

    def matches(self, site_id: object, asset_id: object) -> bool:
        if self.sites is None and self.assets is None:
            return True
        return (self.sites is not None and site_id in self.sites) or (
            self.assets is not None and asset_id in self.assets
        )

    def matches_any(self, site_ids: list[object]) -> bool:
        """An event over several sites matches when one of them is subscribed (or all are)."""
        if self.sites is None and self.assets is None:
            return True
        return self.sites is not None and any(s in self.sites for s in site_ids)

    def matches_event(self, message: dict[str, Any]) -> bool:
        """``matches`` for an event's payload (``site_ids``: ``matches_any``)."""
        site_ids = message.get("site_ids")
        if isinstance(site_ids, list):
            return self.matches_any(site_ids)
        return self.matches(message.get("site_id"), message.get("asset_id"))

    def wants_metric(self, metric: object) -> bool:
        return self.metrics is None or metric in self.metrics

    def describe(self) -> dict[str, Any]:
        return {
            "sites": sorted(self.sites) if self.sites is not None else None,
            "assets": sorted(self.assets) if self.assets is not None else None,
            "metrics": sorted(self.metrics) if self.metrics is not None else None,
            "events": sorted(self.events),
        }


def _ids(message: dict[str, Any], field: str) -> frozenset[int] | None:
    value = message.get(field)
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > MAX_FILTER_ITEMS:
        raise ValidationFailed(f"'{field}' must be a list of at most {MAX_FILTER_ITEMS} ids")
    if not all(type(item) is int and 0 < item < 2**31 for item in value):
        raise ValidationFailed(f"'{field}' must hold positive integer ids")
    return frozenset(value)


def parse_subscription(message: dict[str, Any]) -> Subscription:
    """The ``Subscription`` of a ``subscribe`` message (scope is checked by the caller)."""
    unknown = set(message) - {"type", "id", "sites", "assets", "metrics", "events"}
    if unknown:
        raise ValidationFailed(f"unknown subscribe field(s): {', '.join(sorted(unknown))}")
    metrics = message.get("metrics")
    if metrics is not None and (
        not isinstance(metrics, list)
        or len(metrics) > MAX_FILTER_ITEMS
        or not all(isinstance(m, str) and 0 < len(m) <= MAX_METRIC_KEY_LENGTH for m in metrics)
    ):
        raise ValidationFailed("'metrics' must be a list of metric keys")
    events = message.get("events")
    if events is None:
        kinds = frozenset(EVENT_KINDS)
    elif isinstance(events, list) and all(isinstance(e, str) for e in events):
        wrong = sorted(set(events) - set(EVENT_KINDS))
        if wrong:
            raise ValidationFailed(
                f"unknown event kind(s) {', '.join(wrong)}; known: {', '.join(EVENT_KINDS)}"
            )
        kinds = frozenset(events)
    else:
        raise ValidationFailed("'events' must be a list of event kinds")
    return Subscription(
        sites=_ids(message, "sites"),
        assets=_ids(message, "assets"),
        metrics=frozenset(metrics) if metrics is not None else None,
        events=kinds,
    )
