"""``GET /metrics``: Prometheus text exposition of this process's collectors (READ permission).

Prometheus authenticates like any other client: a Bearer token (``authorization: credentials_file``
in the scrape config) or a service API key (``X-API-Key`` header); see bench/README.md.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gridpilot.auth.dependencies import Reader
from gridpilot.core.runtime import runtime_of

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format; READ permission)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
async def metrics(request: Request, principal: Reader) -> Response:
    registry = runtime_of(request.app).metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
