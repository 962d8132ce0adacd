"""What uses a device group, so that a group is never deleted from under its users.

Alert rules and command schedules target a group by id, and they live in domains above this one
(``alerts``, ``scheduling``): each provides a ``GroupUsers`` (``alerts/group_use.py``,
``scheduling/group_use.py``), and the app hands them all to the group routes and pages
(the runtime's ``GROUP_USERS``, built in ``api/app.py``). Deleting a group that something uses

- is refused (409 ``group_in_use``) with every user named (kind, id, name) in the message and
  in ``details``;
- with ``force``, goes ahead: each user is *released* first (disabled, its group reference
  cut or kept as a dead id, its history kept; see the providers) and the events of those
  changes are published after the commit.

Firmware roll-outs are not users: a roll-out lists its devices once, when it starts, and
keeps the group id only as where they came from (docs/firmware.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth.permissions import Permission, Principal
from gridpilot.core.errors import Conflict
from gridpilot.core.runtime import Slot

#: A bus event to publish after the commit: (topic, payload).
Event = tuple[str, dict[str, Any]]
#: Users named in a refusal's message (all of them are in its ``details``).
NAMED_MAX = 10


@dataclass(frozen=True)
class GroupUse:
    """One thing that targets a group (``kind``: ``alert_rule``, ``command_schedule``...);
    ``releasable``: a forced delete may release it (else the group is kept while it exists)."""

    kind: str
    id: int
    name: str
    enabled: bool
    releasable: bool = True

    def describe(self) -> str:
        return f"{self.kind.replace('_', ' ')} {self.name!r} (#{self.id})"

    def as_detail(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "name": self.name,
            "enabled": self.enabled,
            "releasable": self.releasable,
        }


class GroupUsers(Protocol):
    """A domain whose objects target groups."""

    #: The permission that changing those objects needs (a forced delete changes them).
    permission: Permission

    async def find(self, *, session: AsyncSession, group_id: int) -> list[GroupUse]:
        """Everything of this domain that targets the group."""
        ...

    async def release(
        self, *, session: AsyncSession, principal: Principal, group_id: int
    ) -> list[Event]:
        """Let go of the group before it is deleted (disable what targets it); the events of
        the changes, to publish after the commit."""
        ...


class GroupInUse(Conflict):
    code = "group_in_use"


async def uses_of(
    *, session: AsyncSession, users: Sequence[GroupUsers], group_id: int
) -> list[GroupUse]:
    """Everything that targets the group, by kind then id."""
    found = [use for user in users for use in await user.find(session=session, group_id=group_id)]
    return sorted(found, key=lambda u: (u.kind, u.id))


def refusal(group_id: int, name: str, uses: Sequence[GroupUse]) -> GroupInUse:
    """The 409 naming the group's users (the first ``NAMED_MAX`` in the message, all in
    ``details``) and what ``force`` would do."""
    named = ", ".join(u.describe() for u in uses[:NAMED_MAX])
    more = f" and {len(uses) - NAMED_MAX} more" if len(uses) > NAMED_MAX else ""
    them = "it" if len(uses) == 1 else "them"
    kept = sorted({u.kind.replace("_", " ") + "s" for u in uses if not u.releasable})
    then = (
        f"or delete the group with force=true, which disables {them}"
        if not kept
        else f"force=true does not release {' or '.join(kept)}"
    )
    return GroupInUse(
        f"group {name!r} (#{group_id}) is used by {named}{more}: retarget or delete {them} "
        f"first, {then}",
        details=[u.as_detail() for u in uses],
    )


async def release_all(
    *,
    session: AsyncSession,
    principal: Principal,
    users: Sequence[GroupUsers],
    group_id: int,
) -> list[Event]:
    """Release the group from every user that has something on it (each user's permission is
    required: 403 before anything changes)."""
    holding = [u for u in users if await u.find(session=session, group_id=group_id)]
    for user in holding:
        principal.require(user.permission)
    events: list[Event] = []
    for user in holding:
        events.extend(await user.release(session=session, principal=principal, group_id=group_id))
    return events


#: Every domain whose objects target groups, provided by the domains above and set in
#: ``api/app.py::create_app`` (``core/runtime.py``).
GROUP_USERS: Slot[Sequence[GroupUsers]] = Slot("group_users")
