"""Vault: AES-256-GCM sealing with a key ring: round trip, AAD, tamper, rotation, secrecy."""

from __future__ import annotations

import base64
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ghl_bridge.vault import KeyRing, Vault, VaultError

KEY_A = bytes(range(32))
KEY_B = bytes(range(100, 132))
SECRET = "ya29.super-secret-refresh-token"
CONTEXT = "connection:con_1:refresh"


def _spec(kid: str, key: bytes, *, urlsafe: bool = False) -> str:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    return f"{kid}:{encode(key).decode()}"


def _ring(*entries: tuple[str, bytes]) -> KeyRing:
    return KeyRing.parse(",".join(_spec(kid, key) for kid, key in entries))


def _secret_forms(key: bytes) -> list[str]:
    return [
        base64.b64encode(key).decode(),
        base64.urlsafe_b64encode(key).decode(),
        base64.b64encode(key).decode().rstrip("="),
        key.hex(),
    ]


@pytest.fixture
def vault() -> Vault:
    return Vault(_ring(("k1", KEY_A)))


# --- round trip and format ---


def test_seal_round_trip(vault: Vault) -> None:
    sealed = vault.seal(SECRET, context=CONTEXT)
    assert vault.unseal(sealed, context=CONTEXT) == SECRET


def test_sealed_format_is_versioned_with_kid(vault: Vault) -> None:
    sealed = vault.seal(SECRET, context=CONTEXT)
    version, kid, data = sealed.split(".")
    assert (version, kid) == ("v1", "k1")
    blob = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    assert len(blob) == 12 + len(SECRET.encode()) + 16  # nonce | ciphertext | tag
    assert SECRET not in sealed
    assert vault.key_id(sealed) == "k1"


def test_each_seal_uses_a_fresh_nonce(vault: Vault) -> None:
    sealed = {vault.seal(SECRET, context=CONTEXT) for _ in range(50)}
    assert len(sealed) == 50
    nonces = {base64.urlsafe_b64decode(s.split(".")[2] + "==")[:12] for s in sealed}
    assert len(nonces) == 50


@settings(max_examples=200, deadline=None)
@given(plaintext=st.text(), context=st.text(min_size=1))
def test_round_trip_property(plaintext: str, context: str) -> None:
    vault = Vault(_ring(("k1", KEY_A)))
    assert vault.unseal(vault.seal(plaintext, context=context), context=context) == plaintext


def test_empty_plaintext_round_trips(vault: Vault) -> None:
    assert vault.unseal(vault.seal("", context=CONTEXT), context=CONTEXT) == ""


def test_context_is_required(vault: Vault) -> None:
    with pytest.raises(VaultError, match="context"):
        vault.seal(SECRET, context="")
    sealed = vault.seal(SECRET, context=CONTEXT)
    with pytest.raises(VaultError, match="context"):
        vault.unseal(sealed, context="")


def test_unencodable_plaintext_is_refused_without_echo(vault: Vault) -> None:
    with pytest.raises(VaultError) as info:
        vault.seal("token\udcff", context=CONTEXT)
    assert "token" not in str(info.value)


# --- failures fail closed ---


def test_wrong_context_fails(vault: Vault) -> None:
    sealed = vault.seal(SECRET, context="connection:con_1:refresh")
    for other in ("connection:con_1:access", "connection:con_2:refresh", "x"):
        with pytest.raises(VaultError, match="cannot unseal"):
            vault.unseal(sealed, context=other)


def test_wrong_key_fails() -> None:
    sealed = Vault(_ring(("k1", KEY_A))).seal(SECRET, context=CONTEXT)
    with pytest.raises(VaultError, match="cannot unseal"):
        Vault(_ring(("k1", KEY_B))).unseal(sealed, context=CONTEXT)


def test_unknown_kid_fails() -> None:
    sealed = Vault(_ring(("k1", KEY_A))).seal(SECRET, context=CONTEXT)
    with pytest.raises(VaultError, match=r"cannot unseal.*'k1'"):
        Vault(_ring(("k2", KEY_B))).unseal(sealed, context=CONTEXT)


