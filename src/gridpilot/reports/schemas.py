"""Request and response bodies of ``/api/v1/reports`` (docs/reports.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Format = Literal["pdf", "csv"]
Schedule = Literal["none", "daily", "weekly", "monthly"]
Name = Field(min_length=1, max_length=200)


def _both() -> list[Format]:
    return ["pdf", "csv"]


class DefinitionFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    params: dict[str, Any] = Field(
        default_factory=dict, description="Parameters of the kind (see GET /reports/kinds)"
    )
    formats: list[Format] = Field(default_factory=_both, min_length=1, max_length=2)
    schedule: Schedule = Field(
        default="none",
        description="daily, weekly (ISO weeks) or monthly periods in the target's time zone; "
        "each run covers the period just ended (none: on demand only)",
    )
    recipients: list[int] = Field(
        default_factory=list,
        max_length=50,
        description="User ids the files are e-mailed to: users allowed to see the report "
        "whose username is their e-mail address",
    )
    enabled: bool = True


DbId = Field(default=None, ge=1, le=2**31 - 1)
Zone = Field(
    default=None,
    min_length=1,
    max_length=64,
    description="Group reports: the IANA zone of the periods (default: the one zone of the "
    "members' sites)",
)


class DefinitionCreate(DefinitionFields):
    """A report of exactly one target: ``site_id``, ``group_id`` (a device group: every site
    of its members, which you must all see) or ``community_id`` (an energy community)."""

    site_id: int | None = DbId
    group_id: int | None = DbId
    community_id: int | None = DbId
    timezone: str | None = Zone
    name: str = Name
    kind: str = Field(min_length=1, max_length=40, description="A kind of GET /reports/kinds")

    @model_validator(mode="after")
    def _one_target(self) -> DefinitionCreate:
        given = [self.site_id, self.group_id, self.community_id]
        if sum(x is not None for x in given) != 1:
            raise ValueError("give exactly one of site_id, group_id or community_id")
        if self.timezone is not None and self.group_id is None:
            raise ValueError("timezone is for group reports (a site's or community's is its own)")
        return self


class DefinitionUpdate(BaseModel):
    """Fields to change (the target and the kind of a definition stay)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    params: dict[str, Any] | None = None
    formats: list[Format] | None = Field(default=None, min_length=1, max_length=2)
    schedule: Schedule | None = None
    recipients: list[int] | None = Field(default=None, max_length=50)
    enabled: bool | None = None
    timezone: str | None = Zone


class DefinitionOut(BaseModel):
    id: int
    site_id: int | None
    group_id: int | None
    community_id: int | None
    timezone: str | None = Field(description="The zone of a group's or community's periods")
    name: str
    kind: str
    params: dict[str, Any]
    formats: list[str]
    schedule: str
    recipients: list[int]
    enabled: bool
    next_run: str | None = Field(description="When the next scheduled run is due (UTC)")
    created_by: str
    created_at: datetime
    updated_at: datetime


class RunRequest(BaseModel):
    """A run now: the period defaults to the schedule's latest whole period (the last 30
    whole local days for unscheduled definitions)."""

    model_config = ConfigDict(extra="forbid")

    start: str | int | None = Field(default=None, description="ISO-8601 or epoch ms")
    end: str | int | None = Field(default=None, description="ISO-8601 or epoch ms")
    deliver: bool = Field(default=False, description="E-mail the files to the recipients")


class FileOut(BaseModel):
    format: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    url: str


class RunOut(BaseModel):
    id: int
    definition_id: int
    site_id: int | None
    group_id: int | None
    community_id: int | None
    site_ids: list[int] = Field(description="The sites whose data a group's run read")
    kind: str
    start: str
    end: str
    hours: float = Field(description="Length of the period [h] (743 for a March in Rome)")
    trigger: str
    status: str
    error: str | None
    delivery: list[dict[str, Any]]
    created: str
    finished: str | None
    duration_ms: int | None
    created_by: str
    files: list[FileOut]


class KindOut(BaseModel):
    name: str
    title: str
    description: str
    formats: list[str]
    targets: list[str] = Field(description="What it reports on: site, group, community")
    schedules: list[str]
    params_schema: dict[str, Any]
