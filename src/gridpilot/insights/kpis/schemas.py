"""Request and response bodies of tariff versions (KPI answers are documented dicts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class TariffCreate(BaseModel):
    """A new tariff version: ``definition`` as in docs/kpis.md, valid from ``valid_from``."""

    model_config = ConfigDict(extra="forbid")

    valid_from: str | int = Field(
        description="ISO-8601 (UTC when no offset) or epoch milliseconds; now or later"
    )
    definition: dict[str, Any] = Field(description="Time-of-use tariff (docs/kpis.md)")
    backdate: bool = Field(
        default=False,
        description="Allow a start in the past (changes costs already reported: corrections only)",
    )


class TariffOut(BaseModel):
    id: int
    site_id: int
    valid_from: str
    valid_to: str | None = Field(description="Start of the next version (None: still valid)")
    definition: dict[str, Any]
    created_by: str
    created_at: datetime
