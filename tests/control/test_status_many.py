"""First statuses of a large fleet are stored whole: one statement per chunk, never beyond
asyncpg's 32,767 bound parameters (a fleet of 11,000 assets lost two thirds of them)."""

from __future__ import annotations

from sqlalchemy import func, insert, select

from gridpilot.assets.models import Asset, Site
from gridpilot.control.events import StatusChange
from gridpilot.control.models import AssetStatus
from gridpilot.control.status import FIRST_CHUNK, insert_first

COUNT = 2 * FIRST_CHUNK + 1_000  # three statements


async def test_first_statuses_of_a_large_fleet(sessions):
    async with sessions() as session, session.begin():
        site = Site(name="Large fleet", timezone="UTC")
        session.add(site)
        await session.flush()
        rows = [
            {"site_id": site.id, "name": f"meter {n}", "kind": "meter", "role": "consumer"}
            for n in range(COUNT)
        ]
        await session.execute(insert(Asset), rows)
        ids = list((await session.scalars(select(Asset.id).where(Asset.site_id == site.id))).all())
    changes = [
        StatusChange(
            asset_id=a,
            site_id=site.id,
            status="online",
            previous=None,
            reason="data",
            last_seen_ms=1_000,
            changed_ms=1_000,
        )
        for a in ids
    ]
    async with sessions() as session, session.begin():
        stored = await insert_first(session=session, changes=changes, at_ms=1_000)
    assert len(stored) == COUNT
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(AssetStatus)) == COUNT
    async with sessions() as session, session.begin():  # a second time: nothing new
        assert await insert_first(session=session, changes=changes, at_ms=2_000) == []
