"""Tables of the dr domain (migration: see db/migrations/versions)."""

from __future__ import annotations
