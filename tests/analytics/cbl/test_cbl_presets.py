"""The presets carry the parameters of their source documents (values typed from the documents
as quoted in docs/demand-response.md, not read back from the code)."""

from __future__ import annotations

import pytest

from gridpilot.analytics.cbl import ADDITIVE, PRESETS, RATIO, preset
from gridpilot.core.errors import ValidationFailed


def test_caiso_10_in_10():
    m = preset("caiso_10in10")
    assert (m.weekday.x, m.weekday.y, m.weekday.select, m.weekday.lookback_days) == (
        10,
        10,
        "all",
        45,
    )
    assert (m.weekend.x, m.weekend.y) == (4, 4)
    assert (m.adjustment.kind, m.adjustment.cap) == (RATIO, 0.20)


def test_nyiso_high_5_of_10_and_weekend_2_of_3():
    m = preset("nyiso_high5of10")
    assert (m.weekday.x, m.weekday.y, m.weekday.select) == (5, 10, "highest")
    assert (m.weekend.x, m.weekend.y, m.like_days) == (2, 3, True)
    assert m.low_usage_fraction == 0.25
    assert (m.adjustment.kind, m.adjustment.cap) == (RATIO, 0.20)


def test_pjm_high_4_of_5_with_symmetric_additive_adjustment():
    m = preset("pjm_high4of5")
    assert (m.weekday.x, m.weekday.y, m.weekday.select) == (4, 5, "highest")
    assert (m.weekend.x, m.weekend.y) == (2, 3)
    assert m.low_usage_fraction == 0.25
    assert (m.adjustment.kind, m.adjustment.window_start_h, m.adjustment.window_end_h) == (
        ADDITIVE,
        4,
        1,
    )


def test_pge_methods():
    residential = preset("pge_high5of10")
    assert (residential.weekday.x, residential.weekday.y) == (5, 10)
    assert (residential.weekend.x, residential.weekend.y) == (3, 5)
    cbp = preset("pge_10in10")
    assert (cbp.weekday.x, cbp.weekday.y, cbp.adjustment.cap) == (10, 10, 0.40)


def test_every_preset_names_its_source():
    for m in PRESETS.values():
        assert m.source and m.url.startswith("https://"), m.name


def test_an_unknown_method_lists_the_known_ones():
    with pytest.raises(ValidationFailed, match="caiso_10in10"):
        preset("ercot_middle8of10")
