"""A month's settlement from hourly (or 15-min) member data: shared energy, incentive, ARERA
valorisation, the GSE payment estimate and each member's part. Pure and reproducible: the
same inputs give the same figures to the cent, whatever the order of the PODs.

Steps (formulas in ``docs/community.md``):

1. the calendar month in Europe/Rome, as UTC hours; energy summed per hour (``to_hourly``);
2. hourly shared energy per primary substation over the eligible PODs (``shared_energy``);
3. each hour's shared energy allocated to the substation's plants (``allocation``, GSE rule by
   default), incentivised or not;
4. per incentivised plant: ``sum_h allocated_kWh_h x TIP_h / 1000``, summed in float64 and
   rounded once, half up, to the cent; split into ordinary and excess parts
   (``excess_share``);
5. ARERA valorisation: the hourly shared energy of the eligible PODs per market zone x the
   unit value / 1000, rounded half up to the cent;
6. GSE estimate = incentives + valorisation; distributed by the statute (``distribution``),
   the excess part to non-business members or the social fund.

Hours whose data are incomplete count for nothing and are listed; a price missing in an hour
with allocated energy is an error (the incentive cannot be computed, it is not guessed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from gridpilot.analytics.community.allocation import AllocationRule, by_commissioning_date
from gridpilot.analytics.community.configuration import Member, Plant, Pod
from gridpilot.analytics.community.distribution import Distribution, Statute, distribute
from gridpilot.analytics.community.excess_share import ExcessSplit, split_excess
from gridpilot.analytics.community.incentives import CerParameters, tip_rates_eur_per_mwh
from gridpilot.analytics.community.money import ZERO, as_decimal, to_cents
from gridpilot.analytics.community.shared_energy import (
    HourlyEnergy,
    SharedEnergy,
    membership,
    shared_energy,
    to_hourly,
)
from gridpilot.core.errors import ValidationFailed

MARKET_TZ = "Europe/Rome"


@dataclass(frozen=True)
class PlantLine:
    """One plant's month: injected and allocated shared energy [kWh], incentive [EUR]."""

    pod: str
    member_id: str
    substation: str
    injected_kwh: float
    shared_kwh: float
    incentive_eur: Decimal
    excess: ExcessSplit


@dataclass(frozen=True)
class Settlement:
    year: int
    month: int
    shared: SharedEnergy
    plants: tuple[PlantLine, ...]
    zone_shared_kwh: dict[str, float]
    incentive_eur: Decimal
    valorisation_eur: Decimal
    gse_estimate_eur: Decimal
    distribution: Distribution
    consumption_kwh: dict[str, float]


