"""The Mainline half of :class:`dht.node.core.NodeCore`: its public coroutines and BEP 42 identity.

A mixin of :class:`~dht.node.core.NodeCore` (as :class:`dht.khashmir.remote.RemoteInterface` is
for Khashmir's handlers): the coroutines of the Mainline profile
(:meth:`get_peers`, :meth:`announce_peer`, :meth:`put_immutable`,
:meth:`put_mutable`, :meth:`get_item`, :meth:`sample_infohashes`), which
run the lookups of :mod:`dht.mainline.lookups`, and what a Mainline answer
tells besides its values: the responder's client (``v``) and a vote for our
external address (``ip``).  When the vote's winner changes to an address
that is neither local nor private, the node takes a BEP 42 id made for it
and rebuilds its routing table around that id with the same contacts, each
keeping its answered state and RTT (:meth:`dht.core.routing.RoutingTable.adopt`).
Votes come only from answers to our lookups' queries, one per address block
and by a majority (:class:`dht.core.ids.ExternalAddressVotes`).
Each coroutine checks that the node speaks Mainline (LocalError otherwise).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, cast

from ..mainline import lookups as mainline_lookups
from ..core import ids
from ..mainline.lookups import FoundItem, MutablePut, PeersFound, Sampling
from ..core.config import Config
from ..core.contact import Contact
from ..core.errors import LocalError
from ..core.events import EventBus
from ..mainline.handlers import MainlineHandlers
from ..core.routing import RoutingTable
from ..mainline.stores.items import StoredItemInfo
from ..mainline.stores.peers import StoredPeerInfo
from ..wire.common import decode_client_version

if TYPE_CHECKING:
    from .core import NodeCore

#: The queries whose answers vote for our external address: our lookups' (BEP 42).
VOTING_METHODS = frozenset(("find_node", "get_peers", "get", "sample_infohashes"))


class MainlineAPI:
    """The Mainline coroutines and identity of a node (a mixin of NodeCore, which provides the state)."""

    id: bytes
    running: bool
    config: Config
    events: EventBus
    mainline: MainlineHandlers | None
    clients: dict[bytes, str]
    external: ids.ExternalAddressVotes

    @property
    def table(self) -> RoutingTable:
        raise NotImplementedError

    def _warn(self, text: str) -> None:
        raise NotImplementedError

    def adopt_id(self, new_id: bytes) -> None:
        raise NotImplementedError

    @property
    def _node(self) -> "NodeCore":
        return cast("NodeCore", self)

    def _mainline_answer(self, responder: Contact, envelope: Any, method: str) -> None:
        """What a Mainline answer to our ``method`` query tells besides its values: the
        responder's client (``v``) and, as a vote, our external address (``ip``, BEP 42)
        -- only from the answer to a lookup's query, a node we chose to ask: never a
        ping's, which may be the verification of a stranger that queried us."""
        version = decode_client_version(envelope.client)
        if version is not None:
            if responder.id not in self.clients and len(self.clients) >= max(64, 2 * len(self.table)):
                del self.clients[next(iter(self.clients))]
            self.clients[responder.id] = str(version)
        if method not in VOTING_METHODS or envelope.ip is None:
            return
        if self.external.vote(envelope.ip[0], responder.host):
            self._external_address_changed(self.external.leader)


    def _external_address_changed(self, address: str | None) -> None:
        """BEP 42: take an id made for our new external address (not for a local or
        private one, where any id is valid); the table is rebuilt around it."""
        if address is None or ids.is_exempt(address) or ids.id_matches_ip(self.id, address):
            return
        self.adopt_id(ids.node_id_for(address))
        self._warn(f"external address {address}: new BEP 42 node id {self.id.hex()}")


    def _khashmir(self, what: str) -> None:
        if self.mainline is not None:
            raise LocalError(f"{what} is a Khashmir method; this node speaks Mainline")

    def _mainline(self, what: str) -> MainlineHandlers:
        if self.mainline is None:
            raise LocalError(f"{what} is a Mainline method; this node speaks Khashmir")
        if not self.running:
            raise LocalError("node is not running")
        return self.mainline

    # --- Mainline (BEP 5, 33, 44, 51) ---------------------------------------

    async def get_peers(self, info_hash: bytes, scrape: bool = False) -> PeersFound:
        """The peers announced for ``info_hash`` (BEP 5); with ``scrape``, BEP 33 estimates
        of its seeds and downloaders too (one more request to each of the K closest)."""
        self._mainline("get_peers")
        return await mainline_lookups.get_peers(self._node, _hash20(info_hash, "info_hash"), scrape)

    async def announce_peer(self, info_hash: bytes, port: int, seed: bool = False, local: bool = True) -> int:
        """Announce that we serve ``info_hash`` on ``port`` (0: the port we send from,
        BEP 5's implied_port) to the closest nodes; returns how many accepted."""
        self._mainline("announce_peer")
        if not isinstance(port, int) or not 0 <= port <= 0xFFFF:
            raise LocalError(f"port {port!r} is out of range 0-65535")
        return await mainline_lookups.announce_peer(self._node, _hash20(info_hash, "info_hash"), port, seed, local)

    async def put_immutable(self, value: object, local: bool = True) -> bytes:
        """Store a BEP 44 immutable item (bytes, int, list or dict); returns its target."""
        self._mainline("put_immutable")
        return await mainline_lookups.put_immutable(self._node, mainline_lookups.bencoded(value), local)

    async def put_mutable(
        self, key: Any, value: object, salt: bytes = b"", local: bool = True
    ) -> MutablePut:
        """Store a BEP 44 mutable item signed by ``key`` (an Ed25519PrivateKey or a key
        file's path, created on first use), its seq one above the highest found."""
        self._mainline("put_mutable")
        return await mainline_lookups.put_mutable(self._node, key, mainline_lookups.bencoded(value), salt, local)

    async def get_item(self, target: bytes, public_key: bytes | None = None, salt: bytes = b"") -> FoundItem | None:
        """The BEP 44 item under ``target`` (mutable: the highest seq found, signed by
        ``public_key`` when given), None when no node holds it."""
        self._mainline("get_item")
        return await mainline_lookups.get_item(self._node, _hash20(target, "target"), public_key, salt)

    async def sample_infohashes(self, count: int = 20, target: bytes | None = None) -> Sampling:
        """Up to ``count`` info-hashes sampled from the nodes around ``target`` (random if
        None; BEP 51), honouring each node's ``interval``; with what the walk saw
        (:class:`~dht.mainline.lookups.Sampling`)."""
        self._mainline("sample_infohashes")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise LocalError(f"count must be a positive integer, not {count!r}")
        if target is not None:
            target = _hash20(target, "target")
        return await mainline_lookups.sample_infohashes(self._node, count, target)

    async def stored_peers(self) -> list[StoredPeerInfo]:
        """The peers announced to this node (Mainline; [] on Khashmir or before start)."""
        if self.mainline is None or not self.running:
            return []
        return self.mainline.peers.stored(time.monotonic())

    async def stored_items(self) -> list[StoredItemInfo]:
        """The BEP 44 items put on this node (Mainline; [] on Khashmir or before start)."""
        if self.mainline is None or not self.running:
            return []
        return self.mainline.items.stored(time.monotonic())

def _hash20(value: bytes, name: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != 20:
        raise LocalError(f"{name} must be 20 bytes, not {value!r:.60}")
    return value
