"""The built-in metric catalogue: key, canonical unit, kind and plausible range.

Kinds: ``instantaneous`` (sampled value, e.g. power), ``cumulative`` (monotonic register that
may reset, e.g. energy), ``counter`` (cumulative count, e.g. production), ``state``.
Ranges are plausibility limits for validation, wide enough for utility-scale plants.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricSpec:
    key: str
    unit: str
    kind: str
    description: str
    min_value: float | None = None
    max_value: float | None = None


GW_IN_KW = 1e6

BUILTIN_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "power_kw",
        "kW",
        "instantaneous",
        "Active power (+ consumed or produced)",
        -10 * GW_IN_KW,
        10 * GW_IN_KW,
    ),
    MetricSpec(
        "energy_kwh", "kWh", "cumulative", "Active energy register (imported or produced)", 0, 1e13
    ),
    MetricSpec(
        "energy_export_kwh", "kWh", "cumulative", "Exported active energy register", 0, 1e13
    ),
    MetricSpec(
        "reactive_power_kvar",
        "kvar",
        "instantaneous",
        "Reactive power",
        -10 * GW_IN_KW,
        10 * GW_IN_KW,
    ),
    MetricSpec("apparent_power_kva", "kVA", "instantaneous", "Apparent power", 0, 10 * GW_IN_KW),
    MetricSpec("voltage_v", "V", "instantaneous", "Voltage (RMS)", 0, 1.2e6),
    MetricSpec("current_a", "A", "instantaneous", "Current (RMS)", -1e6, 1e6),
    MetricSpec("power_factor", "1", "instantaneous", "Power factor", -1, 1),
    MetricSpec("frequency_hz", "Hz", "instantaneous", "Grid frequency", 0, 100),
    MetricSpec("temperature_c", "degC", "instantaneous", "Temperature", -90, 1500),
    MetricSpec(
        "outdoor_temperature_c", "degC", "instantaneous", "Outdoor air temperature", -90, 70
    ),
    MetricSpec("humidity_pct", "%", "instantaneous", "Relative humidity", 0, 100),
    MetricSpec("wind_speed_ms", "m/s", "instantaneous", "Wind speed", 0, 120),
    MetricSpec(
        "irradiance_wm2",
        "W/m2",
        "instantaneous",
        "Global irradiance (plane of array or horizontal)",
        0,
        2000,
    ),
    MetricSpec(
        "production_count", "count", "counter", "Produced units (cumulative counter)", 0, 1e15
    ),
    MetricSpec("pressure_bar", "bar", "instantaneous", "Pressure", -1, 5000),
    MetricSpec("flow_m3h", "m3/h", "instantaneous", "Volumetric flow", -1e7, 1e7),
    MetricSpec("soc_pct", "%", "instantaneous", "Battery state of charge", 0, 100),
    MetricSpec("efficiency_pct", "%", "instantaneous", "Conversion efficiency", 0, 100),
    MetricSpec("speed_rpm", "rpm", "instantaneous", "Rotational speed", -1e5, 1e5),
    MetricSpec("operating_state", "1", "state", "Operating state code (0 = off)", None, None),
    # production data of the industrial seed (production_data, machine_status, baseline drivers)
    MetricSpec("throughput_uph", "units/h", "instantaneous", "Throughput (units per hour)", 0, 1e9),
    MetricSpec("operating_mode", "1", "state", "Operating mode code (OPERATING_MODES)", 0, 4),
    MetricSpec("recipe", "1", "state", "Recipe or material code (the asset's recipes)", 0, 1e6),
    MetricSpec("material_moisture_pct", "%", "instantaneous", "Material moisture content", 0, 100),
    MetricSpec("operating_hours", "h", "cumulative", "Total operating hours (register)", 0, 1e7),
)

#: A machine's operating mode as stored (the ``operating_mode`` reading is the index): off
#: (switched off or stopped), idle (on, not producing), production, setup (changeover,
#: cleaning), maintenance. Operating hours count every mode but ``off``.
OPERATING_MODES: tuple[str, ...] = ("off", "idle", "production", "setup", "maintenance")
#: Where an asset keeps its recipes or materials (``Asset.attributes``: a list of names); a
#: ``recipe`` reading is the index of the recipe in force in that list.
RECIPES_KEY = "recipes"


def recipes_of(attributes: dict[str, object] | None) -> list[str]:
    """The asset's recipe (or material) names from its ``attributes``, in code order."""
    value = (attributes or {}).get(RECIPES_KEY)
    return [str(v) for v in value] if isinstance(value, list) else []


#: What an asset does with energy; ``grid_connection`` is a meter at the site's connection point
#: (import and export), ``prosumer`` a member's own connection point with its generation behind it.
ASSET_ROLES: tuple[str, ...] = ("consumer", "producer", "prosumer", "storage", "grid_connection")
#: Asset roles counted as a site's load and as its generation (KPIs, baselines, forecasts,
#: alerts, dashboard); prosumers and storage are listed but not added to either.
LOAD_ROLES: tuple[str, ...] = ("consumer",)
GENERATION_ROLES: tuple[str, ...] = ("producer",)

