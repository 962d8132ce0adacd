"""Request handling made ready before the first request of a process.

FastAPI prepares the routes of an included router (their dependencies, parameter and body
models) on the first request that is matched through it, and Starlette imports AnyIO's asyncio
backend on the first request too. So the first request of a process paid for every route listed
before its own: the first voice question (``POST /api/v1/voice/utterance``, after 139 routes)
took 0.9-1.8 s under a load of 8 on 2 cores instead of 15-60 ms (bench/voice.py, "cold").
``prepare_routes`` does that work at start-up (``voice/tasks.py`` runs it in its warm-up thread
when ``Settings.warm_up_routes`` is on).
"""

from __future__ import annotations

from contextlib import suppress
from importlib import import_module

from starlette.applications import Starlette
from starlette.routing import NoMatchFound

#: A route name no route has: looking it up visits every route of every included router.
_NO_ROUTE = "__gridpilot_warm_up__"


def prepare_routes(app: Starlette) -> None:
    """Prepare every route of ``app`` for its first request, as its first match would.

    A reverse lookup of a name no route has walks every included router's routes, which
    prepares them (FastAPI keeps what it prepared per router, behind its own lock, so a request
    arriving meanwhile waits for, and reuses, the same work). Then AnyIO's asyncio backend is
    imported, which Starlette would import on the first request.
    """
    with suppress(NoMatchFound):
        app.url_path_for(_NO_ROUTE)
    import_module("anyio._backends._asyncio")
