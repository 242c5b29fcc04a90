"""Which implementations answer: contacts and traffic by client code (BEP 20's two letters).

A Mainline message may carry ``v``, the sender's client and version
(``dht.decode_client_version``: ``LT`` libtorrent, ``UT`` µTorrent, ``TR``
Transmission, ...).  :class:`ClientCensus` learns, from the event bridge's
batches, which code each peer address last sent (a bounded map, oldest
addresses forgotten first) and counts messages and bytes in by the sender's
code and out by the receiver's; :meth:`ClientCensus.rows` adds how many
routing-table contacts run each client, matched by address (or, for a
contact we never heard from in this run, by the client name the table
keeps).  The routing panel shows each contact's code; the Samples panel's
Clients chart and table (:mod:`khgui.samples.clients`) show the rows.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Any, Iterable

from dht import ContactInfo, decode_client_version
from dht.events import DatagramReceived, DatagramSent

#: The code of contacts and messages without ``v``.
UNKNOWN = "?"
#: Peer addresses whose client code is remembered (the oldest go first).
MAX_ADDRESSES = 20_000
#: Distinct client codes counted; messages of further codes count under OTHER
#: (``v`` is chosen by the peer: a flood of made-up codes must not grow the table).
MAX_CODES = 64
OTHER = "other"


@dataclass
class ClientRow:
    """One client code: contacts in the table running it, messages and bytes exchanged."""

    code: str
    name: str
    contacts: int = 0
    messages_in: int = 0
    messages_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0


class ClientCensus:
    """Client codes of peers as their messages say, and the traffic of each (see the module docstring)."""

    def __init__(self, max_addresses: int = MAX_ADDRESSES, max_codes: int = MAX_CODES) -> None:
        self._max_addresses = max_addresses
        self._max_codes = max_codes
        self._code_of: collections.OrderedDict[tuple[str, int], str] = collections.OrderedDict()
        self._names: dict[str, str] = {}  # code: client name (the code itself if unnamed)
        self._code_of_name: dict[str, str] = {}  # a ContactInfo.client's name part: its code
        self._traffic: dict[str, list[int]] = {}  # code: [messages in, messages out, bytes in, bytes out]

    def clear(self) -> None:
        self._code_of.clear()
        self._traffic.clear()

    def code_of(self, address: tuple[str, int]) -> str | None:
        """The code ``address`` last sent in its ``v``, or None."""
        return self._code_of.get(address)

    def add_events(self, events: Iterable[Any]) -> None:
        """Learn from a batch of events: ``v`` of messages received, traffic both ways."""
        for ev in events:
            t = type(ev)
            if t is DatagramReceived:
                code = self._learn(ev.peer, ev.message.get(b"v"))
                counts = self._counts(code)
                counts[0] += 1
                counts[2] += ev.size
            elif t is DatagramSent:
                counts = self._counts(self._code_of.get(ev.peer, UNKNOWN))
                counts[1] += 1
                counts[3] += ev.size

    def rows(self, contacts: Iterable[Any] = ()) -> list[ClientRow]:
        """One row per code, most contacts (then most messages) first; ``contacts``: ContactInfo records."""
        rows: dict[str, ClientRow] = {}

        def row(code: str) -> ClientRow:
            if code not in rows:
                name = "no v" if code == UNKNOWN else "other clients" if code == OTHER else self._names.get(code, code)
                rows[code] = ClientRow(code, name)
            return rows[code]

        for info in contacts:
            row(self.contact_code(info)).contacts += 1
        for code, (m_in, m_out, b_in, b_out) in self._traffic.items():
            r = row(code)
            r.messages_in, r.messages_out, r.bytes_in, r.bytes_out = m_in, m_out, b_in, b_out
        return sorted(rows.values(), key=lambda r: (-r.contacts, -(r.messages_in + r.messages_out), r.code))

    def contact_code(self, info: "ContactInfo") -> str:
        """The client code of a routing-table contact (``ContactInfo``)."""
        contact = info.contact
        code = self._code_of.get((contact.host, contact.port))
        if code is not None:
            return code
        client = info.client
        if not client:
            return UNKNOWN
        for name, code in self._code_of_name.items():
            if client.startswith(name):
                return code
        first = str(client).split(" ", 1)[0]
        return first if len(first) == 2 else UNKNOWN

    # -- internals ----------------------------------------------------------------

    def _learn(self, peer: tuple[str, int], raw: Any) -> str:
        version = decode_client_version(raw)
        if version is None:
            return self._code_of.get(peer, UNKNOWN)
        code = version.code if version.code.isprintable() else UNKNOWN
        if code not in self._traffic and code not in self._names and len(self._names) >= self._max_codes:
            code = OTHER
        elif code != UNKNOWN:
            name = version.name or code
            self._names[code] = name
            self._code_of_name[name] = code
        codes = self._code_of
        codes[peer] = code
        codes.move_to_end(peer)
        while len(codes) > self._max_addresses:
            codes.popitem(last=False)
        return code

    def _counts(self, code: str) -> list[int]:
        counts = self._traffic.get(code)
        if counts is None:
            counts = self._traffic[code] = [0, 0, 0, 0]
        return counts
