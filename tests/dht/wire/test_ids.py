"""BEP 42 node ids: the BEP's test vectors, verification and exempt addresses."""

from __future__ import annotations

import pytest

from dht.errors import LocalError
from dht.core.ids import ExternalAddressVotes, id_matches_ip, id_prefix, is_exempt, node_id_for

# BEP 42 test vectors: IP, rand, an example node id.
VECTORS = [
    ("124.31.75.21", 1, "5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401"),
    ("21.75.31.124", 86, "5a3ce9c14e7a08645677bbd1cfe7d8f956d53256"),
    ("65.23.51.170", 22, "a5d43220bc8f112a3d426c84764f8c2a1150e616"),
    ("84.124.73.14", 65, "1b0321dd1bb1fe518101ceef99462b947a01ff41"),
    ("43.213.53.83", 90, "e56f6cbf5b7c4be0237986d5243b87aa6d51305a"),
]


@pytest.mark.parametrize("ip,rand,example", VECTORS)
def test_derived_ids_share_the_vectors_21_bits_and_last_byte(ip: str, rand: int, example: str) -> None:
    want = bytes.fromhex(example)
    got = node_id_for(ip, rand)
    assert got[:2] == want[:2] and got[2] & 0xF8 == want[2] & 0xF8
    assert got[19] == rand
    assert id_matches_ip(got, ip)


@pytest.mark.parametrize("ip,rand,example", VECTORS)
def test_the_vectors_example_ids_verify(ip: str, rand: int, example: str) -> None:
    node_id = bytes.fromhex(example)
    assert id_matches_ip(node_id, ip)
    assert node_id[19] == rand
    # The same id from another public address does not.
    assert not id_matches_ip(node_id, "8.8.8.8")


def test_a_flipped_prefix_bit_fails() -> None:
    ip, rand, example = VECTORS[0]
    node_id = bytearray(bytes.fromhex(example))
    for bit in range(21):
        tampered = bytearray(node_id)
        tampered[bit // 8] ^= 0x80 >> (bit % 8)
        assert not id_matches_ip(bytes(tampered), ip), bit
    # Bits 21-23 and the middle bytes are free.
    node_id[2] ^= 0x07
    node_id[10] ^= 0xFF
    assert id_matches_ip(bytes(node_id), ip)
    # r is the last byte's low 3 bits: another r, another prefix.
    node_id[19] ^= 0x01
    assert not id_matches_ip(bytes(node_id), ip)


@pytest.mark.parametrize(
    "ip", ["10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.3.4", "127.0.0.1",
           "127.0.9.1", "::1", "fe80::1", "fd00::5", "::ffff:192.168.0.1"],
)
def test_local_and_private_addresses_are_exempt(ip: str) -> None:
    assert is_exempt(ip)
    assert id_matches_ip(b"\x00" * 20, ip)


@pytest.mark.parametrize("ip", ["8.8.8.8", "172.32.0.1", "11.0.0.1", "2001:4860::8888", "::ffff:8.8.8.8"])
def test_public_addresses_are_checked(ip: str) -> None:
    assert not is_exempt(ip)
    assert id_matches_ip(node_id_for(ip), ip)
    assert not all(id_matches_ip(bytes([i]) * 20, ip) for i in range(8))


def test_ipv6_uses_the_first_64_bits_and_its_mask() -> None:
    a = id_prefix("2001:4860:4860:1234::1", 3)
    assert a == id_prefix("2001:4860:4860:1234:ffff::9", 3)  # the low 64 bits do not count
    assert a != id_prefix("2001:4860:4860:1234::1", 4)
    # The mask drops the high bits of each byte: 0x22 & 0x01 == 0x20 & 0x01.
    assert id_prefix("2201:4860:4860:1234::", 0) == id_prefix("2001:4860:4860:1234::", 0)


def test_random_ids_differ_but_all_verify() -> None:
    ids = {node_id_for("8.8.4.4") for _ in range(20)}
    assert len(ids) == 20
    assert all(id_matches_ip(i, "8.8.4.4") for i in ids)


def test_bad_arguments_are_local_errors() -> None:
    with pytest.raises(LocalError):
        node_id_for("not-an-ip")
    with pytest.raises(LocalError):
        node_id_for("8.8.8.8", rand=256)
    with pytest.raises(LocalError):
        node_id_for("8.8.8.8", tail=b"short")
    assert not id_matches_ip(b"short", "8.8.8.8")


def test_the_external_address_is_voted() -> None:
    votes = ExternalAddressVotes(min_votes=3, max_voters=10)
    assert not votes.vote("8.8.8.8", "1.0.1.1")
    assert not votes.vote("8.8.8.8", "1.0.1.1")  # the same voter again counts once
    assert not votes.vote("8.8.8.8", "1.0.2.1") and votes.leader is None
    assert votes.vote("8.8.8.8", "1.0.3.1") and votes.leader == "8.8.8.8"
    # A rival needs a majority of the blocks voting to take over.
    for voter in ("2.0.1.1", "2.0.2.1", "2.0.3.1"):
        votes.vote("9.9.9.9", voter)
    assert votes.leader == "8.8.8.8"
    assert votes.vote("9.9.9.9", "2.0.4.1") and votes.leader == "9.9.9.9"
    # A voter changing its mind moves its vote.
    votes.vote("8.8.8.8", "2.0.4.1")
    votes.vote("8.8.8.8", "2.0.3.1")
    assert votes.leader == "8.8.8.8"


def test_one_address_block_is_one_vote() -> None:
    """38 addresses of one /24 (or one /64) reporting one address are one voice."""
    votes = ExternalAddressVotes(min_votes=3, max_voters=1000)
    for i in range(38):
        assert not votes.vote("203.0.113.9", f"198.51.100.{i + 1}")
        assert not votes.vote("203.0.113.9", f"2001:db8:0:1::{i + 1:x}")
    assert len(votes) == 2 and votes.leader is None and votes.leader_votes == 0
    assert votes.vote("203.0.113.9", "192.0.2.1") and votes.leader == "203.0.113.9"


def test_the_leader_needs_a_majority_of_the_blocks() -> None:
    votes = ExternalAddressVotes(min_votes=2, max_voters=100)
    for i, reported in enumerate(("9.9.9.9", "7.7.7.7", "6.6.6.6", "8.8.8.8", "8.8.8.8")):
        votes.vote(reported, f"10.{i}.0.1")
    assert votes.leader is None  # 2 of 5: a lead, not a majority
    assert not votes.vote("8.8.8.8", "10.8.0.1")  # 3 of 6: half is not a majority
    assert votes.vote("8.8.8.8", "10.9.0.1") and votes.leader == "8.8.8.8"  # 4 of 7


def test_votes_are_bounded() -> None:
    votes = ExternalAddressVotes(min_votes=2, max_voters=3)
    for i in range(10):
        votes.vote("8.8.8.8", f"1.0.{i}.1")
    assert len(votes) == 3 and votes.leader == "8.8.8.8"
    for i in range(3):  # the old votes age out; the new address wins
        votes.vote("9.9.9.9", f"2.0.{i}.1")
    assert len(votes) == 3 and votes.leader == "9.9.9.9"
    with pytest.raises(LocalError):
        ExternalAddressVotes(min_votes=0)
    with pytest.raises(LocalError):
        votes.vote("not an ip", "1.0.0.1")
