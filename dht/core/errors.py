"""Typed errors of the DHT.

Three families, kept apart on purpose:

* :class:`KrpcError` is a KRPC error with a wire code.  Raised by a handler it
  becomes an ``e`` reply; received from a peer it fails the pending request.
* :class:`RemoteProtocolError` is a peer's bad bytes: the datagram is dropped
  and counted, never allowed to raise out of the receive path.
* :class:`LocalError` is misuse of our own API (bad key text, node not
  started, an invalid setting) or a local resource we cannot use
  (:class:`StorageError`: a database not writable, a data directory held by
  another node, a full disk).  :class:`RpcTimeout` and :class:`NodeStopped`
  are local failures of a request we sent.
"""

from __future__ import annotations

# Wire error codes (sent in ``e: [code, text]``).
GENERIC = 200
SERVER_ERROR = 201
MALFORMED_PACKET = 202
METHOD_UNKNOWN = 203
MALFORMED_REQUEST = 204
INVALID_TOKEN = 205
RESPONSE_TOO_LONG = 206

# Local-only codes, never sent.
INTERNAL = 100
UNKNOWN_MESSAGE_TYPE = 101
TIMEOUT = 102
PROTOCOL_STOPPED = 103

ERROR_NAMES = {
    GENERIC: "generic error",
    SERVER_ERROR: "server error",
    MALFORMED_PACKET: "malformed packet",
    METHOD_UNKNOWN: "method unknown",
    MALFORMED_REQUEST: "malformed request",
    INVALID_TOKEN: "invalid token",
    RESPONSE_TOO_LONG: "response too long",
    INTERNAL: "internal error",
    UNKNOWN_MESSAGE_TYPE: "unknown message type",
    TIMEOUT: "timeout",
    PROTOCOL_STOPPED: "protocol stopped",
}


class DHTError(Exception):
    """Base class of every error the DHT raises on purpose."""


class KrpcError(DHTError):
    """A KRPC error: raised by handlers, or the ``e`` reply a peer sent us."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code} {self.message}"


class RemoteProtocolError(DHTError):
    """A peer sent bytes that are not a valid KRPC message."""


class LocalError(DHTError):
    """Misuse of the local API: a bad argument, a node not running, ..."""


class FamilyUnavailable(LocalError):
    """This system cannot listen on an address family (no IPv6, or no IPv4, here)."""


class ConfigError(LocalError):
    """An invalid configuration value; the message names the setting."""


class RpcTimeout(DHTError):
    """A request got no answer within its timeout."""

    code = TIMEOUT

    def __str__(self) -> str:
        return "timeout" if not self.args else f"timeout: {self.args[0]}"


class PortUnreachable(RpcTimeout):
    """Nothing listens at the request's address: ICMP port (or host) unreachable came back."""


class NodeStopped(DHTError):
    """The node stopped while the request was pending."""

    code = PROTOCOL_STOPPED


class AddressError(LocalError, ValueError):
    """Text that is not a HOST:PORT address; the message says why."""


class StorageError(LocalError):
    """The node's database could not be used (unreadable, corrupt, in use, not writable)."""


class StorageFault(StorageError):
    """The disk refused a read or write of a running node (full, read-only, I/O error).

    Nothing acknowledged is lost: the failed write is rolled back and every
    value stored before stays; a store it hits is answered with error 201.
    ``why`` is the cause alone ("disk full (DIR)").
    """

    why: str = ""


class StoreRefused(DHTError):
    """A store_value refused by the store's limits (full, per-key or per-IP quota).

    Answered with error 200 and the message; nothing stored is changed.
    """


__all__ = [
    "GENERIC",
    "SERVER_ERROR",
    "MALFORMED_PACKET",
    "METHOD_UNKNOWN",
    "MALFORMED_REQUEST",
    "INVALID_TOKEN",
    "RESPONSE_TOO_LONG",
    "INTERNAL",
    "UNKNOWN_MESSAGE_TYPE",
    "TIMEOUT",
    "PROTOCOL_STOPPED",
    "ERROR_NAMES",
    "DHTError",
    "KrpcError",
    "RemoteProtocolError",
    "LocalError",
    "ConfigError",
    "RpcTimeout",
    "PortUnreachable",
    "NodeStopped",
    "AddressError",
    "StorageError",
    "StorageFault",
    "StoreRefused",
]
