"""Secrets at rest (``core/crypto.py``): AES-256-GCM values, key ids, key loading."""

from __future__ import annotations

import base64
import stat

import pytest

from gridpilot.core import crypto
from gridpilot.core.errors import ConfigurationError
from gridpilot.core.settings import Settings

KEY_A, KEY_B = bytes(range(32)), bytes(range(32, 64))


def test_a_value_round_trips_and_never_shows_its_plaintext():
    ring = crypto.Keyring([KEY_A])
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    sealed, again = ring.encrypt(secret), ring.encrypt(secret)
    assert sealed.startswith(f"gpenc:v1:{crypto.key_id(KEY_A)}:")
    assert "MfKQ9r8" not in sealed and sealed != again  # a fresh nonce per value
    assert ring.decrypt(sealed) == ring.decrypt(again) == secret
    # 12-byte nonce + 38 bytes + 16-byte tag, base64url without padding, after the prefix
    assert len(sealed.rsplit(":", 1)[1]) == len(base64.urlsafe_b64encode(bytes(66)).rstrip(b"="))


def test_key_id_is_the_first_8_hex_digits_of_sha256():
    # sha256 of the bytes 0..31, computed independently with `sha256sum`
    assert crypto.key_id(KEY_A) == "630dcd29"


def test_a_tampered_value_or_a_missing_key_is_refused_with_the_reason():
    sealed = crypto.Keyring([KEY_A]).encrypt("totp-seed")
    body = sealed.rsplit(":", 1)[1]
    flipped = sealed[: -len(body)] + ("A" if body[0] != "A" else "B") + body[1:]
    with pytest.raises(crypto.SecretUnreadable, match="fails its check"):
        crypto.Keyring([KEY_A]).decrypt(flipped)
    with pytest.raises(crypto.SecretUnreadable, match=crypto.key_id(KEY_A)):
        crypto.Keyring([KEY_B]).decrypt(sealed)


def test_rotation_states_and_legacy_plaintext():
    old = crypto.Keyring([KEY_A]).encrypt("x")
    ring = crypto.Keyring([KEY_B, KEY_A])
    assert ring.decrypt(old) == "x"  # an older key still opens its values
    assert ring.state_of(old) == "old"
    assert ring.state_of(ring.encrypt("x")) == "current"
    assert (
        ring.state_of("whsec_plain") == "plaintext" and ring.decrypt("whsec_plain") == "whsec_plain"
    )
    assert crypto.Keyring([KEY_B]).state_of(old) == "unknown"


def test_keys_from_the_environment_first_encrypts(tmp_path):
    texts = [base64.b64encode(KEY_B).decode(), base64.urlsafe_b64encode(KEY_A).decode()]
    settings = Settings(data_dir=tmp_path, secrets_keys=",".join(texts))
    ring = crypto.load_keyring(settings)
    assert ring.keys == [KEY_B, KEY_A]
    with pytest.raises(ConfigurationError, match="not a 32-byte base64 key"):
        crypto.load_keyring(Settings(data_dir=tmp_path, secrets_keys="c2hvcnQ="))


def test_development_creates_a_private_key_file_production_needs_a_key(tmp_path):
    ring = crypto.load_keyring(Settings(data_dir=tmp_path))
    path = tmp_path / "secrets.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert crypto.load_keyring(Settings(data_dir=tmp_path)).keys == ring.keys  # kept
    production = Settings.model_construct(
        mode="production", data_dir=tmp_path, secrets_keys=None, secrets_key_file=None
    )
    with pytest.raises(ConfigurationError, match="production mode needs GRIDPILOT_SECRETS_KEYS"):
        crypto.load_keyring(production)
    missing = Settings(data_dir=tmp_path, secrets_key_file=tmp_path / "nope.key")
    with pytest.raises(ConfigurationError, match=r"nope\.key"):
        crypto.load_keyring(missing)


def test_many_engines_from_one_key_source_read_it_once_and_the_last_source_encrypts(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(crypto, "_PENDING", [])  # engines other tests made wait there too
    reads: list[object] = []
    real = crypto.load_keyring
    monkeypatch.setattr(crypto, "load_keyring", lambda s: reads.append(s) or real(s))
    first = Settings(data_dir=tmp_path / "a")
    other = Settings(data_dir=tmp_path / "b", secrets_keys=base64.b64encode(KEY_B).decode())
    for _ in range(50):
        crypto.use(first)
    crypto.use(other)
    crypto.use(first)  # the last one used encrypts
    ring = crypto.active()
    assert len(reads) == 2
    assert ring.keys[0] == real(first).keys[0]
    assert KEY_B in ring.keys  # still readable
