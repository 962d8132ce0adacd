"""The skill against a real gridpilot server (``gridpilot serve`` on a temporary SQLite
database, started from the repository's venv) through OVOS's FakeBus: an intent message in, a
``speak`` message out with gridpilot's answer; the .intent files equal gridpilot's."""

from __future__ import annotations

import contextlib
import filecmp
import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from ovos_bus_client.message import Message
from ovos_skill_gridpilot import INTENTS, GridpilotSkill
from ovos_utils.fakebus import FakeBus

REPO = Path(__file__).resolve().parents[3]
GRIDPILOT = Path(os.environ.get("GRIDPILOT_BIN", REPO / ".venv" / "bin" / "gridpilot"))
SKILL_LOCALE = Path(__file__).resolve().parents[1] / "ovos_skill_gridpilot" / "locale"
SERVER_LOCALE = REPO / "src" / "gridpilot" / "voice" / "locale"
PASSWORD = "correct horse battery staple"  # noqa: S105 - a throw-away test server
SKILL_ID = "ovos-skill-gridpilot.test"
MINUTE = 60_000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cli(args: list[str], env: dict[str, str], stdin: str | None = None) -> None:
    command = [str(GRIDPILOT), *args]
    done = subprocess.run(  # noqa: S603 - our own CLI
        command, env=env, input=stdin, text=True, capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A gridpilot server (its own SQLite database) with an administrator ``admin``."""
    if not GRIDPILOT.exists():
        pytest.skip(f"{GRIDPILOT} missing: run `make install` first")
    data = tmp_path_factory.mktemp("gridpilot")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDPILOT_")}
    env |= {"GRIDPILOT_DATA_DIR": str(data), "GRIDPILOT_JWT_SECRET": secrets.token_urlsafe(48),
            "GRIDPILOT_LOG_JSON": "false", "GRIDPILOT_WEB_ENABLED": "false"}  # fmt: skip
    _cli(["migrate"], env)
    _cli(["user", "create", "admin", "--role", "administrator", "--password-stdin"], env,
         PASSWORD)  # fmt: skip
    log = (data / "server.log").open("wb")
    command = [str(GRIDPILOT), "serve", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=log, stderr=log)  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            assert process.poll() is None, (data / "server.log").read_text()[-2000:]
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _token(url: str, user: str) -> str:
    answer = httpx.post(
        f"{url}/api/v1/auth/token",
        timeout=30,
        data={"grant_type": "password", "username": user, "password": PASSWORD},
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


@pytest.fixture(scope="module")
def token(server: str) -> str:
    """An administrator's token after storing Compressor 1 drawing 60 kW for three hours
    (readings every minute, up to five minutes ahead)."""
    admin = {"Authorization": f"Bearer {_token(server, 'admin')}"}
    site = httpx.post(f"{server}/api/v1/sites", headers=admin,
                      json={"name": "Plant A", "timezone": "Europe/Rome"}).json()  # fmt: skip
    asset = httpx.post(f"{server}/api/v1/assets", headers=admin,
                       json={"site_id": site["id"], "name": "Compressor 1",
                             "kind": "compressor"}).json()  # fmt: skip
    end = int(time.time() * 1000) // MINUTE * MINUTE + 5 * MINUTE
    readings = [{"asset": asset["id"], "metric": "power_kw", "ts": end - i * MINUTE,
                 "value": 60.0} for i in range(181)]  # fmt: skip
    stored = httpx.post(f"{server}/api/v1/telemetry", headers=admin, json=readings, timeout=30)
    assert stored.status_code < 300, stored.text[:500]
    return admin["Authorization"].removeprefix("Bearer ")


@pytest.fixture
def skill(tmp_path, monkeypatch) -> Iterator[tuple[GridpilotSkill, list[Message]]]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    bus = FakeBus()
    spoken: list[Message] = []
    bus.on("speak", spoken.append)
    instance = GridpilotSkill(bus=bus, skill_id=SKILL_ID)
    yield instance, spoken
    instance.shutdown()


def _ask(skill: GridpilotSkill, spoken: list[Message], intent: str, utterance: str,
         lang: str = "en-US") -> str:  # fmt: skip
    skill.bus.emit(Message(f"{SKILL_ID}:{intent}.intent", {"utterance": utterance, "lang": lang}))
    deadline = time.monotonic() + 30
    while not spoken and time.monotonic() < deadline:
        time.sleep(0.05)
    assert spoken, "the skill said nothing"
    return str(spoken.pop().data["utterance"])


def test_the_skill_ships_gridpilots_intent_files() -> None:
    for lang in ("en-us", "it-it"):
        names = [f"{i}.intent" for i in INTENTS]
        _, mismatch, errors = filecmp.cmpfiles(SERVER_LOCALE / lang, SKILL_LOCALE / lang,
                                                   names, shallow=False)  # fmt: skip
        assert (mismatch, errors) == ([], []), f"copy src/gridpilot/voice/locale/{lang}"
    server_files = {p.name for p in (SERVER_LOCALE / "en-us").glob("*.intent")}
    assert server_files == {f"{i}.intent" for i in INTENTS}


def test_an_energy_question_is_answered_by_gridpilot(server, token, skill) -> None:
    instance, spoken = skill
    instance.settings["url"] = server
    instance.settings["token"] = token
    said = _ask(instance, spoken, "energy_consumption",
                "how much energy did compressor one use in the last hour")  # fmt: skip
    assert said == "Compressor 1 consumed 60 kilowatt-hours in the last hour."
    said = _ask(instance, spoken, "machines_above_power",
                "quali macchine assorbono più di cinquanta kilowatt", "it-IT")  # fmt: skip
    assert said == "Una macchina è sopra 50 chilowatt: Compressor 1 a 60 chilowatt."


def test_refusals_and_an_unreachable_server_are_spoken(server, skill) -> None:
    instance, spoken = skill
    instance.settings["url"] = server
    instance.settings["token"] = "not-a-token"  # noqa: S105
    said = _ask(instance, spoken, "dr_status", "what is the dr status")
    assert said.startswith("The energy management system refused the question")
    instance.settings["url"] = f"http://127.0.0.1:{_free_port()}"
    said = _ask(instance, spoken, "dr_status", "what is the dr status")
    assert said == "I can't reach the energy management system right now."
