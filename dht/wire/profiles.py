"""Wire profiles: what the transport and the node call, per wire.

A profile turns datagrams into messages and back for one wire; the
transport (:mod:`dht.rpc.transport`) and the node call it and nothing else of
the wire, so no ``if profile == ...`` is scattered through them:

* ``new_tid()``: a fresh transaction id (Khashmir 20 bytes, Mainline 2);
* ``decode(data) -> (message, raw)``: the message (``.tid``; a query's
  ``.method`` and ``.args``) and the decoded dict, whose ``y`` is q, r or e;
  :class:`RemoteProtocolError` for anything else;
* ``encode_query(tid, method, args)``, ``encode_response(tid, values,
  requester)``, ``encode_error(tid, exc)``: ``(bytes, dict sent)``;
* ``server_error()``: the error answered when a handler has a bug;
* ``answer(message)``: what a request's future gets; ``error(message)``: the
  :class:`KrpcError` it raises for an ``e`` reply; ``response_id(answer)``:
  the responder's id, checked;
* ``lookup_args(method, id, target)`` and ``lookup_answer(method, answer)``:
  what an iterative lookup sends, and (nodes, token, values held, the
  answer) from what comes back;
* ``name``, ``methods`` (answered and counted), ``codes`` (the error
  table), ``read_only`` (BEP 43: answer nothing), ``lookup_waits_for_all``
  (a lookup's end waits for every request out: Khashmir; or only for the K
  closest to have answered: Mainline, as libtorrent), ``features``: what
  the wire carries beyond lookups, for a front end to show only what it
  can (``CLIENT_VERSION``: messages say their client, ``v``; ``BEP42``:
  ids are checked against addresses; both in :mod:`dht.wire.common`).
"""

from __future__ import annotations

from typing import Any, Protocol

from ..core.contact import IPV6_REFUSED, Address, Contact
from ..core.errors import AddressError, KrpcError
from ..core.family import V4, Family
from .codes import ErrorTable
from .common import BEP42, CLIENT_VERSION
from .khashmir import KhashmirWire
from .mainline.profile import MainlineWire


class WireProfile(Protocol):
    name: str
    features: frozenset[str]
    codes: ErrorTable
    methods: tuple[str, ...]
    read_only: bool
    lookup_waits_for_all: bool

    def new_tid(self) -> bytes: ...
    def decode(self, data: bytes) -> tuple[Any, dict[bytes, Any]]: ...
    def encode_query(self, tid: bytes, method: str, args: Any) -> tuple[bytes, dict[bytes, Any]]: ...
    def encode_response(self, tid: bytes, values: Any, requester: Address) -> tuple[bytes, dict[bytes, Any]]: ...
    def encode_error(self, tid: bytes, exc: KrpcError) -> tuple[bytes, dict[bytes, Any]]: ...
    def server_error(self, detail: str = "") -> KrpcError: ...
    def answer(self, message: Any) -> Any: ...
    def error(self, message: Any) -> KrpcError: ...
    def response_id(self, answer: Any) -> bytes: ...
    def lookup_args(self, method: str, node_id: bytes, target: bytes) -> Any: ...
    def lookup_answer(self, method: str, answer: Any) -> tuple[list[Contact], bytes | None, int, Any]: ...
    def foreign_nodes(self, method: str, answer: Any) -> list[Contact]: ...


__all__ = ["BEP42", "CLIENT_VERSION", "WireProfile", "profile_features", "profile_for"]


def profile_for(name: str, read_only: bool = False, family: Family = V4, want: tuple[bytes, ...] = ()) -> WireProfile:
    """The profile called ``name`` ("khashmir" or "mainline") on a socket of ``family``
    (AddressError for Khashmir on IPv6: its wire carries IPv4 only); ``want``: what
    its find_node queries ask for (BEP 32, Mainline)."""
    if name == "mainline":
        return MainlineWire(read_only, family=family, want=want)
    if family is not V4:
        raise AddressError(IPV6_REFUSED)
    return KhashmirWire()


def profile_features(name: str) -> frozenset[str]:
    """What the profile called ``name`` can do (its ``features``), before any node speaks it."""
    return profile_for(name).features
