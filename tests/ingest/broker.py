"""A private Mosquitto for tests that kill workers or need authentication.

It runs the shipped ``deploy/mosquitto/mosquitto.conf`` with test-only changes: a free port on
127.0.0.1, persistence in a temporary directory, and (unless password/ACL files are given)
anonymous access.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import _service_missing

MOSQUITTO = "/usr/sbin/mosquitto"
SHIPPED_CONF = Path(__file__).parents[2] / "deploy" / "mosquitto" / "mosquitto.conf"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def broker_conf(
    workdir: Path, port: int, *, passwords: Path | None = None, acl: Path | None = None
) -> Path:
    """The shipped configuration adapted for a test run (see the module doc)."""
    lines = []
    for line in SHIPPED_CONF.read_text().splitlines():
        key = line.split(" ", 1)[0]
        if key == "listener":
            line = f"listener {port} 127.0.0.1"
        elif key == "persistence_location":
            line = f"persistence_location {workdir}/"
        elif key == "password_file":
            line = f"password_file {passwords}" if passwords else ""
        elif key == "acl_file":
            line = f"acl_file {acl}" if acl else ""
        elif key == "allow_anonymous" and passwords is None:
            line = "allow_anonymous true"
        lines.append(line)
    lines.append("user root")  # tests may run as root; keep the files writable
    conf = workdir / "mosquitto.conf"
    conf.write_text("\n".join(lines) + "\n")
    return conf


@contextmanager
def private_broker(
    workdir: Path, *, passwords: Path | None = None, acl: Path | None = None
) -> Iterator[int]:
    """Run Mosquitto with the shipped config; yields its port."""
    if shutil.which(MOSQUITTO) is None:
        _service_missing("Mosquitto binary", FileNotFoundError(MOSQUITTO))
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = broker_conf(workdir, port, passwords=passwords, acl=acl)
    log = (workdir / "mosquitto.log").open("wb")
    process = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "mosquitto did not start: " + (workdir / "mosquitto.log").read_text()
                    ) from None
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
