"""Versioned incentive parameters in the database (``analytics.community.parameters``).

The decree's values (``DM_414_2023``) are built in, as versions recorded on 24 January 2024;
versions recorded here are added on top (append-only; a later record wins where versions
overlap). The ARERA valorisation is not built in: record one version per year. Parameters are
national, so a version that would change a value in force on any day of any community's
closed settlement is refused (409, naming the day).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.community.incentives import DM_414_2023, TipBand
from gridpilot.analytics.community.parameters import ParameterVersion, add_version, resolve
from gridpilot.auth.permissions import Principal
from gridpilot.community.access import is_superuser
from gridpilot.community.models import ParameterRecord, Settlement
from gridpilot.core.errors import PermissionDenied, ValidationFailed
from gridpilot.db.base import utcnow

NAMES = (*sorted({v.name for v in DM_414_2023}), "arera_valorisation_eur_per_mwh")


def encode(name: str, value: Any) -> Any:
    """A parameter value as JSON: decimals as text, TIP bands as objects."""
    if name == "tip_bands":
        return [
            {
                "max_power_kw": None if b.max_power_kw is None else str(b.max_power_kw),
                "base_eur_per_mwh": str(b.base_eur_per_mwh),
                "cap_eur_per_mwh": str(b.cap_eur_per_mwh),
            }
            for b in value
        ]
    return str(value)


def decode(name: str, value: Any) -> Any:
    if name == "tip_bands":
        return tuple(
            TipBand(
                None if b["max_power_kw"] is None else Decimal(b["max_power_kw"]),
                Decimal(b["base_eur_per_mwh"]),
                Decimal(b["cap_eur_per_mwh"]),
            )
            for b in value
        )
    return Decimal(value)


def check_value(name: str, value: Any) -> Any:
    """The JSON form of an input value, or ``ValidationFailed``."""
    if name not in NAMES:
        raise ValidationFailed(f"unknown parameter {name!r}; one of {list(NAMES)}")
    if name == "tip_bands":
        if not isinstance(value, list) or not value:
            raise ValidationFailed("tip_bands: a list of bands, the last without max_power_kw")
        limits = [b.max_power_kw for b in value]
        if limits[-1] is not None or any(x is None for x in limits[:-1]):
            raise ValidationFailed("tip_bands: only the last band has no max_power_kw")
        if limits[:-1] != sorted(limits[:-1]):
            raise ValidationFailed("tip_bands: bands in increasing max_power_kw")
        return [b.model_dump(mode="json") for b in value]
    if not isinstance(value, Decimal):
        raise ValidationFailed(f"{name}: a decimal number")
    if name.startswith(("grant", "excess")) and not 0 <= value <= 1:
        raise ValidationFailed(f"{name}: a share between 0 and 1")
    if name == "grant_share_max" and value == 0:
        raise ValidationFailed("grant_share_max: above 0 (the grant cut is linear up to it)")
    return str(value)


def _version(row: ParameterRecord) -> ParameterVersion:
    return ParameterVersion(
        row.name, decode(row.name, row.value), row.valid_from, row.valid_to, row.recorded_at
    )


async def versions(session: AsyncSession) -> tuple[ParameterVersion, ...]:
    """Built-in and recorded versions, in recording order."""
    rows = await session.scalars(select(ParameterRecord).order_by(ParameterRecord.id))
    return (*DM_414_2023, *(_version(r) for r in rows))


async def closed_through(session: AsyncSession) -> date | None:
    """The last day of the latest closed month of any community (Europe/Rome calendar)."""
    latest = await session.scalar(
        select(func.max(Settlement.year * 100 + Settlement.month)).where(
            Settlement.status == "closed"
        )
    )
    if latest is None:
        return None
    year, month = divmod(int(latest), 100)
    first_next = date(year + month // 12, month % 12 + 1, 1)
    return date.fromordinal(first_next.toordinal() - 1)


async def record_version(
    *,
    session: AsyncSession,
    principal: Principal,
    name: str,
    value: Any,
    valid_from: date,
    valid_to: date | None,
    note: str | None,
) -> ParameterRecord:
    """Record a new version (gridpilot administrators): 409 if it would change a closed
    period, 422 for an unknown name or a bad value."""
    if not is_superuser(principal):
        raise PermissionDenied("only a gridpilot administrator records incentive parameters")
    stored = check_value(name, value)
    now = utcnow()
    new = ParameterVersion(name, decode(name, stored), valid_from, valid_to, now)
    add_version(await versions(session), new, closed_through=await closed_through(session))
    row = ParameterRecord(
        name=name, value=stored, valid_from=valid_from, valid_to=valid_to, recorded_at=now,
        note=note,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row


def resolved(
    all_versions: tuple[ParameterVersion, ...], start: date, end: date, as_of: datetime
) -> dict[str, Any]:
    """Every parameter's value over ``[start, end)`` as recorded up to ``as_of``."""
    return resolve(all_versions, start, end, names=NAMES, as_of=as_of)


async def recorded(session: AsyncSession) -> list[ParameterRecord]:
    """The versions recorded here (not the built-in ones), in recording order."""
    return list(await session.scalars(select(ParameterRecord).order_by(ParameterRecord.id)))
