"""Analytics services: load data, call the pure ``gridpilot.analytics`` functions, store results.

Sub-packages: ``kpis``, ``baselines``, ``anomalies``, ``forecasts``; ``data`` loads the series.
"""
