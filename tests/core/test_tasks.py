"""Stopping background tasks."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from gridpilot.core.tasks import (
    cancel_all,
    cancel_and_wait,
    finish_then_cancel,
    reraise_if_stopping,
)


async def test_cancel_and_wait_stops_a_running_task_and_lets_its_cleanup_run():
    cleaned = asyncio.Event()

    async def worker() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            cleaned.set()

    task = asyncio.create_task(worker())
    await asyncio.sleep(0)
    await cancel_and_wait(task)
    assert task.cancelled() and cleaned.is_set()


async def test_cancel_and_wait_accepts_none_and_finished_tasks():
    await cancel_and_wait(None)
    task = asyncio.create_task(asyncio.sleep(0, result=5))
    await task
    await cancel_and_wait(task)
    assert task.result() == 5


async def test_finish_then_cancel_lets_the_unit_of_work_end_before_the_cancellation():
    steps: list[str] = []
    started = asyncio.Event()

    async def transaction() -> None:
        steps.append("begin")
        started.set()
        await asyncio.sleep(0.05)
        steps.append("commit")

    async def loop() -> None:
        await finish_then_cancel(transaction())
        steps.append("after")  # never reached: the cancellation goes on

    task = asyncio.create_task(loop())
    await started.wait()
    await cancel_and_wait(task)
    assert steps == ["begin", "commit"] and task.cancelled()


async def test_a_loop_whose_clean_up_turns_the_cancellation_into_an_error_still_stops():
    """A rollback on a connection whose query was cancelled can raise its own error; the
    loop's ``except Exception`` would log it and run on, and its stop would wait forever."""
    rounds: list[int] = []

    async def unit() -> None:
        try:
            await asyncio.sleep(3600)  # a query
        except asyncio.CancelledError:
            raise RuntimeError("connection is busy: another operation is in progress") from None

    async def loop() -> None:
        while True:
            rounds.append(1)
            try:
                await unit()
            except Exception:
                reraise_if_stopping()

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)
    assert await cancel_and_wait(task)
    assert task.cancelled() and rounds == [1]


async def test_cancel_and_wait_gives_up_on_a_task_that_never_ends():
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(3600)

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    assert await cancel_and_wait(task, grace_s=0.05) is False
    assert not task.done()  # left behind, and the caller went on
    release.set()
    task.cancel()
    await asyncio.wait({task})


async def test_a_second_cancellation_cuts_the_unit_of_finish_then_cancel():
    steps: list[str] = []
    started = asyncio.Event()

    async def transaction() -> None:
        steps.append("begin")
        started.set()
        try:
            await asyncio.sleep(3600)  # blocked: a lock held by another connection
        except asyncio.CancelledError:
            steps.append("rolled back")
            raise

    async def loop() -> None:
        await finish_then_cancel(transaction())

    task = asyncio.create_task(loop())
    await started.wait()
    assert await cancel_and_wait(task, grace_s=0.05)
    assert steps == ["begin", "rolled back"] and task.cancelled()


async def test_cancel_and_wait_raises_the_error_a_task_ended_with():
    async def failing() -> None:
        raise ValueError("broken")

    task = asyncio.create_task(failing())
    await asyncio.wait({task})
    with pytest.raises(ValueError, match="broken"):
        await cancel_and_wait(task)


async def test_cancel_all_stops_every_task_when_one_ended_with_an_error():
    async def failing() -> None:
        raise ValueError("broken")

    broken = asyncio.create_task(failing())
    sleeping = asyncio.create_task(asyncio.sleep(3600))
    await asyncio.wait({broken})
    await cancel_all([broken, sleeping])
    assert sleeping.cancelled()
