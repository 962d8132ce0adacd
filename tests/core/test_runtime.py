"""The typed app runtime (``core/runtime.py``): slots hold one typed value each, per app."""

from __future__ import annotations

import pytest

from gridpilot.core.bus import InProcessBus
from gridpilot.core.metrics import Metrics
from gridpilot.core.runtime import AppRuntime, Slot
from gridpilot.core.settings import Settings
from gridpilot.db.engine import make_engine, make_sessionmaker

NUMBERS: Slot[list[int]] = Slot("numbers")


class _Stopped:
    async def stop(self) -> None:
        return None


@pytest.fixture
def runtime(tmp_path) -> AppRuntime:
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path}/r.db")
    engine = make_engine(settings)
    metrics = Metrics(data_dir=tmp_path)
    return AppRuntime(settings, engine, make_sessionmaker(engine), InProcessBus(), metrics)


def test_a_slot_is_empty_until_set_and_then_holds_its_value(runtime: AppRuntime) -> None:
    assert runtime.get(NUMBERS) is None
    with pytest.raises(LookupError, match="numbers"):
        runtime.require(NUMBERS)
    made = runtime.put(NUMBERS, [1])
    assert runtime.require(NUMBERS) is made
    assert runtime.get_or_make(NUMBERS, lambda: [2]) is made


def test_get_or_make_keeps_what_it_made(runtime: AppRuntime) -> None:
    first = runtime.get_or_make(NUMBERS, lambda: [3])
    assert runtime.get_or_make(NUMBERS, lambda: [4]) is first == [3]


def test_a_started_runtime_is_kept_for_stopping(runtime: AppRuntime) -> None:
    slot: Slot[_Stopped] = Slot("stopped")
    part = runtime.started(slot, _Stopped())
    assert runtime.runtimes == [part]
    assert runtime.get(slot) is part
