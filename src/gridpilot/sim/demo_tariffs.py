"""The simulated sites' tariffs: Italian time-of-use prices in the ARERA bands (F1/F2/F3) and
the demo's 2025-like all-in prices per kind of site."""

from __future__ import annotations

from typing import Any


def italian_tou(
    f1: float,
    f2: float,
    f3: float,
    *,
    name: str,
    demand_charge_per_kw_month: float = 0.0,
    fixed_charge_per_month: float = 0.0,
    export_rate_per_kwh: float | None = None,
) -> dict[str, Any]:
    """An Italian time-of-use tariff in the ARERA bands [EUR/kWh, all-in]: F1 Mon-Fri 08-19,
    F2 Mon-Fri 07-08 and 19-23 and Sat 07-23, F3 nights, Sundays and national holidays
    (holidays from the site's time zone, priced as Sundays: F3); ``export_rate_per_kwh``: what
    exported energy earns (none when not given)."""
    export = {} if export_rate_per_kwh is None else {"export_rate_per_kwh": export_rate_per_kwh}
    return {
        **export,
        "name": name,
        "currency": "EUR",
        "periods": [
            {"name": "F1", "rate_per_kwh": f1, "days": "weekday", "start": "08:00", "end": "19:00"},
            {"name": "F2", "rate_per_kwh": f2, "days": "weekday", "start": "07:00", "end": "23:00"},
            {"name": "F2", "rate_per_kwh": f2, "days": ["sat"], "start": "07:00", "end": "23:00"},
            {"name": "F3", "rate_per_kwh": f3, "days": "all"},  # the rest; holidays only F3
        ],
        "demand_charge_per_kw_month": demand_charge_per_kw_month,
        "fixed_charge_per_month": fixed_charge_per_month,
    }


#: The demo's tariffs: 2025-like Italian all-in prices (energy, network, system charges, excise);
#: where a site exports (rooftop PV, the parks, the community's prosumers), a 2025-like
#: dedicated-withdrawal (RID) export price of 0.105 EUR/kWh.
EXPORT_EUR_PER_KWH = 0.105
INDUSTRIAL_MV = italian_tou(
    0.238, 0.226, 0.189, name="MV industrial F1/F2/F3",
    demand_charge_per_kw_month=3.2, fixed_charge_per_month=60.0,
)  # fmt: skip
COMMERCIAL_LV = italian_tou(
    0.276, 0.258, 0.214, name="LV commercial F1/F2/F3",
    demand_charge_per_kw_month=2.8, fixed_charge_per_month=25.0,
    export_rate_per_kwh=EXPORT_EUR_PER_KWH,
)  # fmt: skip
PLANT_AUXILIARIES = italian_tou(
    0.262, 0.247, 0.205, name="Plant auxiliaries F1/F2/F3", fixed_charge_per_month=30.0,
    export_rate_per_kwh=EXPORT_EUR_PER_KWH,
)  # fmt: skip
COMMUNITY_MEMBERS = italian_tou(
    0.292, 0.268, 0.268, name="Domestic/small business F1/F23", fixed_charge_per_month=8.5,
    export_rate_per_kwh=EXPORT_EUR_PER_KWH,
)  # fmt: skip
