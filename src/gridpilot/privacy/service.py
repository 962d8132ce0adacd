"""Export and erasure of one user's personal data, driven by ``registry`` (see its docstring).

Tables are reached through the models' metadata (``db/metadata.py``), not through each domain's
service: the registry is the one place that knows where personal data lives, and a domain adds
a table to it when it stores some. ``tests/privacy`` fails when a registered table or column
does not exist.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.core.errors import NotFound
from gridpilot.db.metadata import target_metadata
from gridpilot.privacy.registry import MENTIONS, OWNED, PSEUDONYM, RECIPIENTS

KEPT = (
    "Energy data (readings, balances, settlements, the community ledger) belongs to sites and "
    "PODs, not to a user, and is kept as the law requires for invoicing and incentive records "
    "(10 years in Italy, civil code art. 2220). Audit and command records keep the user's "
    "number (user:ID), which no longer leads to a name after erasure."
)


def _table(name: str) -> Table:
    return target_metadata().tables[name]


def _json(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return None
    return value


async def _identity(session: AsyncSession, user_id: int) -> tuple[str, str | None]:
    users = _table("users")
    row = (
        await session.execute(select(users.c.username, users.c.email).where(users.c.id == user_id))
    ).first()
    if row is None:
        raise NotFound(f"user {user_id} not found")
    return str(row.username), row.email


async def personal_data(*, session: AsyncSession, user_id: int) -> dict[str, Any]:
    """Everything about ``user_id`` (GDPR art. 15/20), JSON-ready; 404 for an unknown user."""
    username, email = await _identity(session, user_id)
    owned: dict[str, list[dict[str, Any]]] = {}
    for spec in OWNED:
        table = _table(spec.table)
        columns = [c for c in table.columns if c.name not in spec.hidden]
        rows = await session.execute(select(*columns).where(table.c[spec.column] == user_id))
        owned[spec.table] = [{k: _json(v) for k, v in r._mapping.items()} for r in rows]
    mentions: dict[str, list[dict[str, Any]]] = {}
    names = (f"user:{user_id}", username)
    for name, column in MENTIONS:
        table = _table(name)
        key = next(iter(table.primary_key.columns))
        rows = await session.execute(select(key, table.c[column]).where(table.c[column].in_(names)))
        found = [{"id": _json(r[0]), "column": column, "value": r[1]} for r in rows]
        if found:
            mentions.setdefault(name, []).extend(found)
    recipients = {
        name: [_json(key) for key, _ in hits]
        for name, column in RECIPIENTS
        if (hits := await _recipient_rows(session, name, column, email))
    }
    return {
        "user_id": user_id,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(),
        "owned": owned,
        "mentions": mentions,
        "recipients": recipients,
        "kept": KEPT,
    }


async def _recipient_rows(
    session: AsyncSession, name: str, column: str, email: str | None
) -> list[tuple[Any, list[str]]]:
    """(primary key, the list without ``email``) of the rows whose list holds ``email``."""
    if not email:
        return []
    table = _table(name)
    key = next(iter(table.primary_key.columns))
    wanted = email.casefold()
    hits = []
    for row_key, values in await session.execute(select(key, table.c[column])):
        listed = list(values or [])
        kept = [v for v in listed if str(v).casefold() != wanted]
        if len(kept) != len(listed):
            hits.append((row_key, kept))
    return hits


async def erase(*, session: AsyncSession, user_id: int) -> dict[str, int]:
    """Pseudonymise ``user_id`` (GDPR art. 17) in the caller's transaction; rows changed per
    table. The account stays as ``erased-user-ID``, disabled, with no way to log in."""
    username, email = await _identity(session, user_id)
    pseudonym = PSEUDONYM.format(id=user_id)
    changed: dict[str, int] = {}
    for name, column in RECIPIENTS:  # before the e-mail address is cleared
        hits = await _recipient_rows(session, name, column, email)
        table = _table(name)
        key = next(iter(table.primary_key.columns))
        for row_key, kept in hits:
            await session.execute(update(table).where(key == row_key).values({column: kept}))
        _count(changed, name, len(hits))
    for name, column in MENTIONS:
        table = _table(name)
        result = await session.execute(
            update(table).where(table.c[column] == username).values({column: pseudonym})
        )
        _count(changed, name, result.rowcount or 0)  # type: ignore[attr-defined]
    for spec in OWNED:
        _count(changed, spec.table, await _erase_owned(session, spec, user_id, pseudonym))
    users = _table("users")
    await session.execute(
        update(users).where(users.c.id == user_id).values(token_version=users.c.token_version + 1)
    )  # access tokens already issued stop working
    return {k: v for k, v in changed.items() if v}


async def _erase_owned(session: AsyncSession, spec: Any, user_id: int, pseudonym: str) -> int:
    table = _table(spec.table)
    where = table.c[spec.column] == user_id
    if spec.erase == "delete":
        result = await session.execute(table.delete().where(where))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
    key = next(iter(table.primary_key.columns))
    rows = (await session.execute(select(key).where(where))).scalars().all()
    for row_key in rows:
        values = {
            column: value.format(id=user_id, member=row_key, pseudonym=pseudonym)
            if isinstance(value, str)
            else value
            for column, value in spec.values.items()
        }
        await session.execute(update(table).where(key == row_key).values(values))
    return len(rows)


def _count(changed: dict[str, int], table: str, n: int) -> None:
    changed[table] = changed.get(table, 0) + n
