"""gridpilot as an OpenADR 2.0b VEN: one openleadr ``OpenADRClient`` per enabled VTN connection,
in the one process that holds the connection's lease (``openadr_leases``, renewed every tick;
another process takes over once it lapses), so two processes never both poll a VTN.

The client registers (oadrQueryRegistration, oadrCreatePartyRegistration), offers a
TELEMETRY_USAGE report with one r_id per site (``site-<id>``, real power in kW), polls, and hands
every event to ``ven_events.apply_event``; the answer (optIn/optOut) goes back in
oadrCreatedEvent. A changed configuration (``config_version``) restarts the client.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import uuid
from functools import partial
from typing import Any

from openleadr import OpenADRClient
from sqlalchemy.ext.asyncio import async_sessionmaker

from gridpilot.core.bus import EventBus
from gridpilot.core.timestamps import now_ms as clock_ms
from gridpilot.dr import events as dr_events
from gridpilot.openadr import service
from gridpilot.openadr.models import OpenAdrVen
from gridpilot.openadr.usage import last_usage_kw
from gridpilot.openadr.ven_events import OPT_OUT, apply_event, opt_changes

log = logging.getLogger(__name__)


def lease_name(ven_config_id: int) -> str:
    return f"ven:{ven_config_id}"


class VenConnection:
    """One running openleadr client for one configured VTN connection."""

    def __init__(self, cfg: OpenAdrVen, sessions: async_sessionmaker[Any], bus: EventBus) -> None:
        self.id, self.version = cfg.id, cfg.config_version
        self.sessions, self.bus = sessions, bus
        self.client = OpenADRClient(
            ven_name=cfg.ven_name,
            vtn_url=cfg.vtn_url,
            ven_id=cfg.ven_id,
            cert=cfg.cert_path,
            key=cfg.key_path,
            ca_file=cfg.ca_file,
            vtn_fingerprint=cfg.vtn_fingerprint,
            check_hostname=cfg.check_hostname,
            disable_signature=cfg.cert_path is None,
            show_fingerprint=False,
        )
        self.client.add_handler("on_event", self.on_event)
        self.client.add_handler("on_update_event", self.on_event)
        period = dt.timedelta(seconds=cfg.report_interval_s)
        for site_id in cfg.site_ids:
            self.client.add_report(
                callback=partial(self.usage, site_id),
                resource_id=f"site-{site_id}",
                measurement="power_real",
                unit="W",
                scale="k",
                report_specifier_id=f"gridpilot-usage-{cfg.id}",
                r_id=f"site-{site_id}",
                sampling_rate=period,
                report_duration=period,
            )

    async def start(self) -> bool:
        """Register and start polling; whether the VTN registered us."""
        await self.client.run()
        registered = self.client.registration_id is not None
        async with self.sessions() as session, session.begin():
            await service.note_poll(
                session=session,
                ven_config_id=self.id,
                at_ms=clock_ms(),
                error=None if registered else "the VTN did not register this VEN",
                ven_id=self.client.ven_id,
                registration_id=self.client.registration_id,
            )
        return registered

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.client.stop()

    async def on_event(self, event: dict[str, Any]) -> str:
        """openleadr's ``on_event``/``on_update_event``: the opt answer."""
        now = clock_ms()
        try:
            async with self.sessions() as session, session.begin():
                cfg = await service.get_ven(session=session, ven_config_id=self.id)
                opt, changes = await apply_event(session=session, cfg=cfg, event=event, now_ms=now)
                await service.note_poll(
                    session=session, ven_config_id=self.id, at_ms=now, error=None
                )
        except Exception:
            log.exception("OpenADR event could not be taken (connection %d)", self.id)
            return OPT_OUT
        await dr_events.publish(self.bus, changes)
        return opt

    async def send_opt_changes(self) -> int:
        """Send the VTN a new oadrCreatedEvent for each event whose answer an operator changed
        (``POST /api/v1/dr-events/{id}/opt``); how many were sent."""
        async with self.sessions() as session, session.begin():
            cfg = await service.get_ven(session=session, ven_config_id=self.id)
            changes = await opt_changes(session=session, cfg=cfg, now_ms=clock_ms())
            for received, answer in changes:
                await self.client.created_event(
                    request_id=uuid.uuid4().hex,
                    event_id=received.event_id,
                    opt_type=answer,
                    modification_number=received.modification_number,
                )
                received.opt_type = answer
        return len(changes)

    async def usage(self, site_id: int) -> list[tuple[dt.datetime, float]]:
        """The report callback: the site's last 15-min consumption [kW] (none when unknown)."""
        async with self.sessions() as session:
            found = await last_usage_kw(session=session, site_id=site_id, now_ms=clock_ms())
        return [] if found is None else [found]


class VenRuntime:
    """Runs the connections whose lease this process holds; ``tick`` every ``interval_s``."""

    def __init__(
        self, sessions: async_sessionmaker[Any], bus: EventBus, *, interval_s: float, owner: str
    ) -> None:
        self.sessions, self.bus, self.interval_s, self.owner = sessions, bus, interval_s, owner
        self.connections: dict[int, VenConnection] = {}

    @property
    def ttl_ms(self) -> int:
        return int(self.interval_s * 3000)

    async def tick(self) -> None:
        """Take or renew the lease of every enabled connection; start, restart or stop clients."""
        now = clock_ms()
        async with self.sessions() as session, session.begin():
            configs = {c.id: c for c in await service.list_vens(session=session, enabled_only=True)}
            held = set()
            for cfg_id in configs:
                if await service.take_lease(
                    session=session,
                    name=lease_name(cfg_id),
                    owner=self.owner,
                    now_ms=now,
                    ttl_ms=self.ttl_ms,
                ):
                    held.add(cfg_id)
            session.expunge_all()
        for cfg_id, conn in list(self.connections.items()):
            cfg = configs.get(cfg_id)
            if cfg_id not in held or cfg is None or cfg.config_version != conn.version:
                await conn.stop()
                del self.connections[cfg_id]
        for conn in self.connections.values():
            try:
                await conn.send_opt_changes()
            except Exception:
                log.exception("OpenADR opt changes of connection %d not sent", conn.id)
        for cfg_id in held - set(self.connections):
            conn = VenConnection(configs[cfg_id], self.sessions, self.bus)
            try:
                if await conn.start():
                    self.connections[cfg_id] = conn
                    continue
            except Exception as exc:
                log.exception("OpenADR connection %d could not start", cfg_id)
                async with self.sessions() as session, session.begin():
                    await service.note_poll(
                        session=session,
                        ven_config_id=cfg_id,
                        at_ms=clock_ms(),
                        error=str(exc)[:2000],
                    )
            await conn.stop()

    async def stop(self) -> None:
        for cfg_id, conn in list(self.connections.items()):
            await conn.stop()
            async with self.sessions() as session, session.begin():
                await service.drop_lease(session=session, name=lease_name(cfg_id), owner=self.owner)
        self.connections.clear()
