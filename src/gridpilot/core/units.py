"""Unit conversion into gridpilot's canonical units (kW, kWh, kvar, ...).

Every metric has one canonical unit; readings given in another scale of the same quantity
are converted on ingest. ``to_canonical(1500, "W", "kW") == 1.5``.
"""

from __future__ import annotations

from gridpilot.core.errors import ValidationFailed

#: unit -> (canonical unit, factor to multiply by). Case-sensitive where SI demands (mW vs MW).
_SCALES: dict[str, tuple[str, float]] = {
    "W": ("kW", 1e-3),
    "kW": ("kW", 1.0),
    "MW": ("kW", 1e3),
    "GW": ("kW", 1e6),
    "Wh": ("kWh", 1e-3),
    "kWh": ("kWh", 1.0),
    "MWh": ("kWh", 1e3),
    "GWh": ("kWh", 1e6),
    "var": ("kvar", 1e-3),
    "kvar": ("kvar", 1.0),
    "Mvar": ("kvar", 1e3),
    "VA": ("kVA", 1e-3),
    "kVA": ("kVA", 1.0),
    "MVA": ("kVA", 1e3),
    "V": ("V", 1.0),
    "kV": ("V", 1e3),
    "mA": ("A", 1e-3),
    "A": ("A", 1.0),
    "kA": ("A", 1e3),
    "Hz": ("Hz", 1.0),
    "bar": ("bar", 1.0),
    "kPa": ("bar", 1e-2),
    "Pa": ("bar", 1e-5),
    "m3/h": ("m3/h", 1.0),
    "m3/s": ("m3/h", 3600.0),
    "l/s": ("m3/h", 3.6),
    "W/m2": ("W/m2", 1.0),
    "kW/m2": ("W/m2", 1e3),
    "m/s": ("m/s", 1.0),
    "km/h": ("m/s", 1 / 3.6),
    "%": ("%", 1.0),
    "degC": ("degC", 1.0),
    "°C": ("degC", 1.0),
    "C": ("degC", 1.0),
    "K": ("degC", 1.0),  # handled specially (offset), see to_canonical
    "count": ("count", 1.0),
    "1": ("1", 1.0),
}

_ALIASES = {
    "w": "W",
    "kw": "kW",
    "mw": "MW",
    "gw": "GW",
    "wh": "Wh",
    "kwh": "kWh",
    "mwh": "MWh",
    "gwh": "GWh",
    "kvar": "kvar",
    "kva": "kVA",
    "hz": "Hz",
    "w/m²": "W/m2",
    "w/m^2": "W/m2",
    "m³/h": "m3/h",
    "celsius": "degC",
    "pct": "%",
    "percent": "%",
}


def normalise_unit(unit: str) -> str:
    """Return the catalogue spelling of ``unit`` (``"kw"`` -> ``"kW"``); unknown units unchanged."""
    unit = unit.strip()
    if unit in _SCALES:
        return unit
    return _ALIASES.get(unit.lower(), unit)


def conversion(unit: str, canonical: str) -> tuple[float, float]:
    """(factor, offset) such that ``value_canonical = value * factor + offset``.

    Raises ``ValidationFailed`` when ``unit`` is not a scale of ``canonical``.
    """
    unit = normalise_unit(unit)
    if unit == canonical:
        return 1.0, 0.0
    if unit == "K" and canonical == "degC":
        return 1.0, -273.15
    target = _SCALES.get(unit)
    if target is None or target[0] != canonical:
        raise ValidationFailed(f"unit {unit!r} cannot be converted to {canonical!r}")
    return target[1], 0.0


def to_canonical(value: float, unit: str, canonical: str) -> float:
    """Convert ``value`` given in ``unit`` into the metric's ``canonical`` unit."""
    factor, offset = conversion(unit, canonical)
    return value * factor + offset


def capacity_to_kw(value: float, unit: str) -> float:
    """Rated capacity in kW from a value in W, kW, MW or GW (WIA ``ratedCapacity``)."""
    return to_canonical(value, unit, "kW")
