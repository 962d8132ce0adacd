"""What a simulated site is: its assets (each with the model that drives it) and where its
devices publish (the MQTT topic family); the scenarios (``scenarios.py``) are lists of these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from gridpilot.sim.model import DeviceModel

#: MQTT topic families (docs/mqtt.md): fleet ``sites/{site}/devices/{device}``, CER
#: ``energy/plant/{plant}/device/{device}``.
FLEET, CER = "fleet", "cer"


@dataclass(frozen=True)
class AssetSpec:
    name: str
    device_id: str
    model: DeviceModel
    rated_kw: float | None = None
    source_id: str | None = None
    role: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    install_date: date | None = None
    operator: str | None = None
    #: manufacturer, model, serial_number, certifications (``AssetMetadata``)
    metadata: dict[str, Any] | None = None
    #: (device_id of the asset whose model drives this one, the part's name in that model):
    #: a home battery behind a community member's meter (``CommunityMember.batteries``).
    part_of: tuple[str, str] | None = None
    #: The MQTT topic family when not the site's (a battery at a CER member: fleet topics).
    topics: str | None = None
    #: Names the demo gave this asset before (``provision`` renames such an asset, found by its
    #: device id, instead of creating a second one).
    formerly: tuple[str, ...] = ()


@dataclass(frozen=True)
class SiteSpec:
    name: str
    timezone: str
    latitude: float
    longitude: float
    assets: tuple[AssetSpec, ...]
    contract_demand_kw: float | None = None
    description: str | None = None
    topics: str = FLEET
    kind: str | None = None  # the site's kind, for the fleet filters
    country: str = "IT"  # every simulated site is in Italy
    tariff: dict[str, Any] | None = None  # sites.tariff (docs/kpis.md)


def mqtt_base_topic(site: SiteSpec, site_id: int, device_id: str, topics: str | None = None) -> str:
    """The device's topic base (without the configured prefix); ``topics`` overrides the
    site's family."""
    if (topics or site.topics) == CER:
        return f"energy/plant/{site_id}/device/{device_id}"
    return f"sites/{site_id}/devices/{device_id}"
