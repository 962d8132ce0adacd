"""Scheduled commands: one-off and recurring (5-field cron in a time zone) device commands to an
asset or a device group, with the history of each run and its per-device outcome.
docs/fleet-operations.md
"""
