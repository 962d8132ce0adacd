"""Fixtures of the auth tests: logging in through the real token endpoint, sites, assets, keys."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.assets.models import Asset, Site
from gridpilot.auth.service import create_api_key

PASSWORD = "correct horse battery staple"
TOKEN_URL = "/api/v1/auth/token"


@pytest.fixture
def token_request(client: httpx.AsyncClient) -> Callable[..., Awaitable[httpx.Response]]:
    """POST form fields to the token endpoint."""

    async def post(auth: tuple[str, str] | None = None, **form: str) -> httpx.Response:
        return await client.post(TOKEN_URL, data=form, auth=auth)

    return post


@pytest.fixture
def login(token_request) -> Callable[..., Awaitable[dict[str, Any]]]:
    """The token response body of a successful password grant."""

    async def password_login(username: str, password: str = PASSWORD, **extra: str):
        response = await token_request(
            grant_type="password", username=username, password=password, **extra
        )
        assert response.status_code == 200, response.text
        return response.json()

    return password_login


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def make_site(sessions: async_sessionmaker[AsyncSession]) -> Callable[..., Awaitable[int]]:
    async def factory(name: str | None = None) -> int:
        async with sessions() as session, session.begin():
            site = Site(name=name or f"site-{uuid.uuid4().hex[:8]}", timezone="UTC")
            session.add(site)
            await session.flush()
            return site.id

    return factory


@pytest.fixture
def make_asset(sessions: async_sessionmaker[AsyncSession]) -> Callable[..., Awaitable[int]]:
    async def factory(site_id: int) -> int:
        async with sessions() as session, session.begin():
            asset = Asset(
                site_id=site_id, name=f"meter-{uuid.uuid4().hex[:8]}", kind="meter", role="consumer"
            )
            session.add(asset)
            await session.flush()
            return asset.id

    return factory


@pytest.fixture
def make_key(
    sessions: async_sessionmaker[AsyncSession],
) -> Callable[..., Awaitable[tuple[int, str]]]:
    """A key made by ``auth.service.create_api_key``: (database id, raw key)."""

    async def factory(**kwargs: Any) -> tuple[int, str]:
        kwargs.setdefault("name", f"key-{uuid.uuid4().hex[:8]}")
        async with sessions() as session, session.begin():
            key, raw = await create_api_key(session=session, **kwargs)
            return key.id, raw

    return factory
