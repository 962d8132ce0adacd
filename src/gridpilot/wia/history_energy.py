"""Energy [kWh] of one asset up to a production object's time, by ``telemetry`` energy semantics.

``DatabaseEnergy`` asks ``telemetry.energy_queries.energy`` (a few statements per call);
``LoadedEnergy`` folds readings already read, with the same functions (``register_energy``,
``power_integral``) and the same choice of method, for windows starting at or after the oldest
object: the history holds every production reading from there on (plus the register and power
readings just outside), so the figures are the ones the database would give, without a query
per object. ``Energy`` picks one or the other per window.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.telemetry import queries
from gridpilot.telemetry.energy import power_integral, register_energy

Points = list[tuple[int, float]]


class DatabaseEnergy:
    """Energy through ``queries.energy``. A register step belongs to the time of its later
    reading, so the register needs ``[start, ts + 1)``; the power integral is continuous and
    takes ``[start, ts)`` (one more millisecond would add power x 1 ms)."""

    def __init__(self, session: AsyncSession, asset_id: int, max_gap_s: float) -> None:
        self.session, self.asset_id, self.max_gap_s = session, asset_id, max_gap_s

    async def energy(self, start_ms: int, end_ms: int) -> tuple[str, float | None]:
        result = await queries.energy(
            session=self.session,
            asset_id=self.asset_id,
            start_ms=start_ms,
            end_ms=end_ms,
            max_gap_s=self.max_gap_s,
        )
        return result.method, result.energy_kwh


@dataclass
class LoadedEnergy:
    """Energy from loaded readings: ``register``/``power`` hold every reading from the oldest
    object on, the last one before it and (power) the first one after the newest object."""

    register: Points
    power: Points
    max_gap_s: float

    def __post_init__(self) -> None:
        self._register_ts = [ts for ts, _ in self.register]
        self._power_ts = [ts for ts, _ in self.power]

    async def energy(self, start_ms: int, end_ms: int) -> tuple[str, float | None]:
        stamps = self._register_ts
        lo, hi = bisect_left(stamps, start_ms), bisect_left(stamps, end_ms)
        if hi > lo:
            fold = register_energy(self.register[max(0, lo - 1) : hi], start_ms, end_ms)
            return "register", fold.energy_kwh
        stamps = self._power_ts
        lo, hi = bisect_left(stamps, start_ms), bisect_left(stamps, end_ms)
        fold = power_integral(self.power[max(0, lo - 1) : hi + 1], start_ms, end_ms, self.max_gap_s)
        if fold.steps:
            return "power_integral", fold.energy_kwh
        return "none", None


class Energy:
    """Energy up to and including a reading time: loaded readings for windows from
    ``loaded_from`` on, the database before."""

    def __init__(self, database: DatabaseEnergy, loaded: LoadedEnergy, loaded_from: int) -> None:
        self.database, self.loaded, self.loaded_from = database, loaded, loaded_from

    async def _energy(self, start_ms: int, end_ms: int) -> tuple[str, float | None]:
        source = self.loaded if start_ms >= self.loaded_from else self.database
        return await source.energy(start_ms, end_ms)

    async def until(self, start_ms: int, ts: int, *, after_start: bool) -> float | None:
        """Energy from ``start_ms`` through ``ts``; ``after_start`` excludes a register reading
        at ``start_ms`` itself (an earlier object already counted it)."""
        method, value = await self._energy(start_ms + 1 if after_start else start_ms, ts + 1)
        if method != "power_integral":
            return value
        if ts <= start_ms:
            return 0.0
        method, again = await self._energy(start_ms, ts)
        if method == "power_integral":
            return again
        # power starts at ts (nothing to integrate before it), or a register reading sits at
        # start_ms and no register step falls in (start, ts]
        return 0.0
