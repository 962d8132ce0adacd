"""Helpers of the OpenADR tests: a site with history and a flat last hour, openleadr's own VTN
on 127.0.0.1, waiting for a condition."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
from openleadr import OpenADRServer
from tests.dr.dr_data import DAY, make_site, profile, quarters, store_power

from gridpilot.core.timestamps import now_ms

QUARTER = 900_000
#: The site's metered consumption over its last two hours [kW]: the value reported.
FLAT_KW = 123.4


async def site_with_history(app, client, admin, name: str) -> int:
    """A site with 20 days of 15-min consumption, flat at ``FLAT_KW`` for the last 2 hours
    (and 15 min ahead, so the last whole interval is known whatever the clock)."""
    site, meter = await make_site(client, admin, name)
    end = now_ms() - now_ms() % QUARTER + QUARTER
    ts = quarters(end - 20 * DAY, end + QUARTER)
    values = profile(ts)
    values[ts >= end - 2 * 3_600_000] = FLAT_KW
    await store_power(app, meter, ts, np.asarray(values))
    return site


async def until(check: Callable[[], Awaitable[Any]], timeout_s: float = 30) -> Any:
    async with asyncio.timeout(timeout_s):
        while not (found := await check()):
            await asyncio.sleep(0.1)
    return found


def tomorrow(hour: int = 10) -> dt.datetime:
    """``hour``:00 tomorrow in the sites' zone (Rome), as UTC: an event within one local day."""
    import zoneinfo

    zone = zoneinfo.ZoneInfo("Europe/Rome")
    day = dt.datetime.now(zone).date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=zone).astimezone(dt.UTC)


class UtilityVtn:
    """openleadr's OpenADRServer with the handlers a utility would have: registers ``ven_name``
    as ``ven_id``, asks for every TELEMETRY_USAGE r_id every ``report_s`` and keeps the values,
    keeps the opt answers."""

    def __init__(
        self,
        port: int,
        *,
        ven_name: str,
        ven_id: str = "VEN-1",
        tls: tuple[str, str, str] | None = None,
        fingerprint: str | None = None,
        report_s: int = 10,
    ) -> None:
        cert, key, ca = tls if tls else (None, None, None)
        self.server = OpenADRServer(
            vtn_id="UTILITY-VTN",
            http_port=port,
            http_host="127.0.0.1",
            requested_poll_freq=dt.timedelta(seconds=1),
            show_fingerprint=False,
            cert=cert,
            key=key,
            http_cert=cert,
            http_key=key,
            http_ca_file=ca,
            ven_lookup=self.lookup,
        )
        self.ven_name, self.ven_id, self.fingerprint = ven_name, ven_id, fingerprint
        self.registered = False
        self.reports: list[tuple[str, dt.datetime, float]] = []
        self.opts: list[tuple[str, str, str]] = []
        self.report_s = report_s
        self.server.add_handler("on_create_party_registration", self.register)
        self.server.add_handler("on_register_report", self.register_report)
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{port}/OpenADR2/Simple/2.0b"

    async def lookup(self, ven_id: str) -> dict[str, Any]:
        if ven_id != self.ven_id or not self.registered:
            return {}
        return {
            "ven_id": self.ven_id,
            "ven_name": self.ven_name,
            "fingerprint": self.fingerprint,
            "registration_id": "REG-1",
        }

    async def register(self, info: dict[str, Any]) -> tuple[str, str] | bool:
        if info["ven_name"] != self.ven_name:
            return False
        if self.fingerprint and info.get("fingerprint") != self.fingerprint:
            return False
        self.registered = True
        return self.ven_id, "REG-1"

    async def register_report(
        self,
        ven_id,
        resource_id,
        measurement,
        unit,
        scale,
        min_sampling_interval,
        max_sampling_interval,
    ):
        async def collect(values: list[tuple[dt.datetime, float]]) -> None:
            self.reports.extend((resource_id, when, value) for when, value in values)

        return collect, dt.timedelta(seconds=self.report_s)

    def opt(self, ven_id: str, event_id: str, opt_type: str) -> None:
        """Keep the answer; listen for the next one (openleadr forgets a callback once called)."""
        from openleadr import utils

        self.opts.append((ven_id, event_id, opt_type))
        event = utils.find_by(
            self.server.events.get(ven_id, []), "event_descriptor.event_id", event_id
        )
        if event is not None:
            self.server.event_callbacks[event_id] = (event, self.opt)

    def add_event(self, event_id: str, start: dt.datetime, minutes: int, kw: float) -> None:
        self.server.add_event(
            ven_id=self.ven_id,
            signal_name="LOAD_DISPATCH",
            signal_type="delta",
            intervals=[
                {"dtstart": start, "duration": dt.timedelta(minutes=minutes), "signal_payload": kw}
            ],
            callback=self.opt,
            event_id=event_id,
        )

    def modify(self, event_id: str, start: dt.datetime, minutes: int, kw: float) -> None:
        """Change an event's window and payload and raise its modification number."""
        from openleadr import utils

        event = utils.find_by(
            self.server.events[self.ven_id], "event_descriptor.event_id", event_id
        )
        interval = {
            "dtstart": start,
            "duration": dt.timedelta(minutes=minutes),
            "signal_payload": kw,
        }
        event.event_signals[0].intervals = [interval]
        event.active_period = utils.get_active_period_from_intervals([interval], False)
        utils.increment_event_modification_number(event)
        self.server.events_updated[self.ven_id] = True
        self.server.event_callbacks[event_id] = (event, self.opt)
