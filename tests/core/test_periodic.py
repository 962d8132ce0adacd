"""Scheduled jobs: they run again after a failing run, stop when asked, and 0 means off."""

from __future__ import annotations

import asyncio

from gridpilot.core.periodic import Periodic


async def test_a_failing_run_does_not_end_the_job():
    runs: list[int] = []
    third = asyncio.Event()

    async def job() -> None:
        runs.append(len(runs))
        if len(runs) == 3:
            third.set()
        if len(runs) == 1:
            raise RuntimeError("first run fails")

    periodic = Periodic("test", 0.01, job, first_delay_s=0)
    periodic.start()
    await asyncio.wait_for(third.wait(), 5)
    await periodic.stop()
    count = len(runs)
    await asyncio.sleep(0.05)
    assert len(runs) == count  # stopped: no more runs
    assert not periodic.running


async def test_an_interval_of_zero_is_off():
    async def job() -> None:
        raise AssertionError("must not run")

    periodic = Periodic("off", 0, job)
    periodic.start()
    assert not periodic.running
    await periodic.stop()


async def test_a_round_runs_only_when_claimed():
    answers = [False, True, False]
    runs: list[int] = []

    async def claim() -> bool:
        return answers.pop(0)

    async def job() -> None:
        runs.append(1)

    periodic = Periodic("claimed", 60, job, claim=claim)
    assert [await periodic.run_round() for _ in range(3)] == [False, True, False]
    assert runs == [1] and periodic.runs == 1
