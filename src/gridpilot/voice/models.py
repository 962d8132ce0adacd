"""Tables of the voice domain (migration: ``db/migrations/versions/0020_voice.py``).

- ``voice_interactions``: every voice query answered, one row each: who asked (subject and user
  id), through which route (``query``: intent and entities; ``utterance``: free text), the text
  heard, the language, the intent and slots understood, the outcome, the answer spoken, how long
  it took [ms] and whether it came from the cache.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gridpilot.db.base import Base, UtcDateTime, utcnow


class VoiceInteraction(Base):
    """One voice query and its answer."""

    __tablename__ = "voice_interactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    subject: Mapped[str] = mapped_column(String(200))  # "user:42" or "key:gpk_..."
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    channel: Mapped[str] = mapped_column(String(20))  # query | utterance
    utterance: Mapped[str | None] = mapped_column(String(1000))
    lang: Mapped[str] = mapped_column(String(8))
    intent: Mapped[str | None] = mapped_column(String(40))
    slots: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    outcome: Mapped[str] = mapped_column(String(20))
    answer: Mapped[str] = mapped_column(String(2000))
    latency_ms: Mapped[float] = mapped_column(Float)
    cached: Mapped[bool] = mapped_column(Boolean, default=False)
