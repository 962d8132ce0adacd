"""The site energy balance of one connection point, interval by interval (pure; see
``docs/site-energy.md``).

Per interval, all terms in kWh and non-negative::

    consumption = import - export + generation + discharge - charge

A term is *absent* when the site has nothing that could produce it (no storage: charge and
discharge are 0; a term may also be absent in some intervals only and unknown in the others,
``absent_where``: a plant's consumption, assumed 0 only where its meters report), *measured*
when its meters reported, *derived* from the identity when it is the one unknown term of the
interval, and *unknown* otherwise. When import and export are both
unknown but everything else is measured, the net exchange is derived and split into import
(net > 0) or export (net < 0): exact per interval only if the flow did not reverse within it.
When every term is measured, the residual of the identity is checked: beyond
``tolerance_abs_kwh + tolerance_rel * inflow`` (inflow = import + generation + discharge) the
interval is flagged, never silently summed away.

A derived term below ``-tolerance_abs_kwh`` (meters that cannot all be right) is flagged too.

Self-consumption is ``1 - export / generation`` and self-sufficiency ``1 - import /
consumption``, over the intervals where the terms are known (Luthander et al., "Photovoltaic
self-consumption in buildings: a review", Applied Energy 142 (2015) 80-94, eq. 1 and 2, with
storage inside the system boundary). EMHASS constrains the same power balance in its
optimisation (``P_load = P_PV + P_grid + P_batt``, grid and battery signed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: The terms, in the order the identity names them.
TERMS: tuple[str, ...] = ("import", "export", "generation", "discharge", "charge", "consumption")
#: Sign of each term on the right-hand side of ``0 = import - export + ... - consumption``.
SIGNS: dict[str, float] = {
    "import": 1.0,
    "export": -1.0,
    "generation": 1.0,
    "discharge": 1.0,
    "charge": -1.0,
    "consumption": -1.0,
}
DEFAULT_TOLERANCE_ABS_KWH = 0.05
DEFAULT_TOLERANCE_REL = 0.05


class Source(StrEnum):
    ABSENT = "absent"
    MEASURED = "measured"
    DERIVED = "derived"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Balance:
    """Each term per interval [kWh] (NaN: unknown), how it was obtained, and the check."""

    values: dict[str, FloatArray]
    sources: dict[str, npt.NDArray[np.str_]]
    residual_kwh: FloatArray  # NaN unless every term was measured
    flagged: npt.NDArray[np.bool_]

    @property
    def complete(self) -> npt.NDArray[np.bool_]:
        """Intervals where every term is known (measured, derived or absent)."""
        known = [~np.isnan(self.values[t]) for t in TERMS]
        return np.logical_and.reduce(known)

    def total_kwh(self, term: str) -> float:
        """The term's sum over the complete intervals [kWh], flagged ones included."""
        return float(np.sum(self.values[term][self.complete]))

    def known_total_kwh(self, term: str) -> float | None:
        """``total_kwh(term)``, or None when no interval is complete (nothing was summed:
        unknown, not 0)."""
        return self.total_kwh(term) if self.complete.any() else None

    def metered(self, term: str) -> bool:
        """Whether ``term`` was measured or derived in some interval: not only absent (nothing
        feeds it, or assumed 0 as a plant's consumption) or unknown."""
        obtained = (Source.MEASURED.value, Source.DERIVED.value)
        return bool(np.isin(self.sources[term], obtained).any())

    def flagged_kwh(self, term: str) -> float:
        """The part of ``total_kwh(term)`` from flagged intervals [kWh]: the doubtful share."""
        return float(np.sum(self.values[term][self.complete & self.flagged]))

    def flagged_complete(self) -> int:
        """How many of the complete intervals (those in the totals) are flagged."""
        return int(np.count_nonzero(self.complete & self.flagged))

    def coverage(self) -> float:
        """Share of intervals with every term known (0-1)."""
        n = self.complete.size
        return float(np.count_nonzero(self.complete) / n) if n else 0.0

    def share(self, term: str, source: Source) -> float:
        """Share of intervals whose ``term`` was obtained as ``source`` (0-1)."""
        n = self.sources[term].size
        return float(np.count_nonzero(self.sources[term] == source.value) / n) if n else 0.0


