"""Device commands: create (idempotent, rate-limited), state transitions, acks, expiry, queries.

States: queued -> sent -> acknowledged -> succeeded | failed | expired. Every transition is a
compare-and-set (``UPDATE commands ... WHERE id = :id AND state = :seen``): when an ack races
the expiry sweep (or two processes race), exactly one UPDATE matches and the loser sees the new
state, so each command ends in exactly one terminal state. Each transition adds a row to
``command_transitions`` in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.models import Asset
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.control.events import CommandChange
from gridpilot.control.kinds import unsuitable_reason, validate_params
from gridpilot.control.models import AssetStatus, Command, CommandTransition
from gridpilot.core import timestamps
from gridpilot.core.errors import Conflict, NotFound, RateLimited, ValidationFailed
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import MS_PER_MIN

QUEUED, SENT, ACKNOWLEDGED = "queued", "sent", "acknowledged"
SUCCEEDED, FAILED, EXPIRED = "succeeded", "failed", "expired"
STATES = (QUEUED, SENT, ACKNOWLEDGED, SUCCEEDED, FAILED, EXPIRED)
OPEN_STATES = (QUEUED, SENT, ACKNOWLEDGED)
TERMINAL_STATES = (SUCCEEDED, FAILED, EXPIRED)
#: The states a command may move to each state from (queued <- sent: a failed publish).
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    SENT: (QUEUED,),
    QUEUED: (SENT,),
    ACKNOWLEDGED: (QUEUED, SENT),
    SUCCEEDED: OPEN_STATES,
    FAILED: OPEN_STATES,
    EXPIRED: OPEN_STATES,
}
_TIME_COLUMN = {SENT: "sent_ms", ACKNOWLEDGED: "acknowledged_ms"}
DETAIL_MAX = 500


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


async def get_command(*, session: AsyncSession, command_id: int, principal: Principal) -> Command:
    """The command; ``NotFound`` when missing or on a site the principal may not see."""
    command = await session.get(Command, command_id)
    if command is None or not principal.can_see_site(command.site_id):
        raise NotFound(f"command {command_id} not found")
    return command


async def list_commands(
    *,
    session: AsyncSession,
    asset_id: int,
    states: Sequence[str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Command]:
    """The asset's commands, newest first."""
    query = select(Command).where(Command.asset_id == asset_id)
    if states:
        query = query.where(Command.state.in_(list(states)))
    query = query.order_by(Command.created_ms.desc(), Command.id.desc()).limit(limit).offset(offset)
    return list((await session.scalars(query)).all())


async def transitions_of(*, session: AsyncSession, command_id: int) -> list[CommandTransition]:
    query = (
        select(CommandTransition)
        .where(CommandTransition.command_id == command_id)
        .order_by(CommandTransition.id)
    )
    return list((await session.scalars(query)).all())


async def _existing(session: AsyncSession, asset_id: int, key: str) -> Command | None:
    query = select(Command).where(Command.asset_id == asset_id, Command.idempotency_key == key)
    return await session.scalar(query)


def _same_request(command: Command, kind: str, params: dict[str, Any]) -> Command:
    if command.kind != kind or command.params != params:
        raise Conflict(
            f"idempotency key {command.idempotency_key!r} was used for a different command "
            f"({command.id}: {command.kind}) of asset {command.asset_id}"
        )
    return command


