"""The map of sites, clustered on the server by zoom level (no plug-in, no CDN, no tiles unless
configured): sites within ``CELL_PX`` screen pixels of each other at the map's zoom share one
marker labelled with their count (its tooltip names them); a single site's marker carries a
small permanent label with its name when at most ``LABELLED`` sites stand alone, and names it
with its consumption now on hover or tap. A name goes right of its dot, else left, above or
below, wherever it covers no other dot or name and stays in the fitted view (``placements``);
a name with no free side is shown on hover only. The view fits every site with ``PAD_PX``
around, so no marker or label is cut at an edge."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nicegui import ui
from nicegui.events import GenericEventArguments

from gridpilot.fleet.service import SiteSummary
from gridpilot.web.context import current
from gridpilot.web.numbers import power

#: Side of a clustering cell [screen px]; Leaflet's world is 256 px wide at zoom 0.
CELL_PX = 80
#: The cell when few sites are shown: only markers that would overlap share one.
NEAR_PX = 24
LAYER_ID = "gp-sites"
MAX_ZOOM = 18
#: At most this many lone sites in view get a permanent name label (more would overlap).
LABELLED = 12
#: Room around the sites when the view is fitted to them [px]: a cluster's radius (20) and
#: its label, or a lone site's name label, stay inside the map.
PAD_PX = 48
#: Room right of the sites for a name label [px].
LABEL_PX = 140
#: Names listed in a cluster's tooltip, at most.
CLUSTER_NAMES = 5
#: A name label's size: per character and padding [px] (11 px font), and its height [px].
CHAR_PX, LABEL_PAD_PX, LABEL_H_PX = 6.5, 10, 17
#: Sides a name label may take, in order of preference.
SIDES = ("right", "left", "top", "bottom")

Box = tuple[float, float, float, float]  # left, top, right, bottom [world px]


@dataclass(frozen=True)
class Pin:
    site_id: int
    label: str
    lat: float
    lon: float
    name: str = ""


@dataclass(frozen=True)
class Cluster:
    """Sites near each other at a zoom level: their mean position and the sites."""

    lat: float
    lon: float
    pins: tuple[Pin, ...]


def pins_of(every: Sequence[SiteSummary]) -> list[Pin]:
    """A pin per site with a position, labelled with its name and consumption now [kW]."""
    return [
        Pin(
            e.site.id,
            f"{e.site.name}: {power(e.now.power_kw['consumption'])}",
            float(e.site.latitude),
            float(e.site.longitude),
            e.site.name,
        )
        for e in every
        if e.site.latitude is not None and e.site.longitude is not None
    ]


def _pixel(lat: float, lon: float, zoom: float) -> tuple[float, float]:
    """Web Mercator world pixel of a position at ``zoom``."""
    scale = 256 * 2**zoom
    phi = math.radians(max(-85.0, min(85.0, lat)))
    y = (1 - math.log(math.tan(phi) + 1 / math.cos(phi)) / math.pi) / 2
    return (lon + 180) / 360 * scale, y * scale


def cell_px(pins: Sequence[Pin]) -> int:
    """The clustering cell: ``CELL_PX``, or only markers that would overlap (``NEAR_PX``)
    when there are few enough sites to name each."""
    return NEAR_PX if len(pins) <= LABELLED else CELL_PX


def cluster(pins: Sequence[Pin], zoom: float, cell: int = CELL_PX) -> list[Cluster]:
    """The pins grouped by grid cell of ``cell`` px at ``zoom`` (one cluster per pin beyond
    the deepest zoom); clusters of neighbouring cells closer than half a cell are merged (a
    group of sites across a cell's edge is one marker, not two on top of each other)."""
    cells: dict[tuple[int, int], list[Pin]] = {}
    for pin in pins:
        x, y = _pixel(pin.lat, pin.lon, zoom)
        key = (pin.site_id, 0) if zoom >= MAX_ZOOM else (int(x // cell), int(y // cell))
        cells.setdefault(key, []).append(pin)
    groups = sorted(cells.values(), key=len, reverse=True)
    if zoom < MAX_ZOOM:
        groups = _merged(groups, zoom, cell / 2)
    return [
        Cluster(
            sum(p.lat for p in group) / len(group),
            sum(p.lon for p in group) / len(group),
            tuple(group),
        )
        for group in groups
    ]


def _merged(groups: list[list[Pin]], zoom: float, within_px: float) -> list[list[Pin]]:
    """Groups whose centres lie within ``within_px`` at ``zoom`` joined (largest first)."""
    kept: list[tuple[float, float, list[Pin]]] = []
    for group in groups:
        x, y = _pixel(
            sum(p.lat for p in group) / len(group), sum(p.lon for p in group) / len(group), zoom
        )
        for kx, ky, pins in kept:
            if math.hypot(kx - x, ky - y) < within_px:
                pins.extend(group)
                break
        else:
            kept.append((x, y, list(group)))
    return [pins for _x, _y, pins in kept]


def _cluster_names(pins: Sequence[Pin]) -> str:
    """``A, B, C and 4 more``: a cluster's tooltip."""
    names = sorted(p.name for p in pins)
    shown = ", ".join(names[:CLUSTER_NAMES])
    more = len(names) - CLUSTER_NAMES
    return f"{shown} and {more:,} more" if more > 0 else shown


def _radius(c: Cluster) -> float:
    """A marker's radius [px]: 8 for a site, growing with a cluster's size up to 20."""
    return 8 if len(c.pins) == 1 else min(20, 10 + 2 * math.log2(len(c.pins)))


def _label_box(x: float, y: float, r: float, text: str, side: str) -> Box:
    """The box of ``text`` beside a dot of radius ``r`` at (x, y) on ``side`` [px]."""
    w, h = len(text) * CHAR_PX + LABEL_PAD_PX, LABEL_H_PX
    if side == "right":
        return x + r, y - h / 2, x + r + w, y + h / 2
    if side == "left":
        return x - r - w, y - h / 2, x - r, y + h / 2
    if side == "top":
        return x - w / 2, y - r - h, x + w / 2, y - r
    return x - w / 2, y + r, x + w / 2, y + r + h


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def placements(clusters: Sequence[Cluster], zoom: float) -> list[str | None]:
    """The side of each lone site's name label (None: no permanent name), greedily: the first
    of ``SIDES`` that covers no dot and no name placed before and stays inside the view the
    map is fitted to (the sites' extent plus ``PAD_PX``, and ``LABEL_PX`` on the right)."""
    points = [(*_pixel(c.lat, c.lon, zoom), _radius(c)) for c in clusters]
    dots = [(x - r, y - r, x + r, y + r) for x, y, r in points]
    view = (
        min(x for x, _, _ in points) - PAD_PX,
        min(y for _, y, _ in points) - PAD_PX,
        max(x for x, _, _ in points) + PAD_PX + LABEL_PX,
        max(y for _, y, _ in points) + PAD_PX,
    )
    taken: list[Box] = []
    sides: list[str | None] = []
    for i, (c, (x, y, r)) in enumerate(zip(clusters, points, strict=True)):
        side = None
        if len(c.pins) == 1:
            others = dots[:i] + dots[i + 1 :] + taken
            for candidate in SIDES:
                box = _label_box(x, y, r, c.pins[0].name, candidate)
                inside = view[0] <= box[0] and box[2] <= view[2] and view[1] <= box[1]
                if inside and box[3] <= view[3] and not any(_overlaps(box, o) for o in others):
                    side = candidate
                    taken.append(box)
                    break
        sides.append(side)
    return sides


def _markers(clusters: Sequence[Cluster], zoom: float) -> list[dict[str, Any]]:
    """The markers' data for ``_LAYER_JS``; ``side``: where a lone site wears its permanent
    name (None: named on hover only, as every site is when more than ``LABELLED`` stand
    alone)."""
    lone = sum(1 for c in clusters if len(c.pins) == 1)
    sides = placements(clusters, zoom) if lone <= LABELLED else [None] * len(clusters)
    return [
        {
            "lat": c.lat,
            "lon": c.lon,
            "n": len(c.pins),
            "r": _radius(c),
            "label": c.pins[0].label if len(c.pins) == 1 else f"{len(c.pins):,}",
            "name": c.pins[0].name if len(c.pins) == 1 else _cluster_names(c.pins),
            "side": side,
            "site": c.pins[0].site_id,
            "zoom": min(MAX_ZOOM, int(zoom) + 2),
        }
        for c, side in zip(clusters, sides, strict=True)
    ]


#: Builds the layer group of markers from ``DATA`` (text only: labels never become HTML) and
#: removes the group it replaces.
_LAYER_JS = """(() => {
  const group = L.layerGroup(); group.id = "%s";
  // one group per map: a draw replaces the previous one even when two draws overlap, and a
  // group replaced before the map added it removes itself when it is added (two draws queued
  // before the map was ready were both added: every name twice)
  window.gpSiteLayers = window.gpSiteLayers || {};
  if (window.gpSiteLayers[group.id]) window.gpSiteLayers[group.id].remove();
  window.gpSiteLayers[group.id] = group;
  group.on("add", () => { if (window.gpSiteLayers[group.id] !== group) group.remove(); });
  for (const c of DATA) {
    const many = c.n > 1;
    const m = L.circleMarker([c.lat, c.lon], {radius: c.r, color: "#1565c0", weight: 1,
      fillColor: many ? "#1976d2" : "#ff9800", fillOpacity: many ? 0.55 : 0.9});
    const text = document.createElement("span"); text.textContent = c.label;
    if (many) {  // the count on the cluster; its sites' names on hover (an SVG title)
      m.bindTooltip(text, {permanent: true, direction: "center", className: "gp-cluster-label"});
      m.on("add", () => {
        const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
        title.textContent = c.name; m._path.appendChild(title);
      });
    } else if (c.side) {  // a permanent name beside the dot; name and power on hover
      const name = document.createElement("span"); name.textContent = c.name;
      const offset = {right: [c.r, 0], left: [-c.r, 0], top: [0, -c.r], bottom: [0, c.r]};
      m.bindTooltip(name, {permanent: true, direction: c.side, offset: offset[c.side],
        className: "gp-site-label"});
      m.on("mouseover", () => { name.textContent = c.label; });
      m.on("mouseout", () => { name.textContent = c.name; });
    } else {
      m.bindTooltip(text, {direction: "top"});
    }
    let tapped = false;  // on a phone the first tap on an unlabelled site names it
    m.on("click", () => {
      if (many) { m._map.setView([c.lat, c.lon], c.zoom); return; }
      if (L.Browser.mobile && !c.side && !tapped) { tapped = true; m.openTooltip(); return; }
      window.location.assign("/sites/" + c.site);
    });
    group.addLayer(m);
  }
  return group;
})()"""

CLUSTER_CSS = """
.gp-cluster-label { background: transparent; border: none; box-shadow: none; color: #fff;
  font-weight: 600; padding: 0; }
.gp-cluster-label::before { display: none; }
.gp-site-label { background: rgba(255, 255, 255, 0.85); border: none; box-shadow: none;
  color: #263238; font-size: 11px; line-height: 1.2; padding: 1px 4px; border-radius: 3px; }
.gp-site-label::before { display: none; }
.body--dark .gp-site-label { background: rgba(30, 34, 40, 0.85); color: #e0e0e0; }
.body--dark .leaflet-container { background: #2b2b2b; }
"""


def site_map(every: Sequence[SiteSummary]) -> None:
    """A card with the map of the sites that have a position (nothing without one)."""
    pins = pins_of(every)
    if not pins:
        return
    ui.add_css(CLUSTER_CSS)
    lats, lons = [p.lat for p in pins], [p.lon for p in pins]
    tiles = current().settings.web_map_tiles_url
    with ui.card().classes("w-full"):
        ui.label(f"Sites on the map ({len(pins):,})").classes("text-subtitle1")
        area = (
            ui.leaflet(center=(sum(lats) / len(lats), sum(lons) / len(lons)), zoom=4)
            .classes("w-full h-80")
            .props("data-testid=site-map")
        )
        area.clear_layers()  # no tiles unless configured: markers on a plain background
        if tiles:
            area.tile_layer(url_template=tiles, options={"attribution": "map tiles"})

    def draw(zoom: float) -> None:
        data = json.dumps(_markers(cluster(pins, zoom, cell_px(pins)), zoom))
        area.run_method("remove_layer", LAYER_ID)
        area.run_map_method(":addLayer", (_LAYER_JS % LAYER_ID).replace("DATA", data, 1))

    def on_init() -> None:
        if len(pins) > 1:
            bounds = [[min(lats), min(lons)], [max(lats), max(lons)]]
            fit = {
                "paddingTopLeft": [PAD_PX, PAD_PX],
                "paddingBottomRight": [PAD_PX + LABEL_PX, PAD_PX],
                "maxZoom": 12,
            }
            area.run_map_method("fitBounds", bounds, fit)
        draw(area.zoom)

    def on_zoom(event: GenericEventArguments) -> None:
        draw(float(event.args.get("zoom", area.zoom)))

    area.on("init", on_init)
    area.on("map-zoomend", on_zoom)
