"""Users' notification preferences: read, save, and applied to a channel's notification.

``plan`` splits one notification for one channel by the preferences of the people behind it:

- an **e-mail** channel's recipients who are users (their ``email``, case-insensitive) follow
  their own e-mail preferences; other addresses (a team mailbox) get what they got before;
- a **webhook** channel follows the webhook preferences of the user who created it
  (``created_by``); a channel created by a user without preferences, or by no user, is unchanged.

Each part becomes one outbox row: sent now, held until quiet hours end (a pending row due then),
or ``suppressed`` (a settled row whose ``note`` says whose preferences and why, so nothing is
dropped silently). Users without preferences have ``DEFAULT``: every notification as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.alerts.models import Alert, NotificationChannel, NotificationPreference
from gridpilot.alerts.preference_schemas import DEFAULT, Medium, Preferences
from gridpilot.alerts.preferences import Action, Verdict, decide
from gridpilot.assets.models import Site
from gridpilot.auth.models import User
from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import NotFound, PermissionDenied, ValidationFailed
from gridpilot.db.base import utcnow

NOTE_MAX = 300


class SiteNotVisible(ValidationFailed):
    """A preference names a site the user cannot see (or that does not exist: not disclosed)."""

    code = "site_not_visible"


@dataclass(frozen=True)
class Stored:
    """A user's preferences as answered: the defaults when ``updated_at`` is None."""

    user_id: int
    preferences: Preferences
    updated_at: datetime | None


def _user_id(principal: Principal) -> int:
    if principal.user_id is None:
        raise PermissionDenied("notification preferences belong to users, not API keys")
    return principal.user_id


async def get_preferences(*, session: AsyncSession, user_id: int) -> Stored:
    """``user_id``'s preferences (the defaults when never saved)."""
    row = await session.get(NotificationPreference, user_id)
    if row is None:
        return Stored(user_id, DEFAULT, None)
    return Stored(user_id, Preferences.model_validate(row.preferences), row.updated_at)


async def my_preferences(*, session: AsyncSession, principal: Principal) -> Stored:
    return await get_preferences(session=session, user_id=_user_id(principal))


async def user_preferences(*, session: AsyncSession, user_id: int) -> Stored:
    """Another user's preferences (administrators): ``NotFound`` for an unknown user."""
    if await session.get(User, user_id) is None:
        raise NotFound(f"user {user_id} not found")
    return await get_preferences(session=session, user_id=user_id)


async def _check_sites(session: AsyncSession, principal: Principal, site_ids: list[int]) -> None:
    visible = [s for s in site_ids if principal.can_see_site(s)]
    found = set((await session.scalars(select(Site.id).where(Site.id.in_(visible)))).all())
    missing = [s for s in site_ids if s not in found]
    if missing:
        raise SiteNotVisible(
            f"site {missing[0]} is not one you can see",
            details=[{"field": "site_ids", "site_id": s} for s in missing[:20]],
        )


async def save_preferences(
    *, session: AsyncSession, principal: Principal, data: Preferences
) -> Stored:
    """Replace the caller's preferences; every chosen site must be one the caller can see."""
    user_id = _user_id(principal)
    if data.site_ids is not None:
        await _check_sites(session, principal, data.site_ids)
    row = await session.get(NotificationPreference, user_id)
    if row is None:
        row = NotificationPreference(user_id=user_id)
        session.add(row)
    row.preferences = data.model_dump(mode="json")
    row.updated_at = utcnow()
    await session.flush()
    return Stored(user_id, data, row.updated_at)


async def reset_preferences(*, session: AsyncSession, principal: Principal) -> None:
    """Back to the defaults (the row is deleted)."""
    row = await session.get(NotificationPreference, _user_id(principal))
    if row is not None:
        await session.delete(row)
        await session.flush()


# --- applied to a notification ----------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One outbox row of a split notification: ``recipients`` None keeps the channel's."""

    verdict: Verdict
    recipients: list[str] | None = None
    note: str | None = None


async def _by_email(session: AsyncSession, emails: list[str]) -> dict[str, Preferences]:
    """Saved preferences of the users with these addresses (lower case; lowest user id wins)."""
    lowered = {e.lower() for e in emails}
    rows = await session.execute(
        select(func.lower(User.email), NotificationPreference.preferences)
        .join(NotificationPreference, NotificationPreference.user_id == User.id)
        .where(func.lower(User.email).in_(lowered))
        .order_by(User.id.desc())
    )
    return {str(email): Preferences.model_validate(prefs) for email, prefs in rows}


async def _by_username(session: AsyncSession, username: str | None) -> Preferences | None:
    if not username:
        return None
    prefs = await session.scalar(
        select(NotificationPreference.preferences)
        .join(User, NotificationPreference.user_id == User.id)
        .where(User.username == username)
    )
    return None if prefs is None else Preferences.model_validate(prefs)


def _verdict(prefs: Preferences, medium: Medium, alert: Alert, now_ms: int) -> Verdict:
    return decide(
        prefs,
        medium=medium,
        severity=alert.severity,
        kind=alert.kind,
        site_id=alert.site_id,
        now_ms=now_ms,
    )


def _email_parts(
    recipients: list[str], prefs: dict[str, Preferences], alert: Alert, now_ms: int
) -> list[Part]:
    groups: dict[tuple[Action, int | None], list[str]] = {}
    reasons: list[str] = []
    for address in recipients:
        chosen = prefs.get(address.lower())
        verdict = Verdict("send") if chosen is None else _verdict(chosen, "email", alert, now_ms)
        groups.setdefault((verdict.action, verdict.until_ms), []).append(address)
        if verdict.action != "send":
            reasons.append(f"{address}: {verdict.reason}")
    if list(groups) == [("send", None)]:
        return [Part(Verdict("send"))]  # nobody's preferences changed anything
    note = "; ".join(reasons)[:NOTE_MAX] or None
    return [
        Part(Verdict(action, until_ms=until), addresses, None if action == "send" else note)
        for (action, until), addresses in groups.items()
    ]


async def plan(
    *, session: AsyncSession, channel: NotificationChannel, alert: Alert, now_ms: int
) -> list[Part]:
    """The outbox rows of ``alert``'s notification through ``channel`` (see the docstring)."""
    if channel.kind == "email":
        prefs = await _by_email(session, list(channel.recipients))
        if not prefs:
            return [Part(Verdict("send"))]
        return _email_parts(list(channel.recipients), prefs, alert, now_ms)
    owner = await _by_username(session, channel.created_by)
    if owner is None:
        return [Part(Verdict("send"))]
    verdict = _verdict(owner, "webhook", alert, now_ms)
    note = None if verdict.action == "send" else f"{channel.created_by}: {verdict.reason}"
    return [Part(verdict, None, note and note[:NOTE_MAX])]


async def in_app_wanted(
    *, session: AsyncSession, user_id: int, payload: dict[str, object], now_ms: int
) -> bool:
    """Whether an ``alert.raised`` event pops a toast for the user (their in-app preferences)."""
    prefs = (await get_preferences(session=session, user_id=user_id)).preferences
    verdict = decide(
        prefs,
        medium="in_app",
        severity=str(payload.get("severity")),
        kind=str(payload.get("kind")),
        site_id=int(str(payload.get("site_id") or 0)),
        now_ms=now_ms,
    )
    return verdict.action == "send"
