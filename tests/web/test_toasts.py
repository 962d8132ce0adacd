"""A page toasts new alerts, but not flapping ones, and not fifty at once."""

from __future__ import annotations

from gridpilot.web.toasts import MORE, ToastGate


def raised(title: str, flapping: bool = False) -> dict:
    return {"title": title, "flapping": flapping, "severity": "warning"}


def test_a_flapping_alert_pops_nothing():
    gate = ToastGate()
    assert gate.admit(raised("Compressor 1: offline", flapping=True), 0) is None
    assert gate.admit(raised("Compressor 1: offline"), 1) == "New alert: Compressor 1: offline"


def test_a_burst_gives_three_toasts_one_pointer_then_quiet_until_the_window_passes():
    gate = ToastGate(burst=3, window_ms=10_000)
    texts = [gate.admit(raised(f"alert {i}"), 100 + i) for i in range(50)]
    assert texts[:3] == ["New alert: alert 0", "New alert: alert 1", "New alert: alert 2"]
    assert texts[3] == MORE
    assert texts[4:] == [None] * 46
    assert gate.admit(raised("later"), 10_200) == "New alert: later"  # the window has passed
