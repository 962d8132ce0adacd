"""``/docs`` and ``/redoc`` render in Chromium with every request outside the server refused:
their scripts and styles come from gridpilot itself, never from a CDN (#16)."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from tests.web.dashboard_server import dashboard_server


async def test_docs_and_redoc_render_without_internet(tmp_path, browser):
    with dashboard_server(tmp_path) as dashboard:
        local = urlsplit(dashboard.url).netloc
        page = await browser.new_page()
        outside: list[str] = []

        async def only_local(route) -> None:
            if urlsplit(route.request.url).netloc == local:
                await route.continue_()
            else:
                outside.append(route.request.url)
                await route.abort()

        await page.route("**/*", only_local)
        await page.goto(f"{dashboard.url}/docs")
        # Swagger UI lists the operations of the OpenAPI document
        await page.locator(".opblock-summary-path").first.wait_for(timeout=30_000)
        paths = await page.locator(".opblock-summary-path").all_inner_texts()
        assert any(p.startswith("/api/v1/sites") for p in paths)
        await page.goto(f"{dashboard.url}/redoc")
        await page.get_by_text("/api/v1/sites", exact=False).first.wait_for(timeout=30_000)
        await page.close()
        assert outside == []
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
            answer = httpx.get(f"{dashboard.url}/docs-assets/{asset}", timeout=10)
            assert answer.status_code == 200 and len(answer.content) > 100_000
