"""The Mainline remote interface: the BEP 5, 33, 44 and 51 queries a node answers.

:class:`MainlineHandlers` holds what a Mainline node keeps besides the
shared routing table: the peer store (announce_peer, get_peers, BEP 33
scrapes), the BEP 44 item store, the BEP 51 sampler and the backoff we
honour when asking, and its tokens (the first 4 bytes of
``sha1(secret + IP + target)``, two secrets rotated every TOKEN_INTERVAL,
bound as libtorrent binds them to the asker's IP and to the info-hash
(get_peers, announce_peer) or the item's target (get, put): a stale or
foreign token gets 203).  Queries are read by the codec's method table
(:func:`dht.wire.mainline.parse_query`: unknown arguments ignored, bad
ones 203) and dispatched through the explicit :attr:`handlers` table,
keyed by the typed arguments' class.

Cheap or refused, before the work: once a query is parsed, what its answer
will cost (its expected bytes: nodes, peers, the scrape's two filters, the
item) is charged to the asker's reply budget
(:meth:`dht.core.limits.Limits.charge_answer`); a scrape or a put is also one of
the node's GLOBAL_EXPENSIVE_RATE answers a second.  A query that cannot pay
is dropped unanswered (counted "reply budget" or "busy") before the stores
are touched or the sender is offered to the table.

The handlers are plain functions of the query, its sender and ``now``:
they return an :class:`~dht.machine.replies.Answer` and never call their
node.  The sender of a query is offered to the routing table as the Khashmir
handlers do (the answer's :class:`~dht.machine.replies.SenderSeen` effect,
which the node carries out: as a contact that has not answered yet) and pinged, as Khashmir pings a joining node
(there is no join in Mainline; libtorrent pings its unconfirmed nodes
too), so that it is handed out once it answers; except when it says ``ro: 1`` (BEP 43: answered,
never offered) or, with ENFORCE_NODE_ID, its id is not valid for its IP
(BEP 42).  A read-only node (READ_ONLY) answers nothing.

The local node asks itself through :meth:`local`, which answers with the
same :class:`dht.wire.mainline.Response` a remote node's datagram becomes,
so lookups count local peers and items like anyone else's.  Time comes from
the shell as ``now``, into the sans-IO stores.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Protocol, TypedDict

from ..core import ids
from ..core.contact import Address, Contact
from ..core.errors import KrpcError
from ..core.family import Family, family_of, wanted
from ..core.events import ItemStored, PeerAnnounced
from .stores.items import ItemStore
from .stores.peers import PeerStore
from .stores.samples import InfohashSampler, SampleBackoff
from ..core.tokens import TokenSecrets
from ..machine.replies import Answer, QueryDropped, SenderSeen
from ..wire import bep44
from ..wire import mainline as ml
from ..wire.bloom import BLOOM_BYTES, ScrapeBloom
from ..wire.codes import MAINLINE, Meaning
from ..wire.mainline.codec import _response_dict
from ..wire.mainline.profile import query_args

if TYPE_CHECKING:
    from ..core.config import Config
    from ..core.events import EventBus
    from ..core.limits import Limits
    from ..core.routing import RoutingTable


class HandlerNode(Protocol):
    """What the Mainline handlers read of their node: its id, settings, table, limits,
    bootstrap routers and whether anyone listens to its events (they change nothing of it:
    what they do is their answer's effects)."""

    @property
    def id(self) -> bytes: ...

    @property
    def config(self) -> "Config": ...

    @property
    def routers(self) -> set[Address]: ...

    @property
    def contact(self) -> Contact: ...

    @property
    def table(self) -> "RoutingTable": ...

    @property
    def limits(self) -> "Limits": ...

    @property
    def events(self) -> "EventBus": ...

    @property
    def family(self) -> Family: ...

    def table_for(self, family: Family) -> "RoutingTable | None": ...


#: A read-only node's answer to every query: none.
NO_ANSWER = Answer(None)

#: The well-known Mainline bootstrap routers (never used unless asked for).
PUBLIC_ROUTERS: tuple[Address, ...] = (
    ("router.bittorrent.com", 6881),
    ("router.utorrent.com", 6881),
    ("dht.transmissionbt.com", 6881),
    ("dht.libtorrent.org", 25401),
)

#: Mainline tokens: secrets kept and bytes per token (libtorrent: 2 and 4).
TOKEN_SECRETS = 2
TOKEN_BYTES = 4

Handler = Callable[[Any, Address, float], Answer]


class Closest(TypedDict, total=False):
    """An answer's nodes by field (BEP 32)."""

    nodes: tuple[Contact, ...]
    nodes6: tuple[Contact, ...]


#: Expected answer sizes, in bytes, charged before an answer is built: the envelope
#: (t, y, v, ip, id), one compact node info, a peer (6 bytes and its length), a token,
#: a scrape's two filters, an item's key, signature and seq.
ENVELOPE_BYTES = 80
NODE_BYTES = 26  # IPv4; a family's own is Family.node_size
PEER_BYTES = 8
TOKEN_FIELD_BYTES = 16
SCRAPE_BYTES = 2 * (BLOOM_BYTES + 12)
ITEM_EXTRA_BYTES = 130
SAMPLE_BYTES = 20


class MainlineHandlers:
    def __init__(self, node: HandlerNode) -> None:
        self.node = node
        settings = node.config.STORES
        self.peers = PeerStore(settings)
        self.items = ItemStore(node.id, settings)
        self.sampler = InfohashSampler(settings)
        self.backoff = SampleBackoff(settings)
        self.tokens = TokenSecrets(TOKEN_SECRETS, TOKEN_BYTES)
        #: the answer to a ping (immutable, made again when the node's id changes)
        self._pong = Answer(ml.IdResponse(node.id))
        self.handlers: dict[type, Handler] = {
            ml.Ping: self.ping,
            ml.FindNode: self.find_node,
            ml.GetPeers: self.get_peers,
            ml.AnnouncePeer: self.announce_peer,
            ml.Get: self.get,
            ml.Put: self.put,
            ml.SampleInfohashes: self.sample_infohashes,
        }

    def started(self, now: float) -> None:
        self.items.node_id = self.node.id
        # A lab on one address: its nodes share our IP (the limits' own loopback address, if any).
        self.peers.exempt_host = self.items.exempt_host = self.node.limits.own_ip

    def expire(self, now: float) -> None:
        self.peers.expire(now)
        self.items.expire(now)

    # --- entry points -------------------------------------------------------

    def dispatch(self, query: ml.Query, peer: Address, now: float) -> Answer:
        """The answer to a peer's query (values None: not answered, we are read-only)."""
        if self.node.config.READ_ONLY:
            return NO_ANSWER
        args = ml.parse_query(query)
        self._charge(args, peer, now)
        try:
            answer = self.handlers[type(args)](args, peer, now)
        except KrpcError as exc:  # answered with the error, the sender seen all the same
            answer = Answer(exc)
        if query.ro or not self._offered(args.id, peer):
            return answer
        return Answer(answer.values, (SenderSeen(args.id, peer, True),) + answer.effects)

    def _charge(self, args: Any, peer: Address, now: float) -> None:
        """Charge the answer's expected cost to the asker before any work (QueryDropped if it cannot pay)."""
        if type(args) is ml.Ping:  # the commonest: the envelope alone, never expensive
            refused = self.node.limits.charge_answer(peer[0], ENVELOPE_BYTES, now, False)
            if refused is not None:
                raise QueryDropped(refused)
            return
        expensive = isinstance(args, ml.Put) or (isinstance(args, ml.GetPeers) and bool(args.scrape))
        refused = self.node.limits.charge_answer(peer[0], self.expected_size(args, now), now, expensive)
        if refused is not None:
            raise QueryDropped(refused)

    def expected_size(self, args: Any, now: float) -> int:
        """About how many bytes the answer to ``args`` takes (known before it is built)."""
        size = ENVELOPE_BYTES
        if isinstance(args, (ml.Ping, ml.AnnouncePeer, ml.Put)):
            return size
        families = wanted(getattr(args, "want", ()), self.node.family)
        size += sum(f.node_size for f in families) * self.node.table.k
        if isinstance(args, ml.GetPeers):
            held = min(self.peers.swarm_size(args.info_hash), self.node.config.STORES.dht_max_peers_reply)
            size += TOKEN_FIELD_BYTES + PEER_BYTES * held + (SCRAPE_BYTES if args.scrape else 0)
        elif isinstance(args, ml.Get):
            item = self.items.get(args.target, now)
            size += TOKEN_FIELD_BYTES + (len(item.v) + ITEM_EXTRA_BYTES if item is not None else 0)
        elif isinstance(args, ml.SampleInfohashes):
            size += SAMPLE_BYTES * self.node.config.STORES.dht_max_infohashes_sample_count
        return size

    def local(self, method: str, args: Any, now: float) -> tuple[ml.Response, tuple[Any, ...]]:
        """Our own answer to our own query, as the envelope a remote answer becomes, and its effects."""
        typed = query_args(method, args)
        answer = self.handlers[type(typed)](typed, self.node.contact.address, now)
        return ml.Response(b"", _response_dict(answer.values), None, None), answer.effects

    def _offered(self, node_id: bytes, peer: Address) -> bool:
        """Whether a query's sender is offered to the table (BEP 42 when enforced; never a router)."""
        node = self.node
        if node.config.ENFORCE_NODE_ID and not ids.id_matches_ip(node_id, peer[0]):
            return False
        return peer not in node.routers

    # --- helpers ------------------------------------------------------------

    def _closest(self, target: bytes, want: tuple[bytes, ...] = ()) -> Closest:
        """The K closest contacts that answered us, of each family the asker wants
        (BEP 32; its own when it says nothing), by field: ``nodes``, ``nodes6``."""
        found: Closest = {}
        for family in wanted(want, self.node.family):
            table = self.node.table_for(family)
            if table is not None:
                entries = table.closest_entries(target, answered_only=True)
                found[family.nodes_field] = tuple(e.contact for e in entries)  # type: ignore[literal-required]
        return found

    def _check_token(self, token: bytes, ip: str, target: bytes) -> None:
        if not self.tokens.check(token, ip, target):
            raise MAINLINE.error(Meaning.INVALID_TOKEN, "invalid token")

    # --- BEP 5 ---------------------------------------------------------------

    def ping(self, args: ml.Ping, peer: Address, now: float) -> Answer:
        node_id = self.node.id
        pong = self._pong
        if pong.values.id is not node_id:  # the id changed (BEP 42): a new answer
            pong = self._pong = Answer(ml.IdResponse(node_id))
        return pong

    def find_node(self, args: ml.FindNode, peer: Address, now: float) -> Answer:
        return Answer(ml.NodesResponse(self.node.id, **self._closest(args.target, args.want)))

    def get_peers(self, args: ml.GetPeers, peer: Address, now: float) -> Answer:
        """Peers (random sample) and always nodes; a token unless the swarm is full
        for this IP; BEP 33 filters when scraped."""
        ip = peer[0]
        token = self.tokens.token_for(ip, args.info_hash) if self.peers.accepts(args.info_hash, ip) else None
        values = tuple(self.peers.peers(args.info_hash, now, ipv6=family_of(ip).ipv6, noseed=args.noseed))
        seeds = leechers = None
        if args.scrape:
            blooms = self.peers.scrape(args.info_hash, now)
            empty = ScrapeBloom().to_bytes()
            seeds, leechers = blooms if blooms is not None else (empty, empty)
        return Answer(ml.PeersResponse(
            self.node.id, token, values, seeds_bloom=seeds, peers_bloom=leechers,
            **self._closest(args.info_hash, args.want),
        ))

    def announce_peer(self, args: ml.AnnouncePeer, peer: Address, now: float) -> Answer:
        self._check_token(args.token, peer[0], args.info_hash)
        address = (peer[0], args.peer_port(peer[1]))
        if not self.peers.announce(args.info_hash, address, args.seed, now):
            raise MAINLINE.error(Meaning.GENERIC, "peer store full")
        if not self.node.events.active:  # an event is built only for a listener
            return Answer(ml.IdResponse(self.node.id))
        return Answer(ml.IdResponse(self.node.id), (PeerAnnounced(now, args.info_hash, address, args.seed),))

    # --- BEP 44 ----------------------------------------------------------------

    def get(self, args: ml.Get, peer: Address, now: float) -> Answer:
        """The item when held (and newer than ``seq`` if given), with nodes and a token."""
        item = self.items.get(args.target, now)
        token = self.tokens.token_for(peer[0], args.target)
        nodes = self._closest(args.target)
        if item is None:
            return Answer(ml.ItemResponse(self.node.id, token, **nodes))
        if not item.newer_than(args.seq):
            return Answer(ml.ItemResponse(self.node.id, token, seq=item.seq, **nodes))
        return Answer(ml.ItemResponse(self.node.id, token, v=item.v, k=item.k, seq=item.seq, sig=item.sig, **nodes))

    def put(self, args: ml.Put, peer: Address, now: float) -> Answer:
        """Token (203), signature (206), then the store's rules (205, 207, 301, 302)."""
        if args.k is None:
            target = bep44.immutable_target(args.v)
        else:
            target = bep44.mutable_target(args.k, args.salt)
        self._check_token(args.token, peer[0], target)
        if args.k is None:
            item = self.items.put_immutable(args.v, peer[0], now)
        else:
            ml.check_signature(args)
            assert args.seq is not None and args.sig is not None
            item = self.items.put_mutable(args.k, args.salt, args.seq, args.sig, args.v, args.cas, peer[0], now)
        if not self.node.events.active:  # an event is built only for a listener
            return Answer(ml.IdResponse(self.node.id))
        return Answer(ml.IdResponse(self.node.id), (ItemStored(now, item.target, item.seq, len(item.v)),))

    # --- BEP 51 ------------------------------------------------------------------

    def sample_infohashes(self, args: ml.SampleInfohashes, peer: Address, now: float) -> Answer:
        sample = self.sampler.sample(self.peers.info_hashes(), now)
        return Answer(ml.SamplesResponse(
            self.node.id, sample.interval, sample.num, sample.samples, **self._closest(args.target)
        ))
