"""Role x endpoint matrix, built from the app's own routes.

``REQUIRED`` says which permission every API route needs. A route of the app missing from the table
fails the test, so a new endpoint cannot ship without a decision on who may call it. For each route
and role the test calls it for real: roles lacking the permission must get 403, roles holding it
must get past authorization (any answer but 401/403), and no credentials must give 401.
"""

from __future__ import annotations

import re

import pytest

from gridpilot.auth.permissions import ROLE_PERMISSIONS, Permission, Role

P = Permission
ANY = None  # any authenticated principal

#: (method, path template) -> permission needed (ANY: authentication only).
REQUIRED: dict[tuple[str, str], Permission | None] = {
    ("GET", "/metrics"): P.READ,
    # users and keys
    ("GET", "/api/v1/users"): P.USERS_MANAGE,
    ("POST", "/api/v1/users"): P.USERS_MANAGE,
    ("GET", "/api/v1/users/me"): ANY,
    ("PATCH", "/api/v1/users/me"): ANY,
    ("GET", "/api/v1/users/{user_id}"): P.USERS_MANAGE,
    ("PATCH", "/api/v1/users/{user_id}"): P.USERS_MANAGE,
    ("DELETE", "/api/v1/users/{user_id}"): P.USERS_MANAGE,
    ("GET", "/api/v1/api-keys"): P.KEYS_MANAGE,
    ("POST", "/api/v1/api-keys"): P.KEYS_MANAGE,
    ("DELETE", "/api/v1/api-keys/{api_key_id}"): P.KEYS_MANAGE,
    ("GET", "/api/v1/audit"): P.SYSTEM_ADMIN,
    ("POST", "/api/v1/users/me/mfa"): ANY,
    ("POST", "/api/v1/users/me/mfa/confirm"): ANY,
    ("POST", "/api/v1/users/me/mfa/disable"): ANY,
    ("DELETE", "/api/v1/users/{user_id}/mfa"): P.USERS_MANAGE,
    # GDPR (privacy/): another user's data needs an administrator (one's own: tests/privacy)
    ("GET", "/api/v1/users/{user_id}/personal-data"): P.SYSTEM_ADMIN,
    ("POST", "/api/v1/users/{user_id}/erase"): P.SYSTEM_ADMIN,
    # sites, assets, metrics
    ("GET", "/api/v1/sites"): P.READ,
    ("POST", "/api/v1/sites"): P.CONFIGURE,
    ("GET", "/api/v1/sites/{site_id}"): P.READ,
    ("PATCH", "/api/v1/sites/{site_id}"): P.CONFIGURE,
    ("DELETE", "/api/v1/sites/{site_id}"): P.CONFIGURE,
    ("GET", "/api/v1/assets"): P.READ,
    ("POST", "/api/v1/assets"): P.CONFIGURE,
    ("GET", "/api/v1/assets/{asset_id}"): P.READ,
    ("PATCH", "/api/v1/assets/{asset_id}"): P.CONFIGURE,
    ("DELETE", "/api/v1/assets/{asset_id}"): P.CONFIGURE,
    ("POST", "/api/v1/assets/{asset_id}/keys"): P.CONFIGURE,
    ("GET", "/api/v1/assets/{asset_id}/keys"): P.CONFIGURE,
    ("DELETE", "/api/v1/assets/{asset_id}/keys/{key_id}"): P.CONFIGURE,
    ("GET", "/api/v1/metrics"): P.READ,
    ("POST", "/api/v1/metrics"): P.CONFIGURE,
    # telemetry
    ("POST", "/api/v1/telemetry"): P.TELEMETRY_WRITE,
    ("GET", "/api/v1/ingest/rejects"): P.INGEST_ADMIN,
    ("GET", "/api/v1/assets/{asset_id}/series"): P.READ,
    ("GET", "/api/v1/assets/{asset_id}/latest"): P.READ,
    ("GET", "/api/v1/assets/{asset_id}/production"): P.READ,
    ("POST", "/api/v1/assets/{asset_id}/production"): P.TELEMETRY_WRITE,
    ("GET", "/api/v1/assets/{asset_id}/energy"): P.READ,
    # forecasts
    ("GET", "/api/v1/sites/{site_id}/forecast"): P.READ,
    ("GET", "/api/v1/assets/{asset_id}/forecast"): P.READ,
    # WIA-ENE-004
    ("GET", "/api/v1/sources"): P.READ,
    ("POST", "/api/v1/sources"): P.CONFIGURE,
    ("GET", "/api/v1/sources/{source_id}"): P.READ,
    ("PUT", "/api/v1/sources/{source_id}"): P.CONFIGURE,
    ("GET", "/api/v1/sources/{source_id}/alerts"): P.READ,
    ("POST", "/api/v1/sources/{source_id}/production"): P.TELEMETRY_WRITE,
    ("GET", "/api/v1/sources/{source_id}/production"): P.READ,
    ("GET", "/api/v1/sources/{source_id}/status"): P.READ,
    # KPIs, tariffs, current demand
    ("GET", "/api/v1/kpis"): P.READ,
    ("GET", "/api/v1/sites/{site_id}/current"): P.READ,
    ("GET", "/api/v1/sites/{site_id}/balance"): P.READ,
    ("GET", "/api/v1/fleet/summary"): P.READ,
    ("GET", "/api/v1/sites/{site_id}/tariffs"): P.READ,
    ("POST", "/api/v1/sites/{site_id}/tariffs"): P.CONFIGURE,
    # alerts and notifications
    ("GET", "/api/v1/alert-rules"): P.CONFIGURE,
    ("POST", "/api/v1/alert-rules"): P.CONFIGURE,
    ("GET", "/api/v1/alert-rules/{rule_id}"): P.CONFIGURE,
    ("PATCH", "/api/v1/alert-rules/{rule_id}"): P.CONFIGURE,
    ("DELETE", "/api/v1/alert-rules/{rule_id}"): P.CONFIGURE,
    ("GET", "/api/v1/alerts"): P.READ,
    ("GET", "/api/v1/alerts/audit"): P.CONFIGURE,
    ("GET", "/api/v1/alerts/{alert_id}"): P.READ,
    ("POST", "/api/v1/alerts/{alert_id}/acknowledge"): P.ALERTS_ACK,
    ("POST", "/api/v1/alerts/{alert_id}/resolve"): P.ALERTS_ACK,
    ("GET", "/api/v1/notification-channels"): P.CONFIGURE,
    ("POST", "/api/v1/notification-channels"): P.CONFIGURE,
    ("GET", "/api/v1/notification-channels/{channel_id}"): P.CONFIGURE,
    ("PATCH", "/api/v1/notification-channels/{channel_id}"): P.CONFIGURE,
    ("DELETE", "/api/v1/notification-channels/{channel_id}"): P.CONFIGURE,
    ("POST", "/api/v1/notification-channels/{channel_id}/test"): P.CONFIGURE,
    ("GET", "/api/v1/notification-channels/{channel_id}/deliveries"): P.CONFIGURE,
    # simulator
    ("POST", "/api/v1/simulator/start"): P.SYSTEM_ADMIN,
    ("POST", "/api/v1/simulator/stop"): P.SYSTEM_ADMIN,
    ("GET", "/api/v1/simulator/status"): P.SYSTEM_ADMIN,
    ("PUT", "/api/v1/simulator/config"): P.SYSTEM_ADMIN,
    ("POST", "/api/v1/simulator/inject-anomaly"): P.SYSTEM_ADMIN,
    # control: asset status and device commands
    ("GET", "/api/v1/assets/{asset_id}/status"): P.READ,
    ("GET", "/api/v1/sites/{site_id}/status"): P.READ,
    ("POST", "/api/v1/assets/{asset_id}/commands"): P.COMMANDS_SEND,
    ("GET", "/api/v1/assets/{asset_id}/commands"): P.READ,
    ("POST", "/api/v1/commands"): P.COMMANDS_SEND,
    ("GET", "/api/v1/commands/{command_id}"): P.READ,
    # baselines and anomalies
    ("POST", "/api/v1/baselines"): P.CONFIGURE,
    ("GET", "/api/v1/baselines"): P.READ,
    ("GET", "/api/v1/baselines/{baseline_id}"): P.READ,
    ("DELETE", "/api/v1/baselines/{baseline_id}"): P.CONFIGURE,
    ("POST", "/api/v1/baselines/{baseline_id}/refit"): P.CONFIGURE,
    ("GET", "/api/v1/baselines/{baseline_id}/report"): P.READ,
    ("POST", "/api/v1/assets/{asset_id}/anomalies/scan"): P.CONFIGURE,
    ("GET", "/api/v1/anomalies"): P.READ,
    # flexibility (docs/flexibility.md)
    ("GET", "/api/v1/sites/{site_id}/flex-resources"): P.READ,
    ("POST", "/api/v1/sites/{site_id}/flex-resources"): P.CONFIGURE,
    ("GET", "/api/v1/sites/{site_id}/flex-resources/{resource_id}"): P.READ,
    ("PATCH", "/api/v1/sites/{site_id}/flex-resources/{resource_id}"): P.CONFIGURE,
    ("DELETE", "/api/v1/sites/{site_id}/flex-resources/{resource_id}"): P.CONFIGURE,
    ("GET", "/api/v1/sites/{site_id}/schedule"): P.READ,
    ("POST", "/api/v1/sites/{site_id}/schedule"): P.CONFIGURE,
    ("GET", "/api/v1/sites/{site_id}/prices"): P.READ,
    ("PUT", "/api/v1/sites/{site_id}/prices"): P.CONFIGURE,
    ("DELETE", "/api/v1/sites/{site_id}/prices"): P.CONFIGURE,
    ("GET", "/api/v1/sites/{site_id}/peak-shaving"): P.READ,
    ("PUT", "/api/v1/sites/{site_id}/peak-shaving"): P.CONFIGURE,
    ("DELETE", "/api/v1/sites/{site_id}/peak-shaving"): P.CONFIGURE,
    ("GET", "/api/v1/sites/{site_id}/peak-shaving/actions"): P.READ,
    # demand response (docs/demand-response.md; the utility webhook is signed, see PUBLIC)
    ("POST", "/api/dr-events"): P.CONFIGURE,
    ("GET", "/api/v1/dr-events"): P.READ,
    ("GET", "/api/v1/dr-events/{event_id}"): P.READ,
    ("POST", "/api/v1/dr-events/{event_id}/cancel"): P.CONFIGURE,
    ("POST", "/api/v1/dr-events/{event_id}/opt"): P.CONFIGURE,
    ("GET", "/api/facilities/{facility_id}/current"): P.READ,
    ("GET", "/api/facilities/{facility_id}/forecast"): P.READ,
    ("GET", "/api/v1/dr-utilities"): P.SYSTEM_ADMIN,
    ("POST", "/api/v1/dr-utilities"): P.SYSTEM_ADMIN,
    ("GET", "/api/v1/dr-utilities/{utility_id}"): P.SYSTEM_ADMIN,
    ("PATCH", "/api/v1/dr-utilities/{utility_id}"): P.SYSTEM_ADMIN,
    ("DELETE", "/api/v1/dr-utilities/{utility_id}"): P.SYSTEM_ADMIN,
    ("GET", "/api/v1/dr-utilities/{utility_id}/deliveries"): P.SYSTEM_ADMIN,
    # OpenADR (docs/openadr.md)
    ("POST", "/api/v1/openadr/vens"): P.SYSTEM_ADMIN,
    ("GET", "/api/v1/openadr/vens"): P.SYSTEM_ADMIN,
    ("GET", "/api/v1/openadr/vens/{ven_config_id}"): P.SYSTEM_ADMIN,
    ("PUT", "/api/v1/openadr/vens/{ven_config_id}"): P.SYSTEM_ADMIN,
    ("DELETE", "/api/v1/openadr/vens/{ven_config_id}"): P.SYSTEM_ADMIN,
    ("GET", "/api/v1/openadr/vens/{ven_config_id}/events"): P.READ,
    ("POST", "/api/v1/openadr/peers"): P.SYSTEM_ADMIN,
    ("GET", "/api/v1/openadr/peers"): P.SYSTEM_ADMIN,
    ("DELETE", "/api/v1/openadr/peers/{peer_id}"): P.SYSTEM_ADMIN,
    ("POST", "/api/v1/openadr/vtn/events"): P.CONFIGURE,
    ("GET", "/api/v1/openadr/vtn/events"): P.READ,
    ("GET", "/api/v1/openadr/vtn/events/{vtn_event_id}"): P.READ,
    ("POST", "/api/v1/openadr/vtn/events/{vtn_event_id}/cancel"): P.CONFIGURE,
    # energy communities (within a community: docs/community.md, "Access")
    ("GET", "/api/cer"): P.READ,
    ("POST", "/api/cer"): P.CONFIGURE,
    ("GET", "/api/cer/{cer_id}"): P.READ,
    ("PUT", "/api/cer/{cer_id}"): P.CONFIGURE,
    ("DELETE", "/api/cer/{cer_id}"): P.CONFIGURE,
    ("GET", "/api/cer/{cer_id}/members"): P.READ,
    ("POST", "/api/cer/{cer_id}/members"): P.CONFIGURE,
    ("DELETE", "/api/cer/{cer_id}/members/{member_id}"): P.CONFIGURE,
    ("GET", "/api/plants"): P.READ,
    ("POST", "/api/plants"): P.CONFIGURE,
    ("GET", "/api/plants/{plant_id}"): P.READ,
    ("PUT", "/api/plants/{plant_id}"): P.CONFIGURE,
    ("DELETE", "/api/plants/{plant_id}"): P.CONFIGURE,
    ("GET", "/api/energy/aggregations"): P.READ,
    ("GET", "/api/economic/transactions"): P.READ,
    ("POST", "/api/economic/transactions"): P.CONFIGURE,
    ("GET", "/api/economic/benefits"): P.READ,
    ("POST", "/api/economic/distribute"): P.CONFIGURE,
    ("GET", "/api/economic/reports"): P.READ,
    ("GET", "/api/plants/{plant_id}/measurements"): P.READ,
    ("POST", "/api/plants/{plant_id}/measurements"): P.TELEMETRY_WRITE,
    ("GET", "/api/energy/measurements"): P.READ,
    ("POST", "/api/energy/measurements"): P.TELEMETRY_WRITE,
    ("GET", "/api/energy/predictions"): P.READ,
    ("PATCH", "/api/economic/transactions/{transaction_id}"): P.CONFIGURE,
    ("GET", "/api/economic/transactions/{transaction_id}/history"): P.READ,
    ("GET", "/api/v1/communities/{community_id}/years/{year}"): P.READ,
    ("GET", "/api/v1/communities/{community_id}/shared-energy"): P.READ,
    ("GET", "/api/v1/community-parameters"): P.READ,
    ("POST", "/api/v1/community-parameters"): P.CONFIGURE,
    ("POST", "/api/v1/community-zonal-prices"): P.CONFIGURE,
    ("POST", "/api/v1/communities/{community_id}/settlements"): P.CONFIGURE,
    ("GET", "/api/v1/communities/{community_id}/settlements"): P.READ,
    ("GET", "/api/v1/communities/{community_id}/settlements/{settlement_id}"): P.READ,
    ("POST", "/api/v1/communities/{community_id}/settlements/{settlement_id}/close"): P.CONFIGURE,
    ("POST", "/api/v1/communities/{community_id}/gse-reconciliation"): P.CONFIGURE,
    (
        "GET",
        "/api/v1/communities/{community_id}/settlements/{settlement_id}/statements/{member_id}.csv",
    ): P.READ,
    (
        "GET",
        "/api/v1/communities/{community_id}/settlements/{settlement_id}/statements/{member_id}.pdf",
    ): P.READ,
    # reports (docs/reports.md)
    ("GET", "/api/v1/reports/kinds"): P.READ,
    ("GET", "/api/v1/reports"): P.READ,
    ("POST", "/api/v1/reports"): P.CONFIGURE,
    ("GET", "/api/v1/reports/{report_id}"): P.READ,
    ("PATCH", "/api/v1/reports/{report_id}"): P.CONFIGURE,
    ("DELETE", "/api/v1/reports/{report_id}"): P.CONFIGURE,
    ("POST", "/api/v1/reports/{report_id}/run"): P.CONFIGURE,
    ("GET", "/api/v1/reports/runs"): P.READ,
    ("GET", "/api/v1/reports/runs/{run_id}"): P.READ,
    ("GET", "/api/v1/reports/runs/{run_id}/files/{fmt}"): P.READ,
    # device groups and scheduled commands
    ("GET", "/api/v1/groups"): P.READ,
    ("POST", "/api/v1/groups"): P.CONFIGURE,
    ("GET", "/api/v1/groups/{group_id}"): P.READ,
    ("PATCH", "/api/v1/groups/{group_id}"): P.CONFIGURE,
    ("DELETE", "/api/v1/groups/{group_id}"): P.CONFIGURE,
    ("GET", "/api/v1/groups/{group_id}/members"): P.READ,
    ("GET", "/api/v1/command-schedules"): P.READ,
    ("POST", "/api/v1/command-schedules"): P.COMMANDS_SEND,
    ("GET", "/api/v1/command-occurrences"): P.READ,
    ("GET", "/api/v1/command-schedules/{schedule_id}"): P.READ,
    ("PATCH", "/api/v1/command-schedules/{schedule_id}"): P.COMMANDS_SEND,
    ("DELETE", "/api/v1/command-schedules/{schedule_id}"): P.COMMANDS_SEND,
    ("GET", "/api/v1/command-schedules/{schedule_id}/runs"): P.READ,
    ("GET", "/api/v1/command-schedules/{schedule_id}/runs/{run_id}"): P.READ,
    # GraphQL (docs/graphql.md): REST's READ; scope per field is tested in tests/gql
    ("POST", "/api/v1/graphql"): P.READ,
    # notification preferences (docs/notifications.md): one's own, and an administrator's view
    ("GET", "/api/v1/me/notification-preferences"): P.READ,
    ("PUT", "/api/v1/me/notification-preferences"): P.READ,
    ("DELETE", "/api/v1/me/notification-preferences"): P.READ,
    ("GET", "/api/v1/users/{user_id}/notification-preferences"): P.USERS_MANAGE,
    # flexibility savings (docs/flexibility.md)
    ("GET", "/api/v1/sites/{site_id}/flex-savings"): P.READ,
    # firmware roll-outs (docs/firmware.md); devices report with their key (TELEMETRY_WRITE)
    ("POST", "/api/v1/firmware/images"): P.CONFIGURE,
    ("GET", "/api/v1/firmware/images"): P.READ,
    ("GET", "/api/v1/firmware/images/{image_id}"): P.READ,
    ("POST", "/api/v1/firmware/rollouts"): P.CONFIGURE,
    ("GET", "/api/v1/firmware/rollouts"): P.READ,
    ("GET", "/api/v1/firmware/rollouts/{rollout_id}"): P.READ,
    ("GET", "/api/v1/firmware/rollouts/{rollout_id}/devices"): P.READ,
    ("POST", "/api/v1/firmware/rollouts/{rollout_id}/devices/{asset_id}/report"): (
        P.TELEMETRY_WRITE
    ),
    ("POST", "/api/v1/firmware/rollouts/{rollout_id}/pause"): P.CONFIGURE,
    ("POST", "/api/v1/firmware/rollouts/{rollout_id}/resume"): P.CONFIGURE,
    # voice queries and the industrial seed's sample routes (docs/voice.md)
    ("POST", "/api/v1/voice/query"): P.READ,
    ("POST", "/api/v1/voice/utterance"): P.READ,
    ("GET", "/api/v1/energy/machine/{slug}"): P.READ,
    ("GET", "/api/v1/energy/machines"): P.READ,
    ("GET", "/api/v1/analytics/correlation"): P.READ,
}

