"""The CER incentive: TIP per plant and hour, zonal PV bonus, capital-grant cut, ARERA valorisation.

Formula (DM MASE 7 December 2023 n. 414, "decreto CACER", Allegato 1; GSE "Regole operative
per l'accesso al servizio per l'autoconsumo diffuso", Part II), for each plant and hour h,
in EUR/MWh of the shared energy allocated to the plant::

    TIP_h = { min[CAP; TP_base + max(0; 180 - Pz_h)] + FC_zonal } x (1 - F)

* ``TP_base``/``CAP`` by the plant's power band: <= 200 kW 80/120, 200-600 kW 70/110,
  > 600 kW 60/100 (a plant of exactly 200 kW is in the first band, exactly 600 kW in the
  second);
* ``Pz_h``: the hourly zonal price of the plant's market zone (GME, EUR/MWh);
* ``FC_zonal``: PV plants only, +4 in the Centre regions, +10 in the North ones, else 0; it is
  added *outside* the cap (a North PV plant above 600 kW earns 70 to 110 EUR/MWh);
* ``F``: the capital-grant reduction, 0 without a grant and linear in the grant share up to
  0.50 for a grant of 40 % of the investment; a larger grant is not cumulable with the TIP.

The ARERA valorisation (TIAD, ARERA 727/2022/R/eel, the "corrispettivo di valorizzazione") is
a unit amount in EUR/MWh of shared energy, published yearly; it is a parameter here.

Every number comes from ``CerParameters`` (resolved from versioned parameters, see
``parameters.py``); ``DM_414_2023`` holds the decree's values as versions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import numpy as np

from gridpilot.analytics.community.money import as_decimal
from gridpilot.analytics.community.parameters import ParameterVersion
from gridpilot.core.errors import ValidationFailed

PV_BONUS_AREAS = ("north", "centre", "other")

#: Regions of the PV bonus areas as listed in Allegato 1 of DM 414/2023 (Centre: Lazio,
#: Marche, Toscana, Umbria, Abruzzo; North: the rest of the north). Everything else: "other".
REGION_AREA = {
    **dict.fromkeys(("lazio", "marche", "toscana", "umbria", "abruzzo"), "centre"),
    **dict.fromkeys(
        (
            "emilia-romagna", "friuli-venezia giulia", "liguria", "lombardia", "piemonte",
            "trentino-alto adige", "valle d'aosta", "veneto",
        ),
        "north",
    ),
}  # fmt: skip


def pv_bonus_area(region: str) -> str:
    """``north``, ``centre`` or ``other`` for an Italian region name (case-insensitive)."""
    return REGION_AREA.get(region.strip().lower(), "other")


@dataclass(frozen=True)
class TipBand:
    """Plants up to ``max_power_kw`` (inclusive; ``None``: no limit) get ``base`` + the price
    term, capped at ``cap`` (EUR/MWh)."""

    max_power_kw: Decimal | None
    base_eur_per_mwh: Decimal
    cap_eur_per_mwh: Decimal


@dataclass(frozen=True)
class CerParameters:
    """The values in force for one settlement period."""

    tip_bands: tuple[TipBand, ...]
    reference_price_eur_per_mwh: Decimal
    pv_bonus_eur_per_mwh: Mapping[str, Decimal]
    grant_share_max: Decimal
    grant_reduction_max: Decimal
    excess_threshold: Decimal
    excess_threshold_with_grant: Decimal
    arera_valorisation_eur_per_mwh: Decimal

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> CerParameters:
        """From ``parameters.resolve`` output (names as in ``DM_414_2023``)."""
        try:
            return cls(
                tip_bands=tuple(values["tip_bands"]),
                reference_price_eur_per_mwh=as_decimal(values["tip_reference_price_eur_per_mwh"]),
                pv_bonus_eur_per_mwh={
                    "north": as_decimal(values["pv_bonus_north_eur_per_mwh"]),
                    "centre": as_decimal(values["pv_bonus_centre_eur_per_mwh"]),
                    "other": Decimal(0),
                },
                grant_share_max=as_decimal(values["grant_share_max"]),
                grant_reduction_max=as_decimal(values["grant_reduction_max"]),
                excess_threshold=as_decimal(values["excess_threshold"]),
                excess_threshold_with_grant=as_decimal(values["excess_threshold_with_grant"]),
                arera_valorisation_eur_per_mwh=as_decimal(values["arera_valorisation_eur_per_mwh"]),
            )
        except KeyError as missing:
            raise ValidationFailed(f"parameter {missing} is not in force") from None

    def band(self, power_kw: Decimal | float) -> TipBand:
        """The power band of a plant of ``power_kw`` (upper edges inclusive)."""
        p = as_decimal(power_kw)
        if p <= 0:
            raise ValidationFailed(f"plant power must be positive, got {power_kw} kW")
        for band in self.tip_bands:
            if band.max_power_kw is None or p <= band.max_power_kw:
                return band
        raise ValidationFailed(f"no TIP band covers {power_kw} kW")

    def grant_reduction(self, grant_share: Decimal | float) -> Decimal:
        """``F``: 0 without a grant, linear up to ``grant_reduction_max`` (0.50) at
        ``grant_share_max`` (40 % of the investment); above it the TIP is not due."""
        share = as_decimal(grant_share)
        if share < 0 or share > self.grant_share_max:
            raise ValidationFailed(
                f"capital grant share {share} outside 0 .. {self.grant_share_max}: "
                "not cumulable with the TIP"
            )
        return self.grant_reduction_max * share / self.grant_share_max

    def pv_bonus(self, *, is_pv: bool, area: str) -> Decimal:
        """``FC_zonal`` [EUR/MWh]: PV plants only."""
        if area not in PV_BONUS_AREAS:
            raise ValidationFailed(f"unknown PV bonus area {area!r}; one of {PV_BONUS_AREAS}")
        return self.pv_bonus_eur_per_mwh[area] if is_pv else Decimal(0)

    def excess_threshold_for(self, grant_share: Decimal | float) -> Decimal:
        """55 % of injected energy, 45 % for a plant with a capital grant."""
        has_grant = as_decimal(grant_share) > 0
        return self.excess_threshold_with_grant if has_grant else self.excess_threshold


def tip_eur_per_mwh(
    params: CerParameters,
    *,
    power_kw: Decimal | float,
    zonal_price_eur_per_mwh: Decimal | float,
    is_pv: bool,
    area: str,
    grant_share: Decimal | float = 0,
) -> Decimal:
    """The TIP of one plant in one hour [EUR/MWh], exact (``Decimal``, unrounded)."""
    band = params.band(power_kw)
    pz = as_decimal(zonal_price_eur_per_mwh)
    variable = max(Decimal(0), params.reference_price_eur_per_mwh - pz)
    capped = min(band.cap_eur_per_mwh, band.base_eur_per_mwh + variable)
    bonus = params.pv_bonus(is_pv=is_pv, area=area)
    return (capped + bonus) * (1 - params.grant_reduction(grant_share))


def tip_rates_eur_per_mwh(
    params: CerParameters,
    *,
    power_kw: Decimal | float,
    zonal_price_eur_per_mwh: np.ndarray,
    is_pv: bool,
    area: str,
    grant_share: Decimal | float = 0,
) -> np.ndarray:
    """``tip_eur_per_mwh`` for an array of hourly prices (float64; NaN price -> NaN rate)."""
    band = params.band(power_kw)
    pz = np.asarray(zonal_price_eur_per_mwh, dtype="float64")
    variable = np.maximum(0.0, float(params.reference_price_eur_per_mwh) - pz)
    capped = np.minimum(float(band.cap_eur_per_mwh), float(band.base_eur_per_mwh) + variable)
    capped = np.where(np.isnan(pz), np.nan, capped)
    bonus = float(params.pv_bonus(is_pv=is_pv, area=area))
    return (capped + bonus) * (1.0 - float(params.grant_reduction(grant_share)))


_DECREE_FROM = date(2024, 1, 24)  # DM 414/2023 in force (published in the GU of 23 Jan 2024)
_RECORDED = datetime(2024, 1, 24, tzinfo=UTC)


def _v(name: str, value: Any) -> ParameterVersion:
    return ParameterVersion(name, value, _DECREE_FROM, None, _RECORDED)


#: The decree's values as parameter versions. The ARERA valorisation is not here: ARERA
#: publishes it every year; record one version per year (``arera_valorisation_eur_per_mwh``).
DM_414_2023: tuple[ParameterVersion, ...] = (
    _v(
        "tip_bands",
        (
            TipBand(Decimal(200), Decimal(80), Decimal(120)),
            TipBand(Decimal(600), Decimal(70), Decimal(110)),
            TipBand(None, Decimal(60), Decimal(100)),
        ),
    ),
    _v("tip_reference_price_eur_per_mwh", Decimal(180)),
    _v("pv_bonus_north_eur_per_mwh", Decimal(10)),
    _v("pv_bonus_centre_eur_per_mwh", Decimal(4)),
    _v("grant_share_max", Decimal("0.40")),
    _v("grant_reduction_max", Decimal("0.50")),
    _v("excess_threshold", Decimal("0.55")),
    _v("excess_threshold_with_grant", Decimal("0.45")),
)
