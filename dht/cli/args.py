"""What the ``dht`` command line accepts: argument types, the parser, profile checks.

Every argument is checked as argparse reads it, by a type here that
raises :class:`argparse.ArgumentTypeError` with a one-line reason;
:class:`OneLineParser` prints that reason as one line on stderr (no usage
dump) and exits with status 2.  A host name is not resolved here (that
needs the event loop; :func:`dht.cli.main.resolve_all` does it).  What a single
argument cannot tell -- a command of the other profile, a salt without a
key -- :func:`check_profile` raises as a :class:`UsageError`.

The explorer (khgui) parses its own command line with the same types,
through ``dht.cli.main``, which re-exports them.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, NoReturn

from ..lab.conditions import (
    MAX_CHURN_PER_MIN, MAX_DELAY_MS, MEAN_DOWNTIME, PUBLIC_JITTER_MS, PUBLIC_RTT_MEDIAN_MS, PUBLIC_RTT_P90_MS,
)
from ..core.config import PROFILES
from ..core.contact import IPV6_REFUSED, Address, check_host, ipv6_literal, parse_address
from ..core.family import V4, V6
from ..core.errors import AddressError, LocalError
from ..core.khash import info_hash_from_text, key_from_text

EXIT_USAGE = 2


class UsageError(Exception):
    """A one-line problem with what the user asked; exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments: one line on stderr (no usage dump) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def address_argument(text: str) -> Address:
    """HOST:PORT, checked at once (IPv6, a missing host or port: one line);
    a host name is resolved later, by :func:`dht.cli.main.resolve_all`, in the event loop."""
    try:
        return parse_address(text)
    except AddressError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None


def host_argument(text: str) -> str:
    """An address to listen on: an IPv4 or IPv6 address (``::1`` or ``[::1]``), or a host
    name (resolved at start)."""
    try:
        check_host(text.strip())
        return ipv6_literal(text.strip()) or text.strip()
    except AddressError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None


#: ``--ipv6``: a node of IPv6 only, of both families (BEP 32), or of IPv4 only.
IPV6_MODES = ("only", "also", "off")


def lab_hosts(profile: str, ipv6: str | None, host: str | None) -> tuple[str | None, str | None]:
    """(host, IPv6 sides' host) of a swarm's nodes, from ``--ipv6`` (default ``also`` on
    Mainline) and ``--host`` (None: each node its own 127.x.y.z).  IPv6 loopback is the one
    address ::1: the IPv6 nodes share it, their per-IP limits relaxed as for a shared IPv4
    address.  UsageError for what does not go together."""
    six = ipv6_literal(host) if host else None
    if profile != "mainline" or ipv6 == "off":
        listen_hosts(profile, ipv6, host)  # the same refusals as a node's
        return host, None
    if (ipv6 or "also") == "only":
        if host and not six:
            raise UsageError(f"--host {host} is not an IPv6 address (--ipv6 only)")
        return six or V6.loopback, None
    if six:
        raise UsageError(f"--host {host}: with --ipv6 also, --host is the IPv4 address (the IPv6 side is ::1)")
    return host, V6.loopback


def listen_hosts(profile: str, ipv6: str | None, host: str | None) -> tuple[str, str | None]:
    """(host, IPv6 side's host or None) a node listens on, from ``--ipv6`` (default
    ``also`` on Mainline, ``off`` on Khashmir, whose wire carries IPv4 only) and
    ``--host`` (default: every interface; an IPv6 ``--host`` is the IPv6 side's, a
    loopback IPv4 one makes the IPv6 side ::1).  UsageError for what does not go together."""
    six = ipv6_literal(host) if host else None
    if profile != "mainline":
        if ipv6 not in (None, "off"):
            raise UsageError(f"--ipv6 {ipv6}: {IPV6_REFUSED}")
        if six:
            raise UsageError(f"--host {host}: {IPV6_REFUSED}")
        return host or V4.wildcard, None
    mode = ipv6 or "also"
    if mode == "off":
        if six:
            raise UsageError(f"--host {host} is IPv6, and --ipv6 off listens on IPv4 only")
        return host or V4.wildcard, None
    if mode == "only":
        if host and not six:
            raise UsageError(f"--host {host} is not an IPv6 address (--ipv6 only)")
        return six or V6.wildcard, None
    if six:
        return V4.wildcard, six
    v4 = host or V4.wildcard
    return v4, V6.loopback if V4.is_loopback(v4) else V6.wildcard



