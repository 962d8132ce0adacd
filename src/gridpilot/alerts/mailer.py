"""E-mail delivery over SMTP (stdlib ``smtplib`` in a worker thread).

Settings: ``GRIDPILOT_SMTP_HOST``/``_PORT``/``_FROM``/``_STARTTLS``/``_USER``/``_PASSWORD``.
"""

from __future__ import annotations

import asyncio
import json
import smtplib
import ssl
from email.message import EmailMessage
from typing import Any

from gridpilot.core.settings import Settings


def compose(sender: str, recipients: list[str], body: dict[str, Any]) -> EmailMessage:
    """The e-mail for one notification body (see ``outbox.notification_body``)."""
    data = body.get("data", {})
    message = EmailMessage()
    severity = str(data.get("severity", "info")).upper()
    state = str(data.get("state", ""))
    message["Subject"] = f"[gridpilot] {severity} {state}: {data.get('title', 'alert')}"
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    lines = [
        str(data.get("message", "")),
        "",
        f"severity: {data.get('severity')}    state: {state}",
        f"site: {data.get('site_id')}    asset: {data.get('asset_id')}",
        f"raised at: {data.get('raised_at')}",
    ]
    if data.get("acknowledged_at"):
        lines.append(f"acknowledged by {data.get('acknowledged_by')} at {data['acknowledged_at']}")
    if data.get("resolved_at"):
        lines.append(f"resolved at {data['resolved_at']} ({data.get('resolve_reason')})")
    lines += ["", "--", json.dumps(body, indent=2, sort_keys=True)]
    message.set_content("\n".join(lines))
    return message


def _send_blocking(settings: Settings, message: EmailMessage) -> None:
    assert settings.smtp_host is not None
    with smtplib.SMTP(
        settings.smtp_host, settings.smtp_port, timeout=settings.notify_timeout_s
    ) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_user, password)
        smtp.send_message(message)


async def send(settings: Settings, recipients: list[str], body: dict[str, Any]) -> str | None:
    """Send one notification by e-mail; None on success, else the reason it failed."""
    if not settings.smtp_host:
        return "SMTP is not configured (set GRIDPILOT_SMTP_HOST)"
    if not recipients:
        return "the channel has no recipients"
    message = compose(settings.smtp_from, recipients, body)
    try:
        await asyncio.to_thread(_send_blocking, settings, message)
    except (OSError, smtplib.SMTPException) as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    return None


async def send_message(settings: Settings, message: EmailMessage) -> str | None:
    """Send a composed message (its own recipients and attachments: ``reports`` uses it);
    None on success, else the reason it failed. ``From`` is set when missing."""
    if not settings.smtp_host:
        return "SMTP is not configured (set GRIDPILOT_SMTP_HOST)"
    if message["From"] is None:
        message["From"] = settings.smtp_from
    try:
        await asyncio.to_thread(_send_blocking, settings, message)
    except (OSError, smtplib.SMTPException) as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    return None
