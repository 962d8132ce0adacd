"""Energy-community routes: ``router`` under /api/v1; ``seed_router`` at the CER seed's paths
(``/api/cer/...``, ``/api/plants/...``, ``/api/energy/...``, ``/api/economic/...``)."""

from __future__ import annotations

from fastapi import APIRouter

from gridpilot.community.seed_routes import seed_router

router = APIRouter(tags=["community"])

__all__ = ["router", "seed_router"]
