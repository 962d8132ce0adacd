"""FastAPI dependencies that authenticate the caller and check its permission.

Use in routes as ``principal: Annotated[Principal, Depends(require(Permission.READ))]``.
Credentials: ``Authorization: Bearer <JWT>`` or ``X-API-Key: <key>`` (never in the URL).
The OpenAPI document also declares the OAuth2 password and client-credentials flows, so the
docs' "Authorize" button gets a token from the token endpoint.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlowPassword, OAuthFlows
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer, OAuth2

from gridpilot.auth import audit
from gridpilot.auth.api_keys import ApiKeyCache, principal_for_api_key
from gridpilot.auth.login_guard import client_address
from gridpilot.auth.permissions import Permission, Principal, Role
from gridpilot.auth.revocation import check_not_revoked
from gridpilot.auth.tokens import TokenConfig, decode_access_token
from gridpilot.core.errors import AuthenticationFailed
from gridpilot.core.logging import user_id_var
from gridpilot.core.runtime import Slot, runtime_of
from gridpilot.core.secrets import jwt_secret
from gridpilot.core.settings import Settings

bearer_scheme = HTTPBearer(auto_error=False, description="JWT from POST /api/v1/auth/token")
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="Service/device key")
TOKEN_URL = "/api/v1/auth/token"  # noqa: S105 (a URL, not a secret)
OAUTH2_SCOPES = {p.value: f"permission {p.value!r} (within your role)" for p in Permission}
oauth2_scheme = OAuth2(
    flows=OAuthFlows(
        password=OAuthFlowPassword(tokenUrl=TOKEN_URL, refreshUrl=TOKEN_URL, scopes=OAUTH2_SCOPES),
        clientCredentials=OAuthFlowClientCredentials(tokenUrl=TOKEN_URL, scopes=OAUTH2_SCOPES),
    ),
    scheme_name="OAuth2",
    description="Password flow for users; client credentials for API keys (client_id = key_id). "
    "Leave the scopes empty for all of the role's permissions.",
    auto_error=False,
)


#: The app's verified API keys (``core/runtime.py``).
API_KEY_CACHE: Slot[ApiKeyCache] = Slot("api_key_cache")


def api_key_cache(app: FastAPI) -> ApiKeyCache:
    """The app's cache of verified API keys (made on first use; see ``auth.api_keys``)."""
    return runtime_of(app).get_or_make(API_KEY_CACHE, ApiKeyCache)


class AccessTokenCache:
    """Principals of verified access tokens, each kept until the token's ``exp`` [epoch s].

    A hit answers exactly what decoding again would, minus the HMAC check and claim parsing;
    whether the token was revoked since is checked apart (``auth.revocation``). Bounded: cleared
    when full.
    """

    def __init__(self, max_entries: int = 10_000, clock: Callable[[], float] = time.time) -> None:
        self.max_entries = max_entries
        self.clock = clock
        self._entries: dict[str, tuple[float, Principal]] = {}

    def get(self, token: str) -> Principal | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        if self.clock() >= entry[0]:
            self._entries.pop(token, None)
            return None
        return entry[1]

    def put(self, token: str, expires_at: float, principal: Principal) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[token] = (expires_at, principal)


#: The app's verified access tokens (``core/runtime.py``).
ACCESS_TOKEN_CACHE: Slot[AccessTokenCache] = Slot("access_token_cache")


def access_token_cache(app: FastAPI) -> AccessTokenCache:
    """The app's cache of verified access tokens (made on first use)."""
    return runtime_of(app).get_or_make(ACCESS_TOKEN_CACHE, AccessTokenCache)


def token_config(settings: Settings) -> TokenConfig:
    return TokenConfig(
        secret=jwt_secret(settings),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_s=settings.access_token_ttl_s,
    )


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """The principal an access token stands for (roles and scope travel in the token)."""
    try:
        role = Role(claims["role"])
    except (KeyError, ValueError):
        raise AuthenticationFailed("access token carries no valid role") from None
    sites = claims.get("sites")
    assets = claims.get("assets")
    subject = str(claims["sub"])
    kind, _, ident = subject.partition(":")
    return Principal(
        subject=subject,
        name=str(claims.get("name", subject)),
        role=role,
        user_id=int(ident) if kind == "user" and ident.isdigit() else None,
        api_key_id=int(claims["kid"]) if kind == "key" and "kid" in claims else None,
        site_ids=frozenset(int(s) for s in sites) if sites is not None else None,
        asset_ids=frozenset(int(a) for a in assets) if assets is not None else None,
        scopes=frozenset(str(claims.get("scope", "")).split()),
        token_version=_int_claim(claims, "ver"),
    )


def _int_claim(claims: dict[str, Any], name: str) -> int:
    value = claims.get(name, 0)
    if not isinstance(value, int) or isinstance(value, bool):
        raise AuthenticationFailed(f"access token has an invalid {name!r} claim")
    return value


async def get_principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
    _oauth2: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    """Authenticate the request or raise ``AuthenticationFailed`` (401)."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    settings: Settings = runtime_of(request.app).settings
    if bearer is not None and bearer.credentials:
        tokens = access_token_cache(request.app)
        known = tokens.get(bearer.credentials)
        if known is not None:
            principal = known
        else:
            claims = decode_access_token(token_config(settings), bearer.credentials)
            principal = principal_from_claims(claims)
            tokens.put(bearer.credentials, float(claims["exp"]), principal)
        await check_not_revoked(request.app, principal)
    elif api_key:
        cache = api_key_cache(request.app)
        cached_key = cache.get(api_key)
        if cached_key is not None:
            principal = cached_key
        else:
            async with runtime_of(request.app).sessions() as session, session.begin():
                principal = await principal_for_api_key(session, api_key, cache=cache)
    else:
        raise AuthenticationFailed("not authenticated: send a Bearer token or an X-API-Key")
    request.state.principal = principal
    user_id_var.set(principal.subject)
    audit.client_var.set(client_address(request))
    return principal


def require(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    """Dependency factory: the authenticated principal holding ``permission`` (else 403)."""

    async def dependency(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        principal.require(permission)
        return principal

    dependency.__name__ = f"require_{permission.name.lower()}"
    dependency.required_permission = permission  # type: ignore[attr-defined]
    return dependency


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
Reader = Annotated[Principal, Depends(require(Permission.READ))]
Configurer = Annotated[Principal, Depends(require(Permission.CONFIGURE))]
TelemetryWriter = Annotated[Principal, Depends(require(Permission.TELEMETRY_WRITE))]
Administrator = Annotated[Principal, Depends(require(Permission.SYSTEM_ADMIN))]
