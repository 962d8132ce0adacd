"""Commands to many devices at once: queue one command per asset and claim many for sending,
each in a few statements whatever the number of devices (a command scheduled to a group of
1,000 devices, ``bench/scheduled_commands.py``).

The rules are those of ``service``: the same idempotency key for an asset returns its command
(a different kind or params is refused, ``conflict``), an unsuitable asset or one over its rate
limit is refused with the code and reason ``create_command`` would give, every transition is a
compare-and-set with its row in ``command_transitions``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.models import Asset
from gridpilot.assets.service import can_see_asset
from gridpilot.auth.permissions import Principal
from gridpilot.control.events import CommandChange
from gridpilot.control.kinds import unsuitable_reason
from gridpilot.control.models import Command, CommandTransition
from gridpilot.control.service import QUEUED, SENT
from gridpilot.core.errors import Conflict, NotFound, RateLimited, ValidationFailed
from gridpilot.core.timestamps import MS_PER_MIN

COMMANDS = cast(Table, Command.__table__)
TRANSITIONS = cast(Table, CommandTransition.__table__)
#: The columns a planned command sets (the others are NULL until it moves on).
_FIELDS = [
    COMMANDS.c[name]
    for name in (
        "asset_id", "site_id", "kind", "params", "idempotency_key", "state", "created_by",
        "created_ms", "expires_ms", "updated_ms",
    )
]  # fmt: skip


@dataclass(frozen=True)
class BulkOrder:
    """One command for many devices: what each gets (``params`` validated for ``kind``), who
    asks, for how long [s], under which idempotency key and rate limit [commands/min/asset]."""

    principal: Principal
    kind: str
    params: dict[str, Any]
    ttl_s: int
    idempotency_key: str
    rate_limit_per_min: int


@dataclass(frozen=True)
class Queued:
    """One asset's answer: its command (new or found by the key), or a refusal."""

    asset: Asset
    command: Command | None
    created: bool
    error: str | None = None
    message: str | None = None


async def _known(session: AsyncSession, ids: list[int], key: str) -> dict[int, Command]:
    query = select(Command).where(Command.asset_id.in_(ids), Command.idempotency_key == key)
    return {c.asset_id: c for c in await session.scalars(query)}


async def _recent(session: AsyncSession, ids: list[int], now_ms: int) -> dict[int, int]:
    query = (
        select(Command.asset_id, func.count())
        .where(Command.asset_id.in_(ids), Command.created_ms > now_ms - MS_PER_MIN)
        .group_by(Command.asset_id)
    )
    return {asset_id: count for asset_id, count in await session.execute(query)}


def _refusal(
    asset: Asset, kind: str, params: dict[str, Any], recent: int, limit: int
) -> Queued | None:
    reason = unsuitable_reason(
        kind, params, asset_kind=asset.kind, asset_role=asset.role,
        rated_capacity_kw=asset.rated_capacity_kw,
    )  # fmt: skip
    if reason is not None:
        return Queued(asset, None, False, ValidationFailed.code, f"asset {asset.id}: {reason}")
    if 0 < limit <= recent:
        message = f"asset {asset.id} accepts at most {limit} commands per minute"
        return Queued(asset, None, False, RateLimited.code, message)
    return None


async def plan_many(
    *, session: AsyncSession, assets: Sequence[Asset], order: BulkOrder, now_ms: int
) -> list[Queued]:
    """What queuing ``order`` for every asset would do, in asset order, from two reads (known
    keys, rate counts) and nothing written: the new commands are built, not added
    (``insert_planned`` writes them)."""
    ids = [a.id for a in assets]
    kind, params = order.kind, order.params
    known = await _known(session, ids, order.idempotency_key)
    recent = await _recent(session, ids, now_ms)
    answers: list[Queued] = []
    for asset in assets:
        found = known.get(asset.id)
        if found is not None:
            same = found.kind == kind and found.params == params
            answers.append(
                Queued(asset, found, False)
                if same
                else Queued(asset, None, False, Conflict.code, _conflict(found))
            )
            continue
        refused = _refusal(asset, kind, params, recent.get(asset.id, 0), order.rate_limit_per_min)
        if refused is not None:
            answers.append(refused)
            continue
        command = Command(
            asset_id=asset.id, site_id=asset.site_id, kind=kind, params=params,
            idempotency_key=order.idempotency_key, state=QUEUED,
            created_by=order.principal.subject[:200], created_ms=now_ms,
            expires_ms=now_ms + order.ttl_s * 1000, updated_ms=now_ms,
        )  # fmt: skip
        answers.append(Queued(asset, command, True))
    return answers


