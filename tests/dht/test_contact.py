"""Contacts: compact node info and HOST:PORT parsing."""

from __future__ import annotations

import pytest

from dht.contact import Contact, parse_address
from dht.errors import AddressError, LocalError, RemoteProtocolError


def test_compact_round_trip() -> None:
    contact = Contact(bytes(range(20)), "10.1.2.3", 6881)
    data = contact.compact()
    assert len(data) == 26 and data[20:24] == bytes([10, 1, 2, 3]) and data[24:] == b"\x1a\xe1"
    assert Contact.from_compact(data) == contact
    for bad in (data[:-1], data + b"x", b""):
        with pytest.raises(RemoteProtocolError):
            Contact.from_compact(bad)


def test_parse_address_accepts_host_port() -> None:
    assert parse_address(" 127.0.0.1:4000 ") == ("127.0.0.1", 4000)
    assert parse_address("[::1]:80") == ("::1", 80)
    assert parse_address("router.example:65535") == ("router.example", 65535)


@pytest.mark.parametrize("bad", ["", "host", "host:", ":80", "host:0", "host:65536", "host:x", "a b:1"])
def test_parse_address_refuses_with_a_typed_local_error(bad: str) -> None:
    with pytest.raises(AddressError) as info:
        parse_address(bad)
    assert isinstance(info.value, LocalError) and isinstance(info.value, ValueError)
    assert str(info.value)
