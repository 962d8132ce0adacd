"""Fixtures of the OpenADR tests: no background loops (the tests drive the VEN runtime's tick
and the VTN), an administrator, a free port, and certificates made with ``cryptography``: a
test CA and, signed by it, a VTN and a VEN certificate for 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from openleadr.utils import certificate_fingerprint

from gridpilot.auth.permissions import Role


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {
        "dr_interval_s": 0,
        "forecast_interval_s": 0,
        "baseline_refit_check_s": 0,
        "openadr_ven_interval_s": 0,
    }


@pytest.fixture
async def admin(auth_headers):
    return await auth_headers(Role.ADMINISTRATOR)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write(path: Path, cert: x509.Certificate, key: rsa.RSAPrivateKey) -> tuple[str, str]:
    cert_path, key_path = path.with_suffix(".crt"), path.with_suffix(".key")
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


class Pki:
    """A CA and two leaf certificates (``vtn``, ``ven``): paths and OpenADR fingerprints."""

    def __init__(self, root: Path) -> None:
        now = dt.datetime.now(dt.UTC)
        ca_key = _key()
        ca = (
            x509.CertificateBuilder()
            .subject_name(_name("gridpilot test CA"))
            .issuer_name(_name("gridpilot test CA"))
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        self.ca_file, _ = _write(root / "ca", ca, ca_key)
        self.paths: dict[str, tuple[str, str]] = {}
        self.fingerprints: dict[str, str] = {}
        import ipaddress

        for cn in ("vtn", "ven"):
            key = _key()
            cert = (
                x509.CertificateBuilder()
                .subject_name(_name(cn))
                .issuer_name(ca.subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=2))
                .add_extension(
                    x509.SubjectAlternativeName(
                        [
                            x509.DNSName("localhost"),
                            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                        ]
                    ),
                    critical=False,
                )
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .sign(ca_key, hashes.SHA256())
            )
            self.paths[cn] = _write(root / cn, cert, key)
            self.fingerprints[cn] = certificate_fingerprint(
                cert.public_bytes(serialization.Encoding.PEM).decode()
            )


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("openadr-pki"))
