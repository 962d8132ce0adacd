"""Utilities that notify DR events by webhook, the sites each may address, and the deliveries
received from them (the replay guard and the queue the DR loop works through).

Administrators manage utilities; a utility's secret is answered when it is made (created or
rotated), never listed. Services flush; the caller commits.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.service import get_site
from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import Conflict, NotFound
from gridpilot.dr.models import DrUtility, DrUtilitySite, DrWebhookDelivery
from gridpilot.dr.schemas import UtilityCreate, UtilityUpdate
from gridpilot.dr.signature import new_secret

#: Deliveries (processed or failed) older than this are deleted by the DR loop [ms]; a replay
#: that old is refused by its timestamp anyway.
KEEP_DELIVERIES_MS = 30 * 86_400_000


class Replayed(Conflict):
    """A ``webhook-id`` already received from this utility (HTTP 409)."""

    code = "webhook_replayed"


async def _check_name_free(session: AsyncSession, name: str, utility_id: int | None) -> None:
    existing = await session.scalar(select(DrUtility.id).where(DrUtility.name == name))
    if existing is not None and existing != utility_id:
        raise Conflict(f"a utility named {name!r} already exists")


async def _set_sites(
    session: AsyncSession, utility_id: int, site_ids: list[int], principal: Principal
) -> None:
    for site_id in sorted(set(site_ids)):
        await get_site(session=session, site_id=site_id, principal=principal)
    await session.execute(delete(DrUtilitySite).where(DrUtilitySite.utility_id == utility_id))
    session.add_all(DrUtilitySite(utility_id=utility_id, site_id=s) for s in sorted(set(site_ids)))
    await session.flush()


async def create_utility(
    *, session: AsyncSession, principal: Principal, data: UtilityCreate
) -> DrUtility:
    """A utility with a new secret and the sites it may address (``NotFound`` for a site)."""
    await _check_name_free(session, data.name, None)
    utility = DrUtility(
        name=data.name, secret=new_secret(), enabled=data.enabled,
        baseline_method=data.baseline_method, created_by=principal.subject,
    )  # fmt: skip
    session.add(utility)
    await session.flush()
    await _set_sites(session, utility.id, data.site_ids, principal)
    return utility


async def get_utility(*, session: AsyncSession, utility_id: int) -> DrUtility:
    utility = await session.get(DrUtility, utility_id)
    if utility is None:
        raise NotFound(f"utility {utility_id} not found")
    return utility


async def list_utilities(*, session: AsyncSession) -> list[DrUtility]:
    return list((await session.scalars(select(DrUtility).order_by(DrUtility.id))).all())


async def enabled_utilities(*, session: AsyncSession) -> list[DrUtility]:
    query = select(DrUtility).where(DrUtility.enabled.is_(True)).order_by(DrUtility.id)
    return list((await session.scalars(query)).all())


async def sites_of(*, session: AsyncSession, utility_ids: list[int]) -> dict[int, list[int]]:
    """The sites each utility may address."""
    found: dict[int, list[int]] = {u: [] for u in utility_ids}
    rows = await session.execute(
        select(DrUtilitySite.utility_id, DrUtilitySite.site_id)
        .where(DrUtilitySite.utility_id.in_(utility_ids))
        .order_by(DrUtilitySite.site_id)
    )
    for utility_id, site_id in rows:
        found[int(utility_id)].append(int(site_id))
    return found


async def update_utility(
    *, session: AsyncSession, principal: Principal, utility: DrUtility, data: UtilityUpdate
) -> bool:
    """Change a utility; whether a new secret was made (``rotate_secret``)."""
    if data.name is not None:
        await _check_name_free(session, data.name, utility.id)
        utility.name = data.name
    if data.baseline_method is not None:
        utility.baseline_method = data.baseline_method
    if data.enabled is not None:
        utility.enabled = data.enabled
    if data.site_ids is not None:
        await _set_sites(session, utility.id, data.site_ids, principal)
    if data.rotate_secret:
        utility.secret = new_secret()
    await session.flush()
    return data.rotate_secret


async def delete_utility(*, session: AsyncSession, utility: DrUtility) -> None:
    """Delete a utility with its deliveries (its events stay, without the utility)."""
    await session.delete(utility)
    await session.flush()


async def record_delivery(
    *,
    session: AsyncSession,
    utility_id: int,
    webhook_id: str,
    payload: dict[str, object],
    at_ms: int,
) -> DrWebhookDelivery:
    """Store an accepted notification as pending; ``Replayed`` when its id was seen before."""
    seen = await session.scalar(
        select(DrWebhookDelivery.id).where(
            DrWebhookDelivery.utility_id == utility_id, DrWebhookDelivery.webhook_id == webhook_id
        )
    )
    if seen is not None:
        raise Replayed(
            f"webhook-id {webhook_id!r} was already received (delivery {seen}): replay refused",
            details={"delivery_id": seen},
        )
    delivery = DrWebhookDelivery(
        utility_id=utility_id, webhook_id=webhook_id, received_ms=at_ms, payload=payload,
        state="pending", event_ids=[], errors={},
    )  # fmt: skip
    session.add(delivery)
    await session.flush()
    return delivery


async def pending_deliveries(*, session: AsyncSession) -> list[int]:
    query = select(DrWebhookDelivery.id).where(DrWebhookDelivery.state == "pending")
    return list((await session.scalars(query.order_by(DrWebhookDelivery.id))).all())


async def claim_delivery(*, session: AsyncSession, delivery_id: int) -> DrWebhookDelivery | None:
    """The delivery, if this transaction moved it from pending to processing (one process
    handles each)."""
    result = await session.execute(
        update(DrWebhookDelivery)
        .where(DrWebhookDelivery.id == delivery_id, DrWebhookDelivery.state == "pending")
        .values(state="processing")
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return None
    delivery = await session.get(DrWebhookDelivery, delivery_id)
    if delivery is not None:
        await session.refresh(delivery)
    return delivery


async def list_deliveries(
    *, session: AsyncSession, utility_id: int, limit: int, offset: int
) -> list[DrWebhookDelivery]:
    query = (
        select(DrWebhookDelivery)
        .where(DrWebhookDelivery.utility_id == utility_id)
        .order_by(DrWebhookDelivery.id.desc())
    )
    return list((await session.scalars(query.limit(limit).offset(offset))).all())


async def prune_deliveries(*, session: AsyncSession, now_ms: int) -> int:
    """Delete handled deliveries older than ``KEEP_DELIVERIES_MS``; how many."""
    result = await session.execute(
        delete(DrWebhookDelivery).where(
            DrWebhookDelivery.state != "pending",
            DrWebhookDelivery.received_ms < now_ms - KEEP_DELIVERIES_MS,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
