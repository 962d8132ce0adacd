"""Background asyncio tasks: stopping them, in bounded time, without cutting a unit of work.

The rules every background loop of a runtime follows (``core/periodic.py`` is the ready-made
loop for a job every N seconds):

- a unit of work that writes (one transaction) runs under ``finish_then_cancel``: a stop waits
  for its end instead of cutting it in half;
- a loop that logs a failed unit and goes on calls ``reraise_if_stopping`` in its
  ``except Exception``: clean-up code that turned the cancellation into another error (a
  rollback on a connection whose query was just cancelled) does not make the loop run on;
- ``stop()`` calls ``cancel_and_wait``, which gives up on a task that does not end within
  ``STOP_GRACE_S`` of each of two cancellations (logged), so the app's stop never hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)

#: Seconds a stopping task gets after each cancellation (the first lets a unit of work under
#: ``finish_then_cancel`` end, the second cuts it) before ``cancel_and_wait`` gives up on it.
STOP_GRACE_S = 5.0


async def cancel_and_wait(task: asyncio.Task[Any] | None, grace_s: float | None = None) -> bool:
    """Cancel ``task`` (nothing when None) and wait until it has finished; whether it did.

    Its ``CancelledError`` is swallowed (an other error it ended with is raised); a
    cancellation of the caller itself still propagates. A task still running ``grace_s`` after
    the cancellation is cancelled once more (which cuts a unit under ``finish_then_cancel``);
    still running ``grace_s`` (default ``STOP_GRACE_S``) after that, it is left behind with an
    error in the log.
    """
    if task is None:
        return True
    grace_s = STOP_GRACE_S if grace_s is None else grace_s
    for _ in range(2):
        task.cancel()
        await asyncio.wait({task}, timeout=grace_s)
        if task.done():
            error = None if task.cancelled() else task.exception()
            if error is not None:
                raise error
            return True
    log.error(
        "task %s did not end within %.1f s of two cancellations; left behind",
        task.get_name(),
        2 * grace_s,
    )
    return False


async def cancel_all(tasks: list[asyncio.Task[Any]], grace_s: float | None = None) -> None:
    """``cancel_and_wait`` for each of ``tasks`` at once (their grace periods overlap); the
    error a task ended with is logged, and the others are still stopped."""
    ends = await asyncio.gather(
        *(cancel_and_wait(task, grace_s) for task in tasks), return_exceptions=True
    )
    for task, end in zip(tasks, ends, strict=True):
        if isinstance(end, Exception):
            log.error("task %s ended with an error", task.get_name(), exc_info=end)


def reraise_if_stopping() -> None:
    """In a loop's ``except Exception``: raise ``CancelledError`` when this task is being
    cancelled, so a cancellation that clean-up code turned into another error still stops it."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def finish_then_cancel(work: Awaitable[T]) -> T:
    """Await ``work`` to its end even when the caller is cancelled meanwhile, then let the
    cancellation go on: a unit of work (a database transaction) is never cut in half, which
    on SQLite would leave its write lock held until the connection is garbage-collected.

    A second cancellation of the caller (``cancel_and_wait`` after its grace) cancels ``work``.
    """
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await task
        raise
