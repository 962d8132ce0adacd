"""Reports as users of device groups (``groups/usage.py``): a group that reports are of is not
deleted, not even with ``force``.

Unlike an alert rule or a command schedule, a report cannot be released from its group: a
definition has exactly one target (a CHECK constraint) and its runs are read by the sites they
read, so a report without its group would be a definition nobody may see. The foreign key is
RESTRICT (migration 0026); this provider names the reports in the 409, and a forced delete is
refused with them named too (nothing is changed: the refusal rolls the request back). Delete the
reports first (``DELETE /api/v1/reports/{id}``).

Registered in the ``GROUP_USERS`` slot (``groups/usage.py``) beside the alert rules and
command schedules.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth.permissions import Permission, Principal
from gridpilot.groups.usage import Event, GroupInUse, GroupUse
from gridpilot.reports.models import ReportDefinition

KIND = "report"


async def reports_on_group(session: AsyncSession, group_id: int) -> list[ReportDefinition]:
    query = select(ReportDefinition).where(ReportDefinition.group_id == group_id)
    return list((await session.scalars(query.order_by(ReportDefinition.id))).all())


class ReportUsers:
    """The report definitions whose target is a group."""

    permission = Permission.CONFIGURE

    async def find(self, *, session: AsyncSession, group_id: int) -> list[GroupUse]:
        found = await reports_on_group(session, group_id)
        return [GroupUse(KIND, d.id, d.name, d.enabled, releasable=False) for d in found]

    async def release(
        self, *, session: AsyncSession, principal: Principal, group_id: int
    ) -> list[Event]:
        """Refused: a report keeps its group (see the module)."""
        found = await reports_on_group(session, group_id)
        named = ", ".join(f"report {d.name!r} (#{d.id})" for d in found[:10])
        raise GroupInUse(
            f"group #{group_id} is the target of {named}: reports are not released by a forced "
            "delete (their runs are read by the group's sites); delete them first",
            details=[
                GroupUse(KIND, d.id, d.name, d.enabled, releasable=False).as_detail() for d in found
            ],
        )
