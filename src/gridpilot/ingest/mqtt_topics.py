"""MQTT topic names of the three device families (pure: no I/O).

After ``settings.mqtt_topic_prefix`` is stripped, a topic is one of (``{base}`` names a device):

* ``gridpilot/{site}/{asset}`` (family ``gridpilot``),
* ``sites/{siteId}/devices/{deviceId}`` (family ``fleet``, the DER-fleet seed),
* ``energy/plant/{plant_id}/device/{device_id}`` (family ``cer``, the energy-community seed),

followed by ``/telemetry`` (gridpilot, fleet), ``/telemetry/{metric}`` (fleet, one metric),
``/measurements`` (cer), ``/status`` (Last Will / birth) or ``/commands/ack`` (command
acknowledgement). Anything else is not ours and parses to None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Family = Literal["gridpilot", "fleet", "cer"]
Kind = Literal["telemetry", "status", "ack"]

#: Topic filters (without prefix or share group) the ingest worker subscribes to.
SUBSCRIPTIONS: tuple[str, ...] = (
    "gridpilot/+/+/telemetry",
    "gridpilot/+/+/status",
    "gridpilot/+/+/commands/ack",
    "sites/+/devices/+/telemetry",
    "sites/+/devices/+/telemetry/+",
    "sites/+/devices/+/status",
    "sites/+/devices/+/commands/ack",
    "energy/plant/+/device/+/measurements",
    "energy/plant/+/device/+/status",
    "energy/plant/+/device/+/commands/ack",
)

#: Longest site/asset/metric segment accepted (longer ones are not device names).
MAX_SEGMENT = 100


@dataclass(frozen=True, slots=True)
class TopicRef:
    """What a topic says: device family, site and device segments, message kind, metric."""

    family: Family
    site: str
    device: str
    kind: Kind
    metric: str | None = None

    @property
    def base(self) -> str:
        """The device's base topic (without prefix), e.g. ``gridpilot/3/17``."""
        if self.family == "gridpilot":
            return f"gridpilot/{self.site}/{self.device}"
        if self.family == "fleet":
            return f"sites/{self.site}/devices/{self.device}"
        return f"energy/plant/{self.site}/device/{self.device}"


def _suffix_kind(rest: list[str], family: Family) -> tuple[Kind, str | None] | None:
    if rest == ["status"]:
        return "status", None
    if rest == ["commands", "ack"]:
        return "ack", None
    if family == "cer":
        return ("telemetry", None) if rest == ["measurements"] else None
    if rest == ["telemetry"]:
        return "telemetry", None
    if family == "fleet" and len(rest) == 2 and rest[0] == "telemetry":
        return "telemetry", rest[1]
    return None


def parse_topic(topic: str, prefix: str = "") -> TopicRef | None:
    """The ``TopicRef`` of ``topic`` (which must start with ``prefix``), or None when unknown."""
    if not topic.startswith(prefix):
        return None
    parts = topic[len(prefix) :].split("/")
    family: Family
    if len(parts) >= 4 and parts[0] == "gridpilot":
        family, site, device, rest = "gridpilot", parts[1], parts[2], parts[3:]
    elif len(parts) >= 5 and parts[0] == "sites" and parts[2] == "devices":
        family, site, device, rest = "fleet", parts[1], parts[3], parts[4:]
    elif len(parts) >= 6 and parts[:2] == ["energy", "plant"] and parts[3] == "device":
        family, site, device, rest = "cer", parts[2], parts[4], parts[5:]
    else:
        return None
    kind = _suffix_kind(rest, family)
    if kind is None:
        return None
    segments = [site, device] + ([kind[1]] if kind[1] is not None else [])
    if any(not s or len(s) > MAX_SEGMENT for s in segments):
        return None
    return TopicRef(family=family, site=site, device=device, kind=kind[0], metric=kind[1])


def subscription_filters(prefix: str = "", share_group: str | None = None) -> list[str]:
    """The worker's topic filters with ``prefix``, as ``$share/{group}/...`` when shared."""
    share = f"$share/{share_group}/" if share_group else ""
    return [f"{share}{prefix}{topic}" for topic in SUBSCRIPTIONS]
