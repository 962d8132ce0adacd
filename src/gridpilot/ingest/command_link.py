"""The command link: publishes queued device commands over MQTT (QoS 1) and marks them sent.

Runs in the API process when ``GRIDPILOT_MQTT_URL`` is set (``start_command_link``). It wakes on
``command.updated`` (a new queued command) and ``asset.status`` (a device came online) and polls
every ``command_check_interval_s`` (commands queued by other processes). For each queued,
unexpired command of an online asset it first claims the command (queued -> sent, a
compare-and-set over the page of up to 200, so of several API processes exactly one sends each
command), then publishes (concurrently, the page at once)
``{"command_id", "idempotency_key", "kind", "params", "issued_ms", "expires_ms"}`` to
``{prefix}{base}/commands`` and waits for the broker's PUBACK. When publishing fails the command
goes back to queued. A process that dies between claim and publish leaves the command ``sent``;
it expires at its TTL. Devices acknowledge on ``{base}/commands/ack`` (handled by the MQTT
ingest worker, see ``gridpilot.control.inbound``).

Without ``GRIDPILOT_MQTT_URL`` no process sends: commands stay queued and expire at their TTL,
except those of the in-process simulator's assets, which ``gridpilot.sim.commands`` delivers
(and this link leaves alone).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import uuid
from collections.abc import Callable, Collection

import aiomqtt
from aiomqtt import MqttError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.control import bulk, service
from gridpilot.control.events import publish_command_changes
from gridpilot.control.topics import command_message, command_topic
from gridpilot.control.wakeup import CommandWakeup
from gridpilot.core.bus import EventBus
from gridpilot.core.mqtt import MqttEndpoint
from gridpilot.core.runtime import Slot
from gridpilot.core.settings import Settings
from gridpilot.core.tasks import cancel_and_wait
from gridpilot.core.timestamps import now_ms
from gridpilot.core.tls import mqtt_tls_context

log = logging.getLogger(__name__)

ACTOR = "system:command-link"
_FIRST_BACKOFF_S = 0.5
_MAX_BACKOFF_S = 30.0


class CommandLink:
    """Publishes queued commands of online assets until ``stop()``; reconnects with backoff."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        served_locally: Callable[[], Collection[int]] = tuple,
    ) -> None:
        if not settings.mqtt_url:
            raise ValueError("the command link needs GRIDPILOT_MQTT_URL")
        self.settings = settings
        self.sessions = sessions
        self.bus = bus
        self.served_locally = served_locally  # assets of the in-process simulator: not sent
        self.endpoint = MqttEndpoint.parse(settings.mqtt_url)
        host = socket.gethostname()[:20]
        self.client_id = f"gridpilot-commands-{host}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.connected = asyncio.Event()
        self.rounds = 0  # send rounds completed (tests wait on it instead of sleeping)
        self.wakeup = CommandWakeup(bus)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.wakeup.start()
        self._task = asyncio.create_task(self.run(), name="gridpilot-command-link")

    async def stop(self) -> None:
        self.wakeup.stop()
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def run(self) -> None:
        backoff = _FIRST_BACKOFF_S
        while True:
            try:
                async with self._client() as client:
                    self.connected.set()
                    backoff = _FIRST_BACKOFF_S
                    log.info("command link %s connected", self.client_id)
                    await self._serve(client)
            except MqttError as exc:
                self.connected.clear()
                pause = backoff * (0.5 + random.random())
                log.warning("command link: MQTT unavailable (%s); retrying in %.1f s", exc, pause)
                await asyncio.sleep(pause)
                backoff = min(backoff * 2, _MAX_BACKOFF_S)

    def _client(self) -> aiomqtt.Client:
        endpoint = self.endpoint
        return aiomqtt.Client(
            endpoint.hostname,
            endpoint.port,
            username=endpoint.username,
            password=endpoint.password,
            identifier=self.client_id,
            keepalive=30,
            tls_context=mqtt_tls_context(self.settings, tls=endpoint.tls),
        )

    async def _serve(self, client: aiomqtt.Client) -> None:
        interval = self.settings.command_check_interval_s
        while True:
            self.wakeup.event.clear()
            try:
                sent = await self.send_pending(client)
            except MqttError:
                raise
            except Exception:
                log.exception("command link: sending failed")
                sent = 0
            self.rounds += 1
            if sent:
                continue  # maybe more than one page was waiting
            await self.wakeup.wait(interval)

    async def send_pending(self, client: aiomqtt.Client) -> int:
        """Claim the sendable commands (one compare-and-set for the page) and publish them
        concurrently; how many were published. A failed publish puts its command back to
        queued and raises once the others are done."""
        async with self.sessions() as session:
            pending = await service.sendable(
                session=session, now_ms=now_ms(), except_assets=self.served_locally()
            )
        if not pending:
            return 0
        async with self.sessions() as session, session.begin():
            changes = await bulk.claim_sent(
                session=session, command_ids=[c.id for c, _ in pending], at_ms=now_ms(), actor=ACTOR
            )
        # announced before publishing, so "sent" never follows the device's ack
        await publish_command_changes(self.bus, changes)
        claimed = {change.command_id for change in changes}  # others: sent by another process
        batch = [(command, attrs) for command, attrs in pending if command.id in claimed]
        prefix = self.settings.mqtt_topic_prefix
        results = await asyncio.gather(
            *(
                client.publish(
                    command_topic(prefix, command.site_id, command.asset_id, attributes),
                    command_message(command),
                    qos=1,
                )
                for command, attributes in batch
            ),
            return_exceptions=True,
        )
        failed = [(c, r) for (c, _), r in zip(batch, results, strict=True) if r is not None]
        for command, exc in failed:
            await self._unclaim(command.id, f"publish failed: {exc}")
        if failed:
            raise failed[0][1] if isinstance(failed[0][1], Exception) else MqttError("publish")
        return len(batch)

    async def _unclaim(self, command_id: int, detail: str) -> None:
        """sent -> queued after a failed publish (sent again once the link reconnects)."""
        try:
            async with self.sessions() as session, session.begin():
                change = await service.transition(
                    session=session,
                    command_id=command_id,
                    to=service.QUEUED,
                    at_ms=now_ms(),
                    actor=ACTOR,
                    detail=detail,
                )
        except Exception:  # it stays "sent" and expires at its TTL
            log.exception("command link: could not requeue command %d", command_id)
            return
        if change is not None:
            await publish_command_changes(self.bus, [change])


async def start_command_link(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    bus: EventBus,
    served_locally: Callable[[], Collection[int]] = tuple,
) -> CommandLink:
    """A started link; ``served_locally()`` names assets whose commands it leaves alone."""
    link = CommandLink(settings, sessions, bus, served_locally)
    await link.start()
    return link


#: The command link of the app (``core/runtime.py``), with ``GRIDPILOT_MQTT_URL``.
COMMAND_LINK: Slot[CommandLink] = Slot("command_link")
