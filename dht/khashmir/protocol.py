"""The Khashmir protocol object: what a node speaking apt-p2p's wire does that a Mainline node does not.

:class:`KhashmirProtocol` is the one object a Khashmir node holds for its
profile (:mod:`dht.node.protocols` chooses it, once).  It answers the
network through :class:`~dht.khashmir.dispatch.KhashmirHandlers` (storage
queries off the receive path) and itself through the seed's handlers
(:class:`~dht.khashmir.remote.KhashmirRemote`); it joins as the seed does;
it runs the value lookups (:mod:`dht.khashmir.lookups`); its store tokens
rotate at each checkpoint.  It sees its node through :class:`KhashmirHost`
alone.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from ..core.contact import Address, Contact
from ..core.errors import KrpcError, LocalError, RemoteProtocolError, StoreRefused
from ..core.events import EventBus
from ..machine.replies import Answer, Deferred, SenderSeen
from ..rpc import clock
from ..wire.codes import KHASHMIR, Meaning
from ..core.tokens import TokenSecrets
from ..crawl.spec import FindNodeAnswer
from ..rpc.bootstrap import BootstrapNode, ask_each, bootstrap
from ..storage import Store, StoredValueInfo
from ..wire import krpc
from . import lookups
from .dispatch import KhashmirHandlers, ReadValues, WriteValue
from .lookups import StoreResult
from .remote import KhashmirRemote


class KhashmirHost(BootstrapNode, Protocol):
    """What a Khashmir node's protocol object needs of the node: a lookup's view of it,
    its address, whether it runs, its store and events, and the lookup of its own
    neighbourhood."""

    @property
    def address(self) -> Address: ...

    @property
    def running(self) -> bool: ...

    @property
    def store(self) -> Store: ...

    @property
    def events(self) -> EventBus: ...

    async def find_close_nodes(self) -> list[Contact]: ...


class KhashmirProtocol:
    """One Khashmir node's handlers, tokens, join and value lookups (see the module's docstring)."""

    name = "khashmir"
    #: contacts' ids are not checked against their IPs (BEP 42 is Mainline's)
    checks_ids = False

    def __init__(self, node: KhashmirHost) -> None:
        self.node = node
        self.tokens = TokenSecrets()
        self.remote = KhashmirRemote(node, self.tokens)
        #: the network's dispatch: storage queries answered off the receive path
        self.handlers = KhashmirHandlers(node, self.remote)
        #: a peer's query answered (the transport calls it for every query)
        self.dispatch = self.handlers.dispatch
        self.clients: dict[bytes, str] = {}  # Khashmir answers carry no client version

    # --- what the node asks of its protocol ----------------------------------

    def local(self, method: str, args: Any) -> "dict[bytes, Any] | asyncio.Future[dict[bytes, Any]]":
        """Our own answer to our own query (the local node is a lookup's candidate): the
        seed's handler, or, for get_value and store_value, a task that reads or writes on
        the storage thread (never SQLite on the loop).  Its events are told."""
        checked = krpc.check_arguments(krpc.Query(b"", method, args))
        reply = self.handlers.local(method, checked, clock.now())
        if isinstance(reply, Deferred):
            return asyncio.ensure_future(self._finish_locally(reply))
        return self._values(reply)

    async def _finish_locally(self, deferred: Deferred) -> dict[bytes, Any]:
        try:
            result = await self.run_job(deferred.job)
        finally:
            deferred.release()
        return self._values(deferred.finish(result, clock.now()))

    def _values(self, answer: Answer) -> dict[bytes, Any]:
        """A local answer's values (its error raised), its events told."""
        events = self.node.events
        if events.active:
            for effect in answer.effects:
                if not isinstance(effect, SenderSeen):
                    events.emit(effect)
        if isinstance(answer.values, KrpcError):
            raise answer.values
        values: dict[bytes, Any] = answer.values
        return values

    async def run_job(self, job: Any) -> Any:
        """A storage job of the handlers, on the store's storage thread."""
        store = self.node.store
        if type(job) is ReadValues:
            return await store.values_async(job.key)
        assert type(job) is WriteValue
        try:
            return await store.store_value_async(job.key, job.value, job.stored_at, job.publisher)
        except StoreRefused as exc:
            raise KHASHMIR.error(Meaning.GENERIC, str(exc)) from None

    def admissible(self, contact: Contact) -> bool:
        return True

    def answered(self, responder: Contact, answer: Any, method: str) -> None:
        """Nothing more to learn from an answer than the request path takes."""

    def started(self, now: float) -> None:
        """Nothing to start: the tokens rotate with the checkpoints."""

    def checkpoint_begin(self, now: float) -> None:
        self.tokens.rotate()

    def id_changed(self, new_id: bytes) -> None:
        """Nothing holds our id but the node."""

    def held(self) -> tuple[int, int]:
        """(keys, values) in the store, for the statistics ((0, 0) while stopped)."""
        return self.node.store.totals() if self.node.running else (0, 0)

    def external_address(self) -> tuple[str, int] | None:
        return None  # Khashmir's join says our address; nothing votes on it

    # --- joining ---------------------------------------------------------------

    async def join(self, host: str, port: int) -> Address:
        """The seed's join through host:port: our address as that node sees it."""
        values = await self.node.request_address((host, port), None, "join", {b"id": self.node.id})
        ip_addr = values.get(b"ip_addr")
        their_port = values.get(b"port")
        if not isinstance(ip_addr, bytes) or not isinstance(their_port, int):
            raise RemoteProtocolError("join response needs ip_addr and port")
        return ip_addr.decode("ascii", "replace"), their_port

    async def bootstrap(self, addresses: list[Address], routers: list[Address]) -> None:
        """Join through each address, then look up our neighbourhood (with routers: as
        Mainline does, :func:`dht.rpc.bootstrap.bootstrap`)."""
        if routers:
            await bootstrap(self.node, addresses, routers)
            return
        await ask_each(addresses, lambda address: self.join(*address))
        await self.node.find_close_nodes()

    # --- the Khashmir API ------------------------------------------------------

    async def find_value(self, key: bytes) -> list[Contact]:
        lookup = await lookups.find_value(self.node, key)
        return [c.contact for c in lookup.with_values()]

    async def get_value(self, key: bytes) -> list[bytes]:
        return await lookups.get_value(self.node, key)

    async def store_value(self, key: bytes, value: bytes, local: bool = True) -> StoreResult:
        """Store at the STORE_REDUNDANCY closest nodes (this one too, if ``local``)."""
        limit = self.node.config.MAX_VALUE_SIZE
        if len(value) > limit:
            raise LocalError(f"value is {len(value)} bytes; the limit is {limit}")
        return await lookups.store_value(self.node, key, value, local)

    async def stored_values(self) -> list[StoredValueInfo]:
        return await self.node.store.all_values_async()

    # --- crawling (dht/node/crawling.py) ------------------------------------------

    async def find_node_at(self, address: Address, target: bytes, expected_id: bytes | None = None) -> FindNodeAnswer:
        """A crawl's find_node of ``target`` at ``address``: the responder's id and the
        contacts it listed (Khashmir answers carry no client)."""
        profile = self.node.profile
        query = profile.lookup_args("find_node", self.node.id, target)
        answer = await self.node.request_address(address, expected_id, "find_node", query)
        nodes = profile.lookup_answer("find_node", answer)[0]
        return FindNodeAnswer(profile.response_id(answer), tuple(nodes))
