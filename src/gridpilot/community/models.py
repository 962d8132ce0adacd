"""Tables of the community domain (migration: see db/migrations/versions)."""

from __future__ import annotations
