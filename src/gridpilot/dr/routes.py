"""Demand-response routes: ``router`` under /api/v1; ``seed_router`` at the facility seed's paths
(``/api/dr-events``, ``/webhooks/utility/dr-notification``)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["demand response"])
seed_router = APIRouter(tags=["demand response"])