def test_every_flipped_byte_is_detected(vault: Vault) -> None:
    sealed = vault.seal(SECRET, context=CONTEXT)
    prefix, data = sealed.rsplit(".", 1)
    blob = bytearray(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    for index in range(len(blob)):
        tampered = bytearray(blob)
        tampered[index] ^= 0x01
        encoded = base64.urlsafe_b64encode(bytes(tampered)).rstrip(b"=").decode()
        with pytest.raises(VaultError, match="cannot unseal"):
            vault.unseal(f"{prefix}.{encoded}", context=CONTEXT)


def test_swapping_kid_header_fails() -> None:
    vault = Vault(_ring(("k1", KEY_A), ("k2", KEY_B)))
    sealed = vault.seal(SECRET, context=CONTEXT)
    with pytest.raises(VaultError, match="cannot unseal"):
        vault.unseal(sealed.replace("v1.k1.", "v1.k2.", 1), context=CONTEXT)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "plain-token",
        "v2.k1.AAAA",
        "v1.k1.",
        "v1..AAAA",
        "v1.k1.AAAA.extra",
        "v1.k1.!!!not-base64!!!",
        "v1.k1.AAAA",  # too short to hold nonce and tag
    ],
)
def test_malformed_sealed_values(vault: Vault, bad: str) -> None:
    with pytest.raises(VaultError, match="cannot unseal"):
        vault.unseal(bad, context=CONTEXT)


def test_truncated_ciphertext_fails(vault: Vault) -> None:
    sealed = vault.seal(SECRET, context=CONTEXT)
    with pytest.raises(VaultError, match="cannot unseal"):
        vault.unseal(sealed[:-4], context=CONTEXT)


# --- rotation ---


def test_rotation_old_kid_still_opens_and_reseal_moves_to_active() -> None:
    old = Vault(_ring(("k1", KEY_A)))
    sealed_old = old.seal(SECRET, context=CONTEXT)
    rotated = Vault(_ring(("k2", KEY_B), ("k1", KEY_A)))

    assert rotated.active_kid == "k2"
    assert rotated.unseal(sealed_old, context=CONTEXT) == SECRET
    assert rotated.needs_reseal(sealed_old)

    resealed = rotated.reseal(sealed_old, context=CONTEXT)
    assert rotated.key_id(resealed) == "k2"
    assert not rotated.needs_reseal(resealed)
    assert rotated.unseal(resealed, context=CONTEXT) == SECRET
    # The resealed value no longer depends on the retired key.
    assert Vault(_ring(("k2", KEY_B))).unseal(resealed, context=CONTEXT) == SECRET


def test_reseal_checks_context() -> None:
    rotated = Vault(_ring(("k2", KEY_B), ("k1", KEY_A)))
    sealed_old = Vault(_ring(("k1", KEY_A))).seal(SECRET, context=CONTEXT)
    with pytest.raises(VaultError, match="cannot unseal"):
        rotated.reseal(sealed_old, context="connection:other:refresh")


def test_reseal_of_active_value_gives_fresh_ciphertext(vault: Vault) -> None:
    sealed = vault.seal(SECRET, context=CONTEXT)
    again = vault.reseal(sealed, context=CONTEXT)
    assert again != sealed
    assert vault.unseal(again, context=CONTEXT) == SECRET


def test_key_id_of_malformed_value_raises(vault: Vault) -> None:
    with pytest.raises(VaultError):
        vault.key_id("not-sealed")
    with pytest.raises(VaultError):
        vault.needs_reseal("not-sealed")


# --- key ring parsing ---


def test_parse_standard_and_urlsafe_base64() -> None:
    key = bytes([0xFB, 0xFF] * 16)  # encodes with '+' and '/' (or '-' and '_')
    for urlsafe in (False, True):
        ring = KeyRing.parse(_spec("main", key, urlsafe=urlsafe))
        assert ring.key("main") == key
    unpadded = base64.b64encode(key).decode().rstrip("=")
    assert KeyRing.parse(f"main:{unpadded}").key("main") == key