def solve_balance(
    measured: Mapping[str, FloatArray | None],
    *,
    tolerance_abs_kwh: float = DEFAULT_TOLERANCE_ABS_KWH,
    tolerance_rel: float = DEFAULT_TOLERANCE_REL,
    intervals: int | None = None,
    absent_where: Mapping[str, npt.NDArray[np.bool_]] | None = None,
) -> Balance:
    """The balance from ``measured`` terms [kWh per interval, NaN where not reported].

    A term missing from ``measured`` (or None) is absent: the site has no asset for it (0).
    A term of ``absent_where`` (missing from ``measured``) is absent (0) only in the intervals
    where its mask is true and unknown in the others (then derived like any unknown term when
    the identity allows). Every array has the same length, the number of intervals
    (``intervals`` when no term is given).
    """
    n = _length(measured) if intervals is None else intervals
    if any(v is not None and len(v) != n for v in measured.values()):
        raise ValueError(f"terms of different lengths than {n} intervals")
    values: dict[str, FloatArray] = {}
    sources: dict[str, npt.NDArray[np.str_]] = {}
    for term in TERMS:
        given = measured.get(term)
        if given is None:
            values[term] = np.zeros(n)
            sources[term] = np.full(n, Source.ABSENT.value, dtype="<U8")
            if absent_where is not None and term in absent_where:
                assumed = np.asarray(absent_where[term], dtype=bool)
                if assumed.shape != (n,):
                    raise ValueError(f"absent_where[{term!r}] is not one flag per interval")
                values[term] = np.where(assumed, 0.0, np.nan)
                sources[term][~assumed] = Source.UNKNOWN.value
        else:
            values[term] = np.asarray(given, dtype=float).copy()
            known = ~np.isnan(values[term])
            sources[term] = np.where(known, Source.MEASURED.value, Source.UNKNOWN.value)
    _derive_single(values, sources)
    _derive_grid_pair(values, sources)
    residual, flagged = _check(values, sources, tolerance_abs_kwh, tolerance_rel)
    return Balance(values, sources, residual, flagged)


def _length(measured: Mapping[str, FloatArray | None]) -> int:
    lengths = {len(v) for v in measured.values() if v is not None}
    if len(lengths) > 1:
        raise ValueError(f"terms of different lengths: {sorted(lengths)}")
    return lengths.pop() if lengths else 0


def _derive_single(values: dict[str, FloatArray], sources: dict[str, npt.NDArray[np.str_]]) -> None:
    """Fill the one unknown term of each interval from the identity."""
    unknown = np.stack([np.isnan(values[t]) for t in TERMS])
    single = unknown.sum(axis=0) == 1
    for i, term in enumerate(TERMS):
        rows = single & unknown[i]
        if not rows.any():
            continue
        others = np.zeros(rows.size)
        for t in TERMS:
            if t != term:
                others += SIGNS[t] * np.nan_to_num(values[t])
        values[term][rows] = -others[rows] / SIGNS[term]
        sources[term][rows] = Source.DERIVED.value


def _derive_grid_pair(
    values: dict[str, FloatArray], sources: dict[str, npt.NDArray[np.str_]]
) -> None:
    """Where import and export are the only unknowns, split the derived net exchange."""
    rest = [t for t in TERMS if t not in ("import", "export")]
    others_known = np.logical_and.reduce([~np.isnan(values[t]) for t in rest])
    rows = np.isnan(values["import"]) & np.isnan(values["export"]) & others_known
    if not rows.any():
        return
    net = (values["consumption"] - values["generation"] - values["discharge"] + values["charge"])[
        rows
    ]
    values["import"][rows] = np.maximum(net, 0.0)
    values["export"][rows] = np.maximum(-net, 0.0)
    sources["import"][rows] = Source.DERIVED.value
    sources["export"][rows] = Source.DERIVED.value


def _check(
    values: dict[str, FloatArray],
    sources: dict[str, npt.NDArray[np.str_]],
    tolerance_abs_kwh: float,
    tolerance_rel: float,
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Residual of the identity where every term was measured (or absent), and the flag."""
    observed = np.logical_and.reduce(
        [sources[t] != Source.DERIVED.value for t in TERMS] + [~np.isnan(values[t]) for t in TERMS]
    )
    residual = sum(SIGNS[t] * values[t] for t in TERMS)
    residual = np.where(observed, residual, np.nan)
    inflow = values["import"] + values["generation"] + values["discharge"]
    limit = tolerance_abs_kwh + tolerance_rel * np.nan_to_num(inflow)
    flagged = observed & (np.abs(np.nan_to_num(residual)) > limit)
    for term in TERMS:
        derived = sources[term] == Source.DERIVED.value
        flagged |= derived & (np.nan_to_num(values[term]) < -tolerance_abs_kwh)
    return residual, flagged


def self_consumption(balance: Balance) -> float | None:
    """``1 - export / generation`` over the complete intervals (None without generation)."""
    generation = balance.total_kwh("generation")
    if generation <= 0:
        return None
    return 1.0 - balance.total_kwh("export") / generation


def self_sufficiency(balance: Balance) -> float | None:
    """``1 - import / consumption`` over the complete intervals (None without consumption)."""
    consumption = balance.total_kwh("consumption")
    if consumption <= 0:
        return None
    return 1.0 - balance.total_kwh("import") / consumption


def unmetered_remainder(parent_kwh: FloatArray, children_kwh: list[FloatArray]) -> FloatArray:
    """What a parent meter measured beyond its sub-meters [kWh per interval]: losses and
    unmetered loads. NaN where the parent or any child is unknown; a negative remainder means
    the sub-meters claim more than the parent (a metering fault to flag)."""
    total = np.sum(np.stack(children_kwh), axis=0) if children_kwh else 0.0
    return np.asarray(parent_kwh, dtype=float) - total
