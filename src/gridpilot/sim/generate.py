"""From a model to readings: native samples, registers and counters, downsampling.

``Accumulator`` carries the cumulative registers and counters of one asset from chunk to
chunk (initialised from the store's latest values, so reruns continue the registers).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gridpilot.sim.clock import grid
from gridpilot.sim.model import DeviceModel, SimContext
from gridpilot.sim.noise import Array

#: Metrics reported at the bucket start instead of the bucket mean when downsampling.
SAMPLED_METRICS = frozenset({"operating_state", "operating_mode", "recipe"})
#: A model's outputs starting with this feed registers only (``_on``), never readings.
INTERNAL_PREFIX = "_"
#: Decimal places kept in readings.
DECIMALS = 4


@dataclass
class Accumulator:
    """Cumulative values (registers, counters) at the end of what was generated so far."""

    values: dict[str, float] = field(default_factory=dict)


def output_step_ms(model: DeviceModel, step_ms: int | None) -> int:
    """The output step: ``step_ms`` rounded up to a multiple of the native interval."""
    native = int(model.interval_s * 1000)
    if step_ms is None or step_ms <= native:
        return native
    return -(-step_ms // native) * native


def generate(
    model: DeviceModel,
    ctx: SimContext,
    start_ms: int,
    end_ms: int,
    *,
    step_ms: int | None,
    accumulator: Accumulator,
) -> tuple[NDArray[np.int64], dict[str, Array]]:
    """Readings of ``model`` at the output step in [start, end) (both multiples of the step).

    The model runs at its native interval; instantaneous metrics are averaged over each output
    bucket; a register/counter value at ``ts`` is the total up to ``ts`` (power held over each
    native interval), so energy between two readings is exact.
    """
    native = int(model.interval_s * 1000)
    step = output_step_ms(model, step_ms)
    factor = step // native
    t = grid(start_ms, end_ms, native)
    t = t[: len(t) // factor * factor]
    if len(t) == 0:
        return np.zeros(0, dtype=np.int64), {}
    out = model.simulate(t, ctx)
    result: dict[str, Array] = {}
    dt_h = native / 3_600_000
    increments: dict[str, Array] = {
        register: np.clip(sign * out[source], 0.0, None) * dt_h
        for register, source, sign in model.registers
    }
    increments.update({counter: out[counter] for counter in model.counters})
    for key, inc in increments.items():
        before = accumulator.values.get(key, 0.0)
        cumulative = before + np.concatenate(([0.0], np.cumsum(inc)[:-1]))
        accumulator.values[key] = before + float(inc.sum())
        values = cumulative[::factor]
        result[key] = np.floor(values + 1e-6) if key in model.counters else values
    for key, values in out.items():
        if key in increments or key.startswith(INTERNAL_PREFIX):
            continue
        if factor == 1 or key in SAMPLED_METRICS:
            result[key] = values[::factor]
        else:
            result[key] = values.reshape(-1, factor).mean(axis=1)
    return t[::factor], result


def readings(
    asset_id: int, ts: NDArray[np.int64], values: dict[str, Array]
) -> Iterator[dict[str, Any]]:
    """Reading dicts for the telemetry ingest service."""
    stamps = ts.tolist()
    for metric, array in values.items():
        for stamp, value in zip(stamps, np.round(array, DECIMALS).tolist(), strict=True):
            yield {"asset": asset_id, "metric": metric, "ts": stamp, "value": value}


def after(
    ts: NDArray[np.int64], values: dict[str, Array], after_ms: int | None
) -> tuple[NDArray[np.int64], dict[str, Array]]:
    """The samples stamped after ``after_ms`` (all when None): those at or before are stored."""
    if after_ms is None or len(ts) == 0 or ts[0] > after_ms:
        return ts, values
    keep = ts > after_ms
    return ts[keep], {key: array[keep] for key, array in values.items()}
