"""Reports as users of device groups (``reports/group_use.py``, both back ends): deleting a group
that a report is of is refused with the report named, with ``force`` too."""

from __future__ import annotations

from tests.reports.test_groups import define_group, fleet  # noqa: F401  (fixture)


async def test_a_group_with_reports_is_not_deleted_even_by_force(app, client, fleet):  # noqa: F811
    """``ReportUsers`` (``groups/usage.py``) names the reports; force does not release them."""
    from gridpilot.core.runtime import runtime_of
    from gridpilot.groups.events import group_users
    from gridpilot.groups.usage import GROUP_USERS
    from gridpilot.reports.group_use import ReportUsers

    runtime_of(app).put(GROUP_USERS, (*group_users(app), ReportUsers()))
    report = (await define_group(client, fleet["admin"], fleet["group"])).json()
    path = f"/api/v1/groups/{fleet['group']}"
    for params in ({}, {"force": "true"}):
        refused = await client.delete(path, params=params, headers=fleet["admin"])
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"] == "group_in_use"
        assert f"report 'Lines energy' (#{report['id']})" in refused.json()["message"]
    assert (await client.get(path, headers=fleet["admin"])).status_code == 200
    gone = await client.delete(f"/api/v1/reports/{report['id']}", headers=fleet["admin"])
    assert gone.status_code == 204
    assert (await client.delete(path, headers=fleet["admin"])).status_code == 204
