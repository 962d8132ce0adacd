"""Scheduled jobs run once per interval however many processes share the database."""

from __future__ import annotations

from sqlalchemy import select

from gridpilot.core.periodic import Periodic
from gridpilot.db.schedules import ScheduledRun, claim_run, claimed_periodic, run_claimer

T0 = 1_800_000_000_000  # epoch ms
INTERVAL_S = 900.0


async def claim(sessions, owner: str, at_ms: int) -> bool:
    async with sessions() as session, session.begin():
        return await claim_run(session, "forecasts", INTERVAL_S, at_ms=at_ms, owner=owner)


async def test_the_first_process_of_a_round_runs_it(sessions):
    assert await claim(sessions, "host-a:1", T0)
    assert not await claim(sessions, "host-b:2", T0 + 1_000)  # the same round
    assert not await claim(sessions, "host-a:1", T0 + 800_000)  # 0.89 of an interval later
    assert await claim(sessions, "host-b:2", T0 + 810_000)  # 0.9 of an interval: next round
    assert not await claim(sessions, "host-a:1", T0 + 900_000)
    async with sessions() as session:
        run = (await session.execute(select(ScheduledRun))).scalar_one()
    assert (run.name, run.started_ms, run.owner) == ("forecasts", T0 + 810_000, "host-b:2")


async def test_jobs_are_claimed_separately(sessions):
    assert await claim(sessions, "host-a:1", T0)
    async with sessions() as session, session.begin():
        assert await claim_run(session, "baseline-refit", 60.0, at_ms=T0, owner="host-b:2")


async def test_periodic_jobs_of_two_processes_run_once_per_round(sessions):
    runs: list[str] = []

    def job(name: str):
        async def run() -> None:
            runs.append(name)

        return run

    first = Periodic("scan", 3600, job("first"), claim=run_claimer(sessions, "scan", 3600))
    second = Periodic("scan", 3600, job("second"), claim=run_claimer(sessions, "scan", 3600))
    assert await first.run_round() is True
    assert await second.run_round() is False
    assert await first.run_round() is False
    assert runs == ["first"] and (first.runs, second.runs) == (1, 0)


async def test_a_claimed_periodic_claims_under_its_claim_name(sessions):
    runs: list[str] = []

    async def job() -> None:
        runs.append("ran")

    first = claimed_periodic(sessions, "log-retention", 86_400, job, claim_name="log_retention")
    second = claimed_periodic(sessions, "log-retention", 86_400, job, claim_name="log_retention")
    other = claimed_periodic(sessions, "log-retention", 86_400, job)  # claimed as its name
    assert (first.first_delay_s, first.interval_s) == (86_400, 86_400)
    assert [await p.run_round() for p in (first, second, other)] == [True, False, True]
    assert runs == ["ran", "ran"]
    async with sessions() as session:
        names = set((await session.execute(select(ScheduledRun.name))).scalars())
    assert names == {"log_retention", "log-retention"}