def _conflict(found: Command) -> str:
    return (
        f"idempotency key {found.idempotency_key!r} was used for a different command "
        f"({found.id}: {found.kind}) of asset {found.asset_id}"
    )


async def insert_planned(
    *, session: AsyncSession, answers: Sequence[Queued], now_ms: int
) -> list[CommandChange]:
    """Write the new commands of ``answers`` and their ``queued`` rows; the changes to publish
    after the commit. Two Core INSERTs whatever the number of devices (the ORM's unit of work
    inserts one row per statement on SQLite, where it cannot match RETURNING rows to objects):
    the commands' ids come back with their asset, unique in a plan (one command per asset),
    and are set on the planned objects. A concurrent insert of the same key raises
    ``IntegrityError`` and nothing is written (plan again: the other request's commands are
    then known).

    One savepoint whose first statement is the insert: on SQLite it is the write transaction
    (pysqlite opens none before it, and its RELEASE commits), so the write lock is taken at once,
    waiting ``busy_timeout`` for another writer, where a transaction that read first fails at
    once ("database is locked") when another connection committed since its read."""
    fresh = [a.command for a in answers if a.created and a.command is not None]
    if not fresh:
        return []
    rows = [{c.key: getattr(command, c.key) for c in _FIELDS} for command in fresh]
    async with session.begin_nested():
        made = await session.execute(insert(COMMANDS).returning(Command.id, Command.asset_id), rows)
        ids = {int(asset_id): int(command_id) for command_id, asset_id in made}
        for command in fresh:
            command.id = ids[command.asset_id]
        await session.execute(
            insert(TRANSITIONS),
            [
                {"command_id": c.id, "state": QUEUED, "previous": None, "ts_ms": now_ms,
                 "actor": c.created_by, "detail": None}
                for c in fresh
            ],
        )  # fmt: skip
    return [
        CommandChange(c.id, c.asset_id, c.site_id, c.kind, QUEUED, None, now_ms, None)
        for c in fresh
    ]


async def queue_many(
    *, session: AsyncSession, assets: Sequence[Asset], order: BulkOrder, now_ms: int
) -> tuple[list[Queued], list[CommandChange]]:
    """``plan_many`` then ``insert_planned``: every asset's answer (a key used before for
    another command is a refusal, ``conflict``) and the changes to publish after the commit."""
    answers = await plan_many(session=session, assets=assets, order=order, now_ms=now_ms)
    return answers, await insert_planned(session=session, answers=answers, now_ms=now_ms)


async def visible_assets(
    *, session: AsyncSession, principal: Principal, asset_ids: Sequence[int]
) -> list[Asset]:
    """The assets of ``asset_ids`` in that order, read in one statement; ``NotFound`` for the
    first one missing or out of the principal's scope (as ``GET /assets/{id}`` answers)."""
    found = {
        a.id: a for a in await session.scalars(select(Asset).where(Asset.id.in_(list(asset_ids))))
    }
    for asset_id in asset_ids:
        asset = found.get(asset_id)
        if asset is None or not can_see_asset(principal, asset.id, asset.site_id):
            raise NotFound(f"asset {asset_id} not found")
    return [found[i] for i in asset_ids]


async def claim_sent(
    *, session: AsyncSession, command_ids: Sequence[int], at_ms: int, actor: str
) -> list[CommandChange]:
    """Move the still queued, unexpired ones of ``command_ids`` to sent (one compare-and-set
    for all: of several processes, each command is claimed by one); their changes."""
    if not command_ids:
        return []
    rows = await session.execute(
        update(Command)
        .where(
            Command.id.in_(list(command_ids)),
            Command.state == QUEUED,
            Command.expires_ms > at_ms,
        )
        .values(state=SENT, sent_ms=at_ms, updated_ms=at_ms, detail=None)
        .returning(Command.id, Command.asset_id, Command.site_id, Command.kind)
        .execution_options(synchronize_session=False)
    )
    claimed = list(rows)
    session.add_all(
        CommandTransition(
            command_id=row.id, state=SENT, previous=QUEUED, ts_ms=at_ms, actor=actor[:200]
        )
        for row in claimed
    )
    await session.flush()
    return [
        CommandChange(row.id, row.asset_id, row.site_id, row.kind, SENT, QUEUED, at_ms, None)
        for row in claimed
    ]
