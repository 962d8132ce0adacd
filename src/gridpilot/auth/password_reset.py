"""Password reset by e-mailed token (#20 item 4).

``POST /api/v1/auth/password-reset`` ({"login": username or e-mail}) always answers 202, whether
or not a user matches (no user enumeration); the e-mail is sent after the answer, so its time
tells nothing either. Each enabled user with an e-mail address that matches gets a single-use
token valid ``GRIDPILOT_PASSWORD_RESET_TTL_S`` (30 min); only its SHA-256 is stored. A new
request voids the user's earlier tokens.

``POST /api/v1/auth/password-reset/confirm`` ({"token", "new_password"}) sets the password, ends
the user's sessions, clears a lock-out and spends the token; a wrong, used or expired token is
422 ``invalid_token``.

Sending goes through the runtime's ``SEND_EMAIL`` (the API layer sets it to the alerts mailer: auth
sits below alerts and does not import it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth import audit
from gridpilot.auth.models import PasswordResetToken, User
from gridpilot.auth.service import revoke_sessions, set_password
from gridpilot.auth.tokens import new_opaque_token, sha256_hex
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.runtime import Slot
from gridpilot.core.settings import Settings
from gridpilot.db.base import utcnow

SendEmail = Callable[[Settings, EmailMessage], Awaitable[str | None]]
#: How the app sends e-mail (``api/app.py`` sets the alerts mailer; ``core/runtime.py``).
SEND_EMAIL: Slot[SendEmail] = Slot("send_email")


class InvalidResetToken(ValidationFailed):
    code = "invalid_token"


@dataclass(frozen=True)
class ResetMail:
    """A reset e-mail to send once the transaction has committed."""

    to: str
    username: str
    token: str


async def request_reset(*, session: AsyncSession, login: str, ttl_s: int) -> list[ResetMail]:
    """New tokens for the enabled users whose username or e-mail is ``login``; the mails."""
    login = login.strip()
    users = list(
        await session.scalars(
            select(User).where(
                or_(User.username == login, func.lower(User.email) == login.lower()),
                User.disabled.is_(False),
                User.email.is_not(None),
            )
        )
    )
    now = utcnow()
    mails = []
    for user in users:
        await session.execute(
            update(PasswordResetToken)
            .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
            .values(used_at=now)
        )
        raw = new_opaque_token(32)
        session.add(
            PasswordResetToken(
                user_id=user.id,
                token_hash=sha256_hex(raw),
                created_at=now,
                expires_at=now + timedelta(seconds=ttl_s),
            )
        )
        assert user.email is not None
        mails.append(ResetMail(user.email, user.username, raw))
        await audit.record(
            session, action="user.password_reset_request", target=audit.user_target(user.id)
        )
    await session.flush()
    return mails


def compose(settings: Settings, mail: ResetMail) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = "[gridpilot] password reset"
    message["From"] = settings.smtp_from
    message["To"] = mail.to
    link = f"{settings.password_reset_url}{mail.token}" if settings.password_reset_url else ""
    minutes = settings.password_reset_ttl_s // 60
    message.set_content(
        f"Someone (hopefully you) asked to reset the password of the gridpilot user "
        f"{mail.username!r}.\n\n"
        f"Reset token: {mail.token}\n{link}\n\n"
        f"It works once, for {minutes} minutes: POST it with a new password to "
        f"/api/v1/auth/password-reset/confirm.\nIf you did not ask for this, ignore this e-mail."
    )
    return message


async def confirm_reset(*, session: AsyncSession, token: str, new_password: str) -> User:
    """Set the password of the token's user; ``InvalidResetToken`` unless valid and unused."""
    row = await session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == sha256_hex(token))
    )
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise InvalidResetToken("the reset token is wrong, used or expired; ask for a new one")
    user = await session.get(User, row.user_id)
    if user is None or user.disabled:
        raise InvalidResetToken("the reset token is wrong, used or expired; ask for a new one")
    spent = await session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.id == row.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(spent, "rowcount", 0) != 1:
        raise InvalidResetToken("the reset token is wrong, used or expired; ask for a new one")
    await set_password(session=session, user=user, password=new_password)
    await revoke_sessions(session=session, user=user)
    user.failed_logins = 0
    user.locked_until = None
    await audit.record(
        session,
        action="user.password_reset",
        actor=audit.user_target(user.id),
        target=audit.user_target(user.id),
    )
    return user
