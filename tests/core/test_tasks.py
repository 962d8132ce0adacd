"""Stopping background tasks."""

from __future__ import annotations

import asyncio

from gridpilot.core.tasks import cancel_and_wait, finish_then_cancel


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
