"""Asset online/offline status: transitions stored in ``asset_status`` and the statuses a
reader sees (the rules, pure, in ``status_rules.py``).

A transition is a compare-and-set on the stored status (``UPDATE ... WHERE status = old``), so
when several processes see the same evidence only one of them records (and announces) the change.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from sqlalchemy import (
    ColumnElement,
    Float,
    Row,
    and_,
    bindparam,
    case,
    func,
    literal,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.models import Asset
from gridpilot.control.events import StatusChange
from gridpilot.control.models import AssetStatus
from gridpilot.control.status_rules import (
    ANNOUNCED,
    BIRTH,
    DATA,
    ERROR,
    LWT,
    OFFLINE,
    ONLINE,
    STALE,
    STANDING,
    STOPPED,
    UNKNOWN,
    StatusPolicy,
    StatusView,
    _newest,
    effective_status,
    error_stands,
    last_will_stands,
    statuses_of,
    stop_stands,
)
from gridpilot.db.inserts import dialect_insert
from gridpilot.telemetry.queries import last_seen as data_last_seen

#: The rules (``status_rules.py``) are re-exported: callers read ``status.ONLINE`` and the like.
__all__ = [
    "ANNOUNCED",
    "BIRTH",
    "DATA",
    "ERROR",
    "FIRST_CHUNK",
    "LWT",
    "OFFLINE",
    "ONLINE",
    "STALE",
    "STANDING",
    "STOPPED",
    "UNKNOWN",
    "StatusPolicy",
    "StatusView",
    "effective_status",
    "error_stands",
    "insert_first",
    "last_will_stands",
    "mark_stale",
    "read_statuses",
    "record_transition",
    "save_last_seen",
    "stale_candidates",
    "statuses_of",
    "stop_stands",
    "stored_status",
    "stored_statuses",
    "surely_online",
]


async def stored_status(*, session: AsyncSession, asset_id: int) -> Row | None:
    """(status, reason, last_seen_ms, changed_ms) of the asset, or None before its first status."""
    query = select(
        AssetStatus.status, AssetStatus.reason, AssetStatus.last_seen_ms, AssetStatus.changed_ms
    ).where(AssetStatus.asset_id == asset_id)
    return (await session.execute(query)).first()


async def record_transition(
    *,
    session: AsyncSession,
    asset_id: int,
    site_id: int,
    status: str,
    reason: str,
    at_ms: int,
    last_seen_ms: int | None,
    from_states: Collection[str | None],
) -> tuple[str, StatusChange | None]:
    """Move the asset to ``status`` when its stored status is one of ``from_states`` (None: no
    status yet). Returns (stored status afterwards, the change or None). ``last_seen_ms`` only
    ever moves forward. A Last Will on an asset already offline (stale) becomes its reason."""
    for _ in range(3):  # another process may change the row between our read and write
        current = await stored_status(session=session, asset_id=asset_id)
        if current is None:
            if None not in from_states:
                return UNKNOWN, None
            first = StatusChange(asset_id, site_id, status, None, reason, last_seen_ms, at_ms)
            if await insert_first(session=session, changes=[first], at_ms=at_ms):
                return status, first
            continue
        seen = _newest(current.last_seen_ms, last_seen_ms)
        # readings taken before a Last Will or a stop (stored late) do not bring it back
        before_will = (
            reason == DATA
            and current.reason in STANDING
            and (last_seen_ms is None or last_seen_ms <= current.changed_ms)
        )
        # a device in error stays so until it says it is online again, whatever it sends
        in_error = reason == DATA and current.status == OFFLINE and current.reason == ERROR
        if current.status == status or current.status not in from_states or before_will or in_error:
            changes: dict[str, object] = {}
            if seen != current.last_seen_ms:
                changes["last_seen_ms"] = seen
            renamed = reason in ANNOUNCED and current.reason != reason
            if current.status == status == OFFLINE and renamed:
                changes.update(reason=reason, changed_ms=at_ms)
            if changes:
                await session.execute(
                    update(AssetStatus).where(AssetStatus.asset_id == asset_id).values(changes)
                )
            return current.status, None
        cas = (
            update(AssetStatus)
            .where(AssetStatus.asset_id == asset_id, AssetStatus.status == current.status)
            .values(status=status, reason=reason, changed_ms=at_ms, last_seen_ms=seen)
        )
        if (await session.execute(cas)).rowcount == 1:  # type: ignore[attr-defined]
            change = StatusChange(asset_id, site_id, status, current.status, reason, seen, at_ms)
            return status, change
    return status, None


#: Moves one asset's stored last-seen time forward (never backwards); run as an executemany.
_SAVE_LAST_SEEN = (
    update(AssetStatus)
    .where(
        AssetStatus.asset_id == bindparam("aid"),
        or_(AssetStatus.last_seen_ms.is_(None), AssetStatus.last_seen_ms < bindparam("seen")),
    )
    .values(last_seen_ms=bindparam("seen"))
)


async def save_last_seen(*, session: AsyncSession, last_seen: dict[int, int]) -> None:
    """Persist newer last-seen times (never moves one backwards), one statement for all."""
    if last_seen:
        conn = await session.connection()
        rows = [{"aid": a, "seen": seen} for a, seen in sorted(last_seen.items())]
        await conn.execute(_SAVE_LAST_SEEN, rows)


#: Assets per first-status statement (6 bound parameters each).
FIRST_CHUNK = 5_000


async def insert_first(
    *, session: AsyncSession, changes: Sequence[StatusChange], at_ms: int
) -> list[StatusChange]:
    """Store the first status of assets that have none, one statement per ``FIRST_CHUNK``
    assets (asyncpg allows 32,767 bound parameters, 6 per asset); the changes that were stored
    (an asset with a stored status, from another process, is left alone)."""
    inserted: set[int] = set()
    for i in range(0, len(changes), FIRST_CHUNK):
        inserted |= await _insert_first(session, changes[i : i + FIRST_CHUNK], at_ms)
    return [c for c in changes if c.asset_id in inserted]


async def _insert_first(
    session: AsyncSession, changes: Sequence[StatusChange], at_ms: int
) -> set[int]:
    values = [
        {
            "asset_id": c.asset_id,
            "site_id": c.site_id,
            "status": c.status,
            "reason": c.reason,
            "last_seen_ms": c.last_seen_ms,
            "changed_ms": at_ms,
        }
        for c in changes
    ]
    statement = (
        dialect_insert(session)(AssetStatus)
        .values(values)
        .on_conflict_do_nothing()
        .returning(AssetStatus.asset_id)
    )
    return set((await session.execute(statement)).scalars())


def _window_sql(policy: StatusPolicy) -> ColumnElement[float]:
    """``policy.window_ms`` of each asset, as SQL over ``assets`` [ms]."""
    interval = func.coalesce(Asset.expected_interval_s, policy.default_interval_s)
    window = interval * (policy.factor * 1000)
    floor_ms = literal(float(policy.min_stale_s) * 1000.0, Float)
    return case((window < floor_ms, floor_ms), else_=window)


async def surely_online(
    *, session: AsyncSession, site_ids: Sequence[int], policy: StatusPolicy, now_ms: int
) -> set[int]:
    """The assets of ``site_ids`` whose stored last-seen alone makes them online, by a margin
    of a second (no Last Will standing): ``effective_status`` says online for each of them
    whatever else is known, so a fleet's counts compute the exact status only of the rest."""
    if not site_ids:
        return set()
    last_will = and_(
        AssetStatus.status == OFFLINE,
        AssetStatus.reason == LWT,
        AssetStatus.last_seen_ms <= AssetStatus.changed_ms,
    )
    query = (
        select(AssetStatus.asset_id)
        .join(Asset, Asset.id == AssetStatus.asset_id)
        .where(
            Asset.site_id.in_(list(site_ids)),
            AssetStatus.last_seen_ms.is_not(None),
            AssetStatus.last_seen_ms <= now_ms,
            AssetStatus.last_seen_ms >= now_ms - _window_sql(policy) + 1_000,
            not_(last_will),
        )
    )
    connection = await session.connection()
    return set((await connection.execute(query)).scalars())


