from __future__ import annotations

import pytest

from ghl_bridge.events.receiver import client_address, parse_networks

PROXIES = parse_networks("10.0.0.0/8, 127.0.0.1/32")


@pytest.mark.parametrize(
    ("peer", "xff", "expected"),
    [
        ("203.0.113.9", "1.2.3.4", "203.0.113.9"),  # untrusted peer: its header is ignored
        ("10.0.0.5", "198.51.100.7", "198.51.100.7"),
        ("10.0.0.5", "6.6.6.6, 198.51.100.7, 10.0.0.9", "198.51.100.7"),  # a forged left hop loses
        ("10.0.0.5", None, "10.0.0.5"),
        ("10.0.0.5", "10.0.0.9, 10.0.0.8", "10.0.0.9"),
        ("10.0.0.5", "garbage", "garbage"),  # not an IP: the allowlist then refuses it
    ],
)
def test_client_address(peer: str, xff: str | None, expected: str) -> None:
    assert client_address(peer, xff, PROXIES) == expected


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert client_address("10.0.0.5", "198.51.100.7", ()) == "10.0.0.5"


def test_bad_cidr_fails_at_start_up() -> None:
    with pytest.raises(ValueError):
        parse_networks("10.0.0.0/33")
