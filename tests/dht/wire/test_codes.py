"""Error codes per profile: Mainline and Khashmir numbers never cross."""

from __future__ import annotations

import pytest

from dht import errors
from dht.errors import KrpcError
from dht.wire.codes import KHASHMIR, MAINLINE, Meaning, WireError


@pytest.mark.parametrize(
    "code,meaning",
    [(201, Meaning.GENERIC), (202, Meaning.SERVER), (203, Meaning.PROTOCOL), (204, Meaning.METHOD_UNKNOWN),
     (205, Meaning.VALUE_TOO_BIG), (206, Meaning.INVALID_SIGNATURE), (207, Meaning.SALT_TOO_BIG),
     (301, Meaning.CAS_MISMATCH), (302, Meaning.SEQ_TOO_OLD), (200, Meaning.UNKNOWN), (999, Meaning.UNKNOWN)],
)
def test_mainline_codes_read(code: int, meaning: Meaning) -> None:
    assert MAINLINE.meaning(code) is meaning


@pytest.mark.parametrize(
    "code,meaning",
    [(200, Meaning.GENERIC), (201, Meaning.SERVER), (202, Meaning.MALFORMED_PACKET), (203, Meaning.METHOD_UNKNOWN),
     (204, Meaning.PROTOCOL), (205, Meaning.INVALID_TOKEN), (206, Meaning.RESPONSE_TOO_LONG),
     (207, Meaning.UNKNOWN), (301, Meaning.UNKNOWN)],
)
def test_khashmir_codes_read(code: int, meaning: Meaning) -> None:
    assert KHASHMIR.meaning(code) is meaning


def test_khashmir_table_is_dht_errors() -> None:
    assert KHASHMIR.code(Meaning.METHOD_UNKNOWN) == errors.METHOD_UNKNOWN
    assert KHASHMIR.code(Meaning.PROTOCOL) == errors.MALFORMED_REQUEST
    assert KHASHMIR.code(Meaning.INVALID_TOKEN) == errors.INVALID_TOKEN


@pytest.mark.parametrize("code", [203, 204, 205, 206])
def test_a_code_crossing_profiles_goes_through_its_meaning(code: int) -> None:
    # The same number means different things: re-coding keeps the meaning, not the number.
    assert KHASHMIR.code(MAINLINE.meaning(code)) != code
    assert MAINLINE.code(KHASHMIR.meaning(code)) != code


def test_mainline_sends_invalid_token_and_malformed_as_203() -> None:
    assert MAINLINE.code(Meaning.INVALID_TOKEN) == 203
    assert MAINLINE.code(Meaning.MALFORMED_PACKET) == 203
    assert MAINLINE.code(Meaning.RESPONSE_TOO_LONG) == 201  # none in Mainline: generic


def test_bep44_meanings_are_generic_on_khashmir() -> None:
    for meaning in (Meaning.VALUE_TOO_BIG, Meaning.INVALID_SIGNATURE, Meaning.CAS_MISMATCH, Meaning.SEQ_TOO_OLD):
        assert KHASHMIR.code(meaning) == errors.GENERIC


def test_errors_are_krpc_errors_with_their_profile() -> None:
    err = MAINLINE.error(Meaning.SEQ_TOO_OLD)
    assert isinstance(err, KrpcError) and isinstance(err, WireError)
    assert (err.code, err.meaning, err.profile) == (302, Meaning.SEQ_TOO_OLD, "mainline")
    assert str(err).startswith("302 ")
