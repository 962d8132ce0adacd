"""Access tokens that must be refused: forged, unsigned, expired, for another audience or issuer."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from tests.auth.conftest import bearer

from gridpilot.auth.dependencies import token_config
from gridpilot.auth.permissions import Role
from gridpilot.auth.tokens import TokenConfig, encode_access_token

ME = "/api/v1/users/me"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.fixture
async def user_claims(app, make_user) -> tuple[TokenConfig, str, dict]:
    user = await make_user("tina", Role.ADMINISTRATOR)
    claims = {"role": "administrator", "name": "tina", "sites": None}
    return token_config(app.state.settings), f"user:{user.id}", claims


async def test_a_valid_token_is_accepted(client, user_claims):
    config, subject, claims = user_claims
    response = await client.get(ME, headers=bearer(encode_access_token(config, subject, claims)))
    assert response.status_code == 200
    assert response.json()["username"] == "tina"


async def test_forged_signature_is_rejected(client, user_claims):
    config, subject, claims = user_claims
    forged = TokenConfig("another-secret-" + "y" * 40, config.issuer, config.audience)
    response = await client.get(ME, headers=bearer(encode_access_token(forged, subject, claims)))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_tampered_payload_is_rejected(client, user_claims):
    config, subject, claims = user_claims
    token = encode_access_token(config, subject, {**claims, "role": "viewer"})
    header, payload, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    tampered = _b64({**decoded, "role": "administrator"})
    response = await client.get(ME, headers=bearer(f"{header}.{tampered}.{signature}"))
    assert response.status_code == 401


async def test_alg_none_is_rejected(client, user_claims):
    config, subject, claims = user_claims
    now = int(time.time())
    payload = {
        **claims,
        "sub": subject,
        "iss": config.issuer,
        "aud": config.audience,
        "iat": now,
        "exp": now + 600,
    }
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(payload)}."
    response = await client.get(ME, headers=bearer(unsigned))
    assert response.status_code == 401


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_hs256_signed_with_another_algorithm_is_rejected(client, user_claims):
    config, subject, claims = user_claims
    now = int(time.time())
    payload = {**claims, "sub": subject, "iss": config.issuer, "aud": config.audience,
               "iat": now, "exp": now + 600}  # fmt: skip
    token = jwt.encode(payload, config.secret, algorithm="HS512")
    response = await client.get(ME, headers=bearer(token))
    assert response.status_code == 401


async def test_expired_token_is_rejected(client, user_claims):
    config, subject, claims = user_claims
    expired = TokenConfig(config.secret, config.issuer, config.audience, ttl_s=-60)
    response = await client.get(ME, headers=bearer(encode_access_token(expired, subject, claims)))
    assert response.status_code == 401
    assert "expired" in response.json()["message"]


async def test_wrong_audience_is_rejected(client, user_claims):
    config, subject, claims = user_claims
    other = TokenConfig(config.secret, config.issuer, "someone-else")
    response = await client.get(ME, headers=bearer(encode_access_token(other, subject, claims)))
    assert response.status_code == 401
    assert "audience" in response.json()["message"]


async def test_wrong_issuer_is_rejected(client, user_claims):
    config, subject, claims = user_claims
    other = TokenConfig(config.secret, "evil-issuer", config.audience)
    response = await client.get(ME, headers=bearer(encode_access_token(other, subject, claims)))
    assert response.status_code == 401
    assert "issuer" in response.json()["message"]


async def test_garbage_and_missing_credentials_are_rejected(client):
    assert (await client.get(ME, headers=bearer("not.a.jwt"))).status_code == 401
    assert (await client.get(ME)).status_code == 401
