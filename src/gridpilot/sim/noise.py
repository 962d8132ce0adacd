"""Counter-based random numbers: pure functions of (seed, stream, index), vectorised.

Every random value the simulators use is ``uniform(seed, stream, index)`` for an integer
index (a time knot, a day, a session number). The same seed gives the same data whatever
the time grid or chunking, so a backfill and a live run agree where they overlap.
"""

from __future__ import annotations

import hashlib

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """The splitmix64 finaliser (wrapping uint64 arithmetic)."""
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def _key(seed: int, stream: str) -> np.uint64:
    digest = hashlib.blake2b(f"{seed}:{stream}".encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


def uniform(seed: int, stream: str, index: ArrayLike) -> Array:
    """Uniform values in [0, 1), one per integer ``index``."""
    idx = np.atleast_1d(np.asarray(index, dtype=np.int64)).view(np.uint64)
    with np.errstate(over="ignore"):
        bits = _mix(_mix(idx ^ _key(seed, stream)))
    return (bits >> np.uint64(11)).astype(np.float64) * 2.0**-53


def normal(seed: int, stream: str, index: ArrayLike) -> Array:
    """Standard normal values (Box-Muller), one per integer ``index``."""
    u1 = uniform(seed, stream + "/u1", index)
    u2 = uniform(seed, stream + "/u2", index)
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)


def smooth(seed: int, stream: str, t_ms: ArrayLike, period_ms: float) -> Array:
    """A smooth random process of unit variance at the knots: normal values every ``period_ms``,
    cosine-interpolated between them (value noise)."""
    t = np.asarray(t_ms, dtype=np.float64) / period_ms
    k0 = np.floor(t)
    frac = t - k0
    a = normal(seed, stream, k0.astype(np.int64))
    b = normal(seed, stream, k0.astype(np.int64) + 1)
    w = (1.0 - np.cos(np.pi * frac)) / 2.0
    return a * (1.0 - w) + b * w


def jitter(seed: int, stream: str, t_ms: ArrayLike, amplitude: float = 0.05) -> Array:
    """Multiplicative measurement noise ``1 +- amplitude`` (uniform), one per timestamp."""
    t = np.asarray(t_ms, dtype=np.int64)
    return 1.0 + amplitude * (2.0 * uniform(seed, stream, t) - 1.0)
