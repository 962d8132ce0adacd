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
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.models import Asset
from gridpilot.auth.permissions import Principal
from gridpilot.control.events import CommandChange
from gridpilot.control.kinds import unsuitable_reason
from gridpilot.control.models import Command, CommandTransition
from gridpilot.control.service import QUEUED, SENT
from gridpilot.core.errors import Conflict, RateLimited, ValidationFailed
from gridpilot.core.timestamps import MS_PER_MIN


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


async def queue_many(
    *,
    session: AsyncSession,
    assets: Sequence[Asset],
    principal: Principal,
    kind: str,
    params: dict[str, Any],
    ttl_s: int,
    idempotency_key: str,
    now_ms: int,
    rate_limit_per_min: int,
) -> tuple[list[Queued], list[CommandChange]]:
    """Queue the command (``params`` validated for ``kind``) for every asset, in asset order;
    the changes to publish after the commit. One savepoint: a concurrent insert of the same key
    raises ``IntegrityError`` and nothing is queued (the caller may retry one by one)."""
    ids = [a.id for a in assets]
    known = await _known(session, ids, idempotency_key)
    recent = await _recent(session, ids, now_ms)
    answers: list[Queued] = []
    fresh: list[Command] = []
    for asset in assets:
        found = known.get(asset.id)
        if found is not None:
            same = found.kind == kind and found.params == params
            answers.append(
                Queued(asset, found, False)
                if same
                else Queued(asset, None, False, Conflict.code, "idempotency key used before")
            )
            continue
        refused = _refusal(asset, kind, params, recent.get(asset.id, 0), rate_limit_per_min)
        if refused is not None:
            answers.append(refused)
            continue
        command = Command(
            asset_id=asset.id, site_id=asset.site_id, kind=kind, params=params,
            idempotency_key=idempotency_key, state=QUEUED, created_by=principal.subject[:200],
            created_ms=now_ms, expires_ms=now_ms + ttl_s * 1000, updated_ms=now_ms,
        )  # fmt: skip
        fresh.append(command)
        answers.append(Queued(asset, command, True))
    async with session.begin_nested():  # commands and their "queued" rows together (SQLite)
        session.add_all(fresh)
        await session.flush()
        session.add_all(
            CommandTransition(
                command_id=c.id, state=QUEUED, previous=None, ts_ms=now_ms, actor=c.created_by
            )
            for c in fresh
        )
        await session.flush()
    changes = [
        CommandChange(c.id, c.asset_id, c.site_id, kind, QUEUED, None, now_ms, None) for c in fresh
    ]
    return answers, changes


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
