"""gridpilot for Open Voice OS: the user's words go to gridpilot, gridpilot's answer is spoken.

The skill registers gridpilot's own ``.intent`` files (``locale/``, copies of
``src/gridpilot/voice/locale``: a test keeps them equal) so OVOS routes energy questions here,
then posts the whole utterance to ``POST /api/v1/voice/utterance``; gridpilot parses it again
with the same files, answers from the data the key may see, and the skill speaks ``text``.

Settings (``settings.json`` of the skill): ``url`` (gridpilot's base URL, default
http://127.0.0.1:8000), ``api_key`` (a gridpilot API key, sent as ``X-API-Key``) or ``token``
(a bearer token of a read-only gridpilot user), ``timeout_s`` (default 10).
"""

from __future__ import annotations

from typing import Any

import requests
from ovos_bus_client.message import Message
from ovos_workshop.skills import OVOSSkill

#: gridpilot's intents (the ``.intent`` file stems of ``locale/<lang>/``).
INTENTS = (
    "energy_consumption", "current_power", "machines_above_power", "top_consumers",
    "peak_demand", "energy_cost", "co2_emissions", "active_alerts", "forecast_peak",
    "dr_status", "correlation",
)  # fmt: skip
DEFAULT_URL = "http://127.0.0.1:8000"


class GridpilotSkill(OVOSSkill):
    """Energy questions answered by a gridpilot server."""

    def initialize(self) -> None:
        for name in INTENTS:
            self.register_intent_file(f"{name}.intent", self.handle_energy_question)

    def ask(self, utterance: str, lang: str) -> dict[str, Any]:
        """gridpilot's answer to ``utterance`` (raises ``requests.RequestException``)."""
        url = str(self.settings.get("url") or DEFAULT_URL).rstrip("/")
        headers = {}
        if self.settings.get("api_key"):
            headers["X-API-Key"] = str(self.settings["api_key"])
        elif self.settings.get("token"):
            headers["Authorization"] = f"Bearer {self.settings['token']}"
        response = requests.post(
            f"{url}/api/v1/voice/utterance",
            json={"utterance": utterance, "lang": lang[:2].lower()},
            headers=headers,
            timeout=float(self.settings.get("timeout_s") or 10),
        )
        if response.status_code >= 400:
            try:
                reason = str(response.json().get("message", response.reason))
            except ValueError:
                reason = str(response.reason)
            raise RefusedError(reason)
        return dict(response.json())

    def handle_energy_question(self, message: Message) -> None:
        utterance = message.data.get("utterance", "")
        lang = message.data.get("lang") or self.lang
        try:
            answer = self.ask(utterance, lang)
        except RefusedError as refused:
            self.speak_dialog("refused", {"reason": str(refused)})
            return
        except requests.RequestException:
            self.speak_dialog("unreachable")
            return
        self.speak(answer["text"])


class RefusedError(Exception):
    """gridpilot answered 4xx/5xx; the message is its reason."""
