"""Alert rules as users of device groups (``groups/usage.py``): a group that rules target is
not deleted unless forced, and a forced delete disables those rules first.

A disabled rule keeps its group's id (``params``); enabling it again is refused until it gets
another target (``targets.require_group``). Disabling goes through ``service.update_rule``: the
rule's open alerts are resolved (``rule_disabled``) and the change is in the audit log under
the name of whoever deleted the group.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.alerts import service, targets
from gridpilot.alerts.events import alert_events, rule_event
from gridpilot.alerts.schemas import RuleUpdate
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.core import events as catalogue
from gridpilot.groups.usage import Event, GroupUse

KIND = "alert_rule"


class AlertRuleUsers:
    """The rules whose target is a group."""

    permission = Permission.CONFIGURE

    async def find(self, *, session: AsyncSession, group_id: int) -> list[GroupUse]:
        rules = await targets.rules_on_group(session, group_id)
        return [GroupUse(KIND, r.id, r.name, r.enabled) for r in rules]

    async def release(
        self, *, session: AsyncSession, principal: Principal, group_id: int
    ) -> list[Event]:
        """Disable every enabled rule on the group; the rule and alert events of it."""
        found: list[Event] = []
        for rule in await targets.rules_on_group(session, group_id):
            if not rule.enabled:
                continue
            changed, resolved = await service.update_rule(
                session=session,
                rule_id=rule.id,
                principal=principal,
                changes=RuleUpdate(enabled=False),
            )
            found.append(rule_event(changed.id, "updated"))
            found.extend(alert_events(catalogue.ALERT_RESOLVED.name, resolved))
        return found
