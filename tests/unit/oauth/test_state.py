from __future__ import annotations

import pytest

from ghl_bridge.oauth.state import InvalidState, StateSigner, derive_secret

SECRET = derive_secret(b"k" * 32, "oauth-state")


def test_round_trip() -> None:
    signer = StateSigner(SECRET)
    assert signer.verify(signer.sign("tnt_1")) == "tnt_1"


@pytest.mark.parametrize("state", ["", "abc", "abc.def", "a.b.c"])
def test_garbage_rejected(state: str) -> None:
    with pytest.raises(InvalidState):
        StateSigner(SECRET).verify(state)


def test_tampered_tenant_rejected() -> None:
    signer = StateSigner(SECRET)
    _, mac = signer.sign("tnt_1").split(".")
    forged = StateSigner(derive_secret(b"x" * 32, "oauth-state")).sign("tnt_2").split(".")[0]
    with pytest.raises(InvalidState):
        signer.verify(f"{forged}.{mac}")


def test_expired_rejected() -> None:
    now = [1000.0]
    signer = StateSigner(SECRET, ttl_s=60, clock=lambda: now[0])
    state = signer.sign("tnt_1")
    now[0] += 61
    with pytest.raises(InvalidState, match="expired"):
        signer.verify(state)


def test_secret_not_in_repr() -> None:
    assert "k" * 8 not in repr(StateSigner(SECRET))
