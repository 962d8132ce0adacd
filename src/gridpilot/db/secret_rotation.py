"""Status and rotation of the secrets sealed at rest (``EncryptedString`` columns).

``secret_states`` counts, per column, the values under the current key, under an older
configured key, under no configured key, and plaintext left by a version before encryption.
``rotate`` re-encrypts every value that is not under the current key (plaintext included) in the
caller's transaction; it refuses, before writing anything, when a value opens with no key.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Column, String, Table, select, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.core import crypto
from gridpilot.db.encrypted import encrypted_columns
from gridpilot.db.metadata import target_metadata

STATES = ("current", "old", "plaintext", "unknown")


@dataclass
class ColumnState:
    """The values of one encrypted column by state (see ``Keyring.state_of``)."""

    table: str
    column: str
    counts: Counter[str] = field(default_factory=Counter)


async def _raw_values(
    session: AsyncSession, table: Table, column: Column[str]
) -> list[tuple[tuple[object, ...], str]]:
    """(primary key, stored text) of every non-null value, read without decrypting."""
    pk = list(table.primary_key.columns)
    rows = await session.execute(
        select(*pk, type_coerce(column, String)).where(column.is_not(None))
    )
    return [(tuple(row[: len(pk)]), row[len(pk)]) for row in rows]


async def secret_states(session: AsyncSession) -> list[ColumnState]:
    """One ``ColumnState`` per encrypted column of the models."""
    keyring = crypto.active()
    states = []
    for table, column in encrypted_columns(list(target_metadata().sorted_tables)):
        state = ColumnState(table.name, column.name)
        for _, stored in await _raw_values(session, table, column):
            state.counts[keyring.state_of(stored)] += 1
        states.append(state)
    return states


async def rotate(session: AsyncSession) -> list[ColumnState]:
    """Re-encrypt under the current key; returns the values rewritten per column."""
    keyring = crypto.active()
    work = []
    for table, column in encrypted_columns(list(target_metadata().sorted_tables)):
        values = await _raw_values(session, table, column)
        unknown = sum(keyring.state_of(v) == "unknown" for _, v in values)
        if unknown:
            raise crypto.SecretUnreadable(
                f"{unknown} value(s) of {table.name}.{column.name} are under a key that is not "
                "configured: add it after the current key, then rotate again"
            )
        work.append((table, column, values))
    done = []
    for table, column, values in work:
        state = ColumnState(table.name, column.name)
        pk = list(table.primary_key.columns)
        for key, stored in values:
            kind = keyring.state_of(stored)
            if kind == "current":
                continue
            sealed = keyring.encrypt(keyring.decrypt(stored))
            where = [c == v for c, v in zip(pk, key, strict=True)]
            await session.execute(update(table).where(*where).values({column.name: sealed}))
            state.counts[kind] += 1
        done.append(state)
    return done
