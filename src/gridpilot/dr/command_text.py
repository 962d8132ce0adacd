"""A dispatch step's command and outcome in words for alert texts: ``set-point 23.4 °C``,
``discharge 40 kW (down to 10 % SOC, for 16 min)``, ``timed out after 60 s``."""

from __future__ import annotations

from typing import Any

#: Parameter name -> (words before the value, unit after it).
PARAMS: dict[str, tuple[str, str]] = {
    "limit_kw": ("", "kW"),
    "power_kw": ("", "kW"),
    "temperature_c": ("", "°C"),
    "soc_pct": ("", "% SOC"),
    "humidity_pct": ("", "% RH"),
    "pressure_bar": ("", "bar"),
    "flow_m3h": ("", "m³/h"),
    "target_soc_pct": ("up to ", "% SOC"),
    "min_soc_pct": ("down to ", "% SOC"),
}
#: Command kind -> its name in words.
KINDS = {
    "set_power_limit": "power limit",
    "setpoint": "set-point",
    "charge": "charge",
    "discharge": "discharge",
    "start": "start",
    "stop": "stop",
}


def _value(value: Any) -> str:
    """A number without a trailing ``.0`` and with thousands separators (``1,020``)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,.10g}"
    return str(value)


def _duration(seconds: float) -> str:
    """``45 s``, ``16 min``, ``2 h 30 min``."""
    if seconds < 120:
        return f"{_value(seconds)} s"
    minutes = round(seconds / 60)
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def command_text(kind: str | None, params: dict[str, Any] | None) -> str:
    """``set-point 23.4 °C``; ``discharge 40 kW (down to 10 % SOC, for 16 min)``; a hand-back
    (``power_kw: null``) as ``hand back (charge)``."""
    name = KINDS.get(kind or "", (kind or "command").replace("_", " "))
    params = params or {}
    if "power_kw" in params and params["power_kw"] is None:
        return f"hand back ({name})"
    main: list[str] = []
    extra: list[str] = []
    for key, value in params.items():
        if key == "duration_s" and value is not None:
            extra.append(f"for {_duration(float(value))}")
        elif key in ("target_soc_pct", "min_soc_pct") and value is not None:
            before, unit = PARAMS[key]
            extra.append(f"{before}{_value(value)} {unit}")
        elif key in PARAMS and value is not None:
            main.append(f"{_value(value)} {PARAMS[key][1]}")
        elif value is not None:
            main.append(f"{key.replace('_', ' ')} {_value(value)}")
    text = " ".join([name, *main])
    return f"{text} ({', '.join(extra)})" if extra else text


def outcome_text(state: str, detail: str | None) -> str:
    """What became of a step's command: ``timed out after 60 s without an acknowledgement``,
    ``failed: BMS timeout``, ``expired``."""
    words = state.replace("_", " ")
    if not detail or detail == f"command {state}":
        return words
    return detail if detail.startswith(words) else f"{words}: {detail}"
