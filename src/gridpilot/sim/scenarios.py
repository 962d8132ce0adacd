"""The four scenarios: which sites and assets exist and which model drives each asset.

``factory`` (ISO 50001 seed), ``building`` (facility / demand response seed), ``portfolio``
(DER fleet: solar park, wind farm, battery), ``community`` (CER seed: households and small
businesses under two primary substations, one site and POD code each, three of them with
batteries behind the POD: ``community_scenario.py``). Names are fixed, so a rerun finds and
reuses what it created. A site's and an asset's spec: ``site_specs.py``; tariffs:
``demo_tariffs.py``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from gridpilot.assets.catalogue import RECIPES_KEY
from gridpilot.sim.buildings import BuildingHvac, Lighting, PlugLoads
from gridpilot.sim.community_scenario import community
from gridpilot.sim.demo_tariffs import COMMERCIAL_LV, INDUSTRIAL_MV, PLANT_AUXILIARIES
from gridpilot.sim.factory import (
    MATERIALS,
    Compressor,
    Conveyor,
    Hvac,
    HydraulicPump,
    InjectionMolding,
)
from gridpilot.sim.site_specs import AssetSpec, SiteSpec
from gridpilot.sim.solar import PvPlant
from gridpilot.sim.storage_devices import Battery, EvCharger
from gridpilot.sim.wind import WindTurbine


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
