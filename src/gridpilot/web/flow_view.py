"""The energy-flow card: the diagram as inline SVG (no script, no CDN): grid left, home right, solar
above and battery below when the sites have them; each flow a line in its source's colour
(``web.palette``) with an arrow and moving dashes in its direction, and its energy [kWh].
Every text is escaped; colours are the palette's CSS variables, so the theme switches them."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from nicegui import ui

from gridpilot.fleet.service import FleetSummary
from gridpilot.web.energy_flow import NO_DATA, Flows, flows_of, since
from gridpilot.web.numbers import energy, local_clock, share

R = 42  # node radius
#: Node centres in the 480 x 340 drawing.
CENTRES = {"solar": (240, 50), "grid": (100, 160), "home": (380, 160), "battery": (240, 270)}
#: Each link: its path (from -> to), its figure's place and anchor, the colour of its source.
PATHS = {
    "grid_home": ("M 142 160 H 334", (292, 153, "middle"), "import"),
    "solar_home": ("M 282 50 H 362 Q 380 50 380 68 V 114", (322, 43, "middle"), "generation"),
    "solar_grid": ("M 198 50 H 118 Q 100 50 100 68 V 114", (158, 43, "middle"), "generation"),
    "solar_battery": ("M 240 92 V 224", (247, 206, "start"), "generation"),
    "battery_home": ("M 282 270 H 362 Q 380 270 380 252 V 206", (322, 288, "middle"), "discharge"),
    "battery_grid": ("M 198 270 H 118 Q 100 270 100 252 V 206", (158, 288, "middle"), "discharge"),
    "grid_battery": ("M 130 190 L 206 238", (164, 230, "end"), "charge"),
}
CSS = """
.gp-flow { width: 100%; max-width: 32rem; height: auto; color: inherit; }
.gp-flow text { font-size: 13px; fill: currentColor; }
.gp-flow .gp-node-label { font-size: 14px; font-weight: 500; }
.gp-flow .gp-icon { font-family: 'Material Icons'; font-size: 22px; }
.gp-flow .gp-line { fill: none; stroke-width: 2; }
.gp-flow .gp-moving { stroke-dasharray: 5 5; animation: gp-dash 1s linear infinite; }
.gp-flow .gp-idle { stroke: rgba(140,140,140,0.35); stroke-width: 1; }
@keyframes gp-dash { to { stroke-dashoffset: -10; } }
@media (prefers-reduced-motion: reduce) { .gp-flow .gp-moving { animation: none; } }
.gp-flow .gp-node-label { paint-order: stroke; stroke: #fff; stroke-width: 4px;
  stroke-linejoin: round; }
