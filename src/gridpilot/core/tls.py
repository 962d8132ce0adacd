"""TLS contexts: the HTTPS server of ``gridpilot serve`` and gridpilot's MQTT client (#20).

- :func:`server_context` for uvicorn (``ssl_context_factory``): TLS 1.3 only by default; with
  ``allow_tls12`` also TLS 1.2, restricted to ECDHE key exchange with AES-256-GCM or
  ChaCha20-Poly1305 (AEAD, forward secrecy). TLS 1.3 suites are OpenSSL's defaults, all AEAD
  (AES-256-GCM, ChaCha20-Poly1305, AES-128-GCM): Python's ``ssl`` cannot narrow them; an
  ``OPENSSL_CONF`` with ``Ciphersuites = ...`` can (docs/tls.md).
- :func:`mqtt_client_context` for ``mqtts://`` brokers: verifies the broker against a custom CA
  (or the system's), optionally presents a client certificate and key (brokers that require one),
  TLS 1.2 at least.

References: RFC 8446 (TLS 1.3); RFC 7525 / BCP 195 (recommendations for TLS); Python ``ssl``.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gridpilot.core.errors import ConfigurationError

if TYPE_CHECKING:
    from gridpilot.core.settings import Settings

#: TLS 1.2 suites allowed with ``allow_tls12``: ECDHE with AES-256-GCM or ChaCha20-Poly1305.
TLS12_CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
    )
)


def _readable(path: Path | None, what: str) -> Path:
    if path is None:
        raise ConfigurationError(f"{what} is not set")
    if not path.is_file():
        raise ConfigurationError(f"{what} {str(path)!r} is not a readable file")
    return path


def harden(context: ssl.SSLContext, *, allow_tls12: bool = False) -> ssl.SSLContext:
    """Restrict a server context: TLS 1.3 only unless ``allow_tls12`` (then TLS 1.2 with
    :data:`TLS12_CIPHERS` too); no compression, no renegotiation, the server's cipher order."""
    context.minimum_version = ssl.TLSVersion.TLSv1_2 if allow_tls12 else ssl.TLSVersion.TLSv1_3
    context.maximum_version = ssl.TLSVersion.MAXIMUM_SUPPORTED
    context.set_ciphers(TLS12_CIPHERS)  # TLS 1.2 only; TLS 1.3 suites are unaffected
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    context.options |= ssl.OP_NO_RENEGOTIATION
    return context


def server_context(cert: Path, key: Path, *, allow_tls12: bool = False) -> ssl.SSLContext:
    """The HTTPS server's context: certificate chain ``cert`` (PEM, leaf first) and its private
    key ``key`` (PEM), :func:`harden`-ed. ``ConfigurationError`` when the files are missing or
    do not belong together (``serve`` checks them before it starts)."""
    cert = _readable(cert, "GRIDPILOT_TLS_CERT")
    key = _readable(key, "GRIDPILOT_TLS_KEY")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(certfile=cert, keyfile=key)
    except (ssl.SSLError, OSError) as exc:
        raise ConfigurationError(
            f"cannot load the TLS certificate {str(cert)!r} with key {str(key)!r}: {exc}"
        ) from exc
    return harden(context, allow_tls12=allow_tls12)


def uvicorn_context_factory(
    config: Any, default: Callable[[], ssl.SSLContext], *, allow_tls12: bool
) -> ssl.SSLContext:
    """uvicorn's ``ssl_context_factory``: its own context (``ssl_certfile``/``ssl_keyfile``,
    ALPN) :func:`harden`-ed. Bind ``allow_tls12`` with ``functools.partial`` (picklable into
    every worker process)."""
    return harden(default(), allow_tls12=allow_tls12)


def mqtt_client_context(
    ca_file: Path | None = None, cert_file: Path | None = None, key_file: Path | None = None
) -> ssl.SSLContext:
    """A client context for an ``mqtts://`` broker: its certificate is verified against
    ``ca_file`` (PEM) or the system's CAs, and the host name is checked; ``cert_file`` (with
    ``key_file``, or a PEM holding both) is presented when the broker asks for a client
    certificate."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        if ca_file is not None:
            context.load_verify_locations(cafile=_readable(ca_file, "GRIDPILOT_MQTT_TLS_CA"))
        if cert_file is not None:
            cert = _readable(cert_file, "GRIDPILOT_MQTT_TLS_CERT")
            key = _readable(key_file, "GRIDPILOT_MQTT_TLS_KEY") if key_file else None
            context.load_cert_chain(certfile=cert, keyfile=key)
        elif key_file is not None:
            raise ConfigurationError("GRIDPILOT_MQTT_TLS_KEY needs GRIDPILOT_MQTT_TLS_CERT")
    except ssl.SSLError as exc:
        raise ConfigurationError(f"cannot load the MQTT TLS files: {exc}") from exc
    return context


def mqtt_tls_context(settings: Settings, *, tls: bool) -> ssl.SSLContext | None:
    """aiomqtt's ``tls_context`` for the configured broker: None for ``mqtt://`` (``tls``
    false), else :func:`mqtt_client_context` of ``GRIDPILOT_MQTT_TLS_CA``/``_CERT``/``_KEY``."""
    if not tls:
        return None
    return mqtt_client_context(settings.mqtt_tls_ca, settings.mqtt_tls_cert, settings.mqtt_tls_key)
