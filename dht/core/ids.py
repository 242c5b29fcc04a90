"""BEP 42 node ids: tied to the node's external IP address.

Theory of operation.  The IP (IPv4: its 4 bytes; IPv6: its first 8 bytes)
is masked with ``03 0f 3f ff`` (IPv4) or ``01 03 07 0f 1f 3f 7f ff``
(IPv6), a random ``r`` in [0, 7] is OR-ed into the top three bits of its
first byte, and the result is hashed with CRC32C (Castagnoli, from the
``crc32c`` package).  A valid id shares the hash's first 21 bits, and its
last byte is the random byte whose low three bits are ``r``; the other 131
bits are free.  So a node may choose among eight id ranges per IP, and an
attacker's choice of ids grows with the IPs it controls, not with its
patience.

A node learns its external address from the ``ip`` of responses: BEP 42
asks for a vote across several nodes before trusting any one of them, so
:class:`ExternalAddressVotes` counts one vote per voter *address block*
(a /24 for IPv4, a /64 for IPv6: one operator's many addresses are one
voice; each loopback address is a block of its own, as lab nodes are
distinct hosts) and names a winner only with ``min_votes`` blocks and a
majority of all blocks voting.  Only answers to queries we chose to send
vote (the node's lookups, never a ping: a verification ping is sent
because a stranger queried us, so its answer is the stranger's choice).  It then derives
its id with :func:`node_id_for`, and checks other nodes with
:func:`id_matches_ip`.
Local and private addresses (10/8, 172.16/12, 192.168/16, 169.254/16,
127/8; for IPv6 loopback, link-local and unique-local) are exempt: any id
is valid there, as is any id a node on the lab's loopback uses.
"""

from __future__ import annotations

import ipaddress
import os

from crc32c import crc32c

from .errors import LocalError

V4_MASK = bytes((0x03, 0x0F, 0x3F, 0xFF))
V6_MASK = bytes((0x01, 0x03, 0x07, 0x0F, 0x1F, 0x3F, 0x7F, 0xFF))

