"""The overview's map of sites in Debian's headless Chromium: a few sites wear their names
without a hover, a cluster of close sites shows its count, and the view fits them all: no
marker and no label is cut at the map's edges (a cluster at the southern edge was cut off), and
no name covers another name or another site's dot ("Turin depot" covered "Milan works" on a
phone). Light, dark and a 390 px phone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.web.dashboard_server import Dashboard, dashboard_server
from tests.web.settings_browser import api, log_in, shot

pytest.importorskip("playwright")
from playwright.async_api import Browser, Page, expect

#: Three sites apart from each other and, far south, six close together (one cluster).
ALONE = {"Milan works": (45.46, 9.19), "Turin depot": (45.07, 7.69), "Rome offices": (41.9, 12.5)}
CLOSE = {f"Palermo unit {i}": (38.1 + i * 0.002, 13.36 + i * 0.002) for i in range(6)}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    with dashboard_server(tmp_path_factory.mktemp("map")) as dashboard:
        dashboard.add_user("admin", "administrator")
        http = api(dashboard)
        for name, (lat, lon) in {**ALONE, **CLOSE}.items():
            made = http.post(
                "/sites",
                json={"name": name, "timezone": "Europe/Rome", "latitude": lat, "longitude": lon},
            )
            assert made.status_code == 201, made.text
        yield dashboard


async def _inside_the_map(page: Page) -> list[str]:
    """What of the map's markers and labels lies outside the map's box."""
    return await page.evaluate(
        """() => {
          const map = document.querySelector('[data-testid="site-map"]').getBoundingClientRect();
          const out = [];
          const parts = document.querySelectorAll(
            '[data-testid="site-map"] .leaflet-overlay-pane path, ' +
            '[data-testid="site-map"] .leaflet-tooltip');
          for (const e of parts) {
            const r = e.getBoundingClientRect();
            if (r.left < map.left || r.right > map.right || r.top < map.top
                || r.bottom > map.bottom) out.push(e.textContent || e.tagName);
          }
          return out;
        }"""
    )


async def _covered(page: Page) -> list[str]:
    """Names drawn over another name, or over a dot other than their own (1 px of slack)."""
    return await page.evaluate(
        """() => {
          const root = document.querySelector('[data-testid="site-map"]');
          const labels = [...root.querySelectorAll('.leaflet-tooltip.gp-site-label')];
          const dots = [...root.querySelectorAll('.leaflet-overlay-pane path')]
            .map(e => e.getBoundingClientRect());
          const hit = (a, b) => a.left + 1 < b.right && b.left + 1 < a.right
            && a.top + 1 < b.bottom && b.top + 1 < a.bottom;
          const out = [];
          labels.forEach((l, i) => {
            const r = l.getBoundingClientRect();
            labels.forEach((o, j) => {
              if (j > i && hit(r, o.getBoundingClientRect()))
                out.push(l.textContent + " over " + o.textContent);
            });
            const onDots = dots.filter(d => hit(r, d)).length;
            if (onDots > 1) out.push(l.textContent + " over " + (onDots - 1) + " other dot(s)");
          });
          return out;
        }"""
    )


@pytest.mark.parametrize(("mode", "width"), [("light", 1440), ("dark", 1440), ("phone", 390)])
async def test_the_map_names_the_sites_and_cuts_none(server, browser: Browser, mode, width):
    context = await browser.new_context(
        viewport={"width": width, "height": 900}, is_mobile=width < 600
    )
    page = await context.new_page()
    try:
        await log_in(page, server.url, "admin", "/")
        if mode == "dark":
            await page.get_by_test_id("dark-toggle").click()
            await page.reload()
        site_map = page.get_by_test_id("site-map")
        await expect(site_map).to_be_visible(timeout=30_000)
        await site_map.scroll_into_view_if_needed()
        for name in ALONE:  # named without any hover or tap
            await expect(site_map.locator(".gp-site-label", has_text=name)).to_be_visible()
        await expect(site_map.locator(".gp-cluster-label", has_text="6")).to_be_visible()
        await page.wait_for_timeout(500)  # Leaflet's fit animation
        assert await _inside_the_map(page) == []
        assert await _covered(page) == []
        await shot(page, f"site-map-{mode}")
    finally:
        await context.close()
