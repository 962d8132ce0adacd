"""The SSRF guard of webhook URLs: addresses (embedded IPv4 included), ports, URL syntax, and the
check at send time after DNS resolution, whose answer the delivery connects to (no rebinding).

DNS is never asked about a real name: the guard's resolver is injected, and the names used end in
``.invalid`` (RFC 6761: they never resolve), so a connection that arrives proves it went to the
address the guard checked.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import pytest
from tests.alerts.conftest import alerts_of, eventually

from gridpilot.alerts import webhook, webhook_target
from gridpilot.alerts.models import NotificationChannel
from gridpilot.alerts.webhook_target import Guard, is_public
from gridpilot.core.errors import ValidationFailed

PUBLIC_V4 = "93.184.215.14"


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, "webhook_allow_private": False, "webhook_allowed_ports": [8443]}


def resolver(answers: dict[str, Sequence[str]]):
    """A resolver answering from ``answers`` (and IP literals as themselves)."""

    async def resolve(host: str, port: int) -> Sequence[str]:
        if host in answers:
            return answers[host]
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            raise OSError(f"{host} does not resolve here") from None

    return resolve


@pytest.mark.parametrize(
    "address",
    [
        "100.100.100.200",  # shared address space 100.64.0.0/10 (a cloud metadata service)
        "100.64.0.1",
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "::ffff:127.0.0.1",
        "::ffff:a9fe:a9fe",
        "::7f00:1",  # IPv4-compatible
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "127.0.0.1", "10.1.2.3", "169.254.169.254", "0.0.0.0", "::1", "::", "fe80::1%eth0",
        "fc00::1", "fec0::1", "224.0.0.1", "ff02::1", "240.0.0.1", "198.18.0.1",
    ],
)  # fmt: skip
def test_non_public_addresses(address):
    assert not is_public(address)


@pytest.mark.parametrize(
    "address", [PUBLIC_V4, "2606:4700::1111", "64:ff9b::5db8:d70e", "2002:5db8:d70e::1"]
)
def test_public_addresses_including_translations_of_public_ones(address):
    assert is_public(address)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (f"http://{PUBLIC_V4}/hook\r\nX-Injected: 1", "'\\r'"),
        (f"http://{PUBLIC_V4}/ho\nok", "'\\n'"),
        (f"http://{PUBLIC_V4}/a b", "' '"),
        (f"http://{PUBLIC_V4}/\tx", "'\\t'"),
        (f"http://{PUBLIC_V4}/\x00", "'\\x00'"),
        (f"http://{PUBLIC_V4}\\@127.0.0.1/", "'\\\\'"),
        (f"http://user:pw@{PUBLIC_V4}/", "user info"),
        (f"http://{PUBLIC_V4}@127.0.0.1/", "user info"),
        (f"http://{PUBLIC_V4}:70000/", "invalid port"),
        ("ftp://example.com/x", "http:// or https://"),
    ],
)
async def test_malformed_urls_are_refused_with_the_reason(url, reason):
    guard = Guard(allow_private=True, resolve=resolver({}))
    with pytest.raises(ValidationFailed, match="webhook url") as refused:
        await webhook_target.check(url, guard)
    assert reason in refused.value.message


async def test_public_hosts_may_use_only_80_443_and_configured_ports():
    names = resolver({"hooks.invalid": [PUBLIC_V4], "intranet.invalid": ["10.0.0.5"]})
    for guard in (Guard(resolve=names), Guard(allow_private=True, resolve=names)):
        for url in (f"http://{PUBLIC_V4}:22/", "https://hooks.invalid:6379/"):
            with pytest.raises(ValidationFailed, match=r"port \d+ is not allowed for public hosts"):
                await webhook_target.check(url, guard)
        assert (await webhook_target.check("https://hooks.invalid/x", guard)).addresses == (
            PUBLIC_V4,
        )
    configured = Guard(extra_ports=frozenset({8443}), resolve=names)
    assert await webhook_target.check("https://hooks.invalid:8443/x", configured)
    private_allowed = Guard(allow_private=True, resolve=names)  # any port on a private host
    assert await webhook_target.check("http://intranet.invalid:8080/x", private_allowed)


async def test_a_name_with_one_private_address_is_refused():
    names = resolver({"mixed.invalid": [PUBLIC_V4, "100.100.100.200"]})
    with pytest.raises(ValidationFailed, match=r"non-public address \(100.100.100.200\)"):
        await webhook_target.check("http://mixed.invalid/", Guard(resolve=names))


async def test_delivery_connects_to_the_checked_address_with_the_url_host(receivers):
    """The receiver on 127.0.0.1 gets the POST for ``hooks.invalid``: the guard's answer was used,
    the system resolver never asked (it cannot resolve ``.invalid``)."""
    receiver = await receivers()
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    guard = Guard(allow_private=True, resolve=resolver({"hooks.invalid": ["127.0.0.1"]}))
    error = await webhook.post(
        url=f"http://hooks.invalid:{port}/hook", secret=webhook.new_secret(),
        message_id="msg_1", body=b"{}", timeout_s=5, guard=guard,
    )  # fmt: skip
    assert error is None
    [request] = receiver.requests
    assert request.path == "/hook" and request.headers["host"] == f"hooks.invalid:{port}"


async def test_delivery_to_a_name_now_resolving_privately_is_refused(receivers):
    receiver = await receivers()
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    guard = Guard(
        extra_ports=frozenset({port}), resolve=resolver({"rebind.invalid": ["127.0.0.1"]})
    )
    error = await webhook.post(
        url=f"http://rebind.invalid:{port}/hook", secret=webhook.new_secret(),
        message_id="msg_2", body=b"{}", timeout_s=5, guard=guard,
    )  # fmt: skip
    assert error is not None and "non-public address (127.0.0.1)" in error
    assert receiver.requests == []


BAD_INPUT = [
    ("http://100.100.100.200/latest/meta-data", "non-public address"),
    ("http://[2002:7f00:1::]/hook", "non-public address"),
    ("http://[64:ff9b::a9fe:a9fe]/hook", "non-public address"),
    (f"http://{PUBLIC_V4}:22/hook", "port 22 is not allowed"),
    (f"http://{PUBLIC_V4}/hook\r\nX-Injected: 1", "control characters"),
    (f"http://ops:secret@{PUBLIC_V4}/hook", "user info"),
]


async def test_channels_with_unsafe_urls_are_refused_with_the_reason(env, client):
    public = await client.post(
        "/api/v1/notification-channels",
        json={"name": "public", "kind": "webhook", "url": f"https://{PUBLIC_V4}:8443/hook"},
        headers=env.operator,
    )
    assert public.status_code == 201, public.text  # 8443: GRIDPILOT_WEBHOOK_ALLOWED_PORTS
    for url, reason in BAD_INPUT:
        created = await client.post(
            "/api/v1/notification-channels",
            json={"name": "bad", "kind": "webhook", "url": url},
            headers=env.operator,
        )
        assert created.status_code == 422 and reason in created.json()["message"], created.text
        changed = await client.patch(
            f"/api/v1/notification-channels/{public.json()['id']}",
            json={"url": url},
            headers=env.operator,
        )
        assert changed.status_code == 422 and reason in changed.json()["message"], changed.text
    kept = await client.get(
        f"/api/v1/notification-channels/{public.json()['id']}", headers=env.operator
    )
    assert kept.json()["url"] == f"https://{PUBLIC_V4}:8443/hook"


async def test_stored_channel_whose_name_resolves_privately_at_send_time(
    env, app, client, receivers
):
    """A saved URL whose DNS now answers a private address (rebinding, or a changed record):
    the delivery is refused and nothing reaches the internal receiver; with private targets
    allowed, the same delivery arrives."""
    receiver = await receivers()
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    async with app.state.sessions() as session, session.begin():
        channel = NotificationChannel(
            name="rebound", kind="webhook", enabled=True, min_severity="info",
            events=["raised"], url=f"http://rebind.invalid:{port}/hook",
            secret=webhook.new_secret(), recipients=[],
        )  # fmt: skip
        session.add(channel)
    notifier = alerts_of(app).notifier
    names = resolver({"rebind.invalid": ["127.0.0.1"]})
    notifier.guard = Guard(extra_ports=frozenset({port}), resolve=names)

    async def first_delivery() -> dict | None:
        response = await client.get(
            f"/api/v1/notification-channels/{channel.id}/deliveries", headers=env.operator
        )
        [row] = response.json() or [None]
        return row if row and (row["last_error"] or row["state"] != "pending") else None

    test = await client.post(
        f"/api/v1/notification-channels/{channel.id}/test", headers=env.operator
    )
    assert test.status_code == 202, test.text
    refused = await eventually(first_delivery)
    assert "non-public address (127.0.0.1)" in refused["last_error"]
    assert receiver.requests == []
    notifier.guard = Guard(allow_private=True, resolve=names)
    await receiver.wait_for(1)
    assert receiver.requests[0].headers["host"] == f"rebind.invalid:{port}"
    disabled = await client.patch(  # a channel whose URL no longer passes can still be disabled
        f"/api/v1/notification-channels/{channel.id}", json={"enabled": False}, headers=env.operator
    )
    assert disabled.status_code == 200, disabled.text
