"""ISO 50001 energy baselines: definitions, fitted versions, reporting periods, weekly refits."""