#: Routes that need no authentication at all (DESIGN.md: health, token endpoint, docs), or that
#: authenticate otherwise (the utility webhook: a Standard Webhooks signature, tests/dr).
PUBLIC = {
    ("GET", "/health"),
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/mfa/enrol"),  # authenticated by the password grant's MFA token
    ("POST", "/api/v1/auth/mfa/enrol/confirm"),
    ("POST", "/api/v1/auth/password-reset"),  # anyone; the token in the e-mail authenticates
    ("POST", "/api/v1/auth/password-reset/confirm"),
    ("POST", "/api/v1/auth/register"),  # self-registration, when allowed (off: 403 for anyone)
    ("POST", "/api/auth/login"),  # the CER seed's aliases of the token endpoint and register
    ("POST", "/api/auth/refresh"),
    ("POST", "/api/auth/register"),
    ("POST", "/api/auth/logout"),  # the refresh token in the body authenticates
    ("POST", "/webhooks/utility/dr-notification"),
}


HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def app_routes(app) -> list[tuple[str, str]]:
    """Every (method, path template) the app serves, from its OpenAPI document."""
    paths = app.openapi()["paths"]
    return [(m.upper(), path) for path, ops in paths.items() for m in ops if m in HTTP_METHODS]


def concrete(path: str) -> str:
    """A callable path for a template: ids become a number no object has, sourceIds a free one."""

    def value(match: re.Match[str]) -> str:
        return "SOLAR-PV-XXX-99999" if match.group(0) == "{source_id}" else "987654"

    return re.sub(r"\{[^}]+\}", value, path)