_V4_EXEMPT = tuple(
    ipaddress.IPv4Network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "127.0.0.0/8")
)
_V6_EXEMPT = tuple(ipaddress.IPv6Network(n) for n in ("::1/128", "fe80::/10", "fc00::/7"))

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(ip: str | IPAddress) -> IPAddress:
    if isinstance(ip, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        address: IPAddress = ip
    else:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            raise LocalError(f"not an IP address: {ip!r}") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_exempt(ip: str | IPAddress) -> bool:
    """True for a local or private address, whose ids are never checked."""
    address = _address(ip)
    if isinstance(address, ipaddress.IPv4Address):
        return any(address in n for n in _V4_EXEMPT)
    return any(address in n for n in _V6_EXEMPT)


def id_prefix(ip: str | IPAddress, r: int) -> int:
    """The CRC32C of the masked IP with ``r`` (0-7) in its top bits."""
    address = _address(ip)
    packed = address.packed
    mask = V4_MASK if len(packed) == 4 else V6_MASK
    masked = bytearray(b & m for b, m in zip(packed, mask))
    masked[0] |= (r & 0x7) << 5
    return crc32c(bytes(masked))


def node_id_for(ip: str | IPAddress, rand: int | None = None, tail: bytes | None = None) -> bytes:
    """A BEP 42 id for a node whose external address is ``ip``.

    ``rand`` is the last byte (its low 3 bits are ``r``; random when None);
    ``tail`` the 17 free bytes after the prefix (random when None).
    """
    if rand is None:
        rand = os.urandom(1)[0]
    if not 0 <= rand <= 0xFF:
        raise LocalError("rand must be a byte")
    if tail is None:
        tail = os.urandom(17)
    if len(tail) != 17:
        raise LocalError("tail must be 17 bytes")
    crc = id_prefix(ip, rand & 0x7)
    head = bytes(((crc >> 24) & 0xFF, (crc >> 16) & 0xFF, ((crc >> 8) & 0xF8) | (tail[0] & 0x07)))
    return head + tail[1:] + bytes((rand,))


def id_fits(node_id: bytes, ip: str | IPAddress) -> bool | None:
    """BEP 42 as the explorer shows it: whether ``node_id`` fits ``ip``, None if ``ip`` is exempt."""
    return None if is_exempt(ip) else id_matches_ip(node_id, ip)


def id_matches_ip(node_id: bytes, ip: str | IPAddress) -> bool:
    """True when ``node_id`` is valid for a node at ``ip`` (always for exempt addresses)."""
    if is_exempt(ip):
        return True
    if len(node_id) != 20:
        return False
    crc = id_prefix(ip, node_id[19] & 0x7)
    return (
        node_id[0] == (crc >> 24) & 0xFF
        and node_id[1] == (crc >> 16) & 0xFF
        and node_id[2] & 0xF8 == (crc >> 8) & 0xF8
    )


def voter_block(ip: str) -> str:
    """The address block a voter votes for (:class:`ExternalAddressVotes`): its /24 or /64,
    or the address itself on loopback."""
    if ip.startswith("127.") or ip == "::1":
        return ip
    if ":" in ip:
        try:
            return str(ipaddress.IPv6Network((ip, 64), strict=False))
        except ValueError:
            return ip
    return ip.rpartition(".")[0] + ".0/24"


class ExternalAddressVotes:
    """Our external IP as the ``ip`` fields of responses vote for it (BEP 42).

    One vote per voter address block (:func:`voter_block`; the block's
    latest report counts, so a block that changes its mind moves its vote),
    at most ``max_voters`` blocks remembered (the oldest vote goes first), so
    a peer, or a peer's many addresses in one block, cannot stuff the ballot
    and memory stays bounded.  :attr:`leader` is the address voted by at
    least ``min_votes`` blocks and by more than half of all blocks voting;
    it stays until another wins so, or it falls below ``min_votes``.
    """

    def __init__(self, min_votes: int = 10, max_voters: int = 1000) -> None:
        if min_votes < 1 or max_voters < min_votes:
            raise LocalError("need 1 <= min_votes <= max_voters")
        self.min_votes = min_votes
        self.max_voters = max_voters
        self._votes: dict[str, str] = {}  # voter IP -> the address it reported
        self._tally: dict[str, int] = {}
        self.leader: str | None = None

    def __len__(self) -> int:
        return len(self._votes)

    def _drop(self, voter: str) -> None:
        old = self._votes.pop(voter, None)
        if old is not None:
            self._tally[old] -= 1
            if not self._tally[old]:
                del self._tally[old]

    @property
    def leader_votes(self) -> int:
        """The votes behind :attr:`leader` (0 when there is none)."""
        return self._tally.get(self.leader, 0) if self.leader is not None else 0

    def vote(self, reported: str, voter: str) -> bool:
        """Count ``voter``'s report of our address (for its block); True when :attr:`leader` changed."""
        voter = voter_block(voter)
        if self._votes.get(voter) == reported:
            return False  # the same vote again (every answer votes): nothing changes
        # An address already tallied is canonical (it was checked then): only a new
        # one is parsed (every first answer from a responder votes).
        address = reported if reported in self._tally else str(_address(reported))
        self._drop(voter)
        while len(self._votes) >= self.max_voters:
            self._drop(next(iter(self._votes)))
        self._votes[voter] = address
        self._tally[address] = self._tally.get(address, 0) + 1
        best = max(self._tally, key=self._tally.__getitem__)
        count = self._tally[best]
        wins = count >= self.min_votes and 2 * count > len(self._votes)
        leader = best if wins else self.leader
        if leader is not None and self._tally.get(leader, 0) < self.min_votes:
            leader = None  # the old leader lost its votes
        changed = leader != self.leader
        self.leader = leader
        return changed
