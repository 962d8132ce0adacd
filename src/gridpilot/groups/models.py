"""Tables of device groups (migration: ``db/migrations/versions/0022_device_groups.py``).

- ``device_groups``: a named group, ``static`` (its members in ``device_group_members``) or
  ``dynamic`` (``filter``: the criteria an asset must meet, evaluated at every read, so the
  members follow asset edits);
- ``device_group_members``: the assets of a static group (a deleted asset leaves its groups).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gridpilot.db.base import Base, Timestamped


class DeviceGroup(Timestamped, Base):
    """A named group of assets: ``kind`` ``static`` or ``dynamic`` (with ``filter``)."""

    __tablename__ = "device_groups"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(String(2000))
    kind: Mapped[str] = mapped_column(String(10))
    #: Dynamic groups: ``{"kinds", "site_ids", "models", "manufacturers", "tags",
    #: "firmware_versions"}`` (each optional, see ``schemas.GroupFilter``); ``{}`` when static.
    filter: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(200))


class DeviceGroupMember(Base):
    """One asset of a static group."""

    __tablename__ = "device_group_members"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("device_groups.id", ondelete="CASCADE"), primary_key=True
    )
    asset_id: Mapped[int] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True, index=True
    )
