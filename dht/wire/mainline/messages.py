"""Mainline's typed messages: query arguments, responses and envelopes.

Frozen dataclasses, one per method's arguments (:class:`Ping` ...
:class:`SampleInfohashes`) and per shape of answer (:class:`IdResponse` for
ping, announce_peer and put; :class:`NodesResponse`, :class:`PeersResponse`,
:class:`ItemResponse`, :class:`SamplesResponse`), and the three envelopes a
datagram decodes to (:class:`Query`, :class:`Response`, :class:`Error`)
with the top-level ``v``, ``ro`` and ``ip``.  A BEP 44 ``v`` is kept as its
bencoded bytes, the form that is hashed and signed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Union

from ...core.contact import Contact
from .. import bep44
from ..codes import MAINLINE, Meaning
from ..common import Address

TID_BYTES = 2
#: Replies are kept within one datagram of this size (values dropped to fit).
UDP_PACKET_LIMIT = 1472
#: BEP 51: the permissible ``interval`` range.
MAX_SAMPLE_INTERVAL = 21600

Nodes = tuple[Contact, ...]


def new_tid(rng: random.Random | None = None) -> bytes:
    """A fresh 2-byte transaction id."""
    return (rng or random).getrandbits(TID_BYTES * 8).to_bytes(TID_BYTES, "big")


# --- typed query arguments ------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Ping:
    id: bytes


@dataclass(frozen=True, slots=True)
class FindNode:
    id: bytes
    target: bytes
    want: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class GetPeers:
    id: bytes
    info_hash: bytes
    want: tuple[bytes, ...] = ()
    noseed: bool = False
    scrape: bool = False


@dataclass(frozen=True, slots=True)
class AnnouncePeer:
    id: bytes
    info_hash: bytes
    port: int
    token: bytes
    implied_port: bool = False
    seed: bool = False

    def peer_port(self, source_port: int) -> int:
        """The port to store: the datagram's source port under ``implied_port``."""
        return source_port if self.implied_port else self.port


@dataclass(frozen=True, slots=True)
class Get:
    id: bytes
    target: bytes
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class Put:
    """A BEP 44 put; ``v`` is the bencoded value.  Mutable when ``k`` is set."""

    id: bytes
    token: bytes
    v: bytes
    k: bytes | None = None
    seq: int | None = None
    sig: bytes | None = None
    salt: bytes = b""
    cas: int | None = None

    @property
    def mutable(self) -> bool:
        return self.k is not None

    @property
    def target(self) -> bytes:
        if self.k is None:
            return bep44.immutable_target(self.v)
        return bep44.mutable_target(self.k, self.salt)


@dataclass(frozen=True, slots=True)
class SampleInfohashes:
    id: bytes
    target: bytes


QueryArgs = Union[Ping, FindNode, GetPeers, AnnouncePeer, Get, Put, SampleInfohashes]


# --- typed responses --------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class IdResponse:
    """The answer to ping, announce_peer and put: the responder's id."""

    id: bytes


@dataclass(frozen=True, slots=True)
class NodesResponse:
    id: bytes
    nodes: Nodes = ()
    nodes6: Nodes = ()


@dataclass(frozen=True, slots=True)
class PeersResponse:
    """get_peers: peers and/or nodes, a token, BEP 33 filters when scraped."""

    id: bytes
    token: bytes | None = None
    values: tuple[Address, ...] = ()
    nodes: Nodes = ()
    nodes6: Nodes = ()
    seeds_bloom: bytes | None = None  # BFsd
    peers_bloom: bytes | None = None  # BFpe


@dataclass(frozen=True, slots=True)
class ItemResponse:
    """BEP 44 get: an item (``v`` bencoded) or only its ``seq``, with nodes and a token."""

    id: bytes
    token: bytes | None = None
    nodes: Nodes = ()
    nodes6: Nodes = ()
    v: bytes | None = None
    k: bytes | None = None
    seq: int | None = None
    sig: bytes | None = None

    def holds(self, target: bytes, salt: bytes = b"") -> bool:
        """True when the item is the one looked up: its hash (immutable) or key and signature."""
        if self.v is None:
            return False
        if self.k is None:
            return bep44.immutable_target(self.v) == target
        if self.seq is None or self.sig is None:
            return False
        return bep44.mutable_target(self.k, salt) == target and bep44.verify(
            self.k, self.sig, self.v, self.seq, salt
        )


@dataclass(frozen=True, slots=True)
class SamplesResponse:
    """BEP 51 sample_infohashes."""

    id: bytes
    interval: int
    num: int
    samples: tuple[bytes, ...] = ()
    nodes: Nodes = ()
    nodes6: Nodes = ()


ResponseValues = Union[IdResponse, NodesResponse, PeersResponse, ItemResponse, SamplesResponse]


# --- envelopes --------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Query:
    tid: bytes
    method: str
    args: dict[bytes, Any]
    ro: bool = False
    client: bytes | None = None
    canonical: bool = True  # the datagram is canonical bencoding (checked for put only)


@dataclass(frozen=True, slots=True)
class Response:
    tid: bytes
    values: dict[bytes, Any]
    client: bytes | None = None
    ip: Address | None = None  # BEP 42: our address as the responder saw it


@dataclass(frozen=True, slots=True)
class Error:
    tid: bytes
    code: int
    message: str
    client: bytes | None = None

    @property
    def meaning(self) -> Meaning:
        return MAINLINE.meaning(self.code)


Message = Union[Query, Response, Error]


