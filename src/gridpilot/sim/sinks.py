"""Destinations of live samples: the in-process ingest service, or HTTP ``POST /telemetry``."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
from numpy.typing import NDArray

from gridpilot.core.errors import Unavailable
from gridpilot.sim.generate import readings
from gridpilot.sim.noise import Array
from gridpilot.sim.provision import SIMULATOR, SimAsset
from gridpilot.telemetry import service as telemetry_service
from gridpilot.telemetry.tasks import TelemetryRuntime


class IngestSink:
    """Calls the telemetry ingest service of this process (the demo, the API's simulator)."""

    def __init__(self, runtime: TelemetryRuntime) -> None:
        self.runtime = runtime
        self.stored = 0
        self.rejected = 0
        self.last_rejection: str | None = None

    async def send(self, asset: SimAsset, ts: NDArray[np.int64], values: dict[str, Array]) -> None:
        batch = list(readings(asset.asset_id, ts, values))
        result = await telemetry_service.ingest(
            batch, principal=SIMULATOR, runtime=self.runtime, channel="sim"
        )
        self.stored += result.stored
        self.rejected += len(result.rejected)
        if result.rejected:
            self.last_rejection = result.rejected[0].reason


class HttpSink:
    """Posts JSON batches to ``{url}/api/v1/telemetry`` with an API key (X-API-Key)."""

    def __init__(self, url: str, api_key: str, client: httpx.AsyncClient | None = None) -> None:
        self.endpoint = url.rstrip("/") + "/api/v1/telemetry"
        self.client = client or httpx.AsyncClient(timeout=30.0)
        self.headers = {"X-API-Key": api_key}
        self.stored = 0
        self.rejected = 0

    async def send(self, asset: SimAsset, ts: NDArray[np.int64], values: dict[str, Array]) -> None:
        body: dict[str, Any] = {"readings": list(readings(asset.asset_id, ts, values))}
        try:
            response = await self.client.post(self.endpoint, json=body, headers=self.headers)
        except httpx.HTTPError as exc:
            raise Unavailable(f"cannot reach {self.endpoint}: {exc}") from exc
        if response.status_code not in (200, 207, 422):
            raise Unavailable(
                f"{self.endpoint} answered {response.status_code}: {response.text[:200]}"
            )
        answer = response.json()
        self.stored += int(answer.get("stored", 0))
        self.rejected += len(answer.get("rejected", []))

    async def close(self) -> None:
        await self.client.aclose()