def test_parse_order_whitespace_and_kids() -> None:
    ring = KeyRing.parse(f" {_spec('new', KEY_B)} , {_spec('old', KEY_A)} ")
    assert ring.active_kid == "new"
    assert ring.kids == ("new", "old")
    assert "old" in ring
    assert "nope" not in ring


def test_generate_produces_a_parseable_entry() -> None:
    entry = KeyRing.generate("k2025")
    ring = KeyRing.parse(entry)
    assert ring.active_kid == "k2025"
    assert len(ring.key("k2025")) == 32
    auto = KeyRing.parse(KeyRing.generate())
    assert auto.active_kid.startswith("k")
    assert KeyRing.generate() != KeyRing.generate()


def test_generate_refuses_bad_kid() -> None:
    with pytest.raises(VaultError):
        KeyRing.generate("has.dot")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("k1", "entry #1"),
        ("k1:", "entry #1"),
        (":" + base64.b64encode(KEY_A).decode(), "entry #1"),
        ("bad.kid:" + base64.b64encode(KEY_A).decode(), "entry #1"),
        ("k1:not base64!", "'k1' is not valid base64"),
        ("k1:" + base64.b64encode(b"short").decode(), "32 bytes"),
        ("k1:" + base64.b64encode(KEY_A + b"x").decode(), "32 bytes"),
        (f"{_spec('k1', KEY_A)},{_spec('k1', KEY_B)}", "duplicate"),
        (f"{_spec('k1', KEY_A)},", "entry #2"),
    ],
)
def test_bad_specs_are_rejected(spec: str, message: str) -> None:
    with pytest.raises(VaultError, match=message):
        KeyRing.parse(spec)


def test_bad_spec_errors_never_echo_key_material() -> None:
    # A key that decodes to the wrong length, and an entry without a kid separator.
    short = base64.b64encode(b"s3cr3t-key-material-0123").decode()
    for spec in (f"k1:{short}", short, f"k1:{short}$$", f"{_spec('k1', KEY_A)},{short}"):
        with pytest.raises(VaultError) as info:
            KeyRing.parse(spec)
        text = str(info.value) + repr(info.value)
        assert short not in text
        assert short[:16] not in text
        assert info.value.__cause__ is None or short not in str(info.value.__cause__)


def test_constructor_validates_entries() -> None:
    with pytest.raises(VaultError, match="empty"):
        KeyRing([])
    with pytest.raises(VaultError, match="32 bytes"):
        KeyRing([("k1", b"short")])


# --- secrecy of reprs and messages ---


def test_repr_and_str_show_only_key_ids() -> None:
    ring = _ring(("k1", KEY_A), ("k0", KEY_B))
    vault = Vault(ring)
    for text in (repr(ring), str(ring), repr(vault), str(vault)):
        assert "k1" in text
        for key in (KEY_A, KEY_B):
            for form in _secret_forms(key):
                assert form not in text
            assert repr(key) not in text


def test_error_messages_never_contain_plaintext_or_keys() -> None:
    vault = Vault(_ring(("k1", KEY_A)))
    sealed = vault.seal(SECRET, context=CONTEXT)
    failures = []
    for call in (
        lambda: vault.unseal(sealed, context="wrong"),
        lambda: Vault(_ring(("k1", KEY_B))).unseal(sealed, context=CONTEXT),
        lambda: vault.unseal(sealed[:-3], context=CONTEXT),
        lambda: vault.unseal(sealed.replace("v1.", "v9."), context=CONTEXT),
    ):
        with pytest.raises(VaultError) as info:
            call()
        failures.append(info.value)
    for error in failures:
        text = str(error) + repr(error)
        assert SECRET not in text
        assert sealed.split(".")[2] not in text
        assert CONTEXT not in text
        for form in _secret_forms(KEY_A) + _secret_forms(KEY_B):
            assert form not in text
        # No chained exception carrying internals either.
        assert error.__suppress_context__ or error.__context__ is None


def test_ring_and_vault_refuse_pickling() -> None:
    ring = _ring(("k1", KEY_A))
    with pytest.raises(TypeError):
        pickle.dumps(ring)
    with pytest.raises(TypeError):
        pickle.dumps(Vault(ring))
