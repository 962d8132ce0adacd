"""HTTPS by ``gridpilot serve --tls-cert/--tls-key`` (#20): a real TLS client against a real server.

TLS 1.3 only by default (TLS 1.2 refused); ``GRIDPILOT_TLS_ALLOW_TLS12`` adds TLS 1.2 with
AES-256-GCM/ChaCha20-Poly1305 only; HSTS on every answer and the dashboard's cookie Secure.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from pydantic import ValidationError
from tests.api.live_server import free_port
from tests.conftest import TEST_JWT_SECRET
from tests.tls.certs import Issued, TestCA

from gridpilot.api.app import create_app
from gridpilot.cli.main import tls_options
from gridpilot.core.errors import ConfigurationError
from gridpilot.core.settings import Settings
from gridpilot.core.tls import server_context


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def server_cert(ca: TestCA) -> Issued:
    return ca.issue("server", "localhost", server=True)


def client_context(ca: TestCA, *, version: ssl.TLSVersion, ciphers: str | None = None):
    """A verifying client pinned to one TLS version (and TLS 1.2 suites)."""
    context = ssl.create_default_context(cafile=str(ca.ca.cert))
    context.minimum_version = context.maximum_version = version
    if ciphers:
        context.set_ciphers(ciphers)
    return context


def handshake(port: int, context: ssl.SSLContext) -> tuple[str | None, str]:
    """The negotiated protocol version and cipher of a TLS handshake with 127.0.0.1:port."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        cipher = tls.cipher()
        assert cipher is not None
        return tls.version(), cipher[0]


@contextmanager
def gridpilot_serve(tmp_path: Path, *args: str, **env: str) -> Iterator[int]:
    """A real ``gridpilot serve`` (SQLite, dashboard on) with ``args``; yields its port."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GRIDPILOT_")}
    environment |= {
        "GRIDPILOT_DATA_DIR": str(tmp_path),
        "GRIDPILOT_JWT_SECRET": TEST_JWT_SECRET,
        "GRIDPILOT_LOG_JSON": "false",
        "GRIDPILOT_LOG_LEVEL": "WARNING",
        **env,
    }
    command = [sys.executable, "-c", "from gridpilot.cli.main import app; app()"]
    command += ["serve", "--port", str(port), *args]
    server = subprocess.Popen(
        command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"serve died: {server.communicate()[1]}") from None
                time.sleep(0.2)
        yield port
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=30)


def test_serve_speaks_tls13_only_with_hsts_and_secure_cookie(tmp_path, ca, server_cert):
    tls = ("--tls-cert", str(server_cert.cert), "--tls-key", str(server_cert.key))
    with gridpilot_serve(tmp_path, *tls) as port:
        # TLS 1.2 (and so anything older) is refused at the handshake
        with pytest.raises(ssl.SSLError):
            handshake(port, client_context(ca, version=ssl.TLSVersion.TLSv1_2))
        version, cipher = handshake(port, client_context(ca, version=ssl.TLSVersion.TLSv1_3))
        assert version == "TLSv1.3"
        assert cipher in {"TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}
        verify = client_context(ca, version=ssl.TLSVersion.TLSv1_3)
        with httpx.Client(base_url=f"https://localhost:{port}", verify=verify) as https:
            health = https.get("/health")
            assert health.status_code == 200
            assert health.headers["strict-transport-security"] == (
                "max-age=31536000; includeSubDomains"
            )
            page = https.get("/login")
            assert page.status_code == 200
            assert "strict-transport-security" in page.headers
            cookie = page.headers["set-cookie"].lower()
            assert "; secure" in cookie and "samesite=lax" in cookie
        # plain HTTP on the TLS port gets no HTTP answer
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)


@contextmanager
def tls_server(settings: Settings) -> Iterator[int]:
    """``create_app(settings)`` under uvicorn in a thread with ``serve``'s TLS options."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        **tls_options(settings),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the TLS server did not start"
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_tls12_when_allowed_takes_aes256gcm_or_chacha20_only(sqlite_url, tmp_path, ca, server_cert):
    settings = Settings(
        database_url=sqlite_url,
        data_dir=tmp_path,
        jwt_secret=TEST_JWT_SECRET,
        web_enabled=False,
        gc_tuning=False,
        auto_migrate=False,
        tls_cert=server_cert.cert,
        tls_key=server_cert.key,
        tls_allow_tls12=True,
    )
    tls12 = ssl.TLSVersion.TLSv1_2
    with tls_server(settings) as port:
        for suite in ("ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"):
            assert handshake(port, client_context(ca, version=tls12, ciphers=suite)) == (
                "TLSv1.2",
                suite,
            )
        for weaker in ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-SHA384"):
            with pytest.raises(ssl.SSLError):
                handshake(port, client_context(ca, version=tls12, ciphers=weaker))
        assert handshake(port, client_context(ca, version=ssl.TLSVersion.TLSv1_3))[0] == "TLSv1.3"


def test_tls_settings_fail_clearly(tmp_path, ca, server_cert):
    with pytest.raises(ValidationError, match="set both or neither"):
        Settings(tls_cert=server_cert.cert)
    with pytest.raises(ConfigurationError, match="not a readable file"):
        server_context(tmp_path / "missing.crt", server_cert.key)
    other = ca.issue("other", "localhost", server=True)
    with pytest.raises(ConfigurationError, match="cannot load the TLS certificate"):
        server_context(server_cert.cert, other.key)
    assert Settings(tls_cert=server_cert.cert, tls_key=server_cert.key).secure_cookie
    assert not Settings().secure_cookie
