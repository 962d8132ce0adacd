"""Device groups: named sets of assets, static (a list) or dynamic (a filter evaluated live).

Other domains act on a group through ``service.member_assets`` (what a principal may see) and
``service.target_assets`` (every member, for an action: commands, schedules).
docs/fleet-operations.md
"""
