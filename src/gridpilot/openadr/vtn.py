"""gridpilot as an OpenADR 2.0b VTN for its own fleet (an aggregator): an openleadr
``OpenADRServer`` on its own port, run by the one process holding the ``vtn`` lease.

- registration: a VEN configured as a peer (``openadr_peers``) by its name and, over TLS, the
  fingerprint of its client certificate; anything else is refused;
- events: the API stores ``openadr_vtn_events`` (pending); each tick queues them for the VENs
  serving their sites (``add_event``), and passes cancellations (``cancel_event``); the VENs'
  opt answers and deliveries are stored per delivery;
- reports: every TELEMETRY_USAGE r_id a VEN offers is requested (sampling 15 min, or the
  nearest the VEN allows); the values [kW] go into the deliveries of that VEN's events.

openleadr keeps a VTN's message signer and VEN look-up on a class (``VTNService``): one
``OpenADRServer`` per process.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from functools import partial
from typing import Any

from openleadr import OpenADRServer, utils
from sqlalchemy.ext.asyncio import async_sessionmaker

from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import now_ms as clock_ms
from gridpilot.openadr import service
from gridpilot.openadr.mapping import SCALE_TO_KW
from gridpilot.openadr.models import OpenAdrVtnEvent

log = logging.getLogger(__name__)
LEASE = "vtn"
#: Usage is kept for an event from an hour before its start to an hour after its end [ms].
REPORT_MARGIN_MS = 3_600_000
#: The report sampling the VTN asks for when the VEN allows it.
REPORT_SAMPLING = dt.timedelta(minutes=15)


class Vtn:
    """The openleadr server and its handlers, bound to the database."""

    def __init__(self, settings: Settings, sessions: async_sessionmaker[Any]) -> None:
        self.sessions = sessions
        tls = settings.openadr_vtn_cert, settings.openadr_vtn_key, settings.openadr_vtn_ca_file
        self.tls = all(tls)
        self.server = OpenADRServer(
            vtn_id=settings.openadr_vtn_id,
            cert=settings.openadr_vtn_cert,
            key=settings.openadr_vtn_key,
            http_cert=tls[0] if self.tls else None,
            http_key=tls[1] if self.tls else None,
            http_ca_file=tls[2] if self.tls else None,
            http_host=settings.openadr_vtn_host,
            http_port=settings.openadr_vtn_port,
            requested_poll_freq=dt.timedelta(seconds=settings.openadr_vtn_poll_s),
            ven_lookup=self.lookup,
            show_fingerprint=False,
        )
        self.server.add_handler("on_create_party_registration", self.register)
        self.server.add_handler("on_register_report", self.register_report)

    async def register(self, payload: dict[str, Any]) -> tuple[str, str] | bool:
        """A configured, enabled peer by name (and, over TLS, certificate fingerprint)."""
        async with self.sessions() as session, session.begin():
            peer = await service.peer_by(session=session, ven_name=str(payload.get("ven_name")))
            if peer is None:
                log.warning(
                    "OpenADR registration of unknown VEN %r refused", payload.get("ven_name")
                )
                return False
            if self.tls and (
                peer.fingerprint is None or payload.get("fingerprint") != peer.fingerprint
            ):
                log.warning("OpenADR registration of %r refused: fingerprint", peer.ven_name)
                return False
            peer.registration_id = peer.registration_id or f"reg-{uuid.uuid4().hex[:16]}"
            peer.registered_ms = clock_ms()
            return peer.ven_id, peer.registration_id

    async def lookup(self, ven_id: str) -> dict[str, Any]:
        async with self.sessions() as session:
            peer = await service.peer_by(session=session, ven_id=str(ven_id))
        if peer is None:
            return {}
        return {
            "ven_id": peer.ven_id,
            "ven_name": peer.ven_name,
            "fingerprint": peer.fingerprint,
            "registration_id": peer.registration_id,
        }

    async def register_report(
        self,
        ven_id: str,
        resource_id: str,
        measurement: str,
        unit: str,
        scale: str,
        min_sampling_interval: dt.timedelta,
        max_sampling_interval: dt.timedelta,
    ) -> tuple[Any, dt.timedelta] | None:
        """Ask for every power r_id of a TELEMETRY_USAGE report (openleadr's compact form)."""
        if unit != "W" or (scale or "none") not in SCALE_TO_KW:
            return None
        sampling = min(max(REPORT_SAMPLING, min_sampling_interval), max_sampling_interval)
        factor = SCALE_TO_KW[scale or "none"]
        return partial(self.usage, ven_id, resource_id, factor), sampling

    async def usage(
        self, ven_id: str, resource_id: str, factor: float, values: list[tuple[dt.datetime, float]]
    ) -> None:
        points = [
            (resource_id, int(when.timestamp() * 1000), round(float(v) * factor, 6))
            for when, v in values
        ]
        async with self.sessions() as session, session.begin():
            await service.record_usage(
                session=session, ven_id=ven_id, points=points, margin_ms=REPORT_MARGIN_MS
            )

    async def on_opt(self, ven_id: str, event_id: str, opt_type: str) -> None:
        """A VEN's answer (oadrCreatedEvent). openleadr forgets the callback after the first
        answer: it is registered again, so a VEN's later change of mind is stored too."""
        event = utils.find_by(
            self.server.events.get(ven_id, []), "event_descriptor.event_id", event_id
        )
        if event is not None:
            self.server.event_callbacks[event_id] = (event, self.on_opt)
        async with self.sessions() as session, session.begin():
            await service.record_opt(
                session=session,
                ven_id=ven_id,
                event_id=event_id,
                opt_type=opt_type,
                now_ms=clock_ms(),
            )

    def queue(self, event: OpenAdrVtnEvent, ven_id: str) -> None:
        start = dt.datetime.fromtimestamp(event.start_ms / 1000, tz=dt.UTC)
        interval = {
            "dtstart": start,
            "duration": dt.timedelta(milliseconds=event.end_ms - event.start_ms),
            "signal_payload": event.signal_value,
        }
        self.server.add_event(
            ven_id=ven_id,
            signal_name=event.signal_name,
            signal_type=event.signal_type,
            intervals=[interval],
            event_id=event.event_id,
            callback=self.on_opt,
        )

    async def sync(self, now_ms: int) -> None:
        """Queue pending events for their VENs, pass on cancellations."""
        async with self.sessions() as session, session.begin():
            for event in await service.list_vtn_events(
                session=session, status=("pending", "cancel_requested")
            ):
                rows = await service.deliveries(session=session, vtn_event_id=event.id)
                for _, peer in rows:
                    if event.status == "pending" and peer.enabled:
                        self.queue(event, peer.ven_id)
                    elif event.status == "cancel_requested":
                        self.server.cancel_event(peer.ven_id, event.event_id)
                event.status = "queued" if event.status == "pending" else "cancelled"
                event.updated_ms = now_ms

    async def requeue(self, now_ms: int) -> None:
        """At start: events queued by an earlier server that have not ended are queued again
        (openleadr keeps its queues in memory)."""
        async with self.sessions() as session, session.begin():
            for event in await service.list_vtn_events(
                session=session, status=("queued",), limit=10_000
            ):
                if event.end_ms > now_ms:
                    event.status = "pending"


class VtnRuntime:
    """Takes the ``vtn`` lease, runs the server while it holds it, syncs events every tick."""

    def __init__(
        self, settings: Settings, sessions: async_sessionmaker[Any], *, owner: str
    ) -> None:
        self.settings, self.sessions, self.owner = settings, sessions, owner
        self.vtn: Vtn | None = None

    async def tick(self) -> None:
        now = clock_ms()
        ttl = int(max(self.settings.openadr_ven_interval_s, 1.0) * 3000)
        async with self.sessions() as session, session.begin():
            held = await service.take_lease(
                session=session, name=LEASE, owner=self.owner, now_ms=now, ttl_ms=ttl
            )
        if not held:
            await self.stop_server()
            return
        if self.vtn is None:
            vtn = Vtn(self.settings, self.sessions)
            await vtn.requeue(now)
            await vtn.server.run()
            self.vtn = vtn
        await self.vtn.sync(now)

    async def stop_server(self) -> None:
        vtn, self.vtn = self.vtn, None
        if vtn is not None:
            await vtn.server.stop()

    async def stop(self) -> None:
        await self.stop_server()
        async with self.sessions() as session, session.begin():
            await service.drop_lease(session=session, name=LEASE, owner=self.owner)
