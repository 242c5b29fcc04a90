"""Contacts: compact node info, HOST:PORT parsing, resolution, and contacts that are always packable."""

from __future__ import annotations

import asyncio
from pathlib import Path
import socket

import pytest
from dhtutil import run
from hypothesis import given
from hypothesis import strategies as st

from dht.node import core_of
from dht import resolve_address
from dht.core.contact import IPV6_REFUSED, Contact, is_ipv4, parse_address
from dht.errors import AddressError, LocalError, RemoteProtocolError


def test_compact_round_trip() -> None:
    contact = Contact(bytes(range(20)), "10.1.2.3", 6881)
    data = contact.compact()
    assert len(data) == 26 and data[20:24] == bytes([10, 1, 2, 3]) and data[24:] == b"\x1a\xe1"
    assert Contact.from_compact(data) == contact
    for bad in (data[:-1], data + b"x", b""):
        with pytest.raises(RemoteProtocolError):
            Contact.from_compact(bad)


@given(st.binary(min_size=26, max_size=26))
def test_any_compact_info_makes_a_contact_that_packs_back(data: bytes) -> None:
    contact = Contact.from_compact(data)
    assert contact.compact() == data and is_ipv4(contact.host)


@pytest.mark.parametrize(
    "host,port",
    [("::01", 4000), ("FE80::1", 1), ("localhost", 4000), ("", 4000), ("1.2.3", 1), ("256.1.1.1", 1),
     ("01.2.3.4", 1), ("1.2.3.4 ", 1), ("1.2.3.4", -1), ("1.2.3.4", 65536), ("1.2.3.\x004", 1)],
)
def test_a_contact_refuses_an_address_it_could_not_pack(host: str, port: int) -> None:
    with pytest.raises(AddressError) as info:
        Contact(b"I" * 20, host, port)
    assert "\n" not in str(info.value)
    if ":" in host:
        assert "canonical form" in str(info.value)


def test_an_ipv6_contact_packs_into_the_38_bytes_of_nodes6() -> None:
    contact = Contact(b"I" * 20, "fe80::1", 6881)
    packed = contact.compact()
    assert len(packed) == 38
    assert packed[20:36] == socket.inet_pton(socket.AF_INET6, "fe80::1") and packed[36:] == b"\x1a\xe1"
    with pytest.raises(RemoteProtocolError):  # the Khashmir wire reads 26-byte infos only
        Contact.from_compact(packed)


def test_a_contact_refuses_an_id_that_is_not_20_bytes() -> None:
    for bad in (b"", b"I" * 19, b"I" * 21, "I" * 20):
        with pytest.raises(LocalError):
            Contact(bad, "127.0.0.1", 1)  # type: ignore[arg-type]


def test_parse_address_accepts_host_port() -> None:
    assert parse_address(" 127.0.0.1:4000 ") == ("127.0.0.1", 4000)
    assert parse_address("router.example:65535") == ("router.example", 65535)
    assert parse_address("localhost:1") == ("localhost", 1)


@pytest.mark.parametrize(
    "bad,says",
    [
        ("", "host:port"),
        ("host", "missing ':port'"),
        ("host:", "port ''"),
        (":80", "missing host before ':80'"),
        (":4000", "missing host before ':4000' (expected host:port)"),
        ("host:0", "out of range"),
        ("host:65536", "out of range"),
        ("host:x", "not a number"),
        ("a b:1", "spaces"),
        ("[::1]", "expected [IPv6]:port"),
        ("::1", "as [address]:port"),
        ("fe80::1:4000", "as [address]:port"),
        ("999.1.1.1:4000", "not a valid IPv4 address"),
        ("1.2.3:4000", "not a valid IPv4 address"),
        ("ho/st:4000", "not a host name"),
        ("hôte:4000", "not a host name"),
    ],
)
def test_parse_address_refuses_with_one_clear_line(bad: str, says: str) -> None:
    with pytest.raises(AddressError) as info:
        parse_address(bad)
    assert isinstance(info.value, LocalError) and isinstance(info.value, ValueError)
    assert says in str(info.value) and "\n" not in str(info.value)


