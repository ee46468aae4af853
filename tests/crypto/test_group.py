"""The group: arithmetic (hypothesis), the identity's special cases, encodings, and
the point checks S-1 … S-6 against libsodium's own refusals."""

from __future__ import annotations

import json
from pathlib import Path

import nacl.bindings
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import _edwards
from crypto.encoding import b64u_decode
from crypto.errors import SecretBallotError
from crypto.group import (
    GENERATOR,
    IDENTITY,
    IDENTITY_ENCODING,
    SMALL_ORDER_ENCODINGS,
    L,
    Point,
    base,
    check_point,
    encode_scalar,
    minus_base,
    parse_point,
    parse_scalar,
    random_scalar,
    read_point_unchecked,
    scalar_bytes,
)

scalars = st.integers(min_value=0, max_value=L - 1)
FAST = settings(deadline=None, max_examples=40)
POINTS = json.loads((Path(__file__).parent / "vectors" / "secret.json").read_text("utf-8"))[
    "points"
]


@FAST
@given(scalars, scalars)
def test_base_is_a_homomorphism(a: int, b: int) -> None:
    assert base(a) + base(b) == base(a + b)
    assert base(a) - base(b) == base(a - b)
    assert base(a) * b == base(a * b) == b * base(a)
    assert -base(a) == base(-a)


@FAST
@given(scalars)
def test_identity_is_neutral_everywhere(a: int) -> None:
    p = base(a)
    assert p + IDENTITY == IDENTITY + p == p
    assert p - IDENTITY == p
    assert IDENTITY - p == -p
    assert p - p == IDENTITY
    assert p + (-p) == IDENTITY  # through libsodium's add, which returns the identity
    assert IDENTITY * a == IDENTITY
    assert p * 0 == p * L == IDENTITY
    assert base(0) == base(L) == IDENTITY


def test_identity_encoding() -> None:
    assert IDENTITY.raw == IDENTITY_ENCODING == bytes([1]) + bytes(31)
    assert IDENTITY.is_identity
    assert not GENERATOR.is_identity
    assert parse_point(IDENTITY.encode()) == IDENTITY
    # libsodium itself calls the identity invalid and refuses to multiply it:
    assert not nacl.bindings.crypto_core_ed25519_is_valid_point(IDENTITY_ENCODING)
    with pytest.raises(RuntimeError):
        nacl.bindings.crypto_scalarmult_ed25519_noclamp(scalar_bytes(5), IDENTITY.raw)
    with pytest.raises(RuntimeError):
        nacl.bindings.crypto_scalarmult_ed25519_base_noclamp(bytes(32))
    # … which is why the group handles it before calling libsodium:
    assert base(0) == IDENTITY
    assert GENERATOR * L == IDENTITY


@FAST
@given(scalars, scalars)
def test_direct_libsodium_calls_match_the_public_bindings(a: int, b: int) -> None:
    pa, pb = base(a), base(b)
    if a:
        assert pa.raw == nacl.bindings.crypto_scalarmult_ed25519_base_noclamp(
            a.to_bytes(32, "little")
        )
    if a and b:
        assert (pa * b).raw == nacl.bindings.crypto_scalarmult_ed25519_noclamp(
            b.to_bytes(32, "little"), pa.raw
        )
    if a and b and a != b:
        assert (pa + pb).raw == nacl.bindings.crypto_core_ed25519_add(pa.raw, pb.raw)
        assert (pa - pb).raw == nacl.bindings.crypto_core_ed25519_sub(pa.raw, pb.raw)


@settings(deadline=None, max_examples=8)
@given(st.integers(min_value=1, max_value=2**64))
def test_python_edwards_arithmetic_matches_libsodium(k: int) -> None:
    g = _edwards.decode(GENERATOR.raw)[0]
    assert g is not None
    assert _edwards.encode(_edwards.multiply(k, g)) == base(k).raw


def test_small_multiples_of_minus_g() -> None:
    for k in range(5):
        assert minus_base(k) == base(-k) == -base(k)


