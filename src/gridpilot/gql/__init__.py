"""GraphQL next to REST (``POST /api/graphql``, strawberry): sites, assets, latest values,
series, today's KPIs, the current balance and alerts in one query, through the domains'
services with the REST authorization (docs/graphql.md). A surface: nothing below imports it."""
