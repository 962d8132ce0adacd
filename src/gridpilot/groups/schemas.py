"""Request and response bodies of ``/api/v1/groups`` (docs/fleet-operations.md).

A dynamic group's filter reads what assets carry: ``kind``, ``site_id``, ``model`` and
``manufacturer`` (asset fields) and, from the asset's free ``attributes``, ``tags`` (a list of
strings) and ``firmware_version`` (a string): assets have no such fields of their own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from gridpilot.assets.schemas import DbId, Kind
from gridpilot.core.bodies import Strict

#: Most static members in one body (a JSON body holds at most 10,000 values, 413 above).
MAX_MEMBERS = 5000
Text = Annotated[str, Field(min_length=1, max_length=200)]
Tag = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:/\-]+$")]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]


def _distinct(values: list[Any] | None) -> list[Any] | None:
    if values is not None and len(set(values)) != len(values):
        raise ValueError("values must be distinct")
    return values


def _many(description: str) -> Any:
    return Field(default=None, min_length=1, max_length=100, description=description)


class GroupFilter(Strict):
    """What an asset must meet to be a member: every criterion given (AND), any value of each
    list (OR). At least one criterion."""

    kinds: list[Kind] | None = _many("The asset's kind is one of these")
    site_ids: list[DbId] | None = _many("The asset is on one of these sites")
    models: list[Text] | None = _many("The asset's model is one of these (exact)")
    manufacturers: list[Text] | None = _many("The asset's manufacturer is one of these (exact)")
    tags: list[Tag] | None = _many("Any of these is in the asset's attributes.tags")
    firmware_versions: list[Text] | None = _many(
        "The asset's attributes.firmware_version is one of these (exact)"
    )

    @model_validator(mode="after")
    def _distinct_values(self) -> GroupFilter:
        for name in type(self).model_fields:
            _distinct(getattr(self, name))
        return self


class GroupCreate(Strict):
    """A static group (``asset_ids``) or a dynamic one (``filter``)."""

    name: Name
    description: str | None = Field(default=None, max_length=2000)
    kind: Literal["static", "dynamic"]
    asset_ids: list[DbId] | None = Field(
        default=None, max_length=MAX_MEMBERS, description="Static groups: the members"
    )
    filter: GroupFilter | None = Field(default=None, description="Dynamic groups: the criteria")

    @model_validator(mode="after")
    def _shape(self) -> GroupCreate:
        if self.kind == "static" and (self.asset_ids is None or self.filter is not None):
            raise ValueError("a static group has asset_ids and no filter")
        if self.kind == "dynamic" and (self.filter is None or self.asset_ids is not None):
            raise ValueError("a dynamic group has a filter and no asset_ids")
        _distinct(self.asset_ids)
        return self


class GroupUpdate(Strict):
    """Fields to change; the kind of a group stays (``asset_ids`` for static groups, ``filter``
    for dynamic ones)."""

    name: Name | None = None
    description: str | None = Field(default=None, max_length=2000)
    asset_ids: list[DbId] | None = Field(default=None, max_length=MAX_MEMBERS)
    filter: GroupFilter | None = None

    @model_validator(mode="after")
    def _distinct_ids(self) -> GroupUpdate:
        _distinct(self.asset_ids)
        return self


class GroupOut(BaseModel):
    id: int
    name: str
    description: str | None
    kind: str
    filter: dict[str, Any] | None = Field(description="Dynamic groups: the criteria")
    asset_ids: list[int] | None = Field(
        description="Static groups: the members you may see (dynamic: see /members)"
    )
    complete: bool = Field(
        description="False when some members are on sites you may not see (left out here)"
    )
    created_by: str
    created_at: datetime
    updated_at: datetime


class MemberOut(BaseModel):
    asset_id: int
    site_id: int
    name: str
    kind: str
    model: str | None
    manufacturer: str | None
    tags: list[str]
    firmware_version: str | None


class MembersOut(BaseModel):
    group_id: int
    count: int = Field(description="Members listed (those you may see)")
    complete: bool = Field(
        description="False when the group reaches sites you may not see: their members are "
        "left out, and the group cannot be changed or commanded by you"
    )
    members: list[MemberOut]
