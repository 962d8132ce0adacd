"""Real-time mode: advance a simulated clock, generate each asset's new samples, hand them to
a sink (in-process ingest, MQTT devices, HTTP), and apply device commands and anomalies.

Each asset continues from its last stored reading (``sim.resume``: registers, counters, SOC,
the commands in force; at most a day back, else now). The clock starts at the earliest and runs
``max(speed, CATCH_UP_SPEED)`` times faster than the wall clock until it reaches the present,
then follows the wall clock: it never runs ahead, because readings stamped in the future are
rejected (``GRIDPILOT_MAX_FUTURE_S``). ``speed`` above 600 replays a gap faster.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from gridpilot.core.errors import NotFound, ValidationFailed
from gridpilot.core.timestamps import MS_PER_DAY, now_ms
from gridpilot.sim.backfill import attach_part, context_for
from gridpilot.sim.generate import Accumulator, after, generate, output_step_ms
from gridpilot.sim.model import Anomaly, SimContext, apply_command, split_parts
from gridpilot.sim.noise import Array
from gridpilot.sim.provision import SimAsset, with_parts
from gridpilot.sim.resume import Resume, resume_all
from gridpilot.telemetry.tasks import TelemetryRuntime

log = logging.getLogger(__name__)

MAX_CATCH_UP_MS = MS_PER_DAY
CATCH_UP_SPEED = 600.0


class Sink(Protocol):
    """Where live samples go."""

    async def send(
        self, asset: SimAsset, ts: NDArray[np.int64], values: dict[str, Array]
    ) -> None: ...


@dataclass
class LiveAsset:
    asset: SimAsset
    ctx: SimContext
    step_ms: int
    next_ms: int
    accumulator: Accumulator = field(default_factory=Accumulator)
    sent: int = 0
    stored_until_ms: int | None = None  # samples at or before are stored already
    #: The asset whose model drives this one (a part: never generated on its own).
    driver: int | None = None


class LiveSimulator:
    """Drives ``assets`` in (accelerated) real time into ``sink``."""

    def __init__(
        self,
        assets: list[SimAsset],
        *,
        sink: Sink,
        seed: int = 42,
        speed: float = 1.0,
        step_ms: int | None = None,
        tick_s: float = 1.0,
    ) -> None:
        self.assets = assets
        self.sink = sink
        self.seed = seed
        self.speed = speed
        self.step_ms = step_ms
        self.tick_s = tick_s
        self.live: dict[int, LiveAsset] = {}
        self._anchor_sim_ms = 0
        self._anchor_wall = 0.0
        self.errors = 0

    def devices(self) -> list[SimAsset]:
        """Every simulated asset: the driven ones and their parts."""
        return with_parts(self.assets)

    async def prime(self, runtime: TelemetryRuntime | None) -> None:
        """Continue each asset from its stored data (if ``runtime``) or start at the present;
        a part (a member's battery) continues its own SOC, registers and commands inside its
        driver's model."""
        now = now_ms()
        devices = self.devices()
        resumes = await resume_all(runtime.sessions, devices) if runtime is not None else {}
        for asset in self.assets:
            step = output_step_ms(asset.spec.model, self.step_ms)
            resume = resumes.get(asset.asset_id) or Resume()
            start = resume.start_ms(now, step)
            start = max(start, (now - MAX_CATCH_UP_MS) // step * step)
            ctx = context_for(asset, self.seed, overrides=resume.overrides)
            ctx.state.update(resume.state)
            self.live[asset.asset_id] = LiveAsset(
                asset, ctx, step, start, resume.accumulator, stored_until_ms=resume.keep_after_ms
            )
            for name, part in asset.parts:
                held = resumes.get(part.asset_id) or Resume()
                part_ctx = attach_part(ctx, resume.accumulator, name, held)
                self.live[part.asset_id] = LiveAsset(
                    part, part_ctx, step, start, stored_until_ms=held.keep_after_ms,
                    driver=asset.asset_id,
                )  # fmt: skip
        self.set_speed(
            self.speed, start_ms=min((a.next_ms for a in self.live.values()), default=now)
        )

    def set_speed(self, speed: float, *, start_ms: int | None = None) -> None:
        self._anchor_sim_ms = start_ms if start_ms is not None else self.sim_now_ms()
        self._anchor_wall = time.monotonic()
        self.speed = speed

    def sim_now_ms(self) -> int:
        """The simulated clock (never ahead of the real one)."""
        rate = max(self.speed, CATCH_UP_SPEED)
        elapsed = (time.monotonic() - self._anchor_wall) * 1000.0 * rate
        return min(int(self._anchor_sim_ms + elapsed), now_ms())

    async def tick(self, stop: asyncio.Event | None = None) -> int:
        """Generate and send everything due up to the simulated now; returns samples sent.

        Yields to the event loop after each asset (a catch-up tick of a large fleet is seconds of
        work) and ends early once ``stop`` is set: assets not reached continue from where they
        stand on the next tick or the next start.
        """
        sim_now = self.sim_now_ms()
        sent = 0
        for live in list(self.live.values()):
            await asyncio.sleep(0)
            if stop is not None and stop.is_set():
                break
            if live.driver is not None:
                continue  # generated with its driver
            end = (sim_now // live.step_ms + 1) * live.step_ms  # the sample at/before now too
            if end <= live.next_ms:
                continue
            end = min(end, live.next_ms + max(live.step_ms, 3_600_000))  # bounded catch-up slices
            ts, values = generate(
                live.asset.spec.model,
                live.ctx,
                live.next_ms,
                end,
                step_ms=live.step_ms,
                accumulator=live.accumulator,
            )
            own, parts = split_parts(values)
            for target, part_values in [(live, own), *self._parts(live, parts)]:
                kept_ts, kept = after(ts, part_values, target.stored_until_ms)
                target.stored_until_ms = None
                if len(kept_ts) and kept:
                    await self.sink.send(target.asset, kept_ts, kept)
                    target.sent += len(kept_ts)
                    sent += len(kept_ts)
                target.next_ms = end
        return sent

    def _parts(
        self, live: LiveAsset, values: dict[str, dict[str, Array]]
    ) -> list[tuple[LiveAsset, dict[str, Array]]]:
        return [
            (self.live[part.asset_id], values.get(name, {}))
            for name, part in live.asset.parts
            if part.asset_id in self.live
        ]

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until ``stop`` is set; a failing tick is logged and retried."""
        while not stop.is_set():
            try:
                await self.tick(stop)
            except Exception:
                self.errors += 1
                log.exception("simulator tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.tick_s)

    def find(self, asset_id: int) -> LiveAsset:
        live = self.live.get(asset_id)
        if live is None:
            raise NotFound(f"asset {asset_id} is not simulated")
        return live

    def inject(
        self, asset_id: int, kind: str, *, duration_ms: int, severity: float = 1.0, hold_ms: int = 0
    ) -> Anomaly:
        """Start an anomaly of ``kind`` on an asset at the simulated now."""
        live = self.find(asset_id)
        kinds = live.asset.spec.model.anomaly_kinds
        if kind not in kinds:
            known = ", ".join(kinds) or "none"
            raise ValidationFailed(
                f"asset {asset_id} ({live.asset.spec.model.kind}) has no "
                f"anomaly {kind!r}; its anomalies: {known}"
            )
        anomaly = Anomaly(
            kind, max(self.sim_now_ms(), live.next_ms), duration_ms, severity, hold_ms
        )
        live.ctx.injected.append(anomaly)
        return anomaly

    def command(self, asset_id: int, kind: str, params: dict[str, Any]) -> str:
        """Apply a device command; ValidationFailed for one the device cannot follow."""
        live = self.find(asset_id)
        model = live.asset.spec.model.kind
        follows = model == "battery" or (kind == "charge" and model == "ev_charger")
        if kind in ("charge", "discharge") and not follows:
            raise ValidationFailed(f"{model} cannot {kind}: not a battery")
        at_ms = max(self.sim_now_ms(), live.next_ms)
        return apply_command(live.ctx.overrides, kind, params, at_ms)

    def acknowledge(self, asset_id: int, message: bytes) -> list[dict[str, Any]]:
        """What the device answers to a command message (``control.topics.command_message``):
        ``acknowledged``, then ``succeeded`` with what it did, or ``failed`` with why (expired,
        unknown kind, bad parameters); nothing for an unreadable message."""
        try:
            command = json.loads(message)
            command_id = command["command_id"]
        except (ValueError, KeyError, TypeError):
            log.warning("malformed command for asset %d: %r", asset_id, message[:200])
            return []
        acks: list[dict[str, Any]] = [
            {"command_id": command_id, "state": "acknowledged", "ts": now_ms()}
        ]
        expires = command.get("expires_ms")
        try:
            if isinstance(expires, int) and expires < now_ms():
                raise ValidationFailed("the command expired before it arrived")
            detail = self.command(asset_id, str(command.get("kind")), command.get("params") or {})
            acks.append({"command_id": command_id, "state": "succeeded", "detail": detail})
        except ValidationFailed as exc:
            acks.append({"command_id": command_id, "state": "failed", "detail": exc.message})
        acks[-1]["ts"] = now_ms()
        return acks
