"""Tables of users, their site scope, refresh tokens and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gridpilot.db.base import Base, Timestamped, UtcDateTime
from gridpilot.db.encrypted import EncryptedString


class User(Timestamped, Base):
    __tablename__ = "users"
    __table_args__ = {"sqlite_autoincrement": True}  # ids are never reused

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    #: When true the user sees only the sites listed in ``user_sites``.
    site_restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Bumped whenever the user's rights shrink (disable, role, sites, reset, refresh reuse):
    #: access tokens carry it as ``ver`` and stop working once it moves on.
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Consecutive wrong passwords since the last good one; ``locked_until`` ends a lock-out.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: Where password-reset e-mails go (migration 0021); not unique, may be missing.
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    #: TOTP secret (base32), set at enrolment; ``mfa_enabled`` once a first code confirmed it.
    totp_secret: Mapped[str | None] = mapped_column(EncryptedString(200))  # sealed at rest
    mfa_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    #: The last TOTP time step accepted: a code of that step or an earlier one is refused (replay).
    totp_last_step: Mapped[int | None] = mapped_column(Integer)


class UserSite(Base):
    __tablename__ = "user_sites"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )


class RefreshToken(Base):
    """One issued refresh token. Rotation marks it used; reuse of a used one revokes its family."""

    __tablename__ = "refresh_tokens"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    scope: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ApiKey(Timestamped, Base):
    """A key for a service (role ``service``) or a device (bound to one asset)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Public part of the key, also the OAuth2 ``client_id``.
    key_id: Mapped[str] = mapped_column(String(40), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    #: Device keys: Mosquitto ``$7$`` PBKDF2-SHA512 hash of the raw key (MQTT password file).
    mqtt_password_hash: Mapped[str | None] = mapped_column(String(300))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    asset_id: Mapped[int | None] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), index=True
    )
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class MfaRecoveryCode(Base):
    """One recovery code of a user's second factor (argon2 hash), usable once."""

    __tablename__ = "mfa_recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(200))
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PasswordResetToken(Base):
    """A single-use password-reset token sent by e-mail; only its SHA-256 is stored."""

    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AuditEvent(Base):
    """One security-relevant action (``auth.audit``): who, what, on what, outcome, from where."""

    __tablename__ = "audit_events"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    #: ``user:ID``, ``key:KEY_ID``, ``cli`` or ``anonymous`` (a failed log-in).
    actor: Mapped[str] = mapped_column(String(200), index=True)
    actor_name: Mapped[str | None] = mapped_column(String(150))
    action: Mapped[str] = mapped_column(String(60), index=True)
    target: Mapped[str | None] = mapped_column(String(200), index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    client: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
