"""Energy-community routes: ``router`` under /api/v1; ``seed_router`` at the CER seed's paths
(``/api/cer/...``, ``/api/plants/...``, ``/api/energy/...``, ``/api/economic/...``)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["community"])
seed_router = APIRouter(tags=["community"])
