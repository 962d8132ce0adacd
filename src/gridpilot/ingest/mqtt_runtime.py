"""Starting the MQTT ingest worker in a process (`gridpilot serve` or `gridpilot ingest`)."""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.assets.schemas import MetricCreate
from gridpilot.assets.service import create_metric, find_metric_ref
from gridpilot.core.bus import EventBus
from gridpilot.core.errors import Conflict
from gridpilot.core.runtime import Slot
from gridpilot.core.settings import Settings
from gridpilot.ingest.decoders import CER_EXTRA_METRICS
from gridpilot.ingest.mqtt_worker import MqttIngestWorker
from gridpilot.telemetry.tasks import TelemetryRuntime

log = logging.getLogger(__name__)


async def ensure_ingest_metrics(*, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Create the catalogue metrics the CER device message maps to, when missing.

    Idempotent and safe when several workers start at once (a lost race is ignored).
    """
    for key, unit, kind, description, low, high in CER_EXTRA_METRICS:
        try:
            async with sessions() as session, session.begin():
                if await find_metric_ref(session=session, key=key) is not None:
                    continue
                data = MetricCreate(
                    key=key,
                    unit=unit,
                    kind=kind,
                    description=description,
                    min_value=low,
                    max_value=high,
                )
                await create_metric(session=session, data=data)
        except (Conflict, IntegrityError):
            log.debug("metric %s was created concurrently", key)


async def start_mqtt_ingest(
    *,
    settings: Settings,
    telemetry: TelemetryRuntime,
    sessions: async_sessionmaker[AsyncSession],
    bus: EventBus,
    client_id: str | None = None,
) -> MqttIngestWorker:
    """Ensure the ingest metrics exist and start a worker (it connects in the background)."""
    await ensure_ingest_metrics(sessions=sessions)
    worker = MqttIngestWorker(
        settings=settings, runtime=telemetry, sessions=sessions, bus=bus, client_id=client_id
    )
    worker.start()
    return worker


#: The MQTT ingest worker of ``gridpilot serve`` (``core/runtime.py``), when one runs.
MQTT_INGEST: Slot[MqttIngestWorker] = Slot("mqtt_ingest")
