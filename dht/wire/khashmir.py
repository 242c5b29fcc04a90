"""The Khashmir wire profile: apt-p2p's KRPC, byte for byte, behind the profile interface.

A thin wrapper of :mod:`dht.wire.krpc` (which keeps the codec itself): 20-byte
transaction ids, answers held within 1472 bytes (values dropped, else
206), codes 200-206 (:data:`dht.wire.codes.KHASHMIR`), no ``v``, ``ip``
or ``ro``.  Queries are argument dicts checked by the handlers
(:meth:`dht.khashmir.dispatch.KhashmirHandlers.dispatch`); a request's future gets the
response dict.  See :mod:`dht.wire.profiles` for the interface.
"""

from __future__ import annotations

from os import urandom
from typing import Any

from . import krpc
from ..core.contact import Address, Contact
from ..core.errors import KrpcError, RemoteProtocolError
from .codes import KHASHMIR, ErrorTable, Meaning, WireError
from .common import VALUES


class KhashmirWire:
    """apt-p2p's KRPC (the default profile)."""

    name = "khashmir"
    features: frozenset[str] = frozenset({VALUES})  # no v, no BEP 42
    codes: ErrorTable = KHASHMIR
    methods = tuple(krpc.METHODS)
    read_only = False
    #: A lookup ends when no request is out (the seed's actions).
    lookup_waits_for_all = True

    def new_tid(self) -> bytes:
        return urandom(krpc.TID_BYTES)  # krpc.new_tid's bytes (secrets.token_bytes), one call less

    def decode(self, data: bytes) -> tuple[Any, dict[bytes, Any]]:
        return krpc.decode(data)

    def encode_query(self, tid: bytes, method: str, args: Any) -> tuple[bytes, dict[bytes, Any]]:
        raw = {b"t": tid, b"y": b"q", b"q": method.encode(), b"a": args}
        return krpc.encode_message(raw), raw  # the bytes of krpc.encode_query(tid, method, args)

    def encode_response(self, tid: bytes, values: Any, requester: Address) -> tuple[bytes, dict[bytes, Any]]:
        return krpc.encode_response(tid, values)

    def encode_error(self, tid: bytes, exc: KrpcError) -> tuple[bytes, dict[bytes, Any]]:
        return krpc.encode_error(tid, exc.code, exc.message), krpc.error_dict(tid, exc.code, exc.message)

    def server_error(self, detail: str = "") -> KrpcError:
        return KHASHMIR.error(Meaning.SERVER, f"server error: {detail}" if detail else "server error")

    def answer(self, message: Any) -> Any:
        """What a request's future gets: the response dict."""
        assert isinstance(message, krpc.Response)
        values: dict[bytes, Any] = message.values
        return values

    def error(self, message: Any) -> KrpcError:
        return WireError(KHASHMIR.meaning(message.code), message.code, message.message, KHASHMIR.profile)

    def response_id(self, answer: Any) -> bytes:
        if not isinstance(answer, dict):
            raise RemoteProtocolError("not a response dict")
        return krpc.response_id(answer)

    # --- what a lookup sends and reads (dht/rpc/iterate.py) ---

    def lookup_args(self, method: str, node_id: bytes, target: bytes) -> Any:
        return {b"id": node_id, (b"target" if method == "find_node" else b"key"): target}

    def lookup_answer(self, method: str, answer: Any) -> tuple[list[Contact], bytes | None, int, Any]:
        """(nodes, token, values held, the answer) of a find_node or find_value answer."""
        nodes = [Contact.from_compact(n) for n in krpc.response_nodes(answer)]
        token = answer.get(b"token") if method == "find_node" else None
        num = krpc.response_int(answer, b"num") if method == "find_value" else 0
        if token is not None and not isinstance(token, bytes):
            raise RemoteProtocolError("token must be a string")
        return nodes, token, num, answer

    def foreign_nodes(self, method: str, answer: Any) -> list[Contact]:
        """None: the Khashmir wire carries IPv4 only."""
        return []
