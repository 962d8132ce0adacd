"""The ``gridpilot user`` group: users.py's commands plus privacy.py's export-data and erase."""

from __future__ import annotations

from gridpilot.cli import privacy, users

app = users.app
app.command("export-data")(privacy.export_data)
app.command("erase")(privacy.erase)
