"""Request and response bodies of a user's notification preferences (docs/notifications.md).

A user who never saved preferences has ``DEFAULT``: every severity, kind and site, by every
channel, no quiet hours, which is what notifications did before preferences existed.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from gridpilot.alerts.schemas import Severity
from gridpilot.assets.schemas import DbId, check_timezone
from gridpilot.core.bodies import Strict

Medium = Literal["email", "webhook", "in_app"]
MEDIA: tuple[Medium, ...] = ("email", "webhook", "in_app")
ALL_SEVERITIES: list[Severity] = ["info", "warning", "critical"]

#: An alert's kind: a rule kind (``threshold``, ``stale``...) or a system alert's
#: (``dr_under_target``...).
AlertKind = Annotated[str, Field(min_length=1, max_length=30, pattern=r"^[a-z][a-z0-9_]*$")]
TimeZone = Annotated[str, Field(max_length=64), AfterValidator(check_timezone)]
ClockTime = Annotated[
    str,
    Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="Local time HH:MM (24 h)"),
]


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


class MediumPreference(Strict):
    """Whether a channel reaches me, and with which severities."""

    enabled: bool = True
    severities: Annotated[list[Severity], AfterValidator(_unique)] = Field(
        default_factory=lambda: list(ALL_SEVERITIES), max_length=3
    )


class QuietHours(Strict):
    """A daily quiet period in the user's time zone; ``start`` after ``end`` crosses midnight.

    In-app notifications are not affected. E-mail and webhook notifications raised in it are
    ``held`` until it ends (then sent) or ``dropped`` (recorded as ``suppressed``); a critical
    alert is sent at once when ``critical_override`` (the default).
    """

    start: ClockTime = Field(description="Local start, e.g. 22:00")
    end: ClockTime = Field(description="Local end, e.g. 07:00 (the next morning when before start)")
    time_zone: TimeZone = Field(description="IANA time zone, e.g. Europe/Rome")
    during: Literal["hold", "drop"] = Field(
        default="hold", description="E-mail and webhook notifications in quiet hours"
    )
    critical_override: bool = Field(
        default=True, description="Critical alerts are sent at once, even in quiet hours"
    )

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("quiet hours must not start and end at the same time")
        return self

    def bounds(self) -> tuple[time, time]:
        return time.fromisoformat(self.start), time.fromisoformat(self.end)


class Preferences(Strict):
    """What reaches me, by which channel, and when not."""

    email: MediumPreference = Field(
        default_factory=MediumPreference,
        description="E-mail channels listing my e-mail address among their recipients",
    )
    webhook: MediumPreference = Field(
        default_factory=MediumPreference, description="Webhook channels I created"
    )
    in_app: MediumPreference = Field(
        default_factory=MediumPreference, description="Toasts on the dashboard"
    )
    kinds: Annotated[list[AlertKind], AfterValidator(_unique)] | None = Field(
        default=None, max_length=50, description="Alert kinds that reach me; null: every kind"
    )
    site_ids: Annotated[list[DbId], AfterValidator(_unique)] | None = Field(
        default=None, max_length=1000, description="Sites whose alerts reach me; null: every site"
    )
    quiet_hours: QuietHours | None = None

    def medium(self, name: Medium) -> MediumPreference:
        return {"email": self.email, "webhook": self.webhook, "in_app": self.in_app}[name]


DEFAULT = Preferences()


class PreferencesOut(Preferences):
    """A user's preferences; ``customized`` false and ``updated_at`` null for the defaults."""

    user_id: int
    customized: bool
    updated_at: datetime | None
