"""The cache of verified access tokens: a hit only until the token's ``exp``, bounded size."""

from __future__ import annotations

import jwt
from tests.auth.conftest import bearer

from gridpilot.auth.dependencies import AccessTokenCache, access_token_cache, token_config
from gridpilot.auth.permissions import Principal, Role
from gridpilot.auth.tokens import TokenConfig, encode_access_token

PRINCIPAL = Principal(subject="user:1", name="ann", role=Role.VIEWER)


def test_an_entry_expires_at_the_tokens_exp():
    now = [1000.0]
    cache = AccessTokenCache(clock=lambda: now[0])
    cache.put("t", 1010.0, PRINCIPAL)
    assert cache.get("t") is PRINCIPAL
    now[0] = 1010.0
    assert cache.get("t") is None
    now[0] = 1000.0
    assert cache.get("t") is None, "an expired entry is gone for good"


def test_a_full_cache_starts_over():
    cache = AccessTokenCache(max_entries=2, clock=lambda: 0.0)
    cache.put("a", 10.0, PRINCIPAL)
    cache.put("b", 10.0, PRINCIPAL)
    cache.put("c", 10.0, PRINCIPAL)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, None, PRINCIPAL)


async def test_a_verified_token_is_cached_until_its_exp_and_a_bad_one_never(app, client, make_user):
    user = await make_user("cached", Role.VIEWER)
    config = token_config(app.state.settings)
    token = encode_access_token(config, f"user:{user.id}", {"role": "viewer", "name": "cached"})
    for _ in range(2):
        assert (await client.get("/api/v1/users/me", headers=bearer(token))).status_code == 200
    cache = access_token_cache(app)
    cached = cache.get(token)
    assert cached is not None and cached.subject == f"user:{user.id}"
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    assert cache._entries[token][0] == exp

    forged = encode_access_token(
        TokenConfig("another-secret-" + "z" * 40, config.issuer, config.audience),
        f"user:{user.id}",
        {"role": "administrator", "name": "cached"},
    )
    assert (await client.get("/api/v1/users/me", headers=bearer(forged))).status_code == 401
    assert cache.get(forged) is None
