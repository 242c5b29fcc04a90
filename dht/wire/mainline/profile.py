"""The Mainline wire profile: :mod:`dht.wire.mainline`'s codec behind the profile interface.

2-byte transaction ids; our ``v`` ("KE" + version, see
:data:`dht.wire.common.OUR_CLIENT`) on every message; the requester's
``ip`` (BEP 42) in every answer; ``ro: 1`` on our queries when the node is
read-only (BEP 43).  Queries are typed (:data:`QueryArgs`); a dict of
arguments is read through the method table, so a caller that speaks in
dicts (the lab's pings) works on both profiles.  Answers are typed
(:data:`ResponseValues`).  A request's future gets the whole
:class:`Response` envelope (``ip`` votes, the responder's ``v``); the
asker types it with :func:`parse_response`.  Error codes are Mainline's
(:data:`dht.wire.codes.MAINLINE`); a handler's Khashmir-coded
:class:`KrpcError` never goes out as is (it becomes 202 server error).
"""

from __future__ import annotations

from random import getrandbits
from typing import Any

from ...core.contact import Address, Contact
from ...core.errors import KrpcError, LocalError, RemoteProtocolError
from ...core.family import V4, Family
from ..codes import MAINLINE, ErrorTable, Meaning, WireError
from ..common import BEP42, CLIENT_VERSION, IPV6, ITEMS, OUR_CLIENT, PEERS, PUBLIC_NETWORK, SAMPLES
from .codec import (
    METHODS,
    QUERY_METHODS,
    parse_response,
    decode_raw,
    encode_error_raw,
    encode_query_raw,
    encode_response_raw,
)
from .messages import (
    Error, FindNode, Get, GetPeers, ItemResponse, PeersResponse, QueryArgs, Response, SampleInfohashes,
    TID_BYTES, SamplesResponse,
)

#: Queries kept encoded (the arguments of the lookups running, a few at a time).
_TEMPLATES_KEPT = 64

#: A lookup's query per method (the driver adds nothing else).
_LOOKUP_QUERIES: dict[str, Any] = {
    "find_node": FindNode,
    "get_peers": GetPeers,
    "get": Get,
    "sample_infohashes": SampleInfohashes,
}


def query_args(method: str, args: Any) -> QueryArgs:
    """Typed arguments of ``method``: as given, or a dict read by its rules (LocalError if bad)."""
    if isinstance(args, dict):
        spec = METHODS.get(method)
        if spec is None:
            raise LocalError(f"not a Mainline method: {method!r}")
        try:
            return spec.parse_args(args)
        except WireError as exc:
            raise LocalError(f"bad {method} arguments: {exc.message}") from None
    if QUERY_METHODS.get(type(args)) != method:
        raise LocalError(f"{args!r} are not {method} arguments")
    typed: QueryArgs = args
    return typed


