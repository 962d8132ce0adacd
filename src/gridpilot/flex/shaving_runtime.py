"""Real-time peak shaving as a running service: react to each grid-import reading on the bus
within seconds and command the battery through ``control``.

**The path.** ``readings.stored`` carries the newest reading of every series a committed batch
touched; ``on_stored`` keeps those of the watched series in memory (the meter's import, the
battery's ``power_kw`` and ``soc_pct``), marks the site and returns (handlers must be quick).
A worker task then decides for each marked site with the pure controller
(``analytics.flex.peak_shaving_setpoint``) and, only when the set point changed meaningfully,
sends it (``shaving_commands.send_setpoint``: lease check, manual-override check, command,
action log, one transaction). No database read per reading: the database is touched to send
a command and in the lease round (every third of ``GRIDPILOT_PEAK_SHAVING_LEASE_S``), which
also reloads the settings and the schedule.

**When a set point is sent.** It differs from the one in force (ours, else the battery's
measured power) by at least the site's ``deadband_kw``; at most one command per
``GRIDPILOT_PEAK_SHAVING_MIN_INTERVAL_S``, except to discharge more while the import is over
the threshold; a set point still wanted is re-sent when half of its ``duration_s``
(``GRIDPILOT_PEAK_SHAVING_HOLD_S``) is gone. A reading stamped before our last command is not
acted on (the battery had not moved yet: acting on it would overshoot), unless the interval
has passed and it is newer than the one last acted on (a meter clock behind ours); until a battery
reading stamped after that command arrives, the commanded power stands for the measured one.
Meter readings older than ``GRIDPILOT_PEAK_SHAVING_MAX_AGE_S`` are ignored. An unknown SOC is
taken as inside the band (the commands carry ``min_soc_pct``/``target_soc_pct``, which the
battery enforces itself).

**With the MPC schedule.** When the battery resource is auto-dispatched, the step of the
site's newest schedule holding now is the base: the MPC (``tasks.py``, every 15 min) plans and
stores, but leaves this battery to this runtime (``dispatch.py``), which follows the plan and
adds only what keeps the import under the threshold (more discharge, less charge); recharging
is then the plan's (the next re-plan starts from the measured SOC). Without auto-dispatch the
controller runs as OpenEMS's: shave above the threshold, recharge below the recharge level.

**Manual commands win** until they expire (``dispatch.manual_override``: the MPC's rule).
**Several processes**: each site's controller runs in the process holding its lease
(``shaving_store.take_leases``, compare-and-set); the lease is checked again in the command's
transaction, so two processes never both command a site. The SOC latch is stored with the
lease, so a process taking over keeps it. **A battery let go of for good** (settings disabled
or deleted, another battery) is handed back to its own operation (``release_battery``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.analytics.flex import PeakShavingState, peak_shaving_setpoint
from gridpilot.control.events import publish_command_changes
from gridpilot.core import events as catalogue
from gridpilot.core.bus import EventBus
from gridpilot.core.runtime import Slot, runtime_of
from gridpilot.core.settings import Settings
from gridpilot.core.tasks import cancel_and_wait, finish_then_cancel
from gridpilot.core.timestamps import now_ms
from gridpilot.flex.dispatch import IDLE_KW
from gridpilot.flex.shaving import prune_actions
from gridpilot.flex.shaving_commands import Decision, Outcome, release_batteries, send_setpoint
from gridpilot.flex.shaving_site import HeldSite
from gridpilot.flex.shaving_store import (
    Base,
    drop_leases,
    latest_base,
    process_owner,
    save_latch,
    take_leases,
)

log = logging.getLogger(__name__)

#: A process stops acting this long before its lease ends [ms] (clocks and round trips).
LEASE_MARGIN_MS = 1_000
#: Old actions are deleted at most this often [ms].
PRUNE_EVERY_MS = 3_600_000


class PeakShavingRuntime:
    """The controllers of the sites this process holds (``start()``/``stop()``)."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        *,
        owner: str | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.settings, self.sessions, self.bus, self.clock = settings, sessions, bus, clock
        self.owner = owner or process_owner()
        self.sites: dict[int, HeldSite] = {}
        self._watch: dict[int, list[tuple[int, str]]] = {}  # asset -> [(site, "grid"|"battery")]
        self._ours: dict[int, int] = {}  # our recent command ids -> site
        self._dirty: set[int] = set()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: list[Callable[[], None]] = []
        self._pruned_ms = 0

    # ---- lifecycle -------------------------------------------------------------------

    def subscribe(self) -> None:
        self._unsubscribe = [
            self.bus.subscribe(catalogue.READINGS_STORED.name, self.on_stored),
            self.bus.subscribe(catalogue.COMMAND_UPDATED.name, self.on_command),
        ]

    def start(self) -> None:
        self.subscribe()
        self._tasks = [
            asyncio.create_task(self._lease_loop(), name="gridpilot-peak-shaving-leases"),
            asyncio.create_task(self._work(), name="gridpilot-peak-shaving"),
        ]

    async def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        for task in self._tasks:
            await cancel_and_wait(task)
        self._tasks = []
        for st in self.sites.values():
            if st.timer is not None:
                st.timer.cancel()
        if self.sites:
            try:
                async with self.sessions() as session, session.begin():
                    await drop_leases(session=session, owner=self.owner)
            except Exception:
                log.exception("peak shaving: could not release the leases")
        self.sites = {}

    # ---- lease round -----------------------------------------------------------------

    async def _lease_loop(self) -> None:
        while True:
            try:
                await finish_then_cancel(self.refresh())
            except Exception:
                log.exception("peak shaving: lease round failed")
            await asyncio.sleep(self.settings.peak_shaving_lease_s / 3)

    async def refresh(self) -> list[int]:
        """Renew and take leases, reload the settings and schedules; the sites held."""
        now = self.clock()
        ttl_ms = int(self.settings.peak_shaving_lease_s * 1000)
        async with self.sessions() as session, session.begin():
            controls = await take_leases(
                session=session, owner=self.owner, now_ms=now, ttl_ms=ttl_ms
            )
            if now - self._pruned_ms >= PRUNE_EVERY_MS:
                await prune_actions(session=session, now_ms=now)
                self._pruned_ms = now
        held: dict[int, HeldSite] = {}
        for c in controls:
            st = self.sites.get(c.site_id)
            if st is None or st.control.battery_asset_id != c.battery_asset_id:
                st = HeldSite(c, PeakShavingState(c.discharge_blocked), now + ttl_ms)
            st.control, st.lease_until_ms = c, now + ttl_ms
            held[c.site_id] = st
        let_go = [st for sid, st in self.sites.items() if held.get(sid) is not st]
        for st in let_go:
            if st.timer is not None:
                st.timer.cancel()
        self.sites = held  # a battery let go of for good goes back to its own operation
        gone = [st.control for st in let_go]
        await release_batteries(self.sessions, self.bus, gone, self.owner, now, self.settings)
        self._watch = {}
        for st in held.values():
            c = st.control
            self._watch.setdefault(c.meter_asset_id, []).append((c.site_id, "grid"))
            self._watch.setdefault(c.battery_asset_id, []).append((c.site_id, "battery"))
        for st in held.values():
            await self._load_base(st)
            self._mark(st.control.site_id)
        return sorted(held)

    async def _load_base(self, st: HeldSite) -> None:
        if not st.control.auto_dispatch:
            st.base = None
            return
        known = st.base.schedule_id if st.base is not None else None
        async with self.sessions() as session:
            found = await latest_base(
                session=session, site_id=st.control.site_id,
                resource_name=st.control.resource_name, known_id=known,
            )  # fmt: skip
        if found is not True:
            st.base = found if isinstance(found, Base) else None

    # ---- bus -------------------------------------------------------------------------

    async def on_stored(self, _topic: str, payload: dict[str, Any]) -> None:
        """Keep the newest watched readings; mark a site whose import changed."""
        for entry in payload.get("assets", ()):
            watchers = self._watch.get(entry.get("asset_id"))
            if not watchers:
                continue
            latest = entry.get("latest") or {}
            for site_id, role in watchers:
                st = self.sites.get(site_id)
                if st is None:
                    continue
                if role == "battery":
                    st.keep_battery(latest)
                elif st.keep_grid(latest):
                    self._mark(site_id)

    async def on_command(self, _topic: str, payload: dict[str, Any]) -> None:
        """Another sender's command on a battery we hold, or ours failing: what is in force
        is no longer known, so the next reading decides afresh."""
        command_id, state = payload.get("command_id"), payload.get("state")
        ours = command_id in self._ours
        if not ((ours and state in ("failed", "expired")) or (not ours and state == "queued")):
            return
        for st in self.sites.values():
            if st.control.battery_asset_id == payload.get("asset_id"):
                st.last_kw = None
                self._mark(st.control.site_id)

    def _mark(self, site_id: int) -> None:
        self._dirty.add(site_id)
        self._wake.set()

    def _mark_later(self, st: HeldSite, at_ms: int) -> None:
        if st.timer is not None:
            st.timer.cancel()
        delay_s = max(0.0, (at_ms - self.clock()) / 1000)
        st.timer = asyncio.get_running_loop().call_later(delay_s, self._mark, st.control.site_id)

    async def _work(self) -> None:
        while True:
            await self._wake.wait()
            await self.run_pending()

    async def run_pending(self) -> list[tuple[int, Outcome]]:
        """Decide for every marked site (the worker's step; tests call it directly)."""
        self._wake.clear()
        dirty, self._dirty = self._dirty, set()
        done = []
        for site_id in sorted(dirty):
            try:
                outcome = await finish_then_cancel(self.decide(site_id))
            except Exception:
                log.exception("peak shaving: site %d failed", site_id)
                continue
            if outcome is not None:
                done.append((site_id, outcome))
        return done

    # ---- one decision (the rules: shaving_site.py) ------------------------------------

    async def decide(self, site_id: int) -> Outcome | None:
        """One control cycle of a held site on its newest meter reading; the outcome when a
        command was attempted."""
        now = self.clock()
        st = self.sites.get(site_id)
        if st is None or st.lease_until_ms - LEASE_MARGIN_MS <= now or st.grid is None:
            return None
        grid_ts, grid_kw = st.grid
        if now - grid_ts > self.settings.peak_shaving_max_age_s * 1000 or not st.after_command(
            grid_ts, now, self.settings
        ):
            return None
        if now < st.retry_ms:
            self._mark_later(st, st.retry_ms)
            return None
        c = st.control
        battery_kw = st.battery_kw(now, self.settings)
        soc_measured, soc = st.soc_pct(now, self.settings)
        base = st.base.at(now) if st.base is not None else None
        point = peak_shaving_setpoint(
            c.settings, grid_import_kw=grid_kw, battery_power_kw=battery_kw, soc_pct=soc,
            state=st.latch, base_kw=base,
        )  # fmt: skip
        latch_moved = point.state != st.latch
        st.latch = point.state
        target = round(point.battery_power_kw, 3) if abs(point.battery_power_kw) >= IDLE_KW else 0.0
        current = st.last_kw if st.last_kw is not None else battery_kw
        when = st.when(target, current, grid_kw, now, self.settings)
        if when != 0:
            if when > 0:
                self._mark_later(st, when)
            if latch_moved:
                async with self.sessions() as session, session.begin():
                    await save_latch(
                        session=session, site_id=site_id, blocked=st.latch.discharge_blocked
                    )
            return None
        decision = Decision(now, grid_kw, battery_kw, soc_measured, target, base, point.reason)
        async with self.sessions() as session, session.begin():
            if latch_moved:
                await save_latch(
                    session=session, site_id=site_id, blocked=st.latch.discharge_blocked
                )
            outcome = await send_setpoint(
                session=session, control=c, decision=decision, owner=self.owner,
                settings=self.settings,
            )  # fmt: skip
        self._after(st, outcome, target, now, grid_ts)
        if outcome.change is not None:
            await publish_command_changes(self.bus, [outcome.change])
        return outcome

    def _after(self, st: HeldSite, outcome: Outcome, target: float, now: int, grid_ts: int) -> None:
        if outcome.status == "sent" and outcome.command_id is not None:
            st.last_kw, st.last_ms, st.acted_ts, st.retry_ms = target, now, grid_ts, 0
            self._ours[outcome.command_id] = st.control.site_id
            while len(self._ours) > 1000:
                self._ours.pop(next(iter(self._ours)))
        elif outcome.status == "lease":
            st.lease_until_ms = 0  # another process has it now
        else:  # manual command in force, or refused: try again after the interval
            st.retry_ms = now + int(self.settings.peak_shaving_min_interval_s * 1000)
            self._mark_later(st, st.retry_ms)


PEAK_SHAVING: Slot[PeakShavingRuntime] = Slot("peak_shaving")


async def start_peak_shaving(app: Any) -> PeakShavingRuntime:
    """Build the runtime of ``app`` (its ``PEAK_SHAVING`` slot); started unless
    ``GRIDPILOT_PEAK_SHAVING_ENABLED`` is false."""
    shared = runtime_of(app)
    runtime = PeakShavingRuntime(shared.settings, shared.sessions, shared.bus)
    if shared.settings.peak_shaving_enabled:
        runtime.start()
    return runtime
