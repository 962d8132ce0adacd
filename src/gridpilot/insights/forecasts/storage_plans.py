"""Planned storage power, from whichever higher domain plans it (the flex schedule).

Storage is not forecast from its history: a battery follows its plan. The domain that plans
(``flex``, a layer above ``insights``) registers a provider here when it is imported
(``register_storage_plan``); ``planned_storage_kw`` asks the providers in turn. Without one, or
without a plan for the asset, a storage forecast is 0 (``answer.STORAGE_NOTE``).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol

import numpy as np
import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession


class StoragePlan(Protocol):
    def __call__(
        self, *, session: AsyncSession, site_id: int, asset_id: int, index: pd.DatetimeIndex
    ) -> Awaitable[np.ndarray | None]:
        """The asset's planned power [kW, > 0 charging, < 0 discharging] at each interval
        of ``index`` (NaN where the plan does not reach), or None without a plan."""
        ...


_PROVIDERS: list[StoragePlan] = []


def register_storage_plan(provider: StoragePlan) -> None:
    """Add ``provider`` (once) to the providers ``planned_storage_kw`` asks."""
    if provider not in _PROVIDERS:
        _PROVIDERS.append(provider)


async def planned_storage_kw(
    *, session: AsyncSession, site_id: int, asset_id: int, index: pd.DatetimeIndex
) -> np.ndarray | None:
    """The first registered provider's plan for the asset that covers part of ``index``."""
    for provider in _PROVIDERS:
        planned = await provider(session=session, site_id=site_id, asset_id=asset_id, index=index)
        if planned is not None and np.isfinite(planned).any():
            return planned
    return None
