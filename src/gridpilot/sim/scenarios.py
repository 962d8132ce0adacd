"""The four scenarios: which sites and assets exist and which model drives each asset.

``factory`` (ISO 50001 seed), ``building`` (facility / demand response seed), ``portfolio``
(DER fleet: solar park, wind farm, battery), ``community`` (CER seed: households and small
businesses under two primary substations, one site and POD code each, three of them with
batteries behind the POD). Names are fixed, so a rerun finds and reuses what it created.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from gridpilot.assets.catalogue import RECIPES_KEY
from gridpilot.sim import noise
from gridpilot.sim.buildings import BuildingHvac, CommunityMember, Lighting, PlugLoads
from gridpilot.sim.factory import (
    MATERIALS,
    Compressor,
    Conveyor,
    Hvac,
    HydraulicPump,
    InjectionMolding,
)
from gridpilot.sim.model import DeviceModel
from gridpilot.sim.solar import PvPlant
from gridpilot.sim.storage import Battery, EvCharger
from gridpilot.sim.wind import WindTurbine

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


def italian_tou(
    f1: float,
    f2: float,
    f3: float,
    *,
    name: str,
    demand_charge_per_kw_month: float = 0.0,
    fixed_charge_per_month: float = 0.0,
    export_rate_per_kwh: float | None = None,
) -> dict[str, Any]:
    """An Italian time-of-use tariff in the ARERA bands [EUR/kWh, all-in]: F1 Mon-Fri 08-19,
    F2 Mon-Fri 07-08 and 19-23 and Sat 07-23, F3 nights, Sundays and national holidays
    (holidays from the site's time zone, priced as Sundays: F3); ``export_rate_per_kwh``: what
    exported energy earns (none when not given)."""
    export = {} if export_rate_per_kwh is None else {"export_rate_per_kwh": export_rate_per_kwh}
    return {
        **export,
        "name": name,
        "currency": "EUR",
        "periods": [
            {"name": "F1", "rate_per_kwh": f1, "days": "weekday", "start": "08:00", "end": "19:00"},
            {"name": "F2", "rate_per_kwh": f2, "days": "weekday", "start": "07:00", "end": "23:00"},
            {"name": "F2", "rate_per_kwh": f2, "days": ["sat"], "start": "07:00", "end": "23:00"},
            {"name": "F3", "rate_per_kwh": f3, "days": "all"},  # the rest; holidays only F3
        ],
        "demand_charge_per_kw_month": demand_charge_per_kw_month,
        "fixed_charge_per_month": fixed_charge_per_month,
    }


#: The demo's tariffs: 2025-like Italian all-in prices (energy, network, system charges, excise);
#: where a site exports (rooftop PV, the parks, the community's prosumers), a 2025-like
#: dedicated-withdrawal (RID) export price of 0.105 EUR/kWh.
EXPORT_EUR_PER_KWH = 0.105
INDUSTRIAL_MV = italian_tou(
    0.238, 0.226, 0.189, name="MV industrial F1/F2/F3",
    demand_charge_per_kw_month=3.2, fixed_charge_per_month=60.0,
)  # fmt: skip
COMMERCIAL_LV = italian_tou(
    0.276, 0.258, 0.214, name="LV commercial F1/F2/F3",
    demand_charge_per_kw_month=2.8, fixed_charge_per_month=25.0,
    export_rate_per_kwh=EXPORT_EUR_PER_KWH,
)  # fmt: skip
PLANT_AUXILIARIES = italian_tou(
    0.262, 0.247, 0.205, name="Plant auxiliaries F1/F2/F3", fixed_charge_per_month=30.0,
    export_rate_per_kwh=EXPORT_EUR_PER_KWH,
)  # fmt: skip
COMMUNITY_MEMBERS = italian_tou(
    0.292, 0.268, 0.268, name="Domestic/small business F1/F23", fixed_charge_per_month=8.5,
    export_rate_per_kwh=EXPORT_EUR_PER_KWH,
)  # fmt: skip


def factory() -> list[SiteSpec]:
    lat, lon = 44.494, 11.343
    assets = (
        AssetSpec("Compressor 1", "factory-compressor-1", Compressor(), 75),
        # "HVAC 1": the industrial seed's samples name it hvac-1 (it was "HVAC")
        AssetSpec("HVAC 1", "factory-hvac", Hvac(), 150, formerly=("HVAC",)),
        AssetSpec("Conveyor line 1", "factory-conveyor-1", Conveyor(), 30),
        AssetSpec("Hydraulic pump", "factory-pump-1", HydraulicPump(), 50),
        AssetSpec(
            "Injection molding 1 (PP)",
            "factory-imm-1",
            InjectionMolding("PP"),
            200,
            attributes={"material": "PP", RECIPES_KEY: list(MATERIALS)},
        ),
        AssetSpec(
            "Injection molding 2 (PC)",
            "factory-imm-2",
            InjectionMolding("PC"),
            200,
            attributes={"material": "PC", RECIPES_KEY: list(MATERIALS)},
        ),
    )
    return [
        SiteSpec(
            "Sim factory (Bologna)",
            "Europe/Rome",
            lat,
            lon,
            assets,
            900.0,
            "Plastics plant, three shifts (06-14, 14-22, 22-06), reduced weekends.",
            tariff=INDUSTRIAL_MV,
        )
    ]


def building() -> list[SiteSpec]:
    lat, lon = 45.464, 9.190
    curtailable = {"curtailable": True}
    assets = (
        AssetSpec("Building HVAC", "building-hvac", BuildingHvac(), 180, attributes=curtailable),
        AssetSpec("Lighting", "building-lighting", Lighting(lat, lon), 63, attributes=curtailable),
        AssetSpec("Plug loads", "building-plugs", PlugLoads(), 40),
        AssetSpec("EV charger 1", "building-ev-1", EvCharger(22.0), 22, attributes=curtailable),
        AssetSpec(
            "EV charger 2", "building-ev-2", EvCharger(11.0, 2.0), 11, attributes=curtailable
        ),
        AssetSpec(
            "Rooftop PV",
            "building-pv",
            PvPlant(lat, lon, 60.0, 50.0),
            50,
            source_id="SOLAR-PV-ITA-00002",
            install_date=date(2021, 5, 18),
            operator="Sim Office Facilities S.r.l.",
            metadata={
                "manufacturer": "SunPower",
                "model": "Maxeon 6 AC 440 W / SMA Sunny Tripower 50",
                "serial_number": "SIM-RPV-2021-0042",
                "certifications": ["IEC 61215", "IEC 61730", "CEI 0-21"],
            },
        ),
    )
    return [
        SiteSpec(
            "Sim office building (Milan)",
            "Europe/Rome",
            lat,
            lon,
            assets,
            300.0,
            "Commercial building with a 300 kW contract demand; HVAC, lighting and "
            "EV chargers are curtailable.",
            tariff=COMMERCIAL_LV,
        )
    ]


def portfolio() -> list[SiteSpec]:
    solar_lat, solar_lon = 44.418, 12.204
    wind_lat, wind_lon = 41.462, 15.544
    solar = SiteSpec(
        "Sim solar park (Ravenna)",
        "Europe/Rome",
        solar_lat,
        solar_lon,
        (
            AssetSpec(
                "PV field A",
                "portfolio-pv-a",
                PvPlant(solar_lat, solar_lon, 1440.0, 1200.0),
                1200,
                source_id="SOLAR-PV-ITA-00001",
                install_date=date(2019, 7, 2),
                operator="Sim Renewables S.p.A.",
                metadata={
                    "manufacturer": "JinkoSolar",
                    "model": "Tiger Neo 580 W / Huawei SUN2000-215KTL",
                    "serial_number": "SIM-RAV-A-2019-001",
                    "certifications": ["IEC 61215", "IEC 61730", "CEI 0-16"],
                },
            ),
            AssetSpec("Battery 1", "portfolio-battery-1", Battery(), 500),
        ),
    )
    wind = SiteSpec(
        "Sim wind farm (Foggia)",
        "Europe/Rome",
        wind_lat,
        wind_lon,
        (
            AssetSpec(
                "Turbine 1",
                "portfolio-wtg-1",
                WindTurbine(2000.0),
                2000,
                source_id="WIND-ON-ITA-00001",
                install_date=date(2016, 10, 14),
                operator="Sim Renewables S.p.A.",
                metadata={
                    "manufacturer": "Vestas",
                    "model": "V100-2.0 MW",
                    "serial_number": "SIM-FG-WTG-0001",
                    "certifications": ["IEC 61400-1", "IEC 61400-21"],
                },
            ),
            AssetSpec(
                "Turbine 2",
                "portfolio-wtg-2",
                WindTurbine(2000.0, 95.0),
                2000,
                source_id="WIND-ON-ITA-00002",
                install_date=date(2016, 11, 3),
                operator="Sim Renewables S.p.A.",
                metadata={
                    "manufacturer": "Vestas",
                    "model": "V100-2.0 MW",
                    "serial_number": "SIM-FG-WTG-0002",
                    "certifications": ["IEC 61400-1", "IEC 61400-21"],
                },
            ),
        ),
    )
    return [
        replace(solar, kind="solar_park", tariff=PLANT_AUXILIARIES),
        replace(wind, kind="wind_farm", tariff=PLANT_AUXILIARIES),
    ]


#: (profile, base kW, extra kW when open or at peaks, PV kWp) of the community's businesses.
BUSINESSES = (
    ("shop", 1.5, 6.0, 10.0),
    ("bakery", 2.0, 14.0, 0.0),
    ("office", 1.0, 8.0, 15.0),
    ("shop", 1.0, 4.0, 0.0),
)


#: Home batteries behind community members' PODs: member name -> (part name, rated kW,
#: usable kWh) of each: two households with PV (seed 42) and the office, which has two (a
#: site with several batteries).
COMMUNITY_BATTERIES: dict[str, tuple[tuple[str, float, float], ...]] = {
    "Household 07": (("battery", 5.0, 10.0),),
    "Household 10": (("battery", 3.0, 6.0),),
    "Office 3": (("battery-a", 10.0, 20.0), ("battery-b", 6.0, 13.5)),
}


def member_batteries(name: str) -> tuple[tuple[str, Battery], ...]:
    """The simulated batteries behind member ``name``'s POD (10-90 % SOC, 92 % round trip)."""
    return tuple(
        (part, Battery(rated_kw=kw, capacity_kwh=kwh))
        for part, kw, kwh in COMMUNITY_BATTERIES.get(name, ())
    )


def battery_asset_name(member: str, part: str) -> str:
    """``Household 04 battery``, ``Office 3 battery A``."""
    suffix = part.removeprefix("battery").lstrip("-").upper()
    return f"{member} battery" + (f" {suffix}" if suffix else "")


#: The community's two primary substations (cabine primarie): members alternate between them.
SUBSTATIONS = ("AC001E00345", "AC001E00346")
COMMUNITY_PREFIX = "CER Bari: "


def community(seed: int = 42, households: int = 16) -> list[SiteSpec]:
    """``households`` homes (40 % with 3-6 kWp PV) and four small businesses (20 in all), each
    its own site: a site meters one point of delivery (POD), as the community domain needs.
    Members in ``COMMUNITY_BATTERIES`` have batteries behind their POD: assets of their own
    (kind battery, role storage, fleet topics), driven by the member's model (``part_of``)."""
    lat, lon = 41.117, 16.872
    members = []
    for i in range(households):
        name = f"Household {i + 1:02d}"
        u = noise.uniform(seed, "community/household", [i, i + 1000, i + 2000])
        pv = round(3.0 + 3.0 * float(u[1]), 1) if u[0] < 0.4 else 0.0
        model = CommunityMember(lat, lon, "household", 0.15 + 0.2 * float(u[2]), 1.2, pv,
                                batteries=member_batteries(name))  # fmt: skip
        members.append((name, model))
    for j, (profile, base, peak, pv) in enumerate(BUSINESSES):
        name = f"{profile.capitalize()} {j + 1}"
        model = CommunityMember(lat, lon, profile, base, peak, pv, kind="building",
                                batteries=member_batteries(name))  # fmt: skip
        members.append((name, model))
    sites = []
    for n, (name, model) in enumerate(members):
        substation = SUBSTATIONS[n % 2]
        device_id = f"CER-DEV-{n + 1:03d}"
        asset = AssetSpec(
            name,
            device_id,
            model,
            model.pv_kw or None,
            role="prosumer" if model.pv_kw else "consumer",
            attributes={
                "pod_code": f"IT001E{40_000_000 + 1_237 * (n + 1):08d}",
                "primary_substation": substation,
                "pv_kwp": model.pv_kw,
            },
        )
        batteries = tuple(
            AssetSpec(
                battery_asset_name(name, part),
                f"{device_id}-{part.upper()}",
                battery,
                battery.rated_kw,
                role="storage",
                part_of=(device_id, part),
                topics=FLEET,
            )
            for part, battery in model.batteries
        )
        sites.append(
            SiteSpec(
                COMMUNITY_PREFIX + name,
                "Europe/Rome",
                # a few hundred metres apart, so the map shows each member
                round(lat + 0.004 * (n // 5 - 2), 4),
                round(lon + 0.005 * (n % 5 - 2), 4),
                (asset, *batteries),
                None,
                f"Member of the renewable energy community (CER) of Bari; POD under "
                f"primary substation {substation}."
                + (" A home battery behind the POD." if len(batteries) == 1 else "")
                + (f" {len(batteries)} batteries behind the POD." if len(batteries) > 1 else ""),
                topics=CER,
                tariff=COMMUNITY_MEMBERS,
            )
        )
    return sites


SCENARIOS = {
    "factory": factory,
    "building": building,
    "portfolio": portfolio,
    "community": community,
}


#: The kind of the sites of a scenario that does not set one per site.
SCENARIO_KINDS = {"factory": "factory", "building": "building", "community": "community"}


def scenario_sites(name: str) -> list[SiteSpec]:
    """The sites of scenario ``name`` (``KeyError`` for an unknown scenario)."""
    return [replace(s, kind=s.kind or SCENARIO_KINDS.get(name)) for s in SCENARIOS[name]()]


def mqtt_base_topic(site: SiteSpec, site_id: int, device_id: str, topics: str | None = None) -> str:
    """The device's topic base (without the configured prefix); ``topics`` overrides the
    site's family."""
    if (topics or site.topics) == CER:
        return f"energy/plant/{site_id}/device/{device_id}"
    return f"sites/{site_id}/devices/{device_id}"
