"""E-mail delivery through the alerts mailer to a real SMTP server (aiosmtpd), both back ends:
the files attached, only to recipients still allowed to see the site."""

from __future__ import annotations

import email

import pytest
from sqlalchemy import delete
from tests.reports.report_data import END, START, define, make_plant, run

from gridpilot.auth.models import UserSite
from gridpilot.auth.permissions import Role


@pytest.fixture
def settings_overrides(settings_overrides, smtp_port):
    return {
        **settings_overrides,
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_from": "reports@gridpilot.test",
    }


async def test_files_are_mailed_to_recipients_still_allowed(
    app, client, sessions, auth_headers, make_user, inbox
):
    plant = await make_plant(app, client, sessions, auth_headers)
    ann = await make_user("ann@example.test", Role.VIEWER, sites=[plant.site_id])
    leaver = await make_user("leo@example.test", Role.VIEWER, sites=[plant.site_id])
    report = await define(client, plant.admin, plant.site_id, recipients=[ann.id, leaver.id])
    async with sessions() as session, session.begin():  # leo loses the site after
        await session.execute(delete(UserSite).where(UserSite.user_id == leaver.id))
    done = await run(client, plant.admin, report["id"], start=START, end=END, deliver=True)
    assert [(d["user_id"], d["status"]) for d in done["delivery"]] == [
        (ann.id, "sent"),
        (leaver.id, "skipped"),
    ]
    [(_, to, raw)] = inbox.messages
    assert to == ["ann@example.test"]
    message = email.message_from_bytes(raw)
    assert message["From"] == "reports@gridpilot.test"
    assert "Roma Società" in str(
        email.header.make_header(email.header.decode_header(message["Subject"]))
    )
    attached = {
        part.get_filename(): part.get_content_type()
        for part in message.walk()
        if part.get_filename()
    }
    assert attached == {f["filename"]: f["content_type"].split(";")[0] for f in done["files"]}
    assert sorted(attached.values()) == ["application/pdf", "text/csv"]
    # without deliver=true nothing is sent
    await run(client, plant.admin, report["id"], start=START, end=END)
    assert len(inbox.messages) == 1
