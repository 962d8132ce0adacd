"""Alerts: rules, evaluation, lifecycle (active/acknowledged/resolved) and notifications."""
