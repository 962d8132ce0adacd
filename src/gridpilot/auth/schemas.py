"""Request and response bodies of the auth routes. Passwords and key hashes are never returned."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from gridpilot.auth.permissions import Role
from gridpilot.auth.service import (
    EMAIL_PATTERN,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    USERNAME_PATTERN,
)

#: Ids are 32-bit in the database; larger numbers cannot name anything (422, not a DB error).
DbId = Annotated[int, Field(ge=1, le=2**31 - 1)]


EmailAddress = Annotated[str, StringConstraints(max_length=254, pattern=f"^{EMAIL_PATTERN}$")]


def password_field(*, required: bool = True) -> Any:
    return Field(
        ... if required else None,
        min_length=MIN_PASSWORD_LENGTH,
        max_length=MAX_PASSWORD_LENGTH,
        json_schema_extra={"format": "password", "writeOnly": True},
    )


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=f"^{USERNAME_PATTERN}$", examples=["ann"])
    password: str = password_field()
    role: Role = Role.VIEWER
    site_ids: list[DbId] | None = Field(
        default=None, description="Sites the user may see; null = all sites."
    )
    email: EmailAddress | None = Field(default=None, description="For password-reset e-mails.")


class UserUpdate(BaseModel):
    """An administrator's change to a user. Only the fields sent are changed."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    site_ids: list[DbId] | None = Field(default=None, description="null = all sites.")
    disabled: bool | None = None
    password: str | None = password_field(required=False)
    email: EmailAddress | None = Field(default=None, description="null removes it.")


class MyPasswordChange(BaseModel):
    """``PATCH /users/me``: a user may change only their own password."""

    model_config = ConfigDict(extra="allow")

    current_password: str = Field(max_length=MAX_PASSWORD_LENGTH)
    new_password: str = password_field()


class UserOut(BaseModel):
    id: int
    username: str
    role: Role
    disabled: bool
    site_ids: list[DbId] | None = Field(description="null = all sites.")
    email: str | None = None
    mfa_enabled: bool = False
    created_at: datetime
    updated_at: datetime


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["scada-bridge"])
    role: Role = Field(default=Role.SERVICE, description="service, operator or viewer.")
    site_id: DbId | None = Field(default=None, description="Limit the key to one site.")


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key_id: str = Field(description="Public part of the key; the OAuth2 client_id.")
    name: str
    role: Role
    asset_id: int | None = Field(description="Set for device keys.")
    site_id: int | None
    created_by: int | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The raw key `gpk_<key_id>_<secret>`; shown only this once.")


class TokenResponse(BaseModel):
    """RFC 6749 5.1 (``refresh_token`` only for the password and refresh_token grants)."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str | None = None
    scope: str = Field(description="Space-separated permissions the token carries.")


class OAuthErrorBody(BaseModel):
    """RFC 6749 5.2."""

    error: str = Field(
        examples=["invalid_grant"],
        description="invalid_request, invalid_client, invalid_grant, unsupported_grant_type "
        "or invalid_scope",
    )
    error_description: str
