"""Forecasts of site and asset power: on demand, stored by a 15-minute job, served by the API."""
