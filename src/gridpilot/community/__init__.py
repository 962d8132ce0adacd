"""Energy communities (CER): members, plants and PODs, shared energy, incentives, settlements.

The arithmetic (shared energy, TIP, distribution, settlement) is pure and lives in
``gridpilot.analytics.community``; this domain stores communities and their periods.
"""
