"""What the firmware page shows, without NiceGUI: state colours, a wave's counts per state, its
failure rate against the threshold, a shortened SHA-256, a device's last report in its site's
local time."""

from __future__ import annotations

from gridpilot.firmware.schemas import RolloutOut, WaveOut
from gridpilot.web.numbers import local_datetime

#: A roll-out's state -> (Quasar colour, Material icon).
ROLLOUT_STATE: dict[str, tuple[str, str]] = {
    "running": ("primary", "sync"),
    "paused": ("orange-8", "pause_circle"),
    "completed": ("positive", "check_circle"),
    "cancelled": ("grey-7", "block"),
}
#: A device's state -> Quasar colour.
DEVICE_STATE: dict[str, str] = {
    "pending": "grey-7",
    "offered": "blue-grey-6",
    "downloading": "primary",
    "installed": "teal-7",
    "verified": "positive",
    "failed": "negative",
}
#: The columns of a wave's row, in the order a device moves.
COUNTED = ("offered", "downloading", "installed", "verified", "failed")


def short_sha(sha256: str) -> str:
    """The first 12 hex digits, as ``git`` shortens a hash."""
    return f"{sha256[:12]}\u2026"


def wave_name(wave: int) -> str:
    return "canary" if wave == 0 else f"wave {wave}"


def wave_row(wave: WaveOut, threshold: float) -> dict[str, str | int]:
    """A wave's counts per state (0 for none) and its failure rate against the threshold."""
    row: dict[str, str | int] = {"id": wave.wave, "wave": wave_name(wave.wave)}
    row["devices"] = wave.devices
    row["pending"] = wave.states.get("pending", 0)
    for state in COUNTED:
        row[state] = wave.states.get(state, 0)
    row["failure"] = f"{wave.failure_pct:g} % of {threshold:g} %"
    return row


def progress(rollout: RolloutOut) -> str:
    """``12 of 20 verified, 1 failed · wave 2 of 4``."""
    total = sum(w.devices for w in rollout.waves)
    verified = sum(w.states.get("verified", 0) for w in rollout.waves)
    failed = sum(w.states.get("failed", 0) for w in rollout.waves)
    where = f"{wave_name(rollout.current_wave)} of {len(rollout.waves) - 1} waves after the canary"
    return f"{verified} of {total} verified, {failed} failed \u00b7 {where}"


def reported(updated_ms: int, zone: str) -> str:
    """The device's last change in its site's local time."""
    return local_datetime(updated_ms, zone)
