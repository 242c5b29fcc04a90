"""Address families (dht/core/family.py), IPv6 addresses as typed, and what each side of a
dual-stack node reads of an answer: bytes in, no socket, no clock."""

from __future__ import annotations

import pytest

from dht.core.contact import Contact, parse_address
from dht.core.errors import AddressError
from dht.core.family import V4, V6, family_of, shown, wanted
from dht.core.ids import ExternalAddressVotes, id_matches_ip, node_id_for
from dht.wire import mainline as ml
from dht.wire.profiles import profile_for


def test_a_family_is_told_by_its_address_and_written_with_its_port() -> None:
    assert family_of("10.0.0.1") is V4 and family_of("2001:db8::1") is V6 and family_of("fe80::1%eth0") is V6
    with pytest.raises(AddressError):
        family_of("example.org")
    assert shown(("10.0.0.1", 6881)) == "10.0.0.1:6881"
    assert shown(("2001:db8::1", 6881)) == "[2001:db8::1]:6881"
    assert V6.is_loopback("::1") and V4.is_loopback("127.9.9.9") and not V6.is_loopback("2001:db8::1")


def test_want_names_the_families_answered_and_defaults_to_the_askers() -> None:
    assert wanted((), V4) == (V4,) and wanted((), V6) == (V6,)
    assert wanted((b"n6",), V4) == (V6,)
    assert wanted((b"n4", b"n6"), V6) == (V4, V6)
    assert wanted((b"n5",), V6) == (V6,)  # nothing we know: the asker's own, as libtorrent


@pytest.mark.parametrize(
    "text,expected",
    [("[::1]:4000", ("::1", 4000)), ("[2001:DB8:0::1]:6881", ("2001:db8::1", 6881)), ("1.2.3.4:5", ("1.2.3.4", 5))],
)
def test_ipv6_is_typed_in_brackets_and_comes_back_canonical(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize(
    "text,says",
    [("::1:4000", "[address]:port"), ("[::1]", "expected [IPv6]:port"), ("[::1]:0", "out of range"),
     ("[1.2.3.4]:5", "not an IPv6 address"), ("[::1]:x", "not a number")],
)
def test_bad_ipv6_addresses_are_one_line(text: str, says: str) -> None:
    with pytest.raises(AddressError, match=said(says)):
        parse_address(text)


def said(text: str) -> str:
    import re

    return re.escape(text)


def test_each_sides_profile_reads_its_familys_nodes_and_hands_on_the_others() -> None:
    four = Contact(b"4" * 20, "10.0.0.4", 4000)
    six = Contact(b"6" * 20, "2001:db8::6", 6000)
    data = ml.encode_response(b"aa", ml.NodesResponse(b"i" * 20, (four,), (six,)), ("10.0.0.9", 1))
    for family, own, other in ((V4, four, six), (V6, six, four)):
        profile = profile_for("mainline", family=family, want=(b"n4", b"n6"))
        envelope, _ = profile.decode(data)
        answer = profile.answer(envelope)
        nodes, _, _, _ = profile.lookup_answer("find_node", answer)
        assert nodes == [own] and profile.foreign_nodes("find_node", answer) == [other]
        query = profile.lookup_args("find_node", b"i" * 20, b"t" * 20)
        assert query.want == (b"n4", b"n6")
    assert profile_for("mainline").lookup_args("find_node", b"i" * 20, b"t" * 20).want == ()


def test_khashmir_has_no_ipv6_profile() -> None:
    with pytest.raises(AddressError, match="IPv4 only"):
        profile_for("khashmir", family=V6)


def test_an_ipv6_bep42_id_comes_from_the_64_and_votes_are_kept_per_family() -> None:
    node_id = node_id_for("2001:db8:1:2::7")
    assert id_matches_ip(node_id, "2001:db8:1:2:ffff::1")  # the same /64
    assert not id_matches_ip(node_id, "2001:db8:1:3::7")
    four, six = ExternalAddressVotes(3), ExternalAddressVotes(3)
    for voter in ("2001:db8:a::1", "2001:db8:b::1", "2001:db8:c::1"):
        six.vote("2001:db8:1:2::7", voter)
    assert six.leader == "2001:db8:1:2::7" and four.leader is None
