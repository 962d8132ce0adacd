"""Allocation of a group's hourly shared energy to its producing plants.

The incentive is per plant (each has its own band, bonus and grant), so the shared energy of
an hour must be split among the plants that injected in it. A rule is a function
``(shared_kwh[h], injected_kwh[h, plant], plants) -> allocated_kwh[h, plant]``; every rule
gives each plant at most what it injected and the allocations of an hour sum to its shared
energy. Two rules:

* ``by_commissioning_date`` (the default; the GSE's rule): the shared energy of each hour goes
  first to the plant commissioned earliest, up to its injection, then to the next, and so on
  (ARERA TIAD art. 1, definition of shared energy: "a partire dalle immissioni degli impianti
  entrati prima in esercizio"; GSE FAQ "Calcolo energia condivisa per incentivi autoconsumo",
  the "algoritmo di ripartizione" figure). Ties: by POD code.
* ``pro_rata_injection``: each plant in proportion to its injection in that hour (a community
  may use it for its internal accounts; it is not what the GSE pays on).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from gridpilot.analytics.community.configuration import Plant

AllocationRule = Callable[[np.ndarray, np.ndarray, Sequence[tuple[str, Plant]]], np.ndarray]


def _check(shared: np.ndarray, injected: np.ndarray, plants: Sequence[tuple[str, Plant]]) -> None:
    if injected.shape != (len(shared), len(plants)):
        raise ValueError(
            f"injected {injected.shape} does not match {len(shared)} h x {len(plants)}"
        )


def by_commissioning_date(
    shared_kwh: np.ndarray, injected_kwh: np.ndarray, plants: Sequence[tuple[str, Plant]]
) -> np.ndarray:
    """Earliest-commissioned plant first, each up to its injection (GSE)."""
    _check(shared_kwh, injected_kwh, plants)
    order = sorted(range(len(plants)), key=lambda i: (plants[i][1].commissioned_on, plants[i][0]))
    inj = np.nan_to_num(injected_kwh[:, order])
    before = np.cumsum(inj, axis=1) - inj  # injected by the plants ahead in the queue
    share = np.nan_to_num(shared_kwh)[:, None]
    taken = np.clip(share - before, 0.0, inj)
    out = np.empty_like(taken)
    out[:, order] = taken
    return out


def pro_rata_injection(
    shared_kwh: np.ndarray, injected_kwh: np.ndarray, plants: Sequence[tuple[str, Plant]]
) -> np.ndarray:
    """Each plant in proportion to its injection in the hour."""
    _check(shared_kwh, injected_kwh, plants)
    inj = np.nan_to_num(injected_kwh)
    total = inj.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, inj / total, 0.0)
    return np.minimum(share * np.nan_to_num(shared_kwh)[:, None], inj)


RULES: dict[str, AllocationRule] = {
    "commissioning_date": by_commissioning_date,
    "pro_rata_injection": pro_rata_injection,
}
