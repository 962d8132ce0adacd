"""Flexibility: a site's flexible resources, day-ahead and MPC schedules on HiGHS, peak shaving.

The optimisation model itself is pure and lives in ``gridpilot.analytics.flex``; this domain
stores resources and schedules, loads a site's forecasts and tariff, and dispatches commands.
"""
