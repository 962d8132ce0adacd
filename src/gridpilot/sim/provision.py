"""Create (or find) a scenario's sites, assets and extra metrics through the assets service.

Idempotent: sites are found by name, assets by (site, name), metrics by key; a rerun reuses
them (an asset the demo has renamed is found by a former name and its device id, and renamed),
and fills in what an older version did not set (a site's tariff, a source's sourceId,
install date, operator and metadata) without overwriting what a user changed. Returns the
bound ``SimAsset`` records the runners drive.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.assets import service as assets_service
from gridpilot.assets.events import publish_assets_changed, publish_metric_changed
from gridpilot.assets.schemas import (
    AssetCreate,
    AssetMetadata,
    AssetUpdate,
    MetricCreate,
    SiteCreate,
    SiteUpdate,
)
from gridpilot.auth.permissions import Principal, Role
from gridpilot.core.bus import EventBus
from gridpilot.db.engine import transaction
from gridpilot.sim.scenarios import scenario_sites
from gridpilot.sim.site_specs import AssetSpec, SiteSpec, mqtt_base_topic

SIMULATOR = Principal(
    subject="system:simulator", name="gridpilot simulator", role=Role.ADMINISTRATOR
)

#: Metrics the simulators report beyond the built-in catalogue.
EXTRA_METRICS = (
    MetricCreate(
        key="supply_temp_c",
        unit="degC",
        description="Chilled water supply temperature",
        min_value=-50,
        max_value=150,
    ),
    MetricCreate(
        key="return_temp_c",
        unit="degC",
        description="Chilled water return temperature",
        min_value=-50,
        max_value=150,
    ),
    MetricCreate(
        key="cop", unit="1", description="Coefficient of performance", min_value=0, max_value=20
    ),
    MetricCreate(
        key="speed_pct",
        unit="%",
        description="Drive speed (VFD) in % of nominal",
        min_value=0,
        max_value=150,
    ),
    MetricCreate(
        key="cycle_count",
        unit="count",
        kind="counter",
        description="Machine cycles (cumulative)",
        min_value=0,
    ),
    MetricCreate(
        key="session_count",
        unit="count",
        kind="counter",
        description="Charging sessions (cumulative)",
        min_value=0,
    ),
    # the CER device message's quantities (the same definitions as ingest.decoders creates)
    MetricCreate(
        key="power_produced_kw",
        unit="kW",
        description="Produced active power (CER)",
        min_value=0,
        max_value=1e7,
    ),
    MetricCreate(
        key="power_consumed_kw",
        unit="kW",
        description="Consumed active power (CER)",
        min_value=0,
        max_value=1e7,
    ),
    MetricCreate(
        key="energy_produced_kwh",
        unit="kWh",
        kind="cumulative",
        description="Produced energy register (CER)",
        min_value=0,
        max_value=1e13,
    ),
    MetricCreate(
        key="energy_consumed_kwh",
        unit="kWh",
        kind="cumulative",
        description="Consumed energy register (CER)",
        min_value=0,
        max_value=1e13,
    ),
)


@dataclass(frozen=True)
class SimAsset:
    """A provisioned asset bound to its model; ``parts`` are the assets its model drives
    (a community member's batteries: name in the model, asset), which the runners store
    and command under their own asset ids but never drive on their own."""

    asset_id: int
    site_id: int
    scenario: str
    site: SiteSpec
    spec: AssetSpec
    base_topic: str
    parts: tuple[tuple[str, SimAsset], ...] = ()

    @property
    def key(self) -> str:
        return self.spec.device_id

    @property
    def topics(self) -> str:
        """The MQTT topic family it publishes on (``site_specs.FLEET`` or ``CER``)."""
        return self.spec.topics or self.site.topics


def with_parts(assets: list[SimAsset]) -> list[SimAsset]:
    """Every asset, the parts after their driver (what has readings and takes commands)."""
    return [x for a in assets for x in (a, *(part for _, part in a.parts))]


def _attach_parts(assets: list[SimAsset]) -> list[SimAsset]:
    """The driven assets, each carrying the parts its model drives (``AssetSpec.part_of``)."""
    parts: dict[tuple[int, str], list[tuple[str, SimAsset]]] = {}
    for a in assets:
        if a.spec.part_of is not None:
            host, name = a.spec.part_of
            parts.setdefault((a.site_id, host), []).append((name, a))
    return [
        replace(a, parts=tuple(parts.get((a.site_id, a.key), ())))
        for a in assets
        if a.spec.part_of is None
    ]


async def ensure_metrics(*, session: AsyncSession) -> list[tuple[int, str]]:
    """Create the missing extra metrics; returns the created (id, key)."""
    await assets_service.ensure_builtin_metrics(session=session)
    created = []
    for spec in EXTRA_METRICS:
        if await assets_service.find_metric_ref(session=session, key=spec.key) is None:
            metric = await assets_service.create_metric(session=session, data=spec)
            created.append((metric.id, metric.key))
    return created


def _descriptive(spec: AssetSpec) -> dict[str, Any]:
    """The WIA source fields of ``spec`` (those it sets)."""
    values: dict[str, Any] = {
        "source_id": spec.source_id,
        "install_date": spec.install_date,
        "operator": spec.operator,
        "metadata": AssetMetadata(**spec.metadata) if spec.metadata else None,
    }
    return {k: v for k, v in values.items() if v is not None}


def _missing(asset: Any, wanted: dict[str, Any]) -> dict[str, Any]:
    """The fields of ``wanted`` the stored asset has not set yet."""
    stored = {
        "source_id": asset.source_id,
        "install_date": asset.install_date,
        "operator": asset.operator,
        "metadata": asset.manufacturer or asset.model or asset.serial_number,
    }
    return {k: v for k, v in wanted.items() if stored[k] is None}


def _former(spec: AssetSpec, existing: dict) -> Any | None:
    """The site's asset that an older demo named differently (same device id), if any."""
    for name in spec.formerly:
        asset = existing.get(name)
        if asset is not None and (asset.attributes or {}).get("device_id") == spec.device_id:
            return asset
    return None


async def _ensure_asset(
    session: AsyncSession, site: SiteSpec, site_id: int, spec: AssetSpec, existing: dict
) -> tuple[int, str, str]:
    base = mqtt_base_topic(site, site_id, spec.device_id, spec.topics)
    attributes = {
        "device_id": spec.device_id,
        "mqtt_base_topic": base,
        "simulated": True,
        **spec.attributes,
    }
    asset = existing.get(spec.name) or _former(spec, existing)
    if asset is not None:
        changes = _missing(asset, _descriptive(spec))
        if asset.name != spec.name:
            changes["name"] = spec.name
        if (asset.attributes or {}).get("mqtt_base_topic") != base:
            changes["attributes"] = attributes
        elif any(key not in (asset.attributes or {}) for key in spec.attributes):
            changes["attributes"] = {**attributes, **(asset.attributes or {})}  # e.g. recipes
        if changes:
            await assets_service.update_asset(
                session=session,
                asset_id=asset.id,
                principal=SIMULATOR,
                changes=AssetUpdate(**changes),
            )
            return asset.id, base, "updated"
        return asset.id, base, ""
    data = AssetCreate(
        site_id=site_id,
        name=spec.name,
        kind=spec.model.kind,
        role=spec.role,
        rated_capacity_kw=spec.rated_kw,
        expected_interval_s=spec.model.interval_s,
        attributes=attributes,
        **_descriptive(spec),
    )
    asset = await assets_service.create_asset(session=session, principal=SIMULATOR, data=data)
    return asset.id, base, "created"


async def _ensure_site(session: AsyncSession, site: SiteSpec, row: Any | None) -> Any:
    """The site's row: created, or given its tariff when it has none yet."""
    if row is None:
        return await assets_service.create_site(
            session=session,
            principal=SIMULATOR,
            data=SiteCreate(
                name=site.name,
                timezone=site.timezone,
                latitude=site.latitude,
                longitude=site.longitude,
                description=site.description,
                contract_demand_kw=site.contract_demand_kw,
                country=site.country,
                kind=site.kind,
                tariff=site.tariff,
            ),
        )
    if row.tariff is None and site.tariff is not None:
        await assets_service.update_site(
            session=session,
            site_id=row.id,
            principal=SIMULATOR,
            changes=SiteUpdate(tariff=site.tariff),
        )
    return row


async def provision(
    *, sessions: async_sessionmaker[AsyncSession], bus: EventBus | None, scenarios: list[str]
) -> list[SimAsset]:
    """Ensure the sites and assets of ``scenarios`` exist; publish change events after commit.
    Returns the driven assets, each with its parts (``SimAsset.parts``; ``with_parts`` lists
    them all)."""
    result: list[SimAsset] = []
    changed: dict[str, list[int]] = {"created": [], "updated": []}
    async with transaction(sessions) as session:
        new_metrics = await ensure_metrics(session=session)
        sites = {
            s.name: s for s in await assets_service.list_sites(session=session, principal=SIMULATOR)
        }
        for scenario in scenarios:
            for site in scenario_sites(scenario):
                row = await _ensure_site(session, site, sites.get(site.name))
                existing = {
                    a.name: a
                    for a in await assets_service.list_assets(
                        session=session, principal=SIMULATOR, site_id=row.id
                    )
                }
                for spec in site.assets:
                    asset_id, base, action = await _ensure_asset(
                        session, site, row.id, spec, existing
                    )
                    if action:
                        changed[action].append(asset_id)
                    result.append(SimAsset(asset_id, row.id, scenario, site, spec, base))
    if bus is not None:
        for action, ids in changed.items():
            if ids:
                await publish_assets_changed(bus, ids, action)
        for metric_id, key in new_metrics:
            await publish_metric_changed(bus, metric_id, key, "created")
    return _attach_parts(result)
