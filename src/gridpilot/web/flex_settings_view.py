"""How the flexible-resources settings page names things: kinds, parameter labels with their
units (from the kind's params model), and a resource's one-line summary."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from gridpilot.flex.schemas import PARAMS_OF, ResourceOut
from gridpilot.web.numbers import energy, power

KIND_NAMES = {
    "battery": "Battery",
    "ev_charger": "EV charger",
    "deferrable_load": "Deferrable load",
    "curtailable_load": "Curtailable load",
    "hvac": "HVAC setpoint offset",
    "pv_curtailment": "PV curtailment",
}
KIND_ICONS = {
    "battery": "battery_charging_full",
    "ev_charger": "ev_station",
    "deferrable_load": "schedule",
    "curtailable_load": "power_off",
    "hvac": "thermostat",
    "pv_curtailment": "solar_power",
}
#: Labels the params models' descriptions do not give well (no unit, or too long).
LABELS = {
    "charge_efficiency": "Charge efficiency (0-1)",
    "discharge_efficiency": "Discharge efficiency (0-1)",
    "cycle_cost_eur_per_kwh": "Wear cost per kWh cycled [EUR/kWh]",
    "window_start": "Window starts (HH:MM, site time)",
    "window_end": "Window ends (HH:MM, site time; 24:00: midnight)",
    "interruptible": "Interruptible (no: runs in one block)",
    "kw_per_degc": "Load change per °C of offset [kW]",
    "max_offset_degc": "Largest setpoint offset [°C]",
}
#: Parameters not drawn as plain inputs (EV sessions have their own editor).
NOT_EDITED = frozenset({"sessions"})


def param_specs(kind: str) -> list[tuple[str, str, str, Any]]:
    """``(name, label, type, default)`` of each edited parameter of ``kind``; type is
    ``number``, ``integer``, ``boolean`` or ``string``; an optional one says what empty means."""
    schema = PARAMS_OF[kind].model_json_schema()
    specs = []
    for name, prop in schema.get("properties", {}).items():
        if name in NOT_EDITED:
            continue
        types = [prop.get("type"), *(o.get("type") for o in prop.get("anyOf", []))]
        kind_of = next(t for t in types if t not in (None, "null"))
        text = str(prop.get("description") or name.replace("_", " ").capitalize())
        head, _, rest = text.partition("; ")
        label = LABELS.get(name, head)
        if "null" in types and "none: " in rest:
            label += f" (empty: {rest.split('none: ', 1)[1]})"
        specs.append((name, label, kind_of, prop.get("default")))
    return specs


def _pct(value: float) -> str:
    return f"{value:g} %"


def key_figures(r: ResourceOut, timezone: str) -> str:
    """The resource's main figures with their units."""
    p = r.params.model_dump()
    if r.kind == "battery":
        return (
            f"{energy(p['capacity_kwh'])}, charge {power(p['charge_max_kw'])}, discharge "
            f"{power(p['discharge_max_kw'])}, SOC {p['soc_min_pct']:g}-{_pct(p['soc_max_pct'])}"
        )
    if r.kind == "ev_charger":
        text = f"{power(p['power_min_kw'])} to {power(p['power_max_kw'])}"
        return text + "".join(f", {session_line(s, timezone)}" for s in p["sessions"][:3])
    if r.kind == "deferrable_load":
        block = "interruptible" if p["interruptible"] else "one block"
        return (
            f"{energy(p['energy_kwh'])} between {p['window_start']} and {p['window_end']} "
            f"(site time), up to {power(p['power_max_kw'])}, {block}"
        )
    if r.kind == "curtailable_load":
        cap = p["max_duration_min"]
        return f"sheds {power(p['shed_kw'])}" + (f" for up to {cap} min" if cap else "")
    if r.kind == "hvac":
        return f"{p['kw_per_degc']:g} kW per °C, up to {p['max_offset_degc']:g} °C"
    limit = p.get("export_limit_kw")
    return "no export limit" if limit is None else f"export limit {power(limit)}"


def session_line(session: dict[str, Any], timezone: str) -> str:
    """``30.0 kWh by 18:00 Dec 5`` in the site's local time."""
    departure = session["departure"]
    when = departure if isinstance(departure, datetime) else datetime.fromisoformat(departure)
    local = when.astimezone(ZoneInfo(timezone))
    return f"{energy(session['energy_kwh'])} by {local:%H:%M %b %-d}"


def caption(r: ResourceOut, asset_names: dict[int, str], timezone: str) -> str:
    """``Battery · BESS unit · 100.0 kWh, ... · auto-dispatch on``."""
    parts = [KIND_NAMES.get(r.kind, r.kind)]
    if r.asset_id is not None:
        parts.append(asset_names.get(r.asset_id, f"asset {r.asset_id}"))
    parts.append(key_figures(r, timezone))
    parts.append("auto-dispatch on" if r.auto_dispatch else "auto-dispatch off")
    return " · ".join(parts)
