"""Outbound webhook URLs, checked against server-side request forgery (SSRF).

A tenant chooses the URL and the service makes the request, from inside our network: without
these checks a subscription could read the cloud metadata service (169.254.169.254), an admin
port on loopback or anything on the private network. Checked when the subscription is created
(the name must resolve, and only to public addresses) and again on every attempt, where the
check sits in the connector's resolver: the connection goes to exactly the addresses that
passed, so a DNS answer that changes between check and use (rebinding) cannot slip through.
``allow_private`` (GHL_BRIDGE_OUTBOUND_ALLOW_PRIVATE) lifts all of this, and allows plain http,
for development and tests with a receiver on loopback.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from ghl_bridge.errors import InvalidInput

MAX_URL_CHARS = 2048
RESOLVE_TIMEOUT_S = 5.0
IP = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class TargetRefused(InvalidInput):
    """The URL is not one the service will send to (422 at creation; a failed delivery later).

    Deliberately not an OSError: aiohttp would wrap that into a retryable connection error.
    """


def refusal(address: IP) -> str | None:
    """Why the service will not connect to ``address``, or None if it is a public address.

    Addresses that embed an IPv4 address (IPv4-mapped, 6to4, NAT64) are judged by it.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and any(address in net for net in _NAT64):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            inner = refusal(embedded)
            return None if inner is None else f"{inner} (inside {address})"
    if address.is_loopback:
        return f"{address} is a loopback address"
    if address.is_link_local:
        return f"{address} is a link-local address (cloud metadata lives there)"
    if address.is_multicast:
        return f"{address} is a multicast address"
    if address.is_unspecified:
        return f"{address} is the unspecified address"
    if address.is_private:
        return f"{address} is a private address"
    if not address.is_global:
        return f"{address} is a reserved address"
    return None


def check_address(text: str, *, allow_private: bool) -> None:
    """Raise `TargetRefused` unless ``text`` is a public IP address (or private ones are
    allowed)."""
    if allow_private:
        return
    reason = refusal(ipaddress.ip_address(text.split("%", 1)[0]))  # drop an IPv6 zone id
    if reason is not None:
        raise TargetRefused(f"refusing to send webhooks to {reason}", details={"reason": reason})


def _literal(host: str) -> IP | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def parse_target(url: str, *, allow_private: bool) -> SplitResult:
    """Check a URL's form: https (http only when private targets are allowed), a host, no
    credentials (they would be stored and logged in clear), a valid port, and — for an IP
    literal — a public address. Names are resolved by `check_target`. Raises `TargetRefused`."""
    if len(url) > MAX_URL_CHARS:
        raise TargetRefused(f"the URL is longer than {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetRefused("the URL is malformed") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise TargetRefused("the URL must use https", details={"scheme": parts.scheme})
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("the URL must not carry credentials; sign requests with the secret")
    host = parts.hostname
    if not host:
        raise TargetRefused("the URL has no host")
    if port == 0:
        raise TargetRefused("the URL's port must be 1-65535")
    if _literal(host) is not None:
        check_address(host, allow_private=allow_private)
    return parts


async def check_target(url: str, *, allow_private: bool) -> None:
    """Everything `parse_target` checks, and a host name must resolve to public addresses only
    (every address it resolves to: a client may connect to any of them)."""
    parts = parse_target(url, allow_private=allow_private)
    host = parts.hostname or ""
    if allow_private or _literal(host) is not None:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    lookup = asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    try:
        infos = await asyncio.wait_for(lookup, RESOLVE_TIMEOUT_S)
    except (OSError, TimeoutError):
        raise TargetRefused(f"the host {host!r} does not resolve") from None
    for info in infos:
        check_address(str(info[4][0]), allow_private=False)


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, refusing any answer that is not a public address.

    aiohttp does not consult the resolver for IP literals, so `parse_target` must also run
    before each request (the outbound job does both).
    """

    def __init__(self, *, allow_private: bool, inner: AbstractResolver | None = None) -> None:
        self._allow_private = allow_private
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        for answer in answers:
            check_address(answer["host"], allow_private=self._allow_private)
        return answers

    async def close(self) -> None:
        await self._inner.close()

    def __repr__(self) -> str:
        return f"GuardedResolver(allow_private={self._allow_private!r})"


def host_of(url: str) -> str:
    """The host[:port] a URL points at: the circuit key, and what logs may name (never the
    URL, whose path or query may hold a token)."""
    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1] or "?"