def parse_key(text: str) -> bytes:
    try:
        return key_from_text(text)
    except LocalError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


#: The most worker processes ``swarm --processes`` may start.
MAX_PROCESSES = 256


def int_in_range(lo: int, hi: int) -> Callable[[str], int]:
    """An argparse type: an integer from ``lo`` to ``hi``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{value} is out of range {lo}-{hi}")
        return value

    return parse


port_number = int_in_range(0, 65535)


def bounded_float(lo: float, hi: float) -> Callable[[str], float]:
    """An argparse type: a number from ``lo`` to ``hi``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not lo <= value <= hi:  # NaN fails too
            raise argparse.ArgumentTypeError(f"{text} is out of range {lo:g}-{hi:g}")
        return value

    return parse


def hex_bytes(size: int, what: str) -> Callable[[str], bytes]:
    """An argparse type: ``size`` bytes as 2 * size hex digits."""

    def parse(text: str) -> bytes:
        try:
            value = bytes.fromhex(text.strip())
        except ValueError:
            value = b""
        if len(value) != size:
            raise argparse.ArgumentTypeError(f"{what} must be {2 * size} hex digits, not {text!r:.80}")
        return value

    return parse


def info_hash_argument(text: str) -> bytes:
    """40 hex digits, or a magnet URI whose ``xt`` is ``urn:btih:`` with 40 hex or 32 base32 digits."""
    try:
        return info_hash_from_text(text)
    except LocalError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def salt_argument(text: str) -> bytes:
    salt = text.encode("utf-8")
    if len(salt) > 64:
        raise argparse.ArgumentTypeError(f"a salt is at most 64 bytes, not {len(salt)}")
    return salt


