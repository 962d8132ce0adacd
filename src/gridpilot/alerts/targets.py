"""Alert rules on a device group: a rule with ``group_id`` covers every current member.

The group is kept in the rule's ``params`` (``models.GROUP_KEY``; the table has no column for
it) and answered as ``group_id`` beside the kind's params. Members are resolved by the evaluator
at every reload (asset changes, rule changes, each tick), so a device that joins a dynamic group
is covered without editing the rule; a deleted group covers nothing.

Only asset kinds (those checking each asset) can target a group; a principal may target a group
only when it sees every site the group reaches (``groups.service``: 403 ``group_out_of_scope``),
and a rule on a group without ``site_id`` is shown to such principals only.

A group that rules target is not deleted from under them (``group_use.py``: 409
``group_in_use``; ``force`` disables them first). A rule keeps its group's id after a forced
delete, disabled; ``require_group`` refuses to enable it again (409 ``rule_group_deleted``)
until it gets another target, and closes the race with a concurrent delete.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.alerts.kinds import KINDS
from gridpilot.alerts.models import GROUP_KEY, AlertRule
from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import Conflict, ValidationFailed
from gridpilot.groups import service as groups

#: Hooks that check one asset at a time: a kind with one of them can target a group.
ASSET_HOOKS = ("on_reading", "on_status", "on_anomaly")


class GroupNeedsAssetKind(ValidationFailed):
    code = "rule_group_site_kind"


class RuleGroupDeleted(Conflict):
    code = "rule_group_deleted"


def with_group(params: dict[str, object], group_id: int | None) -> dict[str, object]:
    """The stored params: the kind's ``params`` plus the group target, if any."""
    return {**params, GROUP_KEY: group_id} if group_id is not None else dict(params)


async def check_group(
    session: AsyncSession, principal: Principal, *, kind: str, group_id: int
) -> None:
    """422 for a site kind, 404 for a group the principal does not see, 403 when the group
    reaches sites it may not see."""
    if not any(getattr(KINDS[kind], hook) is not None for hook in ASSET_HOOKS):
        raise GroupNeedsAssetKind(
            f"a {kind} rule checks sites, not devices: it cannot target a group"
        )
    group = await groups.get_group(session=session, principal=principal, group_id=group_id)
    await groups.check_full_scope(session=session, principal=principal, group=group)


async def visible(session: AsyncSession, principal: Principal, rule: AlertRule) -> bool:
    """Whether a principal limited to some sites sees a group rule without ``site_id``."""
    if rule.site_id is not None or rule.group_id is None:
        return False
    return await groups.sees_whole_group(
        session=session, principal=principal, group_id=rule.group_id
    )


async def members(session: AsyncSession, rules: Sequence[AlertRule]) -> dict[int, frozenset[int]]:
    """The current members of the groups ``rules`` target, by group id."""
    wanted = sorted({r.group_id for r in rules if r.group_id is not None})
    if not wanted:
        return {}
    return await groups.member_ids(session=session, group_ids=wanted)


async def rules_on_group(session: AsyncSession, group_id: int) -> list[AlertRule]:
    """Every rule (enabled or not) whose target is the group, by id (one statement: the group
    id is read from the JSON ``params``)."""
    query = select(AlertRule).where(AlertRule.params[GROUP_KEY].as_integer() == group_id)
    return list((await session.scalars(query.order_by(AlertRule.id))).all())


async def require_group(session: AsyncSession, rule: AlertRule) -> None:
    """409 ``rule_group_deleted`` for an enabled rule whose group no longer exists.

    Called after the rule's write, so a concurrent group delete cannot slip between the check
    and the write: on SQLite the write lock is held by then; on PostgreSQL the group row is read
    ``FOR SHARE``, which waits for a delete in progress (and then finds no row), while a delete
    that comes later waits for this transaction and then finds this rule among its users."""
    if rule.group_id is None or not rule.enabled:
        return
    if not await groups.group_exists(session=session, group_id=rule.group_id, share_lock=True):
        raise RuleGroupDeleted(
            f"the device group #{rule.group_id} of rule {rule.name!r} was deleted: give the "
            "rule another target (group_id, asset_id or site_id) to enable it"
        )
