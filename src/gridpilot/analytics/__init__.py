"""Pure analytics over numpy/pandas: KPIs, baselines, anomaly scores, forecasts (no DB, no I/O)."""
