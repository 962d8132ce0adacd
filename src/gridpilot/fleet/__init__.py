"""The fleet view: every site's current balance, today's energy, status and alerts in one
paged call (``GET /api/v1/fleet/summary``), for the overview, the sites list and clients that
watch hundreds of sites. Sits above the domains it summarises (balance, control, alerts)."""