.body--dark .gp-flow .gp-node-label { stroke: #1d1d1d; }
@media (max-width: 599px) {
  /* a phone: the drawing with a battery loses its side margins (the grid's and the home's
     names take their icons' place inside the circles), so its text reads at 390 px */
  .gp-flow.gp-battery { width: 126%; max-width: none; margin: 0 -13%; }
  .gp-flow.gp-battery .gp-icon-grid, .gp-flow.gp-battery .gp-icon-home { display: none; }
  .gp-flow.gp-battery .gp-name-grid { text-anchor: middle; transform: translate(48px, -17px); }
  .gp-flow.gp-battery .gp-name-home { text-anchor: middle; transform: translate(-48px, -17px); }
  .gp-flow.gp-battery .gp-node-label { font-size: 14px; }
}
"""


def _shown(flows: Flows) -> set[str]:
    nodes = {"grid", "home"}
    nodes |= {"solar"} if flows.solar else set()
    nodes |= {"battery"} if flows.battery else set()
    return nodes


def _line(key: str, kwh: float) -> str:
    path, (x, y, anchor), source = PATHS[key]
    if kwh < 0.05:  # nothing flowed (below what 0.1 kWh shows): a faint line, no figure
        return f'<path class="gp-line gp-idle" d="{path}" data-testid="flow-{key}-line"/>'
    colour = f"var(--gp-{source})"
    return (
        f'<path class="gp-line gp-moving" d="{path}" style="stroke: {colour}" '
        f'marker-end="url(#gp-arrow-{source})" data-testid="flow-{key}-line"/>'
        f'<text x="{x}" y="{y}" text-anchor="{anchor}" style="fill: {colour}" '
        f'data-testid="flow-{key}">{escape(energy(kwh))}</text>'
    )


#: Where each node's name goes: (dx, dy, anchor) from its centre; without a battery the grid's
#: and the home's go below them (a narrower drawing: larger on a phone).
BELOW = (0, R + 20, "middle")
NAMES = {
    "solar": (0, -R - 8, "middle"),
    "battery": (0, R + 18, "middle"),
    "grid": (-R - 6, 5, "end"),
    "home": (R + 6, 5, "start"),
}


def _node(
    name: str, label: str, icon: str, colour: str, figures: list[tuple[str, str]], below: bool
) -> str:
    """A circle with its icon and figures (each ``(testid, text)``), its name outside."""
    x, y = CENTRES[name]
    dx, dy, anchor = BELOW if below else NAMES[name]
    rows = [
        f'<text x="{x}" y="{y + 6 + 14 * i}" text-anchor="middle" data-testid="flow-{mark}">'
        f"{escape(text)}</text>"
        for i, (mark, text) in enumerate(figures)
    ]
    return (
        f'<g data-testid="flow-node-{name}">'
        f'<circle cx="{x}" cy="{y}" r="{R}" fill="none" style="stroke: {colour}" '
        'stroke-width="2.5"/>'
        f'<text class="gp-icon gp-icon-{name}" x="{x}" y="{y - 10}" text-anchor="middle" '
        f'style="fill: {colour}">{icon}</text>'
        + "".join(rows)
        + f'<text class="gp-node-label gp-name-{name}" x="{x + dx}" y="{y + dy}" '
        f'text-anchor="{anchor}">'
        f"{escape(label)}</text></g>"
    )


def _home_ring(flows: Flows) -> str:
    """The home's circle split by where its energy came from (solar, battery, grid)."""
    x, y = CENTRES["home"]
    parts = [
        ("generation", flows.links["solar_home"]),
        ("discharge", flows.links["battery_home"]),
        ("import", flows.links["grid_home"]),
    ]
    total = sum(kwh for _t, kwh in parts)
    if total <= 0:
        return ""
    length, done, arcs = 2 * 3.14159265 * R, 0.0, []
    for term, kwh in parts:
        share = length * kwh / total
        if share > 0:
            arcs.append(
                f'<circle cx="{x}" cy="{y}" r="{R}" fill="none" stroke-width="4" '
                f'style="stroke: var(--gp-{term})" stroke-dasharray="{share:.2f} {length:.2f}" '
                f'stroke-dashoffset="{-done:.2f}" transform="rotate(-90 {x} {y})"/>'
            )
        done += share
    return "".join(arcs)


def _view_box(nodes: set[str]) -> str:
    top = -16 if "solar" in nodes else 110
    if "battery" in nodes:
        return f"0 {top} 480 {340 - top}"
    return f"44 {top} 392 {232 - top}"  # the names below grid and home


#: Generating asset kinds by the name and icon of the generation node.
SOLAR_KINDS = frozenset({"solar_pv", "inverter"})
WIND_KINDS = frozenset({"wind_onshore", "wind_offshore"})
GENERATION = ("Generation", "bolt")


def source_of(producers: list[tuple[str, str]]) -> tuple[str, str]:
    """The generation node's name and icon from the ``(kind, role)`` of the generating assets:
    ``Solar`` for PV (and prosumers, whose generation is rooftop PV), ``Wind``, or
    ``Generation`` for other or mixed sources."""
    kinds = {"solar_pv" if role == "prosumer" else kind for kind, role in producers}
    if kinds and kinds <= SOLAR_KINDS:
        return "Solar", "solar_power"
    if kinds and kinds <= WIND_KINDS:
        return "Wind", "air"
    return GENERATION


def flow_svg(flows: Flows, source: tuple[str, str] = GENERATION) -> str:
    """The diagram of ``flows`` as an ``<svg>`` element's markup; ``source``: the generation
    node's name and icon (``source_of``)."""
    nodes, kwh = _shown(flows), flows.kwh
    arrows = "".join(
        f'<marker id="gp-arrow-{t}" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="6" '
        f'markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        f'style="fill: var(--gp-{t})"/></marker>'
        for t in ("import", "generation", "discharge", "charge")
    )
    lines = [
        _line(key, flows.links[key])
        for key, (src, dst) in ((k, k.split("_")) for k in PATHS)
        if src in nodes and dst in nodes
    ]
    low = "battery" not in nodes
    parts = [
        _node("grid", "Grid", "electrical_services", "var(--gp-import)",
              [("grid-import", f"\u2192 {energy(kwh['import'])}"),
               ("grid-export", f"\u2190 {energy(kwh['export'])}")], low),
        _node("home", "Home", "home", "rgba(140,140,140,0.35)",
              [("home-consumption", energy(kwh["consumption"]))], low),
    ]  # fmt: skip
    if "solar" in nodes:
        parts.append(_node("solar", source[0], source[1], "var(--gp-generation)",
                           [("solar-generation", energy(kwh["generation"]))], False))  # fmt: skip
    if "battery" in nodes:
        into, out = energy(kwh["charge"]), energy(kwh["discharge"])
        parts.append(_node("battery", "Battery", "battery_charging_full", "var(--gp-discharge)",
                           [("battery-charge", f"\u2193 {into}"),
                            ("battery-discharge", f"\u2191 {out}")], False))  # fmt: skip
    return (
        f'<svg class="gp-flow{" gp-battery" if "battery" in nodes else ""}" '
        f'viewBox="{_view_box(nodes)}" role="img" '
        f'aria-label="Energy flow" data-testid="flow-svg"><defs>{arrows}</defs>'
        + "".join(lines)
        + _home_ring(flows)
        + "".join(parts)
        + "</svg>"
    )


def _notes(flows: Flows) -> str:
    if flows.home_note == NO_DATA:
        return "no data in the period"
    parts = [] if flows.home_note is None else [f"home: {flows.home_note}"]
    if flows.self_consumption is not None:
        parts.append(f"self-consumption {share(flows.self_consumption)}")
    if flows.self_sufficiency is not None:
        parts.append(f"self-sufficiency {share(flows.self_sufficiency)}")
    if flows.coverage < 0.995:
        parts.append(f"{share(flows.coverage)} of the period known")
    return " · ".join(parts)


def flow_card(source: tuple[str, str] = GENERATION) -> Callable[[Flows, str], None]:
    """A card for the diagram; returns ``show(flows, period_text)`` that (re)draws it."""
    ui.add_css(CSS)
    card = ui.card().classes("grow basis-[22rem] min-w-0 items-center")
    with card.props("data-testid=energy-flow"):
        with ui.row().classes("w-full items-baseline justify-between"):
            ui.label("Energy flow").classes("text-subtitle1")
            period = ui.label().classes("text-caption text-grey-7")
            period.props("data-testid=energy-flow-period")
        drawing = ui.html("", sanitize=False).classes("w-full flex justify-center overflow-hidden")
        notes = ui.label().classes("text-caption text-grey-7")
        notes.props("data-testid=energy-flow-notes")

    def show(flows: Flows, period_text: str) -> None:
        period.set_text(period_text)
        drawing.set_content(flow_svg(flows, source))
        notes.set_text(_notes(flows))

    return show


def fleet_flows(fleet: FleetSummary, hours: int = 24) -> tuple[Flows, str]:
    """The flows of a fleet summary's sites over the last ``hours`` (from the summary's own
    balances, loaded with ``history_hours`` >= ``hours``: no further query) and their text."""
    start = fleet.now_ms - hours * 3_600_000
    flows = flows_of([since(b, start) for b in fleet.balances.values()])
    zones = {e.site.timezone for e in fleet.every}
    zone = zones.pop() if len(zones) == 1 else "UTC"  # the sites' zone when they share one
    some = next(iter(fleet.balances.values()), None)
    if some is not None and some.step_ms and start > some.start_ms:
        start -= (start - some.start_ms) % some.step_ms  # the first interval's start
    return flows, f"Last {hours} hours, all sites, since {local_clock(start, zone)}"


def fleet_flow(fleet: FleetSummary, hours: int = 24) -> Callable[[Flows, str], None]:
    """The energy-flow card of a fleet summary's sites over the last ``hours``; returns its
    ``show(flows, period_text)`` (another range drawn later)."""
    with ui.row().classes("w-full"):
        show = flow_card()
    show(*fleet_flows(fleet, hours))
    return show