def _out_file(text: str) -> "Path":
    """A crawl's --out: a file ending .csv or .json in a directory that exists."""
    path = Path(text)
    if path.suffix.lower() not in (".csv", ".json"):
        raise argparse.ArgumentTypeError(f"{text!r}: --out must end in .csv or .json")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r}: no directory {str(path.parent)!r}")
    return path


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="dht", description="A Khashmir (apt-p2p) or Mainline DHT node on asyncio.")
    parser.add_argument("--profile", choices=PROFILES, default="khashmir",
                        help="the wire spoken (default khashmir; mainline: BitTorrent's DHT)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    node = sub.add_parser("node", help="run one node until SIGINT or SIGTERM")
    node.add_argument("--host", type=host_argument, default=None,
                      help="address to listen on (default 0.0.0.0 and, Mainline, :: too: all); "
                           "IPv6 as ::1 or [::1]")
    node.add_argument("--ipv6", choices=IPV6_MODES, default=None,
                      help="Mainline: an IPv6 socket only, also (default: dual-stack, BEP 32), or off")
    node.add_argument("--port", type=port_number, default=0, help="UDP port (default 0: any free port)")
    node.add_argument("--data-dir", help="where the node keeps its database")
    node.add_argument("--bootstrap", type=address_argument, nargs="*", default=[], metavar="HOST:PORT",
                      help="nodes to join through (default: the contacts saved by the last run)")
    node.add_argument("--router", type=address_argument, nargs="*", default=[], metavar="HOST:PORT",
                      help="Mainline: bootstrap routers, asked but never kept in the routing table")
    node.add_argument("--capture", metavar="FILE", help="record every datagram to FILE (pcapng)")

    swarm = sub.add_parser("swarm", help="run a local lab of N joined nodes")
    swarm.add_argument("--nodes", type=int, required=True, help="how many nodes to run (required)")
    swarm.add_argument("--host", type=host_argument, default=None,
                       help="every node on this address (default: each its own 127.0.x.y where the "
                            "platform allows, else 127.0.0.1)")
    swarm.add_argument("--ipv6", choices=IPV6_MODES, default=None,
                       help="Mainline: every node on ::1 only, also (default: each node dual-stack, its "
                            "IPv6 side on ::1, IPv6's one loopback address), or off")
    swarm.add_argument("--base-port", type=port_number,
                       help="UDP port of the first node, the others on the ports after it (default: free ports)")
    swarm.add_argument("--data-dir",
                       help="directory of the nodes' databases (default: a temporary directory)")
    swarm.add_argument("--capture", metavar="FILE", help="record every node's datagrams to FILE (pcapng)")
    swarm.add_argument("--conditions", choices=("flat", "public"), default="flat",
                       help="flat: every datagram --latency late (default); public: each node its own "
                            "latency, drawn from round trips measured on the Mainline DHT (median "
                            f"{PUBLIC_RTT_MEDIAN_MS:g} ms, p90 {PUBLIC_RTT_P90_MS:g} ms), --jitter and --loss on top")
    swarm.add_argument("--latency", type=bounded_float(0, MAX_DELAY_MS), default=None, metavar="MS",
                       help="delay every datagram a lab node sends by at least MS milliseconds (default 0; "
                            "flat conditions only)")
    swarm.add_argument("--jitter", type=bounded_float(0, MAX_DELAY_MS), default=None, metavar="MS",
                       help="add a random 0 to MS milliseconds to each delay "
                            f"(default 0; with --conditions public {PUBLIC_JITTER_MS:g})")
    swarm.add_argument("--loss", type=bounded_float(0, 1), default=0.0, metavar="FRACTION",
                       help="lose this fraction (0 to 1) of the datagrams lab nodes send (default 0)")
    swarm.add_argument("--churn", type=bounded_float(0, MAX_CHURN_PER_MIN), default=0.0,
                       metavar="NODES_PER_MIN",
                       help="kill this many random nodes a minute, each revived on its data directory "
                            f"after a random downtime (mean {MEAN_DOWNTIME:g} s; default 0)")
    swarm.add_argument("--seed", type=int, default=None,
                       help="seed the losses, delays and churn (default: random)")
    swarm.add_argument("--processes", type=int_in_range(0, MAX_PROCESSES), default=1, metavar="P",
                       help="run the nodes in P worker processes, node i in process i mod P, each on its "
                            "own loopback address (default 1: all in this process; 0: one per core, "
                            "at most one per 50 nodes); with more than 1, no --capture, --base-port or --host")

    decode = sub.add_parser("decode", help="print the KRPC messages of a pcap or pcapng capture")
    decode.add_argument("file", metavar="FILE", help="the capture to read (pcap or pcapng)")
    decode.add_argument("--json", action="store_true", help="JSON lines instead of text")

    def one_shot(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--timeout", type=positive_float, default=5.0, metavar="SECONDS",
                       help="RPC timeout (default 5)")
        p.add_argument("--host", type=host_argument, default=None,
                       help="address the one-shot node listens on (default 0.0.0.0 and, Mainline, :: "
                            "too: all, so that any address can be reached)")
        return p

    ping = one_shot("ping", "ping a node")
    ping.add_argument("address", type=address_argument, metavar="HOST:PORT", help="the node to ping")
    for name, arg, help_text in (
        ("find-node", "target", "find the nodes closest to TARGET"),
        ("get", "key", "print the values stored under KEY"),
    ):
        p = one_shot(name, help_text)
        p.add_argument("--bootstrap", type=address_argument, required=True, metavar="HOST:PORT",
                       help="a node of the network to join (required)")
        p.add_argument(arg, type=parse_key, metavar=arg.upper(),
                       help="40 hex digits, or any text (hashed with SHA-1)")
    store = one_shot("store", "store VALUE under KEY")
    store.add_argument("--bootstrap", type=address_argument, required=True, metavar="HOST:PORT",
                       help="a node of the network to join (required)")
    store.add_argument("key", type=parse_key, metavar="KEY", help="40 hex digits, or any text (hashed with SHA-1)")
    store.add_argument("value", metavar="VALUE", help="the value, as UTF-8 text")

    def mainline(name: str, help_text: str) -> argparse.ArgumentParser:
        p = one_shot(name, f"{help_text} (--profile mainline)")
        p.add_argument("--bootstrap", type=address_argument, required=True, metavar="HOST:PORT",
                       help="a node of the network to join (required)")
        return p

    infohash_help = "40 hex digits, or a magnet URI (magnet:?xt=urn:btih: with hex or base32)"
    get_peers = mainline("get-peers", "print the peers of INFOHASH, one HOST:PORT a line")
    get_peers.add_argument("info_hash", type=info_hash_argument, metavar="INFOHASH", help=infohash_help)
    announce = mainline("announce", "announce that PORT serves INFOHASH")
    announce.add_argument("info_hash", type=info_hash_argument, metavar="INFOHASH", help=infohash_help)
    announce.add_argument("port", type=int_in_range(1, 65535), metavar="PORT", help="the port announced (1-65535)")
    put = mainline("put", "store VALUE as a BEP 44 item (mutable with --key-file)")
    put.add_argument("value", metavar="VALUE", help="the value, as UTF-8 text (at most 1000 bytes bencoded)")
    put.add_argument("--key-file", metavar="F",
                     help="a mutable item signed by the ed25519 key in F (made there on first use)")
    put.add_argument("--salt", type=salt_argument, metavar="S", help="the mutable item's salt (at most 64 bytes)")
    get_item = mainline("get-item", "print the BEP 44 item under TARGET")
    get_item.add_argument("target", type=hex_bytes(20, "TARGET"), metavar="TARGET", help="the item's 40 hex digits")
    get_item.add_argument("--key", type=hex_bytes(32, "--key"), metavar="PUBKEY_HEX",
                          help="a mutable item's public key (64 hex digits): only its signature counts")
    get_item.add_argument("--salt", type=salt_argument, metavar="S", help="the mutable item's salt")
    crawl = one_shot("crawl", "crawl a network: progress on stderr, its census on stdout")
    crawl.add_argument("--bootstrap", type=address_argument, required=True, metavar="HOST:PORT",
                       help="a node of the network to join (required)")
    what = crawl.add_mutually_exclusive_group(required=True)
    what.add_argument("--zone", type=int_in_range(0, 32), metavar="BITS",
                      help="every node whose id starts with a random prefix of BITS bits, and the network's "
                           "size estimated from them")
    what.add_argument("--table", type=address_argument, metavar="HOST:PORT",
                      help="the routing table of the node at HOST:PORT, one find_node per bucket")
    what.add_argument("--full", action="store_true", help="every node reachable (a lab, a small network)")
    crawl.add_argument("--budget", type=bounded_float(0, 100_000), default=100.0, metavar="Q/S",
                       help="queries a second (default 100; 0: no budget)")
    crawl.add_argument("--out", type=_out_file, metavar="FILE",
                       help="write the nodes found (FILE.csv) or the whole census (FILE.json)")
    sample = mainline("sample", "print info-hashes sampled from the DHT (BEP 51)")
    sample.add_argument("--count", type=int_in_range(1, 10000), default=20, metavar="N",
                        help="how many info-hashes at most (default 20)")
    return parser


#: Commands of one profile only, and what to use on the other.
KHASHMIR_ONLY = {"store": "put", "get": "get-item"}
MAINLINE_ONLY = {"get-peers", "announce", "put", "get-item", "sample"}


def check_profile(args: argparse.Namespace) -> None:
    if args.profile == "mainline" and args.command in KHASHMIR_ONLY:
        raise UsageError(f"{args.command} is a Khashmir command; on Mainline use {KHASHMIR_ONLY[args.command]}")
    if args.profile == "khashmir" and args.command in MAINLINE_ONLY:
        raise UsageError(f"{args.command} is a Mainline command; use dht --profile mainline {args.command}")
    if getattr(args, "salt", None) is not None and args.command == "put" and args.key_file is None:
        raise UsageError("--salt needs --key-file (only a mutable item has a salt)")
    if getattr(args, "salt", None) is not None and args.command == "get-item" and args.key is None:
        raise UsageError("--salt needs --key (only a mutable item has a salt)")