async def stale_candidates(
    *, session: AsyncSession, now_ms: int, policy: StatusPolicy, limit: int = 10_000
) -> list[Row]:
    """Online assets whose stored last-seen is older than their window:
    (asset_id, site_id, last_seen_ms, window_ms)."""
    window = _window_sql(policy)
    query = (
        select(AssetStatus.asset_id, AssetStatus.site_id, AssetStatus.last_seen_ms, window)
        .join(Asset, Asset.id == AssetStatus.asset_id)
        .where(
            AssetStatus.status == ONLINE,
            or_(AssetStatus.last_seen_ms.is_(None), AssetStatus.last_seen_ms < now_ms - window),
        )
        .limit(limit)
    )
    return list((await session.execute(query)).all())


async def mark_stale(
    *, session: AsyncSession, asset_id: int, site_id: int, before_ms: int, at_ms: int
) -> StatusChange | None:
    """online -> offline (stale) when the stored last-seen is still older than ``before_ms``."""
    cas = (
        update(AssetStatus)
        .where(
            AssetStatus.asset_id == asset_id,
            AssetStatus.status == ONLINE,
            or_(AssetStatus.last_seen_ms.is_(None), AssetStatus.last_seen_ms < before_ms),
        )
        .values(status=OFFLINE, reason=STALE, changed_ms=at_ms)
    )
    if (await session.execute(cas)).rowcount != 1:  # type: ignore[attr-defined]
        return None
    seen = await session.scalar(
        select(AssetStatus.last_seen_ms).where(AssetStatus.asset_id == asset_id)
    )
    return StatusChange(asset_id, site_id, OFFLINE, ONLINE, STALE, seen, at_ms)


async def stored_statuses(*, session: AsyncSession, asset_ids: Sequence[int]) -> dict[int, Row]:
    """Stored (status, reason, last_seen_ms, changed_ms) per asset id that has one."""
    if not asset_ids:
        return {}
    query = select(
        AssetStatus.asset_id,
        AssetStatus.status,
        AssetStatus.reason,
        AssetStatus.last_seen_ms,
        AssetStatus.changed_ms,
    ).where(AssetStatus.asset_id.in_(list(asset_ids)))
    return {row.asset_id: row for row in await session.execute(query)}


async def read_statuses(
    *,
    session: AsyncSession,
    assets: Sequence[tuple[int, int, float | None]],
    tracked: Callable[[int], int | None],
    policy: StatusPolicy,
    now_ms: int,
) -> list[StatusView]:
    """Statuses of ``assets`` (id, site id, expected interval [s]); ``tracked``: this process's
    unsaved last-seen per asset id."""
    ids = [a[0] for a in assets]
    stored = await stored_statuses(session=session, asset_ids=ids)
    data = await data_last_seen(session=session, asset_ids=ids)
    return statuses_of(
        assets, stored=stored, data=data, tracked=tracked, policy=policy, now_ms=now_ms
    )
