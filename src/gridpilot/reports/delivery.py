"""E-mail delivery of a run's files through the alerts domain's mailer (SMTP settings:
``GRIDPILOT_SMTP_*``, docs/alerts.md). Recipients are checked again at delivery, against the
run: a user who lost access since the definition was saved (or who does not see every site a
group's run read) gets nothing (``status`` ``skipped``).
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.alerts.mailer import send_message
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.settings import Settings
from gridpilot.reports import targets
from gridpilot.reports.document import local_iso
from gridpilot.reports.models import ReportDefinition, ReportFile, ReportRun
from gridpilot.reports.service import check_recipients
from gridpilot.reports.targets import Target


def compose(
    definition: ReportDefinition, target: Target, run: ReportRun, files: list[ReportFile], to: str
) -> EmailMessage:
    """The e-mail of one run to one address, its files attached."""
    start = local_iso(run.start_ms, target.timezone)
    end = local_iso(run.end_ms, target.timezone)
    message = EmailMessage()
    message["Subject"] = f"[gridpilot] {definition.name}: {target.name}, {start[:10]} to {end[:10]}"
    message["To"] = to
    message.set_content(
        f"{definition.name} ({definition.kind}) of {target.label}\n"
        f"period: {start} to {end} ({target.timezone})\n"
        f"run {run.id}, files attached: {', '.join(f.filename for f in files)}\n"
    )
    for found in files:
        main, _, rest = found.content_type.partition("/")
        sub = rest.split(";")[0]
        message.add_attachment(found.content, maintype=main, subtype=sub, filename=found.filename)
    return message


async def deliver(
    *, session: AsyncSession, settings: Settings, definition: ReportDefinition, run: ReportRun
) -> list[dict[str, Any]]:
    """E-mail the run's files to each recipient still allowed; per recipient the outcome
    (also stored in ``run.delivery``)."""
    target = await targets.resolve(
        session=session, principal=targets.system_principal(definition), definition=definition
    )
    files = list(await session.scalars(select(ReportFile).where(ReportFile.run_id == run.id)))
    outcome: list[dict[str, Any]] = []
    for user_id in definition.recipients:
        try:
            address = (
                await check_recipients(
                    session=session, definition=definition, user_ids=[user_id], run=run
                )
            )[user_id]
        except ValidationFailed as exc:
            outcome.append({"user_id": user_id, "status": "skipped", "reason": exc.message})
            continue
        problem = await send_message(settings, compose(definition, target, run, files, address))
        outcome.append(
            {
                "user_id": user_id,
                "address": address,
                "status": "failed" if problem else "sent",
                "reason": problem,
            }
        )
    run.delivery = outcome
    await session.flush()
    return outcome
