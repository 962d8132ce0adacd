"""The dashboard's one colour language: a colour per energy flow, the same in every chart,
legend, card and the energy-flow view, with its light and dark variant; the neutral colours
of charts; the page CSS that carries them (``--gp-<flow>`` variables, the dark header).

The flows' hues follow Home Assistant's energy dashboard (grid import blue, export purple,
solar orange, battery teal out and pink in) and read on both themes, so a flow keeps its
variant-independent hue; where a hue is too dark for the dark theme (gas), ``dark`` differs.
Charts draw ``colour(key)`` (ECharts colours are fixed when drawn); the DOM uses
``var(--gp-<key>)``, which follows the theme by itself.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Flow:
    """An energy flow's label, colours (``#rrggbb``, light and dark theme) and Material icon."""

    key: str
    label: str
    light: str
    dark: str
    icon: str


#: Every flow the dashboard draws, by key (the balance terms first).
FLOWS: dict[str, Flow] = {
    f.key: f
    for f in (
        Flow("consumption", "Consumption", "#e53935", "#e53935", "home"),
        Flow("generation", "Generation", "#ff9800", "#ff9800", "solar_power"),
        Flow("import", "Grid import", "#488fc2", "#488fc2", "south"),
        Flow("export", "Grid export", "#8353d1", "#8353d1", "north"),
        Flow("discharge", "Battery discharge", "#4db6ac", "#4db6ac", "battery_full"),
        Flow("charge", "Battery charge", "#f06292", "#f06292", "battery_charging_full"),
        Flow("wind", "Wind", "#00bcd4", "#00bcd4", "air"),
        Flow("gas", "Gas", "#8e021b", "#e0455f", "local_fire_department"),
        Flow("shared", "Shared energy", "#43a047", "#43a047", "share"),
    )
}

#: Neutral colours of charts: axis text, grid lines, the contract line, a baseline.
GREY = "#8c8c8c"
GRID_LINE = "rgba(140,140,140,0.25)"
CONTRACT = "#546e7a"  # blue grey: apart from the flows' colours
BASELINE = GREY
#: A goal line (a DR event's target load): green, apart from the flows.
TARGET = "#43a047"
#: The header: Quasar's primary in the light theme, a dark surface in the dark one.
HEADER_DARK = "#1e2228"


def colour(key: str, dark: bool = False) -> str:
    """The colour of flow ``key`` (``#rrggbb``) in the light (default) or the dark theme."""
    flow = FLOWS[key]
    return flow.dark if dark else flow.light


def rgb(key: str) -> tuple[int, int, int]:
    """The light colour of flow ``key`` as (r, g, b)."""
    hexa = FLOWS[key].light.lstrip("#")
    return int(hexa[0:2], 16), int(hexa[2:4], 16), int(hexa[4:6], 16)


#: The chart colour of each flow (the light variant; readable on both themes).
COLOURS: dict[str, str] = {key: flow.light for key, flow in FLOWS.items()}
#: The label of each flow.
LABELS: dict[str, str] = {key: flow.label for key, flow in FLOWS.items()}
#: The flow an asset's power feeds in its site's balance, by the asset's role (PV and wind
#: alike are generation, as in the site's charts; a battery's colour is its discharge).
ROLE_FLOWS = {
    "consumer": "consumption",
    "producer": "generation",
    "prosumer": "generation",
    "storage": "discharge",
    "grid_connection": "import",
}


def asset_colour(role: str, dark: bool = False) -> str:
    """The colour of an asset's power (``#rrggbb``): its role's flow (consumption otherwise)."""
    return colour(ROLE_FLOWS.get(role, "consumption"), dark)


def css() -> str:
    """The page CSS: one ``--gp-<key>`` variable per flow (dark values under ``.body--dark``),
    ``.gp-<key>`` text colour classes, the dark header, and ``.gp-accent`` (a label marked by
    its flow's colour on the left: set ``border-color``)."""
    light = "; ".join(f"--gp-{k}: {f.light}" for k, f in FLOWS.items())
    dark = "; ".join(f"--gp-{k}: {f.dark}" for k, f in FLOWS.items())
    text = "\n".join(f".gp-{k} {{ color: var(--gp-{k}); }}" for k in FLOWS)
    return (
        f":root {{ {light}; }}\n.body--dark {{ {dark}; }}\n{text}\n"
        f".body--dark .q-header {{ background: {HEADER_DARK} !important; "
        "border-bottom: 1px solid rgba(255,255,255,0.12); }\n"
        ".gp-accent { border-left: 3px solid; padding-left: 6px; }\n"
    )
