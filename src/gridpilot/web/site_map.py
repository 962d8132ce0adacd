"""The map of sites, clustered on the server by zoom level (no plug-in, no CDN, no tiles unless
configured): sites within ``CELL_PX`` screen pixels of each other at the map's zoom share one
marker labelled with their count; a single site's marker names it and its consumption now."""

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
LAYER_ID = "gp-sites"
MAX_ZOOM = 18


@dataclass(frozen=True)
class Pin:
    site_id: int
    label: str
    lat: float
    lon: float


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


def cluster(pins: Sequence[Pin], zoom: float) -> list[Cluster]:
    """The pins grouped by grid cell of ``CELL_PX`` at ``zoom`` (one cluster per pin beyond
    the deepest zoom)."""
    cells: dict[tuple[int, int], list[Pin]] = {}
    for pin in pins:
        x, y = _pixel(pin.lat, pin.lon, zoom)
        key = (pin.site_id, 0) if zoom >= MAX_ZOOM else (int(x // CELL_PX), int(y // CELL_PX))
        cells.setdefault(key, []).append(pin)
    return [
        Cluster(
            sum(p.lat for p in group) / len(group),
            sum(p.lon for p in group) / len(group),
            tuple(group),
        )
        for group in cells.values()
    ]


def _markers(clusters: Sequence[Cluster], zoom: float) -> list[dict[str, Any]]:
    return [
        {
            "lat": c.lat,
            "lon": c.lon,
            "n": len(c.pins),
            "r": 8 if len(c.pins) == 1 else min(20, 10 + 2 * math.log2(len(c.pins))),
            "label": c.pins[0].label if len(c.pins) == 1 else f"{len(c.pins):,}",
            "site": c.pins[0].site_id,
            "zoom": min(MAX_ZOOM, int(zoom) + 2),
        }
        for c in clusters
    ]


#: Builds the layer group of markers from ``DATA`` (text only: labels never become HTML) and
#: removes the group it replaces.
_LAYER_JS = """(() => {
  const group = L.layerGroup(); group.id = "%s";
  // one group per map: a draw replaces the previous one even when two draws overlap
  window.gpSiteLayers = window.gpSiteLayers || {};
  if (window.gpSiteLayers[group.id]) window.gpSiteLayers[group.id].remove();
  window.gpSiteLayers[group.id] = group;
  for (const c of DATA) {
    const many = c.n > 1;
    const m = L.circleMarker([c.lat, c.lon], {radius: c.r, color: "#1565c0", weight: 1,
      fillColor: many ? "#1976d2" : "#ff9800", fillOpacity: many ? 0.55 : 0.9});
    const text = document.createElement("span"); text.textContent = c.label;
    m.bindTooltip(text, many ? {permanent: true, direction: "center",
      className: "gp-cluster-label"} : {direction: "top"});
    m.on("click", () => many ? m._map.setView([c.lat, c.lon], c.zoom)
      : window.location.assign("/sites/" + c.site));
    group.addLayer(m);
  }
  return group;
})()"""

CLUSTER_CSS = """
.gp-cluster-label { background: transparent; border: none; box-shadow: none; color: #fff;
  font-weight: 600; padding: 0; }
.gp-cluster-label::before { display: none; }
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
        data = json.dumps(_markers(cluster(pins, zoom), zoom))
        area.run_method("remove_layer", LAYER_ID)
        area.run_map_method(":addLayer", (_LAYER_JS % LAYER_ID).replace("DATA", data, 1))

    def on_init() -> None:
        if len(pins) > 1:
            bounds = [[min(lats), min(lons)], [max(lats), max(lons)]]
            area.run_map_method("fitBounds", bounds, {"padding": [24, 24], "maxZoom": 12})
        draw(area.zoom)

    def on_zoom(event: GenericEventArguments) -> None:
        draw(float(event.args.get("zoom", area.zoom)))

    area.on("init", on_init)
    area.on("map-zoomend", on_zoom)
