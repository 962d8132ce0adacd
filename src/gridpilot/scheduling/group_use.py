"""Command schedules as users of device groups (``groups/usage.py``): a group that schedules
target is not deleted unless forced; a forced delete disables them and cuts them from the group
(``service.detach_group``), keeping their runs and per-device outcomes."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth.permissions import Permission, Principal
from gridpilot.groups.usage import Event, GroupUse
from gridpilot.scheduling import service

KIND = "command_schedule"


class ScheduleUsers:
    """The command schedules whose target is a group."""

    permission = Permission.COMMANDS_SEND

    async def find(self, *, session: AsyncSession, group_id: int) -> list[GroupUse]:
        found = await service.schedules_on_group(session=session, group_id=group_id)
        return [GroupUse(KIND, s.id, s.name, s.enabled) for s in found]

    async def release(
        self, *, session: AsyncSession, principal: Principal, group_id: int
    ) -> list[Event]:
        await service.detach_group(session=session, group_id=group_id)
        return []
