"""Renewable energy communities (CER, Italy), the pure core: hourly shared energy per primary
substation, its allocation to plants, the incentive (TIP, zonal PV bonus, capital-grant cut,
ARERA valorisation, excess-share rule) from versioned parameters, GME zonal prices, the
statute's distribution to the cent and a month's settlement. No I/O, no database.

See ``docs/community.md`` for the formulas and their sources.
"""
