"""Energy-community routes: ``router`` under /api/v1; ``seed_router`` at the CER seed's paths
(``/api/cer/...``, ``/api/plants/...``, ``/api/energy/...``, ``/api/economic/...``)."""

from __future__ import annotations

from fastapi import APIRouter

from gridpilot.community import (
    auth_aliases,
    economic_routes,
    energy_routes,
    ledger_routes,
    measurement_routes,
    seed_routes,
    settlement_routes,
)

router = APIRouter(tags=["community"])
router.include_router(energy_routes.router)
router.include_router(settlement_routes.router)
router.include_router(ledger_routes.router)

seed_router = APIRouter(tags=["community"])
seed_router.include_router(seed_routes.seed_router)
seed_router.include_router(energy_routes.seed_router)
seed_router.include_router(settlement_routes.seed_router)
seed_router.include_router(economic_routes.seed_router)
seed_router.include_router(measurement_routes.seed_router)
seed_router.include_router(ledger_routes.seed_router)
seed_router.include_router(auth_aliases.seed_router)
