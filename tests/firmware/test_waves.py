"""The pure rules of a staged roll-out: waves, the failure threshold, the verdict on a version."""

from __future__ import annotations

from gridpilot.firmware.waves import (
    FAILED,
    VERIFIED,
    failure_pct,
    over_threshold,
    plan_waves,
    verdict,
    wave_finished,
)


def test_canary_then_waves_of_the_given_size():
    # 10 devices, canary 20 % = 2, then waves of 4: 2 + 4 + 4
    assert plan_waves(10, 20, 4) == [0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    # 1 % of 10 rounds up to one canary; the rest in one wave of 50
    assert plan_waves(10, 1, 50) == [0] + [1] * 9
    assert plan_waves(3, 100, 5) == [0, 0, 0]  # everything in the canary
    assert plan_waves(0, 10, 5) == []


def test_threshold_is_strictly_above_and_accepted_failures_do_not_count():
    wave = [FAILED, VERIFIED, "offered", "offered"]
    assert failure_pct(wave) == 25.0
    assert not over_threshold(wave, 25.0)  # 25 % is not above 25 %
    assert over_threshold([*wave[:3], FAILED], 25.0)  # 50 %
    assert not over_threshold([FAILED, FAILED, "offered", "offered"], 25.0, accepted=2)
    # one more failure after the resume: (3 - 2) / 4 = 25 %, not above; two more: 50 %
    assert not over_threshold([FAILED, FAILED, FAILED, "offered"], 25.0, accepted=2)
    assert over_threshold([FAILED, FAILED, FAILED, FAILED], 25.0, accepted=2)
    assert not wave_finished(wave) and wave_finished([FAILED, VERIFIED])


def test_the_reported_version_decides():
    assert verdict("2.1.0", "2.1.0") == (VERIFIED, None)
    assert verdict("2.0.9", "2.1.0") == (FAILED, "reports version '2.0.9' after installing '2.1.0'")
    assert verdict(None, "2.1.0")[0] == FAILED
