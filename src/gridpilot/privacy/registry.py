"""Where personal data lives: one declaration per table column, the whole registration.

A person is a user (``users.id``). Their data is found three ways:

* ``OWNED``: rows keyed by the user's id (``user_id``). On erasure, a rule says what happens:
  ``delete`` (sessions, codes, preferences, voice queries), ``pseudonymise`` (the listed
  columns set to the given values, ``{pseudonym}`` filled in).
* ``MENTIONS``: text columns naming who acted (``created_by``, ``actor``, ``actor_name``): the
  user's subject ``user:ID`` or their username. Export lists the rows; erasure replaces the
  username with the pseudonym and keeps ``user:ID`` (a number, no longer linked to a name).
* ``RECIPIENTS``: JSON lists of e-mail addresses (channels, reports, delivery logs): export
  lists the rows holding the user's address; erasure removes it from the lists.

Energy data (readings, balances, settlements, ledger) is not personal data of a user: it
belongs to sites and PODs and is kept (Italian invoicing and GSE records: 10 years, art. 2220
of the civil code). A community member linked to the user is pseudonymised, their PODs and
energy stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PSEUDONYM = "erased-user-{id}"


@dataclass(frozen=True)
class Owned:
    """Rows of ``table`` whose ``column`` is the user's id, and what erasure does with them."""

    table: str
    column: str = "user_id"
    erase: str = "delete"  # delete | pseudonymise
    values: dict[str, object] = field(default_factory=dict)  # pseudonymise: column -> value
    hidden: tuple[str, ...] = ()  # columns never exported (hashes, sealed secrets)


OWNED: tuple[Owned, ...] = (
    Owned(
        "users", "id", "pseudonymise",
        values={"username": PSEUDONYM, "email": None, "totp_secret": None, "mfa_enabled": False,
                "disabled": True, "password_hash": "!erased"},
        hidden=("password_hash", "totp_secret"),
    ),
    Owned("user_sites"),
    Owned(  # the keys they made stay (service identities), without the link to them
        "api_keys", "created_by", "pseudonymise", values={"created_by": None},
        hidden=("secret_hash", "mqtt_password_hash"),
    ),
    Owned("refresh_tokens", hidden=("token_hash",)),
    Owned("mfa_recovery_codes", hidden=("code_hash",)),
    Owned("password_reset_tokens", hidden=("token_hash",)),
    Owned("notification_preferences"),
    Owned("voice_interactions"),
    Owned(
        "community_members", "user_id", "pseudonymise",
        values={"name": "Member {member}", "email": None, "user_id": None},
    ),
)  # fmt: skip

#: (table, column) naming an actor by subject or username.
MENTIONS: tuple[tuple[str, str], ...] = (
    ("audit_events", "actor"), ("audit_events", "actor_name"), ("audit_events", "target"),
    ("alert_audit", "actor"), ("alert_rules", "created_by"),
    ("notification_channels", "created_by"), ("commands", "created_by"),
    ("command_transitions", "actor"), ("command_schedules", "created_by"),
    ("device_groups", "created_by"), ("firmware_images", "created_by"),
    ("firmware_rollouts", "created_by"), ("dr_utilities", "created_by"),
    ("dr_events", "created_by"), ("openadr_vtn_events", "created_by"),
    ("flex_schedules", "created_by"), ("tariff_versions", "created_by"),
    ("baselines", "created_by"), ("report_definitions", "created_by"),
    ("report_runs", "created_by"),
)  # fmt: skip

#: (table, column) holding a JSON list of e-mail addresses.
RECIPIENTS: tuple[tuple[str, str], ...] = (
    ("notification_channels", "recipients"),
    ("report_definitions", "recipients"),
    ("notification_deliveries", "recipients"),
)
