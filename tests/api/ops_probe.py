"""A templated test route for the operations tests (middleware, metrics, logging, rate limit)."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from gridpilot.auth.dependencies import Reader

PROBE_TEMPLATE = "/api/v1/ops-probe/{thing_id}"
probe_log = logging.getLogger("gridpilot.tests.probe")


def add_probe_route(app: FastAPI) -> None:
    """``GET /api/v1/ops-probe/{thing_id}`` (READ); logs one line inside the request."""

    async def probe(thing_id: int, principal: Reader) -> dict[str, object]:
        probe_log.info("probe %d", thing_id)
        return {"thing_id": thing_id, "caller": principal.subject}

    app.add_api_route(PROBE_TEMPLATE, probe, methods=["GET"])
