"""Simulators that make gridpilot demonstrable: a factory, a commercial building, a renewable
portfolio and an energy community, as pure seeded models plus backfill and real-time runners."""
