"""Tables of the flex domain (migration: see db/migrations/versions)."""

from __future__ import annotations
