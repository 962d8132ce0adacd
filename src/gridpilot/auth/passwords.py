"""Password hashing with argon2id (argon2-cffi defaults, RFC 9106 low-memory profile).

One argon2id computation takes tens to hundreds of milliseconds of CPU. The server never runs
one on its event loop: ``HashGate`` runs them in worker threads (argon2 releases the GIL), at
most ``concurrency`` at a time, and refuses checks beyond a short queue at once.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gridpilot.core.errors import RateLimited

T = TypeVar("T")

_hasher = PasswordHasher()

#: Password checks that may wait for a free slot, per slot; further ones are refused (429).
WAITING_PER_SLOT = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@functools.cache
def _dummy_hash() -> str:
    """A valid hash of a random password, verified against when the user does not exist so that
    timing does not reveal which usernames exist (made on first use, not at import)."""
    return _hasher.hash("gridpilot-no-such-user")


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; always spends the same work, even with no hash."""
    try:
        return (
            _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


class HashGate:
    """Runs argon2 work in worker threads, ``concurrency`` at a time (per process).

    ``running``: computations in a thread now; ``waiting``: checks queued for a slot. A check
    that finds ``WAITING_PER_SLOT * concurrency`` already waiting gets ``RateLimited`` (retry in
    1 s) instead of piling up. A cancelled caller keeps its slot until its thread has finished.
    """

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self.max_waiting = WAITING_PER_SLOT * concurrency
        self.running = 0
        self.waiting = 0
        self._slots: asyncio.Semaphore | None = None

    async def run(self, work: Callable[..., T], *args: object) -> T:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
        slots = self._slots
        if slots.locked() and self.waiting >= self.max_waiting:
            raise RateLimited("the server is busy checking passwords; try again", retry_after_s=1)
        self.waiting += 1
        try:
            await slots.acquire()
        finally:
            self.waiting -= 1
        self.running += 1
        task = asyncio.ensure_future(asyncio.to_thread(work, *args))

        def finished(_: object) -> None:
            self.running -= 1
            slots.release()

        task.add_done_callback(finished)
        return await asyncio.shield(task)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """``verify_password`` in a worker thread."""
        return await self.run(verify_password, password_hash, password)

    async def hash(self, password: str) -> str:
        """``hash_password`` in a worker thread."""
        return await self.run(hash_password, password)
