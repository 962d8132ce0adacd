"""Demand response: DR events, customer baselines, the utility webhook, dispatch, OpenADR.

Baselines are computed by the pure ``gridpilot.analytics.cbl``; dispatch plans over the flexible
resources of ``gridpilot.flex``.
"""
