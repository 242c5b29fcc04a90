"""The protocol object a node holds for its wire profile, and the one place that chooses it.

A node speaks one profile (``Config.PROFILE``).  Everything that differs
between the profiles -- how queries are answered, what an answer teaches
besides its values, which contacts may enter the table, how a node joins,
what a checkpoint begins with, which lookups and stores it offers -- is the
protocol object's: :class:`dht.khashmir.protocol.KhashmirProtocol` or
:class:`dht.mainline.protocol.MainlineProtocol`, behind :class:`NodeProtocol`.
:func:`protocol_for` makes it when the node is made; nothing else in
``dht`` asks which profile a node speaks.
"""

from __future__ import annotations

from typing import Any, Awaitable, Protocol

from ..core.contact import Address, Contact
from ..khashmir.protocol import KhashmirProtocol
from ..mainline.protocol import MainlineProtocol
from ..mainline.stores.items import StoredItemInfo
from ..mainline.stores.peers import StoredPeerInfo
from ..storage import StoredValueInfo

from ..core.errors import LocalError
from ..crawl.spec import FindNodeAnswer
from ..khashmir.protocol import KhashmirHost
from ..mainline.protocol import MainlineHost


class NodeProtocol(Protocol):
    """What the node asks of its profile's protocol object."""

    #: the profile's name, as ``Config.PROFILE``
    name: str
    #: contacts' ids are checked against their IPs (BEP 42) in the table's snapshots
    checks_ids: bool
    #: the client (``v``) of nodes that answered us, by id ({} where answers carry none)
    clients: dict[bytes, str]

    def dispatch(self, query: Any, peer: Address, now: float) -> Any: ...

    def local(self, method: str, args: Any) -> Any: ...

    def run_job(self, job: Any) -> Awaitable[Any]: ...

    def admissible(self, contact: Contact) -> bool: ...

    def answered(self, responder: Contact, answer: Any, method: str) -> None: ...

    def started(self, now: float) -> None: ...

    def checkpoint_begin(self, now: float) -> None: ...

    def id_changed(self, new_id: bytes) -> None: ...

    def held(self) -> tuple[int, int]: ...

    def external_address(self) -> tuple[str, int] | None: ...

    async def join(self, host: str, port: int) -> Address: ...

    async def bootstrap(self, addresses: list[Address], routers: list[Address]) -> None: ...

    async def find_node_at(self, address: Address, target: bytes, expected_id: bytes | None = None) -> FindNodeAnswer:
        """A crawl's one find_node (dht/node/crawling.py), through the request path."""
        ...


class ProtocolHost(KhashmirHost, MainlineHost, Protocol):
    """What either protocol object needs of its node (:class:`dht.node.core.NodeCore` has it)."""


def protocol_for(node: ProtocolHost) -> KhashmirProtocol | MainlineProtocol:
    """The protocol object of ``node``'s profile (``Config.PROFILE``, checked by Config)."""
    if node.config.PROFILE == "mainline":
        return MainlineProtocol(node)
    return KhashmirProtocol(node)


async def stored_values(protocol: NodeProtocol) -> list[StoredValueInfo]:
    """The Khashmir values stored here ([] on a node of another profile)."""
    return await protocol.stored_values() if isinstance(protocol, KhashmirProtocol) else []


async def stored_peers(protocol: NodeProtocol) -> list[StoredPeerInfo]:
    """The peers announced here ([] on a node of another profile)."""
    return await protocol.stored_peers() if isinstance(protocol, MainlineProtocol) else []


async def stored_items(protocol: NodeProtocol) -> list[StoredItemInfo]:
    """The BEP 44 items put here ([] on a node of another profile)."""
    return await protocol.stored_items() if isinstance(protocol, MainlineProtocol) else []


def khashmir(protocol: NodeProtocol, what: str) -> KhashmirProtocol:
    """``protocol`` as Khashmir's, for one of its methods; LocalError on another profile."""
    if not isinstance(protocol, KhashmirProtocol):
        raise LocalError(f"{what} is a Khashmir method; this node speaks {protocol.name.capitalize()}")
    return protocol


def mainline(protocol: NodeProtocol, what: str) -> MainlineProtocol:
    """``protocol`` as Mainline's, for one of its methods; LocalError on another profile."""
    if not isinstance(protocol, MainlineProtocol):
        raise LocalError(f"{what} is a Mainline method; this node speaks {protocol.name.capitalize()}")
    return protocol