@FAST
@given(scalars)
def test_point_text_round_trips(a: int) -> None:
    p = base(a)
    assert len(p.encode()) == 43
    assert parse_point(p.encode()) == p
    assert Point.from_bytes(p.raw) == p
    assert hash(p) == hash(Point.from_bytes(p.raw))


@FAST
@given(scalars)
def test_scalar_text_round_trips(a: int) -> None:
    assert parse_scalar(encode_scalar(a)) == a


@FAST
@given(st.integers(min_value=L, max_value=2**256 - 1))
def test_scalars_from_l_up_are_refused(value: int) -> None:
    from crypto.encoding import b64u_encode

    with pytest.raises(SecretBallotError) as info:
        parse_scalar(b64u_encode(value.to_bytes(32, "little")))
    assert (info.value.check, info.value.reason) == ("S-8", "noncanonical_scalar")


def test_random_scalars_are_non_zero_and_below_l() -> None:
    values = {random_scalar() for _ in range(50)}
    assert len(values) == 50
    assert all(0 < v < L for v in values)


@pytest.mark.parametrize(
    "item", [pytest.param(p, id=p["name"]) for p in POINTS if not p.get("valid")]
)
def test_libsodium_multiplication_refuses_what_check_point_refuses(item: dict[str, object]) -> None:
    """check_ballot validates points by use: that is sound only if libsodium's
    multiplication refuses every point the checks refuse (except the identity, which
    the group never hands to libsodium)."""
    text = item["text"]
    if item.get("check") in ("S-1",) or not isinstance(text, str):
        return
    raw = b64u_decode(text)
    if raw == IDENTITY_ENCODING:
        return
    with pytest.raises(RuntimeError):
        nacl.bindings.crypto_scalarmult_ed25519_noclamp(scalar_bytes(7), raw)
    with pytest.raises(SecretBallotError) as info:
        read_point_unchecked(text) * 7
    assert (info.value.check, info.value.reason) == (item["check"], item["reason"])


@settings(deadline=None, max_examples=25)
@given(st.binary(min_size=32, max_size=32))
def test_check_point_agrees_with_libsodium_on_any_bytes(raw: bytes) -> None:
    valid = raw == IDENTITY_ENCODING or nacl.bindings.crypto_core_ed25519_is_valid_point(raw)
    if valid:
        check_point(raw)
        return
    with pytest.raises(SecretBallotError) as info:
        check_point(raw)
    assert info.value.check in ("S-2", "S-3", "S-4", "S-5")


def test_every_torsion_point_is_refused_and_mixed_ones_too() -> None:
    torsion = _edwards.small_order_points()
    assert {_edwards.encode(t) for t in torsion} == SMALL_ORDER_ENCODINGS
    g = _edwards.decode(GENERATOR.raw)[0]
    assert g is not None
    for t in torsion[1:]:
        with pytest.raises(SecretBallotError) as info:
            check_point(_edwards.encode(t))
        assert info.value.reason == "small_order_point"
        with pytest.raises(SecretBallotError) as info:
            check_point(_edwards.encode(_edwards.add(g, t)))
        assert info.value.reason == "point_not_in_subgroup"


def test_identity_refused_where_not_allowed() -> None:
    with pytest.raises(SecretBallotError) as info:
        parse_point(IDENTITY.encode(), what="election key", allow_identity=False)
    assert (info.value.check, info.value.reason) == ("S-6", "identity_not_allowed")
    assert "election key" in str(info.value)


@pytest.mark.parametrize("value", [None, 5, b"x" * 32, "A" * 44, "A" * 42])
def test_malformed_point_text(value: object) -> None:
    with pytest.raises(SecretBallotError) as info:
        parse_point(value)
    assert (info.value.check, info.value.reason) == ("S-1", "malformed_point")


def test_points_are_immutable() -> None:
    with pytest.raises(AttributeError):
        GENERATOR.raw = b"x"  # type: ignore[misc]
