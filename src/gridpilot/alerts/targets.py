"""Alert rules on a device group: a rule with ``group_id`` covers every current member.

The group is kept in the rule's ``params`` (``models.GROUP_KEY``; the table has no column for
it) and answered as ``group_id`` beside the kind's params. Members are resolved by the evaluator
at every reload (asset changes, rule changes, each tick), so a device that joins a dynamic group
is covered without editing the rule; a deleted group covers nothing.

Only asset kinds (those checking each asset) can target a group; a principal may target a group
only when it sees every site the group reaches (``groups.service``: 403 ``group_out_of_scope``),
and a rule on a group without ``site_id`` is shown to such principals only.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.alerts.kinds import KINDS
from gridpilot.alerts.models import GROUP_KEY, AlertRule
from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import ValidationFailed
from gridpilot.groups import service as groups

#: Hooks that check one asset at a time: a kind with one of them can target a group.
ASSET_HOOKS = ("on_reading", "on_status", "on_anomaly")


class GroupNeedsAssetKind(ValidationFailed):
    code = "rule_group_site_kind"


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
