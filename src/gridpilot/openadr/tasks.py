"""The OpenADR loop of a process: every ``openadr_ven_interval_s`` the VEN connections whose
lease it holds (``ven.VenRuntime``) and, with ``openadr_vtn_enabled``, the VTN
(``vtn.VtnRuntime``). Leases lapse after three intervals without renewal; another process then
takes over."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from typing import Any

from gridpilot.core.runtime import Slot, runtime_of
from gridpilot.core.tasks import cancel_and_wait, finish_then_cancel, reraise_if_stopping
from gridpilot.openadr.ven import VenRuntime
from gridpilot.openadr.vtn import VtnRuntime

log = logging.getLogger(__name__)


def process_owner() -> str:
    """A lease owner unique to this process: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class OpenAdrRuntime:
    def __init__(self, app: Any) -> None:
        settings = runtime_of(app).settings
        self.interval_s = float(settings.openadr_ven_interval_s)
        owner = process_owner()
        self.ven = VenRuntime(
            runtime_of(app).sessions,
            runtime_of(app).bus,
            interval_s=self.interval_s or 10,
            owner=owner,
        )
        self.vtn = (
            VtnRuntime(settings, runtime_of(app).sessions, owner=owner)
            if settings.openadr_vtn_enabled
            else None
        )
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.interval_s > 0 and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="gridpilot-openadr")

    async def step(self) -> None:
        for part in (self.ven, self.vtn):
            if part is None:
                continue
            try:
                await finish_then_cancel(part.tick())
            except Exception:
                reraise_if_stopping()
                log.exception("OpenADR %s step failed", type(part).__name__)

    async def _loop(self) -> None:
        while True:
            await self.step()
            await asyncio.sleep(self.interval_s)

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        for part in (self.ven, self.vtn):
            if part is not None:
                with contextlib.suppress(Exception):
                    await part.stop()


async def start_openadr(app: Any) -> OpenAdrRuntime:
    """Build and start the OpenADR loop of ``app`` (``OPENADR``)."""
    runtime = OpenAdrRuntime(app)
    runtime.start()
    return runtime


#: The app's OpenADR loop (``core/runtime.py``).
OPENADR: Slot[OpenAdrRuntime] = Slot("openadr")
