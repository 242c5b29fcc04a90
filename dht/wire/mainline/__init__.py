"""The Mainline DHT wire (BEP 5, 33, 42, 43, 44, 51): bytes <-> typed messages.

Theory of operation.  A datagram is one bencoded dict.  :func:`decode`
checks the envelope (``t``, ``y`` and the ``q``/``a``, ``r`` or ``e`` of
its kind) and returns a :class:`Query`, :class:`Response` or :class:`Error`
with the top-level extras: ``v`` (the sender's client version, shown by
:func:`dht.wire.common.decode_client_version`), ``ro`` (BEP 43: a read-only
sender, to answer but never to add to a table) and ``ip`` (BEP 42: our own
address as the responder saw it).  Anything that is not such a message
raises :class:`RemoteProtocolError`: the caller drops and counts it.

The method table :data:`METHODS` then gives, per method, the typed
arguments of a query (:func:`parse_query`) and the typed answer of a
response to our query of that method (:func:`parse_response`; a response
does not say its method, the asker knows it).  Query arguments are checked
the Mainline way: unknown arguments are ignored (``want``, ``noseed``,
``scrape``, ``seed`` are understood), wrong or missing known ones raise a
:class:`WireError` with the profile's code (203 protocol error, 204 method
unknown; BEP 44 puts 205 ``v`` too big, 207 salt too big, and, from
:func:`check_signature`, 206).  As libtorrent does, an unknown method
that carries a 20-byte ``target`` or ``info_hash`` is read as find_node.

Node lists are ONE string of 26-byte infos (``nodes``) or 38-byte infos
(``nodes6``, BEP 32, decoded and encoded here); peers are 6- or 18-byte
compact strings.  Transaction ids we make are 2 bytes (:func:`new_tid`);
any id a peer sends is echoed as it came.  A BEP 44 ``v`` travels as its
bencoded bytes: a put whose datagram is not canonical bencoding (unsorted
keys) is refused with 203, as BEP 44 asks, since its hash or signature
would not be over the bytes sent.
"""


from ..codes import MAINLINE, Meaning, WireError
from .checks import check_signature
from .codec import (
    METHODS,
    QUERY_METHODS,
    Method,
    decode,
    decode_raw,
    encode_error,
    encode_error_raw,
    encode_query,
    encode_query_raw,
    encode_response,
    encode_response_raw,
    parse_query,
    parse_response,
)
from .messages import (
    MAX_SAMPLE_INTERVAL,
    TID_BYTES,
    UDP_PACKET_LIMIT,
    AnnouncePeer,
    Error,
    FindNode,
    Get,
    GetPeers,
    IdResponse,
    ItemResponse,
    Message,
    Nodes,
    NodesResponse,
    PeersResponse,
    Ping,
    Put,
    Query,
    QueryArgs,
    Response,
    ResponseValues,
    SampleInfohashes,
    SamplesResponse,
    new_tid,
)

__all__ = [
    "MAINLINE", "MAX_SAMPLE_INTERVAL", "METHODS", "QUERY_METHODS", "TID_BYTES", "UDP_PACKET_LIMIT",
    "AnnouncePeer", "Error", "FindNode", "Get", "GetPeers", "IdResponse", "ItemResponse", "Meaning", "Message",
    "Method", "Nodes", "NodesResponse", "PeersResponse", "Ping", "Put", "Query", "QueryArgs", "Response",
    "ResponseValues", "SampleInfohashes", "SamplesResponse", "WireError", "check_signature", "decode",
    "decode_raw", "encode_error", "encode_error_raw", "encode_query", "encode_query_raw", "encode_response",
    "encode_response_raw", "new_tid", "parse_query", "parse_response",
]
