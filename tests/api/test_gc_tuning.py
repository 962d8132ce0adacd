"""The server keeps Python's cyclic garbage collector off the ingest path (``tune_gc``)."""

from __future__ import annotations

import gc

from gridpilot.api.lifespan import GC_YOUNG_THRESHOLD, tune_gc


def test_tune_gc_freezes_the_start_up_heap_and_collects_young_objects_less_often():
    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, before[1], before[2])
        assert gc.get_freeze_count() > 1000  # the modules and objects built so far
        garbage = [[]]
        garbage[0].append(garbage)  # a cycle made after the freeze is still collected
        del garbage
        assert gc.collect() >= 1
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


async def test_the_test_apps_leave_the_collector_alone(app):
    assert app.state.settings.gc_tuning is False
    assert gc.get_threshold()[0] != GC_YOUNG_THRESHOLD
    assert gc.get_freeze_count() == 0
