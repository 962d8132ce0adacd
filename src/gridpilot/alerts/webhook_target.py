"""The SSRF guard of webhook URLs: which targets gridpilot may send notifications to.

A URL is checked when a channel is saved (its fault answered as a 422) and again before every
delivery, after DNS resolution; the delivery then connects to the addresses that passed (it never
resolves the name again), so a DNS answer that changes in between (rebinding) cannot redirect it.

- Syntax: http or https with a host; no user info (``user:password@``), no spaces, control
  characters (CR, LF, TAB, NUL...) or backslashes.
- Addresses: every address the host resolves to must be public: ``ipaddress``'s ``is_global``
  and not multicast, reserved or site-local, judged on the IPv4 address inside IPv4-mapped,
  IPv4-compatible and NAT64 (``64:ff9b::/96``) addresses, and on both sides of 6to4
  (``2002::/16``) and Teredo addresses. ``GRIDPILOT_WEBHOOK_ALLOW_PRIVATE`` lifts this rule.
- Ports: 80, 443 and those of ``GRIDPILOT_WEBHOOK_ALLOWED_PORTS`` on public hosts (a private
  host, when allowed, may use any port).
"""

from __future__ import annotations

import asyncio
import socket
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from urllib.parse import urlsplit

import httpx

from gridpilot.core.errors import ValidationFailed
from gridpilot.core.settings import Settings

#: Ports allowed on public hosts whatever the settings say.
DEFAULT_PORTS = frozenset({80, 443})
_SCHEME_PORTS = {"http": 80, "https": 443}
_NAT64 = ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ip_network("::/96")

#: ``await resolve(host, port)``: the addresses ``host`` resolves to.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]


async def system_resolve(host: str, port: int) -> list[str]:
    """The addresses of ``host`` from the system resolver, in its order, without repeats."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class Guard:
    """What the guard lets through; ``resolve`` can be replaced (tests, custom DNS)."""

    allow_private: bool = False
    extra_ports: frozenset[int] = frozenset()
    resolve: Resolver = field(default=system_resolve, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Guard:
        return cls(settings.webhook_allow_private, frozenset(settings.webhook_allowed_ports))

    def port_allowed(self, port: int) -> bool:
        return port in DEFAULT_PORTS or port in self.extra_ports


@dataclass(frozen=True)
class Target:
    """A checked URL and the addresses a delivery may connect to."""

    url: httpx.URL
    addresses: tuple[str, ...]


def _judged(address: str) -> list[IPv4Address | IPv6Address]:
    """The addresses whose publicness decides ``address``'s: translated IPv4 addresses stand
    for themselves; a tunnel (6to4, Teredo) is judged on both ends."""
    ip = ip_address(address.split("%", 1)[0])
    if isinstance(ip, IPv4Address):
        return [ip]
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip in _NAT64 or ip in _IPV4_COMPATIBLE:
        return [IPv4Address(int(ip) & 0xFFFF_FFFF)]
    if ip.sixtofour is not None:
        return [ip, ip.sixtofour]
    return [ip, *(ip.teredo or ())]


def is_public(address: str) -> bool:
    """True when ``address`` (and any address embedded in it) is globally routable unicast."""
    return all(
        ip.is_global
        and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)
        and not (isinstance(ip, IPv6Address) and ip.is_site_local)
        for ip in _judged(address)
    )


def _forbidden(char: str) -> bool:
    return char == "\\" or char.isspace() or unicodedata.category(char) in ("Cc", "Cf")


def parse(url: str) -> httpx.URL:
    """``url`` parsed as it will be sent; ``ValidationFailed`` naming what is wrong with it."""
    for position, char in enumerate(url):
        if _forbidden(char):
            raise ValidationFailed(
                f"webhook url contains {char!r} at position {position}: spaces, control "
                "characters (such as CR and LF) and backslashes are not allowed"
            )
    try:
        parsed = httpx.URL(url)
        netloc = urlsplit(url).netloc
    except (httpx.InvalidURL, ValueError) as exc:
        raise ValidationFailed(f"webhook url cannot be parsed: {exc}") from None
    if parsed.scheme not in _SCHEME_PORTS or not parsed.raw_host:
        raise ValidationFailed("webhook url must be http:// or https:// with a host")
    if parsed.userinfo or "@" in netloc:
        raise ValidationFailed(
            "webhook url must not contain user info ('user:password@' before the host); "
            "authenticate the receiver by the webhook signature"
        )
    if not 0 < port_of(parsed) < 65536:
        raise ValidationFailed("webhook url has an invalid port")
    return parsed


def port_of(url: httpx.URL) -> int:
    return url.port or _SCHEME_PORTS[url.scheme]


def _port_refused(port: int) -> ValidationFailed:
    return ValidationFailed(
        f"webhook port {port} is not allowed for public hosts: use 80 or 443, or add the port "
        "to GRIDPILOT_WEBHOOK_ALLOWED_PORTS"
    )


async def check(url: str, guard: Guard) -> Target:
    """The target of ``url`` if the guard lets it through, else ``ValidationFailed``."""
    parsed = parse(url)
    port = port_of(parsed)
    if not guard.allow_private and not guard.port_allowed(port):
        raise _port_refused(port)
    host = parsed.raw_host.decode("ascii")
    try:
        addresses = tuple(await guard.resolve(host, port))
        private = sorted(a for a in addresses if not is_public(a))
    except (OSError, UnicodeError, ValueError) as exc:
        raise ValidationFailed(f"webhook host {host!r} does not resolve: {exc}") from None
    if not addresses:
        raise ValidationFailed(f"webhook host {host!r} does not resolve")
    if private and not guard.allow_private:
        raise ValidationFailed(
            f"webhook host {host!r} resolves to a non-public address ({', '.join(private)});"
            " set GRIDPILOT_WEBHOOK_ALLOW_PRIVATE=true to allow internal receivers"
        )
    if len(private) < len(addresses) and not guard.port_allowed(port):
        raise _port_refused(port)
    return Target(parsed, addresses)
