"""Where the map puts each lone site's name (``web.site_map.placements``): beside its dot,
never over another dot or name, never outside the view the map is fitted to."""

from __future__ import annotations

import itertools

from gridpilot.web.site_map import (
    Cluster,
    Pin,
    _label_box,
    _pixel,
    _radius,
    cluster,
    placements,
)


def lone(site_id: int, name: str, lat: float, lon: float) -> Cluster:
    return Cluster(lat, lon, (Pin(site_id, name, lat, lon, name),))


def boxes(clusters: list[Cluster], zoom: float) -> list[tuple[float, float, float, float]]:
    """The name boxes placed, each beside its own dot [px]."""
    out = []
    for c, side in zip(clusters, placements(clusters, zoom), strict=True):
        if side is not None:
            x, y = _pixel(c.lat, c.lon, zoom)
            out.append(_label_box(x, y, _radius(c), c.pins[0].name, side))
    return out


def test_a_site_alone_is_named_on_its_right():
    assert placements([lone(1, "Rome offices", 41.9, 12.5)], 6) == ["right"]


def overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_a_name_that_would_cover_its_neighbour_moves_to_a_free_side():
    # Turin lies ~115 km west and ~40 km south of Milan: at zoom 5 (a phone's map) a name on
    # Turin's right crosses Milan's dot
    turin, milan = lone(1, "Turin depot", 45.07, 7.69), lone(2, "Milan works", 45.46, 9.19)
    zoom = 5
    tx, ty = _pixel(turin.lat, turin.lon, zoom)
    mx, my = _pixel(milan.lat, milan.lon, zoom)
    assert overlap(_label_box(tx, ty, 8, "Turin depot", "right"), (mx - 8, my - 8, mx + 8, my + 8))
    sides = placements([turin, milan], zoom)
    assert sides[0] in {"top", "bottom"} and sides[1] == "right"
    first, second = boxes([turin, milan], zoom)
    assert not overlap(first, second)


def test_no_two_names_and_no_name_and_dot_overlap_among_many_close_sites():
    sites = [
        lone(i, f"Site {i:02d}", 45.0 + (i % 4) * 0.25, 9.0 + (i // 4) * 0.35) for i in range(12)
    ]
    zoom = 7
    placed = boxes(sites, zoom)
    assert 0 < len(placed) < 12  # some names cannot be placed: hover only
    for a, b in itertools.combinations(placed, 2):
        assert not overlap(a, b), (a, b)
    dots = [(*_pixel(c.lat, c.lon, zoom), _radius(c)) for c in sites]
    for box in placed:
        covered = [d for d in dots if box[0] < d[0] + d[2] and d[0] - d[2] < box[2]
                   and box[1] < d[1] + d[2] and d[1] - d[2] < box[3]]  # fmt: skip
        assert len(covered) <= 1  # its own dot touches its edge at most


def test_names_stay_inside_the_fitted_view():
    # the westmost site cannot take the left (48 px of room) for a long name
    west, east = lone(1, "A very long site name west", 45.0, 7.0), lone(2, "East", 45.0, 7.2)
    zoom = 8
    sides = placements([west, east], zoom)
    assert sides[0] != "left"


def test_clusters_keep_their_count_and_no_name():
    pins = [Pin(i, f"P{i}", 38.1 + i * 0.002, 13.36 + i * 0.002, f"P{i}") for i in range(6)]
    clusters = cluster(pins, 6)
    assert [len(c.pins) for c in clusters] == [6]
    assert placements(clusters, 6) == [None]
