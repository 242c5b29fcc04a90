"""The Mainline lookups a node runs: bootstrap, get_peers, announce, BEP 44 get/put, BEP 51.

Each drives the shared iterative lookup (:func:`dht.rpc.iterate.iterate`, the
sans-IO :class:`~dht.core.lookup.Lookup`) with a Mainline method, then acts on
what it found, as libtorrent does:

* bootstrap: a find_node for our own id through the given addresses (no
  join in Mainline), then on as a lookup; routers never enter the table;
* get_peers: the peers of every answer (BEP 5); with ``scrape``, the K
  closest responders are asked once more with ``scrape: 1`` and their
  BEP 33 filters OR-ed into seed and peer estimates (libtorrent answers a
  scrape with the filters instead of the peers, hence the second round);
* announce_peer: a get_peers lookup, then announce_peer with each token to
  the K closest responders;
* get (BEP 44): the item with a valid hash or signature (the highest seq of
  a mutable one; an immutable one ends the lookup at once);
* put: a get lookup for the target (tokens, and a mutable item's highest
  seq), then put at the K closest with a token;
* sample_infohashes (BEP 51): a lookup that skips nodes whose ``interval``
  has not passed and stops with ``count`` info-hashes.

A lookup whose remote candidates all failed raises :class:`RpcTimeout`;
events are LookupStarted/Queried/Answered/Finished with these ``kind`` s:
get_peers, announce_peer, get, put, sample_infohashes (bootstrap: find_node).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import bencodepy
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..rpc import clock
from ..rpc.iterate import iterate
from ..rpc.progress import LookupNode, Progress
from ..core.contact import Address, Contact
from ..core.errors import DHTError, KrpcError, LocalError, RpcTimeout
from ..rpc.inflight import describe
from .keys import load_or_create_key
from ..core.khash import new_id
from ..core.lookup import Lookup
from ..wire import bep44
from ..wire import mainline as ml
from ..wire.bloom import ScrapeBloom

if TYPE_CHECKING:
    from .stores.peers import PeerStore
    from .stores.samples import SampleBackoff


class MainlineLookupNode(LookupNode, Protocol):
    """What the Mainline lookups need besides :class:`~dht.rpc.progress.LookupNode`:
    requests to a bare address (BEP 44 puts to the nodes a get found)."""

    def request_address(
        self, address: Address, expected_id: bytes | None, method: str, args: Any,
        soft_timeout: float | None = None,
    ) -> asyncio.Future[Any]: ...


@dataclass(frozen=True, slots=True)
class PeersFound:
    """What a get_peers lookup found: peers (IP, port), and BEP 33 estimates when scraped."""

    info_hash: bytes
    peers: list[Address]
    seeds: float | None = None  # estimated seeds (BFsd), when scraped
    leechers: float | None = None  # estimated downloaders (BFpe), when scraped
    queried: int = 0  # requests the lookup sent


@dataclass(frozen=True, slots=True)
class FoundItem:
    """A BEP 44 item found: ``v`` is its bencoded value (:attr:`value` decodes it)."""

    target: bytes
    v: bytes
    seq: int | None = None  # mutable only, as are the rest
    public_key: bytes | None = None
    salt: bytes = b""
    signature: bytes | None = None

    @property
    def mutable(self) -> bool:
        return self.public_key is not None

    @property
    def value(self) -> Any:
        return bencodepy.decode(self.v)


class MutablePut(NamedTuple):
    """A mutable item put: its target, our public key, the seq it went out with, and
    how many nodes stored it."""

    target: bytes
    public_key: bytes
    seq: int
    stored: int


def bencoded(value: object) -> bytes:
    """A BEP 44 ``v``: bytes, text (UTF-8), an int, a list or a dict, bencoded (at most 1000 bytes)."""
    if isinstance(value, str):
        value = value.encode("utf-8")
    if isinstance(value, bool) or not isinstance(value, (bytes, int, list, dict)):
        raise LocalError(f"a BEP 44 value is bytes, text, an int, a list or a dict, not {type(value).__name__}")
    try:
        v: bytes = bencodepy.encode(value)
    except Exception as exc:  # bencodepy's errors for nested unsupported types
        raise LocalError(f"value cannot be bencoded: {exc}") from None
    if len(v) > bep44.MAX_VALUE_BYTES:
        raise LocalError(f"value is {len(v)} bytes bencoded; BEP 44 allows {bep44.MAX_VALUE_BYTES}")
    return v


def immutable_item_target(value: object) -> bytes:
    """BEP 44: the target an immutable item of ``value`` is stored under (SHA-1 of its bencoding)."""
    return bep44.immutable_target(bencoded(value))


def _answered_or_raise(node: MainlineLookupNode, lookup: Lookup, what: str) -> None:
    """RpcTimeout when remote nodes were asked and none answered."""
    remote = [c for c in lookup.candidates.values() if c.contact.id != node.id]
    asked = [c for c in remote if c.state != "new"]
    if asked and not any(c.state == "answered" for c in remote):
        raise RpcTimeout(f"no node answered the {what} lookup ({len(asked)} asked)")


async def _get_peers_lookup(
    node: MainlineLookupNode, info_hash: bytes, progress: Progress, own: PeerStore | None = None
) -> tuple[Lookup, dict[Address, None]]:
    """The get_peers lookup; without ``include_self`` our own peers are read from
    the store instead of through our handler (a get needs no token of ours)."""
    found: dict[Address, None] = {}
    include_self = own is None
    if own is not None:
        found = dict.fromkeys(own.peers(info_hash, clock.now()))

    def on_answer(lookup: Lookup, contact: Contact, resp: Any) -> None:
        for peer in resp.values:
            found.setdefault(peer, None)

    lookup = await iterate(node, info_hash, "get_peers", progress, on_answer, include_self=include_self)
    _answered_or_raise(node, lookup, "get_peers")
    return lookup, found


async def get_peers(node: MainlineLookupNode, info_hash: bytes, own: PeerStore, scrape: bool = False) -> PeersFound:
    progress = Progress(node, "get_peers", info_hash)
    lookup, found = await _get_peers_lookup(node, info_hash, progress, own)
    seeds = leechers = None
    if scrape:
        sd, pe = ScrapeBloom(), ScrapeBloom()
        query = ml.GetPeers(node.id, info_hash, scrape=True)

        async def ask(contact: Contact) -> None:
            progress.queried_one(contact)
            try:
                resp = ml.parse_response(
                    "get_peers", await node.request(contact, "get_peers", query, node.soft_timeout(contact))
                )
            except DHTError as exc:
                progress.outcome(contact, *describe(exc))
                return
            assert isinstance(resp, ml.PeersResponse)
            for peer in resp.values:
                found.setdefault(peer, None)
            if resp.seeds_bloom is not None and resp.peers_bloom is not None:
                sd.bits = sd.union(ScrapeBloom(resp.seeds_bloom)).bits
                pe.bits = pe.union(ScrapeBloom(resp.peers_bloom)).bits
            progress.outcome(contact, "values" if resp.values else "answered", "scrape")

        await asyncio.gather(*(ask(c.contact) for c in lookup.closest_answered()))
        seeds, leechers = sd.estimate(), pe.estimate()
    progress.finished(len(found))
    return PeersFound(info_hash, list(found), seeds, leechers, progress.queried)


async def _store_at(
    node: MainlineLookupNode, progress: Progress, lookup: Lookup, local: bool, method: str,
    make: Any,
) -> tuple[int, list[str]]:
    """Send ``make(token)`` to the K closest responders with a token; (accepted, refusals)."""
    targets = [
        c for c in lookup.closest_answered()
        if c.token is not None and (local or c.contact.id != node.id)
    ]
    accepted = 0
    refusals: list[str] = []

    async def send(contact: Contact, token: bytes) -> None:
        nonlocal accepted
        progress.queried_one(contact)
        try:
            await node.request(contact, method, make(token), node.soft_timeout(contact))  # resent if silent
        except DHTError as exc:
            refusals.append(f"{contact.host}:{contact.port}: {exc}")
            progress.outcome(contact, "refused", str(exc))
        else:
            accepted += 1
            progress.outcome(contact, "stored")

    await asyncio.gather(*(send(c.contact, c.token) for c in targets if c.token is not None))
    return accepted, refusals


async def announce_peer(node: MainlineLookupNode, info_hash: bytes, port: int, seed: bool, local: bool) -> int:
    progress = Progress(node, "announce_peer", info_hash)
    lookup, _ = await _get_peers_lookup(node, info_hash, progress)
    accepted, _ = await _store_at(
        node, progress, lookup, local, "announce_peer",
        lambda token: ml.AnnouncePeer(node.id, info_hash, port, token, implied_port=port == 0, seed=seed),
    )
    progress.finished(accepted)
    return accepted


def _stored_or_raise(accepted: int, refusals: list[str], what: str) -> None:
    if accepted:
        return
    if refusals:
        raise KrpcError(0, f"no node stored the {what}: " + "; ".join(refusals[:3]))
    raise RpcTimeout(f"no node offered a token for the {what}")


async def put_immutable(node: MainlineLookupNode, v: bytes, local: bool) -> bytes:
    target = bep44.immutable_target(v)
    progress = Progress(node, "put", target)
    lookup = await iterate(node, target, "get", progress)
    _answered_or_raise(node, lookup, "get")
    accepted, refusals = await _store_at(
        node, progress, lookup, local, "put", lambda token: ml.Put(node.id, token, v)
    )
    progress.finished(accepted)
    _stored_or_raise(accepted, refusals, "item")
    return target


def _key(key: Any) -> Ed25519PrivateKey:
    if isinstance(key, Ed25519PrivateKey):
        return key
    if isinstance(key, (str, os.PathLike)):
        return load_or_create_key(Path(key))
    raise LocalError(f"a mutable item needs an Ed25519PrivateKey or a key file path, not {type(key).__name__}")


async def put_mutable(node: MainlineLookupNode, key: Any, v: bytes, salt: bytes, local: bool) -> MutablePut:
    if len(salt) > bep44.MAX_SALT_BYTES:
        raise LocalError(f"salt is {len(salt)} bytes; BEP 44 allows {bep44.MAX_SALT_BYTES}")
    private = _key(key)
    k = bep44.public_key_bytes(private)
    target = bep44.mutable_target(k, salt)
    progress = Progress(node, "put", target)
    highest: list[int] = []

    def on_answer(lookup: Lookup, contact: Contact, resp: Any) -> None:
        if isinstance(resp, ml.ItemResponse) and resp.k == k and resp.holds(target, salt):
            assert resp.seq is not None
            highest.append(resp.seq)

    lookup = await iterate(node, target, "get", progress, on_answer)
    _answered_or_raise(node, lookup, "get")
    seq = max(highest) + 1 if highest else 1
    sig = bep44.sign(private, v, seq, salt)
    accepted, refusals = await _store_at(
        node, progress, lookup, local, "put", lambda token: ml.Put(node.id, token, v, k, seq, sig, salt)
    )
    progress.finished(accepted)
    _stored_or_raise(accepted, refusals, "item")
    return MutablePut(target, k, seq, accepted)


async def get_item(node: MainlineLookupNode, target: bytes, public_key: bytes | None, salt: bytes) -> FoundItem | None:
    progress = Progress(node, "get", target)
    best: list[FoundItem] = []

    def on_answer(lookup: Lookup, contact: Contact, resp: Any) -> None:
        if not isinstance(resp, ml.ItemResponse) or not resp.holds(target, salt):
            return
        if public_key is not None and resp.k != public_key:
            return
        assert resp.v is not None
        item = FoundItem(target, resp.v, resp.seq, resp.k, salt if resp.k else b"", resp.sig)
        if not best or (item.seq or 0) > (best[0].seq or 0):
            best[:] = [item]

    def done() -> bool:
        return bool(best) and not best[0].mutable  # an immutable item is the item

    lookup = await iterate(node, target, "get", progress, on_answer, stop=done)
    if not best:
        _answered_or_raise(node, lookup, "get")
    progress.finished(len(best))
    return best[0] if best else None


@dataclass(frozen=True, slots=True)
class Sampling:
    """What a BEP 51 walk found: info-hashes, and what the Samples panel estimates from.

    ``answered`` and ``num`` count the other nodes that answered (not ourselves):
    ``num`` is the sum of their ``num`` fields (the sizes of their stores);
    ``closest``: the K closest of them to ``target``, closest first (for
    :func:`dht.core.estimate.estimate_network_size`).
    """

    target: bytes
    info_hashes: list[bytes]  # distinct, at most the count asked for
    answered: int
    num: int
    closest: list[Contact]


async def sample_infohashes(
    node: MainlineLookupNode, count: int, target: bytes | None, backoff: SampleBackoff
) -> Sampling:
    target = target or new_id()
    progress = Progress(node, "sample_infohashes", target)
    found: dict[bytes, None] = {}
    answered = num = 0

    def on_answer(lookup: Lookup, contact: Contact, resp: Any) -> None:
        nonlocal answered, num
        if contact.id != node.id:
            backoff.record(contact.address, resp.interval, clock.now())
            answered += 1
            num += max(0, resp.num)
        for h in resp.samples:
            found.setdefault(h, None)

    def skip(contact: Contact) -> bool:
        return contact.id != node.id and not backoff.ready(contact.address, clock.now())

    lookup = await iterate(node, target, "sample_infohashes", progress, on_answer,
                           stop=lambda: len(found) >= count, skip=skip)
    result = list(found)[:count]
    progress.finished(len(result))
    closest = [c.contact for c in lookup.closest_answered(len(lookup.candidates)) if c.contact.id != node.id]
    return Sampling(target, result, answered, num, closest[: node.config.K])