class MainlineWire:
    """BitTorrent's Mainline DHT wire."""

    name = "mainline"
    features: frozenset[str] = frozenset({CLIENT_VERSION, BEP42, PEERS, ITEMS, SAMPLES, PUBLIC_NETWORK, IPV6})
    codes: ErrorTable = MAINLINE
    methods = tuple(METHODS)
    #: A lookup ends once the K closest have answered (libtorrent's traversal).
    lookup_waits_for_all = False

    def __init__(
        self, read_only: bool = False, client: bytes = OUR_CLIENT, family: Family = V4, want: tuple[bytes, ...] = ()
    ) -> None:
        self.read_only = read_only
        self.client = client
        #: the family of the socket this profile speaks on: its lookups read that family's nodes
        self.family = family
        self._nodes_field = family.nodes_key.decode()
        #: what a find_node asks for (BEP 32 ``want``; a dual-stack node asks n4 and n6)
        self.want = want
        #: id(args) -> (args, head, tail, dict sent): a lookup sends one query, the same
        #: arguments object, to every node it asks; only the transaction id differs.
        self._templates: dict[int, tuple[QueryArgs, bytes, bytes, dict[bytes, Any]]] = {}
        #: (method, *argument items) -> the same, for arguments given as a dict of strings
        self._dict_templates: dict[tuple[Any, ...], tuple[QueryArgs, bytes, bytes, dict[bytes, Any]]] = {}

    def new_tid(self) -> bytes:
        return getrandbits(TID_BYTES * 8).to_bytes(TID_BYTES, "big")  # new_tid(), inlined

    def decode(self, data: bytes) -> tuple[Any, dict[bytes, Any]]:
        return decode_raw(data)

    def encode_query(self, tid: bytes, method: str, args: Any) -> tuple[bytes, dict[bytes, Any]]:
        if type(args) is dict:  # a dict of arguments (the lab's pings): kept by method and contents
            return self._encode_dict_query(tid, method, args)
        template = self._templates.get(id(args))
        if template is not None and template[0] is args and len(tid) == TID_BYTES:
            _, head, tail, sent = template
            return head + tid + tail, {**sent, b"t": tid}
        typed = query_args(method, args)
        data, sent = encode_query_raw(tid, typed, ro=self.read_only, client=self.client)
        if typed is args and len(tid) == TID_BYTES:
            template = self._template(typed, tid, data, sent)
            if template is not None:
                if len(self._templates) >= _TEMPLATES_KEPT:
                    self._templates.clear()
                self._templates[id(args)] = template  # holds ``args``: its id stays its own
        return data, sent

    def _encode_dict_query(self, tid: bytes, method: str, args: dict[bytes, Any]) -> tuple[bytes, dict[bytes, Any]]:
        """:meth:`encode_query` of a dict of arguments: a query of the same method and the
        same byte-string arguments (a node's pings: its own id) is kept encoded."""
        key: tuple[Any, ...] | None = (method, *args.items())
        for value in args.values():
            if type(value) is not bytes:  # a number, a list: never kept (1 == True as a key)
                key = None
                break
        template = None if key is None else self._dict_templates.get(key)
        if template is not None and len(tid) == TID_BYTES:
            _, head, tail, sent = template
            return head + tid + tail, {**sent, b"t": tid}
        typed = query_args(method, args)
        data, sent = encode_query_raw(tid, typed, ro=self.read_only, client=self.client)
        if key is not None and len(tid) == TID_BYTES:
            template = self._template(typed, tid, data, sent)
            if template is not None:
                if len(self._dict_templates) >= _TEMPLATES_KEPT:
                    self._dict_templates.clear()
                self._dict_templates[key] = template
        return data, sent

    def _template(
        self, args: QueryArgs, tid: bytes, data: bytes, sent: dict[bytes, Any]
    ) -> tuple[QueryArgs, bytes, bytes, dict[bytes, Any]] | None:
        """``data`` cut around its transaction id, checked by encoding another id (None: it cannot be)."""
        at = data.rfind(b"1:t2:" + tid)
        if at < 0:
            return None
        head, tail = data[: at + 5], data[at + 5 + TID_BYTES :]
        other = bytes(b ^ 0xFF for b in tid)
        if encode_query_raw(other, args, ro=self.read_only, client=self.client)[0] != head + other + tail:
            return None
        return (args, head, tail, sent)

    def encode_response(self, tid: bytes, values: Any, requester: Address) -> tuple[bytes, dict[bytes, Any]]:
        return encode_response_raw(tid, values, requester, client=self.client)

    def encode_error(self, tid: bytes, exc: KrpcError) -> tuple[bytes, dict[bytes, Any]]:
        if not isinstance(exc, WireError) or exc.profile != MAINLINE.profile:
            exc = MAINLINE.error(Meaning.SERVER, "server error")
        return encode_error_raw(tid, exc, client=self.client)

    def server_error(self, detail: str = "") -> KrpcError:
        return MAINLINE.error(Meaning.SERVER, f"server error: {detail}" if detail else "server error")

    def answer(self, message: Any) -> Any:
        """What a request's future gets: the :class:`Response` envelope."""
        assert isinstance(message, Response)
        return message

    def error(self, message: Any) -> KrpcError:
        assert isinstance(message, Error)
        return WireError(MAINLINE.meaning(message.code), message.code, message.message, MAINLINE.profile)

    def response_id(self, answer: Any) -> bytes:
        if not isinstance(answer, Response):
            raise RemoteProtocolError("not a Mainline response")
        node_id = answer.values.get(b"id")
        if not isinstance(node_id, bytes) or len(node_id) != 20:
            raise RemoteProtocolError("response without a 20-byte id")
        return node_id

    # --- what a lookup sends and reads (dht/rpc/iterate.py, dht/mainline/lookups.py) ---

    def lookup_args(self, method: str, node_id: bytes, target: bytes) -> Any:
        query = _LOOKUP_QUERIES.get(method)
        if query is None:
            raise LocalError(f"{method} is not a Mainline lookup")
        if query is FindNode and self.want:
            return FindNode(node_id, target, self.want)
        return query(node_id, target)

    def lookup_answer(self, method: str, answer: Any) -> tuple[list[Contact], bytes | None, int, Any]:
        """(nodes of our family, token, values held, the typed answer) of a lookup's answer."""
        resp = parse_response(method, answer)
        nodes = list(getattr(resp, self._nodes_field, ()))
        token = getattr(resp, "token", None)
        num = 0
        if isinstance(resp, PeersResponse):
            num = len(resp.values)
        elif isinstance(resp, ItemResponse):
            num = 0 if resp.v is None else 1
        elif isinstance(resp, SamplesResponse):
            num = len(resp.samples)
        return nodes, token, num, resp

    def foreign_nodes(self, method: str, answer: Any) -> list[Contact]:
        """The nodes of the other family in an answer (asked for with ``want``), for the
        other side of a dual-stack node."""
        resp = parse_response(method, answer)
        return [c for field in ("nodes", "nodes6") if field != self._nodes_field for c in getattr(resp, field, ())]
