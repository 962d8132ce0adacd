"""``EncryptedString``: a column whose value is stored sealed by ``core/crypto.py``.

The ORM encrypts on write and decrypts on read, so services handle plaintext and the database
only ever holds ``gpenc:v1:...`` text. A value already in that form is written as it is (so
``gridpilot secrets rotate`` can copy values it re-encrypted itself). ``encrypted_columns`` lists
every such column of the models, which is how the rotation finds them: marking a column is the
whole registration.
"""

from __future__ import annotations

from sqlalchemy import Column, String, Table
from sqlalchemy.types import TypeDecorator

from gridpilot.core import crypto


class EncryptedString(TypeDecorator[str]):
    """Text encrypted at rest; ``length`` is the stored (encrypted) length limit."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: object) -> str | None:
        if value is None or value.startswith(crypto.PREFIX):
            return value
        return crypto.active().encrypt(value)

    def process_result_value(self, value: str | None, dialect: object) -> str | None:
        return None if value is None else crypto.active().decrypt(value)


def encrypted_columns(tables: list[Table]) -> list[tuple[Table, Column[str]]]:
    """Every ``EncryptedString`` column of ``tables``, as (table, column)."""
    return [
        (table, column)
        for table in tables
        for column in table.columns
        if isinstance(column.type, EncryptedString)
    ]
