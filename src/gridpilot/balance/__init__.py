"""The site energy balance read from the database (docs/site-energy.md): set-based SQL over the
rollups, solved by ``analytics.site_balance``. It sits below insights, alerts and control so
that every domain that needs "site demand" (KPIs, alert checks, dispatch, communities) asks the
same model."""