#: The site-balance term (``analytics.site_balance.TERMS``) an energy register of an asset of
#: each role feeds. A register counts its role's primary direction (``energy_kwh``: consumed,
#: produced, charged or imported); ``energy_export_kwh`` the reverse one (exported, discharged).
#: See docs/site-energy.md.
ENERGY_TERMS: dict[str, dict[str, str]] = {
    "grid_connection": {"energy_kwh": "import", "energy_export_kwh": "export"},
    "prosumer": {
        "energy_kwh": "import",
        "energy_export_kwh": "export",
        "energy_produced_kwh": "generation",
        "energy_consumed_kwh": "consumption",
    },
    "producer": {"energy_kwh": "generation", "energy_produced_kwh": "generation"},
    "consumer": {"energy_kwh": "consumption", "energy_consumed_kwh": "consumption"},
    "storage": {"energy_kwh": "charge", "energy_export_kwh": "discharge"},
}
#: The terms a power metric feeds: (term of positive values, term of negative values or None).
#: Power is positive in the role's primary direction (load convention at the connection point:
#: + import, - export; storage: + charging, - discharging; producers: + producing).
POWER_TERMS: dict[str, dict[str, tuple[str, str | None]]] = {
    "grid_connection": {"power_kw": ("import", "export")},
    "prosumer": {
        "power_kw": ("import", "export"),
        "power_produced_kw": ("generation", None),
        "power_consumed_kw": ("consumption", None),
    },
    "producer": {"power_kw": ("generation", None), "power_produced_kw": ("generation", None)},
    "consumer": {"power_kw": ("consumption", None), "power_consumed_kw": ("consumption", None)},
    "storage": {"power_kw": ("charge", "discharge")},
}

#: What an implausible power reading of an asset does (``telemetry.plausibility``): refused with
#: its reason, stored and reported as a warning, or not checked. The first is the default.
PLAUSIBILITY_MODES: tuple[str, ...] = ("reject", "flag", "off")

#: Asset kinds and the role an asset of that kind gets when none is given.
ASSET_KINDS: dict[str, str] = {
    # metering and grid
    "meter": "consumer",
    "grid_connection": "grid_connection",
    "transformer": "consumer",
    "inverter": "producer",
    # industrial machines
    "compressor": "consumer",
    "motor": "consumer",
    "pump": "consumer",
    "injection_molding": "consumer",
    "machine": "consumer",
    "chiller": "consumer",
    "boiler": "consumer",
    # buildings and loads
    "building": "consumer",
    "household": "consumer",
    "hvac": "consumer",
    "heat_pump": "consumer",
    "lighting": "consumer",
    "plug_load": "consumer",
    "ev_charger": "consumer",
    # generation
    "solar_pv": "producer",
    "wind_onshore": "producer",
    "wind_offshore": "producer",
    "hydro": "producer",
    "geothermal": "producer",
    "bio": "producer",
    "tidal": "producer",
    "chp": "producer",
    "generator": "producer",
    # storage
    "battery": "storage",
    "other": "consumer",
}

#: WIA-ENE-004 ``sourceType`` -> asset kind (the seed's six renewable types).
SOURCE_TYPE_KINDS: dict[str, str] = {
    "SOLAR-PV": "solar_pv",
    "WIND-ON": "wind_onshore",
    "HYDRO": "hydro",
    "GEO": "geothermal",
    "BIO": "bio",
    "TIDAL": "tidal",
}

#: WIA ``sourceId``: ``TYPE-XXX-NNNNN``, XXX a three-letter (country) code, NNNNN five digits.
SOURCE_ID_PATTERN = r"^(SOLAR-PV|WIND-ON|HYDRO|GEO|BIO|TIDAL)-[A-Z]{3}-[0-9]{5}$"

#: Metric kinds (see the module docstring).
METRIC_KINDS: tuple[str, ...] = ("instantaneous", "cumulative", "counter", "state")

#: User-defined metric keys: lower snake case, 2-64 characters.
METRIC_KEY_PATTERN = r"^[a-z][a-z0-9_]{1,63}$"


def source_type_of(source_id: str) -> str:
    """The ``TYPE`` part of a WIA sourceId (``"SOLAR-PV-ITA-00001"`` -> ``"SOLAR-PV"``)."""
    return source_id.rsplit("-", 2)[0]


#: How a catalogue unit is written for people (``degC`` -> ``°C``; dimensionless: nothing).
UNIT_SIGNS = {"degC": "°C", "1": "", "count": "", "m3/h": "m³/h", "W/m2": "W/m²"}


def metric_name(key: str) -> str:
    """A built-in metric's short name for people (``power_kw`` -> ``Active power``); another
    metric's key with spaces (``energy_produced`` -> ``energy produced``)."""
    for spec in BUILTIN_METRICS:
        if spec.key == key:
            return spec.description.split(" (")[0]
    return key.replace("_", " ")


def quantity(value: float, key: str) -> str:
    """``value`` of metric ``key`` with its unit and sensible decimals (``1,978 kW``,
    ``49.98 Hz``, ``0.97``)."""
    unit = next((spec.unit for spec in BUILTIN_METRICS if spec.key == key), "")
    size = abs(value)
    digits = 0 if size >= 1000 else 1 if size >= 100 else 2
    text = f"{value:,.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    sign = UNIT_SIGNS.get(unit, unit)
    return f"{text} {sign}" if sign else text


#: Where an asset keeps its meter's interval convention (``Asset.attributes``; no column).
INTERVAL_CONVENTION_KEY = "interval_convention"
#: ``ending``: a reading closes the interval that ends at its time (the utility convention, the
#: default): a register step and an interval's average power stamped 10:15 belong to 10:00-10:15.
#: ``beginning``: a reading opens the interval that starts at its time (10:15-10:30).
INTERVAL_CONVENTIONS = ("ending", "beginning")
DEFAULT_INTERVAL_CONVENTION = "ending"


def interval_convention(attributes: dict[str, object] | None) -> str:
    """The asset's interval convention from its ``attributes`` (default ``ending``)."""
    value = (attributes or {}).get(INTERVAL_CONVENTION_KEY)
    return (
        value
        if isinstance(value, str) and value in INTERVAL_CONVENTIONS
        else (DEFAULT_INTERVAL_CONVENTION)
    )
