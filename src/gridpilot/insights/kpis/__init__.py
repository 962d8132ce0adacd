"""KPIs of assets, sites and groups, versioned tariffs and a site's current demand."""