def test_every_route_has_an_rbac_entry(app):
    assert len(app_routes(app)) >= len(REQUIRED)
    missing = [r for r in app_routes(app) if r not in REQUIRED and r not in PUBLIC]
    assert not missing, f"routes missing from the RBAC table: {missing}"
    stale = [r for r in REQUIRED if r not in app_routes(app)]
    assert not stale, f"RBAC table names routes the app does not have: {stale}"


@pytest.mark.parametrize("role", list(Role))
async def test_roles_get_exactly_their_permissions(app, client, auth_headers, role: Role):
    headers = await auth_headers(role)
    wrong: list[str] = []
    for (method, path), permission in sorted(REQUIRED.items(), key=lambda kv: kv[0][1]):
        response = await client.request(method, concrete(path), headers=headers, json={})
        allowed = permission is ANY or permission in ROLE_PERMISSIONS[role]
        status = response.status_code
        if allowed and status in (401, 403):
            wrong.append(f"{method} {path}: {role} should pass authorization, got {status}")
        if not allowed and status != 403:
            wrong.append(f"{method} {path}: {role} should get 403, got {status}")
    assert not wrong, "\n".join(wrong)


async def test_no_credentials_is_401_everywhere(app, client):
    wrong = []
    for method, path in REQUIRED:
        response = await client.request(method, concrete(path), json={})
        if response.status_code != 401:
            wrong.append(f"{method} {path}: {response.status_code}")
    assert not wrong, wrong
