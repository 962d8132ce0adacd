"""Schemathesis generates requests from our OpenAPI document and runs every check on the answers
(``--checks all``): no 5xx, only documented status codes, bodies and headers that match the
document, ``Allow`` on 405s, schema-invalid data refused, authentication enforced, deleted objects
gone... (its configuration, and why one check is relaxed: ``schemathesis.toml`` next to this file).

Runs the schemathesis CLI against a real uvicorn server, as an administrator (so requests get past
authentication and reach the handlers), on both back ends: about 8,000 requests and 100 to 140 s
per back end with 30 examples per operation.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from tests.api.live_server import live_server

from gridpilot.auth.dependencies import token_config
from gridpilot.auth.models import User
from gridpilot.auth.passwords import hash_password
from gridpilot.auth.permissions import Role
from gridpilot.auth.tokens import encode_access_token

pytestmark = pytest.mark.slow

MAX_EXAMPLES = os.environ.get("GRIDPILOT_FUZZ_EXAMPLES", "30")
CONFIG = Path(__file__).with_name("schemathesis.toml")
#: The fuzzer runs as this administrator (an id far from those it tries first: 1, 2, 2**31-1...).
FUZZ_ADMIN_ID = 900_001
#: Operations that can demote, disable, delete or re-password the caller, which revokes its
#: token (auth.revocation): the rest of a run would get 401. They run in a second pass, after
#: every other operation, with POST /users to give them users to change.
SELF_REVOKING = (
    "PATCH /api/v1/users/{user_id}", "DELETE /api/v1/users/{user_id}", "PATCH /api/v1/users/me",
    "DELETE /api/v1/users/{user_id}/mfa",  # turning a user's TOTP off ends their sessions
)  # fmt: skip


@pytest.fixture
def settings_overrides(settings_overrides):
    """Self-registration on, so the fuzzer reaches POST /auth/register past its 403 (off)."""
    return {**settings_overrides, "self_registration": True}


async def fuzz_admin_headers(app) -> dict[str, str]:
    async with app.state.sessions() as session, session.begin():
        session.add(
            User(
                id=FUZZ_ADMIN_ID, username="fuzz-admin", role=Role.ADMINISTRATOR.value,
                password_hash=hash_password(secrets.token_urlsafe(16)), disabled=False,
                site_restricted=False,
            )
        )  # fmt: skip
    token = encode_access_token(
        token_config(app.state.settings),
        f"user:{FUZZ_ADMIN_ID}",
        {"role": Role.ADMINISTRATOR.value, "name": "fuzz-admin", "sites": None},
    )
    return {"Authorization": f"Bearer {token}"}


def schemathesis(base_url: str, headers: dict[str, str], *selection: str) -> str:
    """Run schemathesis with every check on the selected operations; its output if it failed."""
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG),
        "run", f"{base_url}/openapi.json",
        "--checks", "all",
        "--max-examples", MAX_EXAMPLES,
        "--seed", "20261123",
        "--header", f"Authorization:{headers['Authorization']}",
        "--request-timeout", "20",
        "--suppress-health-check", "all",
        *selection,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    # the failures come first, then long warnings and the summary: keep both ends
    out = result.stdout
    output = out if len(out) <= 30000 else out[:20000] + "\n[...]\n" + out[-8000:]
    output += result.stderr[-5000:]
    if result.returncode != 0:
        return output
    if "Authentication failed" in output:  # the run lost its credentials: little was tested
        return output
    return ""


async def test_every_schemathesis_check_passes(app, settings, client):
    headers = await fuzz_admin_headers(app)
    site = await client.post(
        "/api/v1/sites", json={"name": "Fuzz", "timezone": "UTC"}, headers=headers
    )
    assert site.status_code == 201
    with live_server(settings) as base_url:
        others = [arg for name in SELF_REVOKING for arg in ("--exclude-name", name)]
        assert not (failed := schemathesis(base_url, headers, *others)), failed
        changers = [arg for name in SELF_REVOKING for arg in ("--include-name", name)]
        creator = ("--include-name", "POST /api/v1/users")
        assert not (failed := schemathesis(base_url, headers, *changers, *creator)), failed
