"""The Mainline protocol object: what a node speaking BitTorrent's DHT does that a Khashmir node does not.

:class:`MainlineProtocol` is the one object a Mainline node holds for its
profile (:mod:`dht.node.protocols` chooses it, once).  It answers through
:class:`~dht.mainline.handlers.MainlineHandlers` (BEP 5, 33, 44, 51, with
the peer, item and sample stores in memory); it runs the Mainline lookups
(:mod:`dht.mainline.lookups`); its tokens rotate every TOKEN_INTERVAL.

It also keeps what a Mainline answer tells besides its values: the
responder's client (``v``) and a vote for our external address (``ip``).
Votes come only from answers to our lookups' queries, one per address block
and by a majority (:class:`dht.core.ids.ExternalAddressVotes`).  When the
vote's winner changes to an address that is neither local nor private, the
node takes a BEP 42 id made for it and rebuilds its routing table around
that id with the same contacts (:meth:`MainlineHost.adopt_id`).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Awaitable, Protocol

from ..rpc import clock
from ..core import ids
from ..core.contact import Address, Contact
from ..core.errors import LocalError
from ..crawl.spec import FindNodeAnswer
from ..core.family import FAMILIES, Family
from ..rpc.bootstrap import bootstrap
from ..wire.common import client_text, decode_client_version
from . import lookups
from .handlers import HandlerNode, MainlineHandlers
from .lookups import FoundItem, MainlineLookupNode, MutablePut, PeersFound, Sampling
from .stores.items import StoredItemInfo
from .stores.peers import StoredPeerInfo

if TYPE_CHECKING:
    from ..core.events import EventBus

#: The queries whose answers vote for our external address: our lookups' (BEP 42).
VOTING_METHODS = frozenset(("find_node", "get_peers", "get", "sample_infohashes"))


class MainlineHost(HandlerNode, MainlineLookupNode, Protocol):
    """What a Mainline node's protocol object needs of the node: what its handlers and
    lookups need, plus background tasks, warnings and taking a new id."""

    def spawn(self, coro: Any) -> "asyncio.Task[Any]": ...

    def warn(self, text: str) -> None: ...

    def adopt_id(self, new_id: bytes) -> None: ...

    @property
    def events(self) -> "EventBus": ...

    @property
    def running(self) -> bool: ...


class MainlineProtocol:
    """One Mainline node's handlers and stores, lookups, clients and external address."""

    name = "mainline"
    #: contacts' ids are checked against their IPs (BEP 42)
    checks_ids = True
    #: IPv4 and IPv6 (BEP 32)
    families: tuple[Family, ...] = FAMILIES

    def __init__(self, node: MainlineHost) -> None:
        self.node = node
        self.handlers = MainlineHandlers(node)
        #: a peer's query answered (the transport calls it for every query)
        self.dispatch = self.handlers.dispatch
        #: the client (``v``) of nodes that answered us, by id (as many as the table holds)
        self.clients: dict[bytes, str] = {}
        self.external = ids.ExternalAddressVotes(node.config.EXTERNAL_ADDRESS_VOTES)
        self._token_timer: asyncio.TimerHandle | None = None  # the next rotation of the token secrets

    # --- what the node asks of its protocol ----------------------------------

    def local(self, method: str, args: Any) -> Any:
        """Our own answer to our own query; its events told (an announce or a put to ourselves)."""
        response, effects = self.handlers.local(method, args, clock.now())
        events = self.node.events
        if events.active:
            for event in effects:
                events.emit(event)
        return response

    def run_job(self, job: Any) -> Awaitable[Any]:
        """A Mainline node's handlers never wait for storage (its stores are in memory)."""
        raise LocalError(f"a Mainline node runs no storage jobs ({job!r})")

    def admissible(self, contact: Contact) -> bool:
        """ENFORCE_NODE_ID: only ids valid for their IP under BEP 42 (local, private exempt)."""
        return not self.node.config.ENFORCE_NODE_ID or ids.id_matches_ip(contact.id, contact.host)

    def answered(self, responder: Contact, envelope: Any, method: str) -> None:
        """What a Mainline answer to our ``method`` query tells besides its values: the
        responder's client (``v``) and, as a vote, our external address (``ip``, BEP 42)
        -- only from the answer to a lookup's query, a node we chose to ask: never a
        ping's, which may be the verification of a stranger that queried us."""
        version = client_text(envelope.client)
        if version is not None:
            clients = self.clients
            if responder.id not in clients and len(clients) >= 64 and len(clients) >= 2 * len(self.node.table):
                del clients[next(iter(clients))]
            clients[responder.id] = version  # client_text's: one string per client name
        if method not in VOTING_METHODS or envelope.ip is None:
            return
        if self.external.vote(envelope.ip[0], responder.host):
            self._external_address_changed(self.external.leader)

    def _external_address_changed(self, address: str | None) -> None:
        """BEP 42: take an id made for our new external address (not for a local or
        private one, where any id is valid); the table is rebuilt around it."""
        node = self.node
        if address is None or ids.is_exempt(address) or ids.id_matches_ip(node.id, address):
            return
        node.adopt_id(ids.node_id_for(address))
        node.warn(f"external address {address}: new BEP 42 node id {node.id.hex()}")

    def started(self, now: float) -> None:
        self.handlers.started(now)
        if self._token_timer is not None:  # started again before the last one's fired
            self._token_timer.cancel()
        self._arm_tokens()

    def _arm_tokens(self) -> None:
        """New token secrets every TOKEN_INTERVAL (two kept): a timer, not a task asleep
        (about 1 KB a node in a lab of thousands); it ends with the node."""
        self._token_timer = asyncio.get_running_loop().call_later(self.node.config.TOKEN_INTERVAL, self._rotate)

    def _rotate(self) -> None:
        self._token_timer = None
        if self.node.running:
            self.handlers.tokens.rotate()
            self._arm_tokens()

    def checkpoint_begin(self, now: float) -> None:
        self.handlers.expire(now)

    def id_changed(self, new_id: bytes) -> None:
        self.handlers.items.node_id = new_id

    def held(self) -> tuple[int, int]:
        """(info-hashes and items held, peers and items held), for the statistics."""
        peers, items = self.handlers.peers, self.handlers.items
        return len(peers) + len(items), peers.total_peers + len(items)

    def external_address(self) -> tuple[str, int] | None:
        """Our external address as the votes have it, with its votes (None: no majority yet)."""
        leader = self.external.leader
        return None if leader is None else (leader, self.external.leader_votes)

    # --- joining ---------------------------------------------------------------

    async def join(self, host: str, port: int) -> Address:
        """Mainline has no join: a ping, whose answer's ``ip`` (BEP 42) says our address."""
        envelope = await self.node.request_address((host, port), None, "ping", {b"id": self.node.id})
        ip: Address | None = envelope.ip
        return ip if ip is not None else self.node.contact.address

    async def bootstrap(
        self, addresses: list[Address], routers: list[Address], foreign: list[Contact] | None = None
    ) -> None:
        """find_node of our id through each address and router; ``foreign`` gets the
        other family's nodes the answers carry (asked with ``want`` on a dual-stack node)."""
        await bootstrap(self.node, addresses, routers, foreign)

    # --- the Mainline API (BEP 5, 33, 44, 51) -----------------------------------

    async def get_peers(self, info_hash: bytes, scrape: bool = False) -> PeersFound:
        """The peers announced for ``info_hash`` (BEP 5); with ``scrape``, BEP 33 estimates
        of its seeds and downloaders too (one more request to each of the K closest)."""
        return await lookups.get_peers(self.node, _hash20(info_hash, "info_hash"), self.handlers.peers, scrape)

    async def announce_peer(self, info_hash: bytes, port: int, seed: bool = False, local: bool = True) -> int:
        """Announce that we serve ``info_hash`` on ``port`` (0: the port we send from,
        BEP 5's implied_port) to the closest nodes; returns how many accepted."""
        if not isinstance(port, int) or not 0 <= port <= 0xFFFF:
            raise LocalError(f"port {port!r} is out of range 0-65535")
        return await lookups.announce_peer(self.node, _hash20(info_hash, "info_hash"), port, seed, local)

    async def put_immutable(self, value: object, local: bool = True) -> bytes:
        """Store a BEP 44 immutable item (bytes, int, list or dict); returns its target."""
        return await lookups.put_immutable(self.node, lookups.bencoded(value), local)

    async def put_mutable(self, key: Any, value: object, salt: bytes = b"", local: bool = True) -> MutablePut:
        """Store a BEP 44 mutable item signed by ``key`` (an Ed25519PrivateKey or a key
        file's path, created on first use), its seq one above the highest found."""
        return await lookups.put_mutable(self.node, key, lookups.bencoded(value), salt, local)

    async def get_item(self, target: bytes, public_key: bytes | None = None, salt: bytes = b"") -> FoundItem | None:
        """The BEP 44 item under ``target`` (mutable: the highest seq found, signed by
        ``public_key`` when given), None when no node holds it."""
        return await lookups.get_item(self.node, _hash20(target, "target"), public_key, salt)

    async def sample_infohashes(self, count: int = 20, target: bytes | None = None) -> Sampling:
        """Up to ``count`` info-hashes sampled from the nodes around ``target`` (random if
        None; BEP 51), honouring each node's ``interval``; with what the walk saw."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise LocalError(f"count must be a positive integer, not {count!r}")
        if target is not None:
            target = _hash20(target, "target")
        return await lookups.sample_infohashes(self.node, count, target, self.handlers.backoff)

    async def stored_peers(self) -> list[StoredPeerInfo]:
        return self.handlers.peers.stored(clock.now())

    async def stored_items(self) -> list[StoredItemInfo]:
        return self.handlers.items.stored(clock.now())

    # --- crawling (dht/node/crawling.py) ------------------------------------------

    async def find_node_at(self, address: Address, target: bytes, expected_id: bytes | None = None) -> FindNodeAnswer:
        """A crawl's find_node of ``target`` at ``address``: the responder's id, the
        contacts it listed (IPv4) and its client (``v``)."""
        profile = self.node.profile
        query = profile.lookup_args("find_node", self.node.id, target)
        envelope = await self.node.request_address(address, expected_id, "find_node", query)
        nodes = profile.lookup_answer("find_node", envelope)[0]
        version = decode_client_version(envelope.client)
        return FindNodeAnswer(profile.response_id(envelope), tuple(nodes),
                              None if version is None else str(version), envelope.client if version else None)


def _hash20(value: bytes, name: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != 20:
        raise LocalError(f"{name} must be 20 bytes, not {value!r:.60}")
    return value