def test_resolve_address_turns_names_into_ipv4_through_the_loop() -> None:
    async def scenario() -> None:
        assert await resolve_address("localhost:4000") == ("127.0.0.1", 4000)
        assert await resolve_address(("localhost", 4001)) == ("127.0.0.1", 4001)
        assert await resolve_address("127.0.0.5:9") == ("127.0.0.5", 9)
        # The loop keeps running while a name resolves (it goes to the executor).
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.ensure_future(ticker())
        await resolve_address("localhost:4000")
        task.cancel()
        assert ticks > 0

    run(scenario())


@pytest.mark.parametrize(
    "bad,says",
    [("[::1]:4000", IPV6_REFUSED), (":4000", "missing host"), (("::1", 4000), IPV6_REFUSED),
     (("127.0.0.1", 0), "out of range"), (("", 4000), "missing host")],
)
def test_resolve_address_refuses_with_an_address_error(bad: str | tuple[str, int], says: str) -> None:
    async def scenario() -> None:
        with pytest.raises(AddressError) as info:
            await resolve_address(bad)
        assert says in str(info.value)

    run(scenario())


@pytest.mark.parametrize(
    "error,says",
    [(socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
      "cannot resolve nowhere.example: Name or service not known"),
     (socket.gaierror(socket.EAI_NODATA, "No address associated with hostname"), "has no IPv4 address")],
)
def test_a_name_that_does_not_resolve_is_one_line(
    monkeypatch: pytest.MonkeyPatch, error: socket.gaierror, says: str
) -> None:
    """The resolver's failures, without asking a DNS server (no network beyond loopback)."""
    asked: list[tuple[object, ...]] = []

    async def failing(self: object, host: object, port: object, **kw: object) -> object:
        asked.append((host, kw.get("family")))
        raise error

    monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", failing)

    async def scenario() -> None:
        with pytest.raises(AddressError) as info:
            await resolve_address("nowhere.example:4000")
        assert says in str(info.value) and "\n" not in str(info.value)

    run(scenario())
    assert asked == [("nowhere.example", socket.AF_INET)]


# --- addresses a peer sends -------------------------------------------------------

def test_a_lookup_survives_any_address_a_peer_hands_out(tmp_path: Path) -> None:
    """Compact infos for 0.0.0.0, broadcast, multicast and port 0: a lookup asks them (they
    fail: the socket refuses or nobody answers) and ends normally, as do our own answers."""
    import bencodepy
    from dhtutil import FAST, query, raw_client, running_node

    odd = [bytes([0xA0 + i]) * 20 + bytes(ip) + port.to_bytes(2, "big") for i, (ip, port) in enumerate([
        ((0, 0, 0, 0), 0), ((255, 255, 255, 255), 6881), ((224, 0, 0, 1), 1), ((127, 0, 0, 1), 0),
        ((0, 0, 0, 0), 6881),
    ])]

    async def scenario() -> None:
        async with running_node(tmp_path, FAST) as node, raw_client() as peer:
            peer_id = b"P" * 20
            core_of(node).requests.insert_node(Contact(peer_id, *peer.address))
            lookup = asyncio.ensure_future(node.find_node(b"T" * 20))
            while not lookup.done():
                try:
                    data, addr = await peer.recv(0.1)
                except asyncio.TimeoutError:
                    continue
                msg = bencodepy.decode(data)
                if msg.get(b"y") == b"q":
                    reply = {b"t": msg[b"t"], b"y": b"r", b"r": {b"id": peer_id, b"nodes": odd, b"token": b"tk"}}
                    peer.send(bencodepy.encode(reply), addr)
            found = lookup.result()  # raises nothing
            assert peer_id in {c.id for c in found}
            # Our own answers pack every contact we hold.
            reply = await peer.ask_decoded(query("find_node", {b"id": b"Q" * 20, b"target": b"T" * 20}), node.address)
            assert reply[b"y"] == b"r"
            assert all(Contact.from_compact(n).compact() == n for n in reply[b"r"][b"nodes"])

    run(scenario(), timeout=60)
