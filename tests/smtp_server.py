"""A real SMTP server (aiosmtpd) for the tests that send e-mail: alerts, reports, password reset.

Loaded as a pytest plugin by ``tests/conftest.py``: a test asks for ``inbox`` (the messages
received, each ``(mail_from, rcpt_tos, raw bytes)``) and points the mailer at ``smtp_port``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from tests.api.live_server import free_port


class Inbox:
    """Every message the server accepted, in order."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def inbox(smtp_port: int) -> Iterator[Inbox]:
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield handler
    controller.stop()