async def check_rate(
    *, session: AsyncSession, asset_id: int, now_ms: int, limit_per_min: int
) -> None:
    """``RateLimited`` when the asset got ``limit_per_min`` commands in the last minute."""
    if limit_per_min <= 0:
        return
    since = now_ms - MS_PER_MIN
    query = select(func.count(), func.min(Command.created_ms)).where(
        Command.asset_id == asset_id, Command.created_ms > since
    )
    count, oldest = (await session.execute(query)).one()
    if count >= limit_per_min:
        retry_s = max(1, -(-(oldest + MS_PER_MIN - now_ms) // 1000))
        raise RateLimited(
            f"asset {asset_id} accepts at most {limit_per_min} commands per minute; "
            f"retry in {retry_s} s",
            retry_after_s=retry_s,
        )


async def create_command(
    *,
    session: AsyncSession,
    asset: Asset,
    principal: Principal,
    kind: str,
    params: dict[str, Any],
    ttl_s: int,
    idempotency_key: str,
    now_ms: int,
    rate_limit_per_min: int,
) -> tuple[Command, CommandChange | None]:
    """Queue a command (``params`` already validated for ``kind``). The same idempotency key
    for the asset returns the existing command and no change (409 when kind/params differ)."""
    existing = await _existing(session, asset.id, idempotency_key)
    if existing is not None:
        return _same_request(existing, kind, params), None
    reason = unsuitable_reason(
        kind,
        params,
        asset_kind=asset.kind,
        asset_role=asset.role,
        rated_capacity_kw=asset.rated_capacity_kw,
    )
    if reason is not None:
        raise ValidationFailed(f"asset {asset.id}: {reason}")
    await check_rate(
        session=session, asset_id=asset.id, now_ms=now_ms, limit_per_min=rate_limit_per_min
    )
    command = Command(
        asset_id=asset.id,
        site_id=asset.site_id,
        kind=kind,
        params=params,
        idempotency_key=idempotency_key,
        state=QUEUED,
        created_by=principal.subject[:200],
        created_ms=now_ms,
        expires_ms=now_ms + ttl_s * 1000,
        updated_ms=now_ms,
    )
    try:
        await _insert(session, command, now_ms)
    except IntegrityError:  # the same key arrived concurrently: answer with that command
        existing = await _existing(session, asset.id, idempotency_key)
        if existing is None:
            raise
        return _same_request(existing, kind, params), None
    change = CommandChange(command.id, asset.id, asset.site_id, kind, QUEUED, None, now_ms, None)
    return command, change


async def _insert(session: AsyncSession, command: Command, now_ms: int) -> None:
    """Add ``command`` and its ``queued`` transition in one savepoint: on SQLite, where pysqlite
    opens no transaction before a SAVEPOINT, its RELEASE commits, so both must be inside it
    (else the simulator could claim the command before its "queued" transition exists)."""
    async with session.begin_nested():
        session.add(command)
        await session.flush()
        session.add(
            CommandTransition(
                command_id=command.id,
                state=QUEUED,
                previous=None,
                ts_ms=now_ms,
                actor=command.created_by,
            )
        )
        await session.flush()


def command_ttl_s(requested_s: int | None, settings: Settings) -> int:
    """The TTL [s] of a new command: ``requested_s`` or the default, at most the maximum."""
    ttl = requested_s or settings.command_ttl_s
    if ttl > settings.command_max_ttl_s:
        raise ValidationFailed(f"ttl_s may be at most {settings.command_max_ttl_s}")
    return ttl


async def queue_command(
    *,
    session: AsyncSession,
    asset: Asset,
    principal: Principal,
    kind: str,
    params: dict[str, Any],
    settings: Settings,
    ttl_s: int | None = None,
    idempotency_key: str | None = None,
) -> tuple[Command, CommandChange | None]:
    """Check permission, params and TTL, then ``create_command`` (the API's and the UI's path).

    ``idempotency_key`` None generates one. Publish the returned change after commit.
    """
    principal.require(Permission.COMMANDS_SEND)
    return await create_command(
        session=session,
        asset=asset,
        principal=principal,
        kind=kind,
        params=validate_params(kind, params),
        ttl_s=command_ttl_s(ttl_s, settings),
        idempotency_key=idempotency_key or new_idempotency_key(),
        now_ms=timestamps.now_ms(),
        rate_limit_per_min=settings.command_rate_limit_per_min,
    )


async def transition(
    *,
    session: AsyncSession,
    command_id: int,
    to: str,
    at_ms: int,
    actor: str,
    detail: str | None = None,
    condition: ColumnElement[bool] | None = None,
) -> CommandChange | None:
    """Move the command to ``to`` if its state allows it (and ``condition`` holds); None when
    it does not (already terminal, or another writer won the race)."""
    allowed = ALLOWED_FROM[to]
    detail = detail[:DETAIL_MAX] if detail else None
    for _ in range(4):  # each retry sees a state another writer committed meanwhile
        row = (
            await session.execute(
                select(Command.asset_id, Command.site_id, Command.kind, Command.state).where(
                    Command.id == command_id
                )
            )
        ).first()
        if row is None or row.state not in allowed:
            return None
        values: dict[str, Any] = {"state": to, "updated_ms": at_ms, "detail": detail}
        if to in _TIME_COLUMN:
            values[_TIME_COLUMN[to]] = at_ms
        if to in TERMINAL_STATES:
            values["completed_ms"] = at_ms
        cas = update(Command).where(Command.id == command_id, Command.state == row.state)
        if condition is not None:
            cas = cas.where(condition)
        if (await session.execute(cas.values(values))).rowcount == 1:  # type: ignore[attr-defined]
            session.add(
                CommandTransition(
                    command_id=command_id,
                    state=to,
                    previous=row.state,
                    ts_ms=at_ms,
                    actor=actor[:200],
                    detail=detail,
                )
            )
            await session.flush()
            return CommandChange(
                command_id, row.asset_id, row.site_id, row.kind, to, row.state, at_ms, detail
            )
        if condition is not None:
            return None  # the condition (e.g. "still due") may be what failed
    return None


async def apply_ack(
    *,
    session: AsyncSession,
    asset_id: int,
    command_id: int,
    state: str,
    detail: str | None,
    received_ms: int,
) -> CommandChange | None:
    """A device's acknowledgement. An ack received at or after the command's expiry expires it
    instead; an ack for a finished command changes nothing. ``ValidationFailed`` when the
    command does not exist or belongs to another asset."""
    row = (
        await session.execute(
            select(Command.asset_id, Command.expires_ms).where(Command.id == command_id)
        )
    ).first()
    if row is None or row.asset_id != asset_id:
        raise ValidationFailed(f"asset {asset_id} has no command {command_id}")
    actor = f"asset:{asset_id}"
    if received_ms >= row.expires_ms:
        return await transition(
            session=session,
            command_id=command_id,
            to=EXPIRED,
            at_ms=received_ms,
            actor=actor,
            detail=f"ack {state!r} arrived after the TTL",
        )
    return await transition(
        session=session,
        command_id=command_id,
        to=state,
        at_ms=received_ms,
        actor=actor,
        detail=detail,
        condition=Command.expires_ms > received_ms,
    )


async def expire_due(
    *, session: AsyncSession, now_ms: int, limit: int = 500
) -> list[CommandChange]:
    """Expire the open commands whose TTL has passed."""
    ids = await session.scalars(
        select(Command.id)
        .where(Command.state.in_(OPEN_STATES), Command.expires_ms <= now_ms)
        .order_by(Command.expires_ms)
        .limit(limit)
    )
    changes: list[CommandChange] = []
    for command_id in list(ids):
        change = await transition(
            session=session,
            command_id=command_id,
            to=EXPIRED,
            at_ms=now_ms,
            actor="system:expiry",
            detail="no final acknowledgement before the TTL",
            condition=Command.expires_ms <= now_ms,
        )
        if change is not None:
            changes.append(change)
    return changes


async def sendable(
    *,
    session: AsyncSession,
    now_ms: int,
    limit: int = 200,
    only_assets: Collection[int] | None = None,
    except_assets: Collection[int] = (),
) -> list[tuple[Command, dict[str, Any]]]:
    """Queued, unexpired commands of online assets, oldest first, with the asset's attributes;
    only those of ``only_assets`` when given, none of ``except_assets``."""
    query = (
        select(Command, Asset.attributes)
        .join(AssetStatus, AssetStatus.asset_id == Command.asset_id)
        .join(Asset, Asset.id == Command.asset_id)
        .where(
            Command.state == QUEUED,
            Command.expires_ms > now_ms,
            AssetStatus.status == "online",
        )
        .order_by(Command.created_ms, Command.id)
        .limit(limit)
    )
    if only_assets is not None:
        query = query.where(Command.asset_id.in_(list(only_assets)))
    if except_assets:
        query = query.where(Command.asset_id.not_in(list(except_assets)))
    return [(command, dict(attrs or {})) for command, attrs in await session.execute(query)]


async def last_succeeded(*, session: AsyncSession, asset_ids: Collection[int]) -> list[Command]:
    """The newest succeeded command of each (asset, kind) of ``asset_ids``, in the order they
    succeeded: the device state they left in force (a simulator resuming after a restart)."""
    if not asset_ids:
        return []
    newest = (
        select(func.max(Command.id))
        .where(Command.state == SUCCEEDED, Command.asset_id.in_(list(asset_ids)))
        .group_by(Command.asset_id, Command.kind)
    )
    query = select(Command).where(Command.id.in_(newest)).order_by(Command.completed_ms, Command.id)
    return list((await session.scalars(query)).all())
