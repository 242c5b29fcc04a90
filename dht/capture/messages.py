"""KRPC in a capture: which datagrams are KRPC messages, and which answer which query.

:func:`krpc_message` is the per-packet test "is this KRPC": a bencoded dict
with a string ``t`` and ``y`` one of ``q``/``r``/``e``; it holds for both
wire profiles (Khashmir and Mainline).  :class:`KrpcDecoder` turns the
datagrams of a :class:`~dht.capture.reader.CaptureReader` into
:class:`CapturedMessage` rows and pairs each response or error with its
query by transaction id and the two addresses (the answer goes from the
queried address back to the querier), which gives the method of an answer
and its round-trip time.  Queries waiting for their answer are bounded
(:data:`PENDING_LIMIT`, oldest forgotten first), so a capture full of
unanswered queries does not grow memory.  KRPC is decoded with bencode2 (C),
falling back to bencode.py for dicts whose keys are out of order (which the
nodes accept).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, NamedTuple

import bencode2
import bencodepy

from ..core.contact import Address
from .reader import CapturedDatagram, CaptureReader

#: Queries remembered for pairing by :class:`KrpcDecoder` (oldest forgotten first).
PENDING_LIMIT = 100_000


def krpc_message(data: bytes) -> dict[bytes, Any] | None:
    """The decoded message when ``data`` is KRPC (either profile), else None.

    KRPC here is what both wire profiles share: one bencoded dict with a
    string ``t`` and a ``y`` of ``q``, ``r`` or ``e``.
    """
    if len(data) < 12 or data[0] != 0x64 or data[-1] != 0x65:  # "d" ... "e"
        return None
    try:
        msg = bencode2.bdecode(data)  # strict and fast (C)
    except Exception:
        try:  # keys out of order, as some clients send: what the nodes themselves accept
            msg = bencodepy.decode(data)
        except Exception:  # bencodepy raises several types on bad input
            return None
    if not isinstance(msg, dict) or not isinstance(msg.get(b"t"), bytes):
        return None
    if msg.get(b"y") not in (b"q", b"r", b"e"):
        return None
    return msg


class CapturedMessage(NamedTuple):
    """One KRPC message of a capture.

    ``method`` is the query's method; for a response or error, that of the
    query it answers ("" when that query is not in the capture).  ``rtt`` is
    set on an answer paired with its query; ``seq`` counts messages from 0.
    """

    seq: int
    time: float
    src: Address
    dst: Address
    kind: str  # "q", "r" or "e"
    method: str
    tid: bytes
    size: int
    message: dict[bytes, Any]
    rtt: float | None = None
    error_code: int | None = None

    def record(self) -> dict[str, Any]:
        """A JSON-friendly summary (what ``dht decode --json`` prints)."""
        return {
            "time": round(self.time, 6), "src": format_address(self.src), "dst": format_address(self.dst),
            "type": self.kind, "method": self.method, "tid": self.tid.hex(), "size": self.size,
            "rtt": None if self.rtt is None else round(self.rtt, 6), "error": self.error_code,
        }


def format_address(address: Address) -> str:
    host = address[0]
    return f"[{host}]:{address[1]}" if ":" in host else f"{host}:{address[1]}"


class KrpcDecoder:
    """Datagrams to :class:`CapturedMessage` rows, answers paired with queries.

    A query is remembered (at most :data:`PENDING_LIMIT`, oldest forgotten
    first) under (requester, responder, tid) until its answer comes.
    """

    def __init__(self, pending_limit: int = PENDING_LIMIT) -> None:
        self.messages = 0
        self.pairs = 0
        self.not_krpc = 0
        self._limit = pending_limit
        self._pending: dict[tuple[Address, Address, bytes], tuple[float, str]] = {}

    def feed(self, datagram: CapturedDatagram) -> CapturedMessage | None:
        msg = krpc_message(datagram.data)
        if msg is None:
            self.not_krpc += 1
            return None
        tid: bytes = msg[b"t"]
        kind = msg[b"y"].decode()
        rtt: float | None = None
        code: int | None = None
        if kind == "q":
            q = msg.get(b"q")
            method = q.decode("latin-1") if isinstance(q, bytes) else ""
            pending = self._pending
            if len(pending) >= self._limit:
                del pending[next(iter(pending))]
            pending[(datagram.src, datagram.dst, tid)] = (datagram.time, method)
        else:
            asked = self._pending.pop((datagram.dst, datagram.src, tid), None)
            if asked is None:
                method = ""
            else:
                method = asked[1]
                rtt = max(0.0, datagram.time - asked[0])
                self.pairs += 1
            if kind == "e":
                err = msg.get(b"e")
                if isinstance(err, list) and err and isinstance(err[0], int):
                    code = err[0]
        self.messages += 1
        return CapturedMessage(self.messages - 1, datagram.time, datagram.src, datagram.dst, kind, method,
                               tid, len(datagram.data), msg, rtt, code)

    def unanswered(self) -> int:
        return len(self._pending)


def capture_summary(reader: CaptureReader, decoder: KrpcDecoder) -> str:
    """``N messages, P pairs, S skipped packets`` (and the reasons)."""
    skipped = reader.skipped_total + decoder.not_krpc
    text = f"{decoder.messages:,} messages, {decoder.pairs:,} pairs, {skipped:,} skipped packets"
    reasons = dict(reader.skipped)
    if decoder.not_krpc:
        reasons["not KRPC"] = decoder.not_krpc
    if reasons:
        text += " (" + ", ".join(f"{r}: {n:,}" for r, n in sorted(reasons.items())) + ")"
    return text


def read_messages(path: str | Path) -> Iterator[CapturedMessage]:
    """Every KRPC message of a capture, paired; raises CaptureError at damage."""
    decoder = KrpcDecoder()
    with CaptureReader(path) as reader:
        for datagram in reader:
            message = decoder.feed(datagram)
            if message is not None:
                yield message