def month_bounds_utc(year: int, month: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """UTC start and end of a calendar month of the Italian market (Europe/Rome)."""
    start = pd.Timestamp(year=year, month=month, day=1).tz_localize(MARKET_TZ)
    end = (start.tz_localize(None) + pd.offsets.MonthBegin(1)).tz_localize(MARKET_TZ)
    return start.tz_convert("UTC"), end.tz_convert("UTC")


def _prices(zonal_prices: pd.DataFrame, zone: str, hours: pd.DatetimeIndex) -> np.ndarray:
    if zone not in zonal_prices.columns:
        raise ValidationFailed(f"no zonal prices for zone {zone!r}")
    return zonal_prices[zone].reindex(hours).to_numpy(dtype="float64")


def _plant_lines(
    hourly: HourlyEnergy,
    shared: SharedEnergy,
    pods: Sequence[Pod],
    zonal_prices: pd.DataFrame,
    params: CerParameters,
    allocation: AllocationRule,
) -> tuple[list[PlantLine], dict[str, float]]:
    col = {c: i for i, c in enumerate(hourly.pods)}
    zones = sorted({p.market_zone for p in pods if p.eligible and p.plant and p.plant.incentivised})
    prices = {z: _prices(zonal_prices, z, hourly.hours) for z in zones}
    produced: dict[str, float] = {}
    lines: list[PlantLine] = []
    for g, substation in enumerate(shared.groups):
        group = [p for p in pods if p.eligible and p.substation == substation and p.plant]
        if not group:
            continue
        complete = ~np.isnan(shared.shared_kwh[:, g])
        injected = hourly.injected_kwh[:, [col[p.code] for p in group]]
        injected = np.where(complete[:, None], injected, 0.0)
        plants: list[tuple[str, Plant]] = [(p.code, p.plant) for p in group if p.plant]
        allocated = allocation(shared.shared_kwh[:, g], injected, plants)
        for j, pod in enumerate(group):
            lines.append(_plant_line(pod, injected[:, j], allocated[:, j], hourly, prices, params))
            produced[pod.member_id] = produced.get(pod.member_id, 0.0) + float(
                allocated[:, j].sum()
            )
    return lines, produced


def _plant_line(
    pod: Pod,
    injected: np.ndarray,
    allocated: np.ndarray,
    hourly: HourlyEnergy,
    prices: dict[str, np.ndarray],
    params: CerParameters,
) -> PlantLine:
    plant = pod.plant
    assert plant is not None
    injected_kwh, shared_kwh = float(injected.sum()), float(allocated.sum())
    incentive = ZERO
    excess = ExcessSplit(Decimal(0), Decimal(0), ZERO, ZERO)
    if plant.incentivised:
        pz = prices[pod.market_zone]
        rates = tip_rates_eur_per_mwh(
            params,
            power_kw=plant.power_kw,
            zonal_price_eur_per_mwh=pz,
            is_pv=plant.is_pv,
            area=plant.area,
            grant_share=plant.grant_share,
        )
        unpriced = (allocated > 0) & np.isnan(rates)
        if unpriced.any():
            first = list(hourly.hours[unpriced][:3])
            raise ValidationFailed(
                f"no {pod.market_zone} zonal price for {int(unpriced.sum())} hour(s) with "
                f"shared energy of {pod.code}, e.g. {first}"
            )
        incentive = to_cents(float(np.nansum(allocated * rates)) / 1000.0)
        excess = split_excess(
            incentive,
            shared_kwh=min(as_decimal(shared_kwh), as_decimal(injected_kwh)),
            injected_kwh=injected_kwh,
            threshold=params.excess_threshold_for(plant.grant_share),
        )
    return PlantLine(
        pod.code, pod.member_id, pod.substation, injected_kwh, shared_kwh, incentive, excess
    )


def _consumption_by_member(
    hourly: HourlyEnergy, shared: SharedEnergy, pods: Sequence[Pod]
) -> dict[str, float]:
    """Each member's share of the shared energy as a consumer: per hour and substation,
    ``E_withdrawn,pod,h / E_withdrawn,h x E_shared,h``."""
    _, matrix = membership(hourly, pods, lambda p: p.substation if p.eligible else None)
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(shared.withdrawn_kwh > 0, shared.shared_kwh / shared.withdrawn_kwh, 0.0)
    per_pod = np.nansum(
        np.nan_to_num(hourly.withdrawn_kwh) * (np.nan_to_num(factor) @ matrix.T), axis=0
    )
    by_code = {p.code: p for p in pods}
    out: dict[str, float] = {}
    for code, kwh in zip(hourly.pods, per_pod, strict=True):
        member = by_code[code].member_id
        out[member] = out.get(member, 0.0) + float(kwh)
    return out


def settle_month(
    *,
    year: int,
    month: int,
    pods: Sequence[Pod],
    members: Sequence[Member],
    injected_kwh: pd.DataFrame,
    withdrawn_kwh: pd.DataFrame,
    zonal_prices: pd.DataFrame,
    params: CerParameters,
    statute: Statute,
    allocation: AllocationRule = by_commissioning_date,
) -> Settlement:
    """Settle one month of a community (see the module docstring)."""
    known = {m.member_id: m.business for m in members}
    strangers = sorted({p.member_id for p in pods} - set(known))
    if strangers:
        raise ValidationFailed(f"PODs of unknown members: {strangers[:5]}")
    start, end = month_bounds_utc(year, month)
    order = sorted(injected_kwh.columns)  # the same figures whatever the column order
    inj = injected_kwh.loc[(injected_kwh.index >= start) & (injected_kwh.index < end), order]
    wd = withdrawn_kwh.loc[(withdrawn_kwh.index >= start) & (withdrawn_kwh.index < end)]
    hourly = to_hourly(inj, wd.reindex(columns=order), start, end)
    shared = shared_energy(hourly, pods)
    lines, produced = _plant_lines(hourly, shared, pods, zonal_prices, params, allocation)
    zones = shared_energy(hourly, pods, key=lambda p: p.market_zone if p.eligible else None)
    zone_kwh = {z: zones.total_kwh(z) for z in zones.groups}
    zone_total_kwh = as_decimal(sum(zone_kwh[z] for z in sorted(zone_kwh)))
    valorisation = to_cents(zone_total_kwh * params.arera_valorisation_eur_per_mwh / 1000)
    incentive = sum((line.incentive_eur for line in lines), ZERO)
    excess = sum((line.excess.excess_eur for line in lines), ZERO)
    consumption = _consumption_by_member(hourly, shared, pods)
    distribution = distribute(
        statute,
        ordinary_eur=incentive - excess + valorisation,
        excess_eur=excess,
        members=known,
        consumption_kwh=consumption,
        produced_shared_kwh=produced,
    )
    return Settlement(
        year=year,
        month=month,
        shared=shared,
        plants=tuple(sorted(lines, key=lambda line: line.pod)),
        zone_shared_kwh=zone_kwh,
        incentive_eur=incentive,
        valorisation_eur=valorisation,
        gse_estimate_eur=incentive + valorisation,
        distribution=distribution,
        consumption_kwh=consumption,
    )
