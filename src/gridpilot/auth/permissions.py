"""Roles, permissions and the authenticated principal (RBAC, WIA-ENE-004 roles)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from gridpilot.core.errors import NotFound, PermissionDenied


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMINISTRATOR = "administrator"
    SERVICE = "service"


class Permission(StrEnum):
    READ = "read"  # sites, assets, series, status, alerts
    TELEMETRY_WRITE = "telemetry:write"  # submit readings / production data
    CONFIGURE = "configure"  # create/update sites, assets, metrics, sources
    ALERTS_ACK = "alerts:ack"
    COMMANDS_SEND = "commands:send"
    INGEST_ADMIN = "ingest:admin"  # dead letters, imports
    USERS_MANAGE = "users:manage"
    KEYS_MANAGE = "keys:manage"
    SYSTEM_ADMIN = "system:admin"  # retention, simulator, maintenance


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.SERVICE: frozenset({Permission.READ, Permission.TELEMETRY_WRITE}),
    Role.OPERATOR: frozenset(
        {
            Permission.READ,
            Permission.TELEMETRY_WRITE,
            Permission.CONFIGURE,
            Permission.ALERTS_ACK,
            Permission.COMMANDS_SEND,
            Permission.INGEST_ADMIN,
        }
    ),
    Role.ADMINISTRATOR: frozenset(Permission),
}

#: Permissions over the whole installation (the simulator, maintenance): a principal limited to
#: some sites never holds them, whatever its role.
GLOBAL_PERMISSIONS = frozenset({Permission.SYSTEM_ADMIN})


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user (by token) or an API key (service or device).

    ``site_ids`` None means every site; ``asset_ids`` None means every asset in scope (a device
    key carries exactly its own asset). ``token_version`` is the user's version an access token
    was issued at (``auth.revocation``).
    """

    subject: str  # "user:42" or "key:gpk_ab12..."
    name: str
    role: Role
    user_id: int | None = None
    api_key_id: int | None = None
    site_ids: frozenset[int] | None = None
    asset_ids: frozenset[int] | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    token_version: int | None = None

    @property
    def permissions(self) -> frozenset[Permission]:
        """The role's permissions (less the global ones when limited to some sites), narrowed to
        the token's OAuth2 scope when it has one."""
        granted = ROLE_PERMISSIONS[self.role]
        if self.site_ids is not None:
            granted = granted - GLOBAL_PERMISSIONS
        if self.scopes:
            return frozenset(p for p in granted if p.value in self.scopes)
        return granted

    def has(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        if not self.has(permission):
            if permission in GLOBAL_PERMISSIONS and permission in ROLE_PERMISSIONS[self.role]:
                raise PermissionDenied(
                    f"{permission.value!r} concerns every site; you are limited to some sites"
                )
            raise PermissionDenied(f"role {self.role.value!r} may not {permission.value!r}")

    def can_see_site(self, site_id: int) -> bool:
        return self.site_ids is None or site_id in self.site_ids

    def check_site(self, site_id: int, what: str = "site") -> None:
        """404 (not 403) for another site's objects: their existence is not disclosed."""
        if not self.can_see_site(site_id):
            raise NotFound(f"{what} not found")

    def can_see_asset(self, asset_id: int | None, site_id: int) -> bool:
        """A device key sees only its own asset's objects (none of the site as a whole)."""
        if not self.can_see_site(site_id):
            return False
        return self.asset_ids is None or (asset_id is not None and asset_id in self.asset_ids)

    def can_write_asset(self, asset_id: int, site_id: int) -> bool:
        if not self.can_see_site(site_id):
            return False
        return self.asset_ids is None or asset_id in self.asset_ids

    def visible_sites(self, site_ids: Iterable[int]) -> list[int]:
        return [s for s in site_ids if self.can_see_site(s)]
