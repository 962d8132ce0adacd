"""``GRIDPILOT_MFA_REQUIRED_ROLES``: users of those roles enrol before they get any token."""

from __future__ import annotations

import pyotp
import pytest
from tests.auth.conftest import PASSWORD

from gridpilot.auth import mfa
from gridpilot.auth.permissions import Role

NOW = 1_796_400_015.0


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"mfa_required_roles": "administrator, operator"}


async def test_required_roles_enrol_first(client, make_user, login, token_request, monkeypatch):
    monkeypatch.setattr(mfa, "clock", lambda: NOW)
    await make_user("vic", Role.VIEWER)
    await login("vic")  # viewers are not concerned
    await make_user("opal", Role.OPERATOR)
    first = await token_request(grant_type="password", username="opal", password=PASSWORD)
    assert first.status_code == 401 and first.json()["error"] == "mfa_enrolment_required"
    assert "access_token" not in first.json()
    mfa_token = first.json()["mfa_token"]
    forged = await client.post("/api/v1/auth/mfa/enrol", json={"mfa_token": mfa_token + "x"})
    assert forged.status_code == 401
    started = await client.post("/api/v1/auth/mfa/enrol", json={"mfa_token": mfa_token})
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    totp = pyotp.TOTP(secret)
    confirmed = await client.post(
        "/api/v1/auth/mfa/enrol/confirm", json={"mfa_token": mfa_token, "code": totp.at(NOW)}
    )
    assert confirmed.status_code == 200 and len(confirmed.json()["recovery_codes"]) == 10
    again = await token_request(grant_type="password", username="opal", password=PASSWORD)
    assert again.status_code == 401 and again.json()["error"] == "mfa_required"
    done = await token_request(
        grant_type="mfa_otp", mfa_token=again.json()["mfa_token"], otp=totp.at(NOW + 30)
    )
    assert done.status_code == 200 and "access_token" in done.json()
