"""FastAPI dependencies of the balance: the app's current-balance cache, if it runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gridpilot.balance.cache import BALANCE, CurrentBalanceCache
from gridpilot.core.runtime import runtime_of


async def get_cache(request: Request) -> CurrentBalanceCache | None:
    """The cache started by the lifespan (None without it: answers come from the database)."""
    return runtime_of(request.app).get(BALANCE)


CacheDep = Annotated[CurrentBalanceCache | None, Depends(get_cache)]
