"""SSRF checks on outbound URLs: validation only, nothing is ever sent to these addresses."""

from __future__ import annotations

import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from ghl_bridge.events.targets import (
    GuardedResolver,
    TargetRefused,
    check_target,
    host_of,
    parse_target,
)

REFUSED = [
    "https://127.0.0.1/hook",
    "https://127.1.2.3:8443/hook",
    "https://10.0.0.5/hook",
    "https://172.16.3.4/hook",
    "https://192.168.1.1/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://100.64.0.1/hook",  # carrier-grade NAT
    "https://0.0.0.0/hook",
    "https://224.0.0.1/hook",
    "https://255.255.255.255/hook",
    "https://[::1]/hook",
    "https://[fe80::1]/hook",
    "https://[fd00::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
    "https://[::ffff:a9fe:a9fe]/hook",  # IPv4-mapped metadata service
    "https://[64:ff9b::a00:1]/hook",  # NAT64 of 10.0.0.1
    "https://[2002:a00:1::]/hook",  # 6to4 of 10.0.0.1
    "https://[ff02::1]/hook",
]


@pytest.mark.parametrize("url", REFUSED)
async def test_private_and_special_addresses_are_refused(url: str) -> None:
    with pytest.raises(TargetRefused):
        await check_target(url, allow_private=False)


async def test_names_resolving_to_loopback_are_refused() -> None:
    with pytest.raises(TargetRefused, match="loopback"):
        await check_target("https://localhost:9/hook", allow_private=False)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://93.184.215.14/hook", "https"),
        ("ftp://93.184.215.14/hook", "https"),
        ("https://user:pw@93.184.215.14/hook", "credentials"),
        ("https:///hook", "no host"),
        ("https://93.184.215.14:99999/hook", "malformed"),
        ("https://93.184.215.14:0/hook", "port"),
        ("https://example.com/" + "x" * 2100, "longer"),
        ("not a url", "https"),
    ],
)
def test_malformed_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(TargetRefused, match=reason):
        parse_target(url, allow_private=False)


async def test_public_literal_passes_without_resolving() -> None:
    await check_target("https://93.184.215.14/hook", allow_private=False)
    await check_target("https://[2606:4700::1111]/hook", allow_private=False)


async def test_allow_private_lifts_the_checks() -> None:
    await check_target("http://127.0.0.1:8080/hook", allow_private=True)
    await check_target("https://10.1.2.3/hook", allow_private=True)
    with pytest.raises(TargetRefused):  # credentials are still refused
        parse_target("http://u:p@127.0.0.1/hook", allow_private=True)


class _Answers(AbstractResolver):
    def __init__(self, *hosts: str) -> None:
        self.hosts = hosts

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host=h, port=port, family=family, proto=0, flags=0)
            for h in self.hosts
        ]

    async def close(self) -> None:
        return None


async def test_resolver_refuses_a_name_that_rebinds_to_private() -> None:
    """The check sits where the connection's addresses come from: a DNS answer that turns
    private after the subscription was created is caught at delivery time."""
    guarded = GuardedResolver(allow_private=False, inner=_Answers("93.184.215.14", "10.0.0.7"))
    with pytest.raises(TargetRefused, match="private"):
        await guarded.resolve("hooks.example.com", 443)
    ok = GuardedResolver(allow_private=False, inner=_Answers("93.184.215.14"))
    assert [a["host"] for a in await ok.resolve("hooks.example.com", 443)] == ["93.184.215.14"]
    assert not issubclass(TargetRefused, OSError)  # aiohttp must not wrap it as retryable


def test_host_of_never_shows_path_or_credentials() -> None:
    assert host_of("https://u:p@hooks.example.com:8443/t/SECRET?k=v") == "hooks.example.com:8443"
