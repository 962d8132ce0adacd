"""Analytics services: fetch data, call the pure functions of ``gridpilot.analytics``, store and serve results (KPIs, baselines, anomalies, forecasts)."""
