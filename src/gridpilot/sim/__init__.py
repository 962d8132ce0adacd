"""Simulators that make gridpilot demonstrable (demo profiles now; physical models later)."""
