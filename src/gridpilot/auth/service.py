"""Users, credentials, tokens and API keys. (Being built: see issue #3.)"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import AuthenticationFailed


async def principal_for_api_key(session: AsyncSession, raw_key: str) -> Principal:
    """The principal of a valid, unrevoked API key; ``AuthenticationFailed`` otherwise."""
    raise AuthenticationFailed("invalid API key")
