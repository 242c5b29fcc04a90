"""Rate limits applied before decoding: who may make us work, and how much we answer.

Sans-IO: :class:`Limits` is fed the source IP, the datagram's size and
``now``; it never reads a clock and never touches a socket.  The transport
asks it about every datagram *before* decoding it (:meth:`Limits.admit`) and
about every answer before sending it (:meth:`Limits.allow_reply`).

Theory of operation
-------------------
Every budget is a token bucket: ``burst`` tokens at most, refilled at
``rate`` per second, computed lazily from the time of the last use (no
timers).  All settings are in :class:`dht.core.config.Config` under
``# --- defences ---``, modelled on libtorrent's DHT:

1. Size.  A datagram longer than MAX_DATAGRAM_SIZE (1472, the protocol's
   UDP_PACKET_LIMIT) is dropped unparsed: bencode decoding costs grow with
   the size, and nothing valid is ever that long.
2. Blocking (libtorrent's ``dos_blocker``: ``dht_block_ratelimit`` 5 messages
   a second over 10-second windows, then ``dht_block_timeout`` 300 s).  Each
   source IP's datagrams are counted over windows of BLOCK_WINDOW seconds; an
   IP that reaches BLOCK_RATE * BLOCK_WINDOW datagrams within one window is
   blocked for BLOCK_DURATION seconds: everything it sends is dropped
   unparsed.  As in libtorrent, the block runs from the offence and is not
   extended by further datagrams (a spoofer can then not keep an innocent
   address blocked for ever with one datagram every few minutes).
3. A per-IP query budget: QUERY_BURST datagrams at once, QUERY_RATE a second
   sustained.  A datagram with no token left is dropped unparsed.  The
   defaults (50, 10/s) never refuse a peer asking up to 10 queries a second
   in bursts of up to 50; BLOCK_RATE (50/s, 5 x QUERY_RATE) never blocks it
   either (at most 50 + 10 x 10 = 150 datagrams in a 10 s window, of 500).
4. Expected answers.  Each request we send to an IP gives that IP one credit
   (at most MAX_CREDIT); a datagram from it spends a credit before a token
   and is not counted as an offence: answers we asked for are never rate
   limited, however many requests our lookups send to one address.
5. A per-IP reply budget in bytes (REPLY_RATE_PER_IP / REPLY_BURST_PER_IP):
   an answer that would overdraw it is not sent.  Whatever address a query
   claims to come from, we send it no more than that many bytes a second, so
   nobody can use us to reflect traffic at a third party.  (libtorrent has
   one global ``dht_upload_rate_limit``, 8000 B/s; we keep a per-IP budget
   and a global one.)
6. Global budgets: GLOBAL_QUERY_RATE / GLOBAL_QUERY_BURST datagrams and
   GLOBAL_REPLY_RATE / GLOBAL_REPLY_BURST bytes a second for all sources
   together, which bound the CPU and upload that many addresses can take.
   A *settled* source -- tracked for at least SETTLE_SECONDS and asking less
   than its own sustained rate (its query bucket at least half full) -- does
   not draw on them: a flood from a thousand new addresses shares the global
   budget among itself and cannot starve the peers that were there before it
   and ask little.

7. Answers charged before they are built (libtorrent checks its upload
   quota before it builds any answer).  A handler that knows what an
   answer will cost calls :meth:`Limits.charge_answer` with its expected
   size before doing the work: the bytes come off the asker's reply budget
   (and the global one, unless it is settled) at once, or the query is
   dropped unanswered, its work never done; the answer, when sent, is
   charged only what it exceeds that size by.  An *expensive* answer (a
   BEP 33 scrape, a BEP 44 put: a signature to check and an item to place)
   also takes one of GLOBAL_EXPENSIVE_RATE / GLOBAL_EXPENSIVE_BURST answers
   a second for all sources together, settled or not, so a scrape flood
   spread over many addresses, each within its own budget, still cannot
   take the node's CPU from its pings (libtorrent has no such cap).

Memory is bounded: the per-IP state lives in an LRU table of at most
LIMITS_MAX_PEERS entries (a few hundred bytes each); a new address evicts
the least recently heard one, so a million spoofed sources cost no more than
LIMITS_MAX_PEERS entries.  An evicted address starts afresh (a full bucket,
not settled) when it comes back.

Records at rest.  A record whose budgets are all full again (tokens and reply
bytes refilled, no credit, nothing prepaid, not blocked, its offence window
over) carries nothing but the time its IP was first seen (which makes it
settled).  At most every REST_INTERVAL seconds of the ``now`` it is given,
:meth:`Limits.rest` replaces each such record by that time alone (a float
where the record was: its place in the LRU order kept), and a datagram from
the IP makes it a full record again, in the very state the old one would
have had.  A lab's node hears from a few dozen IPs and is quiet most of the
time: this is most of what its limits cost (about 250 B a record).

Loopback.  A *factor* divides the cost of every datagram and every byte
from or to a source by that factor, which multiplies all its budgets and its
block threshold, and lets it draw that much less on the global budgets:

* OWN_ADDRESS_LIMIT_FACTOR (default 10^6: in effect no limit) for sources on
  the node's own loopback address (:meth:`Limits.set_own_address`; only a
  node listening on 127.x.y.z or ::1 has one, and one on all interfaces,
  0.0.0.0, whose own loopback address is 127.0.0.1).  Where a lab must put all its
  nodes on 127.0.0.1 they share one source IP and the limits cannot tell
  them apart; a datagram with a loopback source never comes from another
  host (the kernel drops such "martian" packets on other interfaces), so
  these are this host's own processes.
* LOOPBACK_LIMIT_FACTOR (default 1: as any host) for every other loopback
  source (127.0.0.0/8, ::1), e.g. lab nodes each on their own 127.x.y.z,
  which see one another as the Internet would.
"""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING

from .config import Config
from .family import V4, family_of
from .errors import ConfigError
from .stats import DropReason

#: Most credits (answers we expect) one IP can hold; requests beyond that
#: many outstanding to one address are charged to its query budget.
MAX_CREDIT = 256

#: Seconds of ``now`` between two sweeps of :meth:`Limits.rest` (records at rest made a float).
REST_INTERVAL = 10.0

#: Largest datagram UDP over IPv4 can carry.
UDP_MAX = 65507


def is_loopback(ip: str) -> bool:
    return ip.startswith("127.") or ip == "::1"


#: Where each of a :class:`PeerBudget`'s figures is in its row.
TOKENS, STAMP, REPLY, REPLY_STAMP, WINDOW_END, COUNT, BLOCKED_UNTIL, CREDIT, FIRST_SEEN, COST, PREPAID = range(11)

if TYPE_CHECKING:
    _Row = array[float]
else:
    _Row = array


def _figure(index: int, doc: str) -> property:
    def get(row: "PeerBudget") -> float:
        return row[index]

    def set(row: "PeerBudget", value: float) -> None:
        row[index] = value

    return property(get, set, doc=doc)


class PeerBudget(_Row):
    """The limits' state of one source IP: one row of doubles (an object with a float
    object per figure was twice the size: 360 B against 180 B).  The hot paths index
    it (TOKENS, ...); the rest read it by name."""

    __slots__ = ()

    if TYPE_CHECKING:
        tokens: float
        stamp: float
        reply: float
        reply_stamp: float
        window_end: float
        in_window: float
        blocked_until: float
        credit: float
        first_seen: float
        cost: float
        prepaid: float
    else:
        tokens = _figure(TOKENS, "query tokens, refilled from ``stamp``")
        stamp = _figure(STAMP, "when ``tokens`` was last computed")
        reply = _figure(REPLY, "reply bytes, refilled from ``reply_stamp``")
        reply_stamp = _figure(REPLY_STAMP, "when ``reply`` was last computed")
        window_end = _figure(WINDOW_END, "end of the current offence window")
        in_window = _figure(COUNT, "datagrams (weighted by cost) in the window")
        blocked_until = _figure(BLOCKED_UNTIL, "blocked before then")
        credit = _figure(CREDIT, "answers we expect from this IP")
        first_seen = _figure(FIRST_SEEN, "when the IP was first heard")
        cost = _figure(COST, "1, or 1 / LOOPBACK_LIMIT_FACTOR for loopback")
        prepaid = _figure(PREPAID, "reply bytes charged before the answer was built")

    def __new__(cls, now: float, burst: float, reply_burst: float, window: float, cost: float) -> "PeerBudget":
        row = (burst, now, reply_burst, now, now + window, 0.0, 0.0, 0.0, now, cost, 0.0)
        return super().__new__(cls, "d", row)  # type: ignore[return-value]


class TokenBucket:
    """A global budget: ``burst`` tokens at most, refilled at ``rate`` a second from the last use."""

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp: float | None = None

    def take(self, cost: float, now: float) -> bool:
        """Spend ``cost`` tokens if there are that many at ``now``."""
        tokens = self.tokens
        stamp = self.stamp
        if stamp is not None and now > stamp:
            tokens = min(self.burst, tokens + (now - stamp) * self.rate)
        self.stamp = now
        if tokens < cost:
            self.tokens = tokens
            return False
        self.tokens = tokens - cost
        return True


class Limits:
    """Per-IP and global budgets of one node's transport (see the module docstring)."""

    def __init__(self, config: Config | None = None) -> None:
        cfg = config or Config()
        if cfg.MAX_DATAGRAM_SIZE > UDP_MAX:
            raise ConfigError(f"MAX_DATAGRAM_SIZE must be at most {UDP_MAX}, not {cfg.MAX_DATAGRAM_SIZE!r}")
        if cfg.QUERY_BURST < 1:
            raise ConfigError(f"QUERY_BURST must be at least 1, not {cfg.QUERY_BURST!r}")
        self.max_size = cfg.MAX_DATAGRAM_SIZE
        self.rate = float(cfg.QUERY_RATE)
        self.burst = float(cfg.QUERY_BURST)
        self.block_window = float(cfg.BLOCK_WINDOW)
        self.block_count = float(cfg.BLOCK_RATE) * cfg.BLOCK_WINDOW
        self.block_duration = float(cfg.BLOCK_DURATION)
        self.reply_rate = float(cfg.REPLY_RATE_PER_IP)
        self.reply_burst = float(cfg.REPLY_BURST_PER_IP)
        self.global_queries = TokenBucket(float(cfg.GLOBAL_QUERY_RATE), float(cfg.GLOBAL_QUERY_BURST))
        self.global_replies = TokenBucket(float(cfg.GLOBAL_REPLY_RATE), float(cfg.GLOBAL_REPLY_BURST))
        self.global_expensive = TokenBucket(float(cfg.GLOBAL_EXPENSIVE_RATE), float(cfg.GLOBAL_EXPENSIVE_BURST))
        self.settle = float(cfg.SETTLE_SECONDS)
        self.max_peers = cfg.LIMITS_MAX_PEERS
        self.loopback_cost = 1.0 / cfg.LOOPBACK_LIMIT_FACTOR
        self.own_cost = 1.0 / cfg.OWN_ADDRESS_LIMIT_FACTOR
        self.own_ip: str | None = None
        #: least recently heard first (a dict keeps insertion order; an entry heard from
        #: is put back at the end: an OrderedDict's links were ~2 KB more per node in a lab)
        #: (a float: a record at rest, the time its IP was first seen; see :meth:`rest`)
        self.peers: dict[str, PeerBudget | float] = {}
        self.blocks = 0  # times an IP was blocked
        self.evictions = 0  # entries evicted from the full table
        self.next_rest = 0.0  # the ``now`` from which admit() sweeps records at rest

    # --- state ---------------------------------------------------------

    def cost_of(self, ip: str) -> float:
        """What one datagram (one byte) from ``ip`` costs its budgets (see Loopback above)."""
        if ip == self.own_ip:
            return self.own_cost
        return self.loopback_cost if is_loopback(ip) else 1.0

    def peer(self, ip: str, now: float) -> PeerBudget:
        """The IP's entry, created (evicting the least recently heard) if new."""
        peers = self.peers
        entry = peers.pop(ip, None)
        if entry is not None:
            if not isinstance(entry, PeerBudget):  # at rest: the time it was first seen
                entry = self._revive(ip, entry, now)
            peers[ip] = entry  # now the most recently heard
            return entry
        entry = PeerBudget(now, self.burst, self.reply_burst, self.block_window, self.cost_of(ip))
        peers[ip] = entry
        if len(peers) > self.max_peers:
            del peers[next(iter(peers))]
            self.evictions += 1
        return entry

    def _revive(self, ip: str, first_seen: float, now: float) -> PeerBudget:
        """The record of an IP at rest since before ``now``, as it would be had it been kept."""
        p = PeerBudget(now, self.burst, self.reply_burst, 0.0, self.cost_of(ip))
        p[WINDOW_END] = now  # its window was over: the next datagram opens a new one
        p[FIRST_SEEN] = first_seen
        return p

    def at_rest(self, ip: str, p: PeerBudget, now: float) -> bool:
        """Whether ``p`` (``ip``'s record) holds nothing at ``now`` but its ``first_seen``:
        budgets full, no credit, nothing prepaid, not blocked, no offence window open."""
        return (  # indexed: a sweep asks this of every record
            p[CREDIT] == 0 and p[PREPAID] == 0.0 and p[BLOCKED_UNTIL] <= now and now >= p[WINDOW_END]
            and p[TOKENS] + max(0.0, now - p[STAMP]) * self.rate >= self.burst
            and p[REPLY] + max(0.0, now - p[REPLY_STAMP]) * self.reply_rate >= self.reply_burst
            and p[COST] == self.cost_of(ip)
        )

    def rest(self, now: float) -> int:
        """Replace every record at rest by its ``first_seen`` (its place in the LRU order
        kept); how many.  Called by :meth:`admit` every REST_INTERVAL seconds of ``now``."""
        self.next_rest = now + REST_INTERVAL
        peers = self.peers
        resting = [
            (ip, p[FIRST_SEEN]) for ip, p in peers.items() if isinstance(p, PeerBudget) and self.at_rest(ip, p, now)
        ]
        for ip, first_seen in resting:
            peers[ip] = first_seen  # an existing key: its place is kept
        return len(resting)

    def set_own_address(self, ip: str) -> None:
        """The IP we listen on: if it is a loopback one, sources on it get OWN_ADDRESS_LIMIT_FACTOR.

        A node on all interfaces (0.0.0.0, ::) listens on 127.0.0.1 (::1) too: that is its own address here."""
        family = family_of(ip or V4.wildcard)
        if ip in ("", family.wildcard):
            ip = family.loopback
        self.own_ip = ip if is_loopback(ip) else None
        self.peers.pop(ip, None)  # its budgets are computed afresh

    def blocked_count(self, now: float) -> int:
        """How many tracked IPs are blocked at ``now``."""
        return sum(1 for p in self.peers.values() if isinstance(p, PeerBudget) and p[BLOCKED_UNTIL] > now)

    def is_blocked(self, ip: str, now: float) -> bool:
        entry = self.peers.get(ip)
        return isinstance(entry, PeerBudget) and entry.blocked_until > now

    def _settled(self, p: PeerBudget, now: float) -> bool:
        return p[TOKENS] >= self.burst / 2 and now - p[FIRST_SEEN] >= self.settle

    # --- incoming datagrams ----------------------------------------------

    def admit(self, ip: str, size: int, now: float) -> DropReason | None:
        """None if a datagram of ``size`` bytes from ``ip`` may be decoded, else why not."""
        if size > self.max_size:
            self.peer(ip, now)  # an oversize datagram still counts as heard
            return DropReason.OVERSIZE
        if now >= self.next_rest:
            self.rest(now)
        peers = self.peers
        entry = peers.pop(ip, None)  # self.peer() inlined for the common case
        if isinstance(entry, PeerBudget):
            p = peers[ip] = entry  # now the most recently heard
        else:
            if entry is not None:
                peers[ip] = entry  # at rest: peer() revives it
            p = self.peer(ip, now)
        if p[BLOCKED_UNTIL] > now:
            return DropReason.BLOCKED
        if p[CREDIT] > 0:  # an answer we asked for
            p[CREDIT] -= 1
            return None
        cost = p[COST]
        # Offence window (libtorrent's dos_blocker).
        if now >= p[WINDOW_END]:
            p[WINDOW_END] = now + self.block_window
            p[COUNT] = 0.0
        p[COUNT] += cost
        if p[COUNT] >= self.block_count:
            p[BLOCKED_UNTIL] = now + self.block_duration
            p[WINDOW_END] = p[BLOCKED_UNTIL]  # a fresh window after the block
            p[COUNT] = 0.0
            self.blocks += 1
            return DropReason.BLOCKED
        # The IP's own budget.
        tokens = p[TOKENS]
        if now > p[STAMP]:
            tokens = min(self.burst, tokens + (now - p[STAMP]) * self.rate)
        p[STAMP] = now
        if tokens < cost:
            p[TOKENS] = tokens
            return DropReason.RATE_LIMITED
        settled = tokens >= self.burst / 2 and now - p[FIRST_SEEN] >= self.settle
        p[TOKENS] = tokens - cost  # spent even if the global budget refuses: it asked
        # The global budget, unless the IP is settled and asks little.
        if not settled and not self.global_queries.take(cost, now):
            return DropReason.BUSY
        return None

    def expect(self, ip: str, now: float) -> None:
        """We sent a request to ``ip``: its answer will not be charged."""
        p = self.peer(ip, now)
        if p[CREDIT] < MAX_CREDIT:
            p[CREDIT] += 1

    # --- answers we send ----------------------------------------------

    def charge_answer(self, ip: str, size: int, now: float, expensive: bool = False) -> DropReason | None:
        """Before an answer is built: None if ``ip`` may have an answer of about ``size``
        bytes (charged now; ``expensive``: one of the global expensive answers too), else why not."""
        p = self.peer(ip, now)
        cost = size * p[COST]
        reply = p[REPLY]
        if now > p[REPLY_STAMP]:
            reply = min(self.reply_burst, reply + (now - p[REPLY_STAMP]) * self.reply_rate)
        p[REPLY_STAMP] = now
        p[REPLY] = reply
        if reply < cost:
            return DropReason.REPLY_BUDGET
        if expensive and not self.global_expensive.take(p[COST], now):
            return DropReason.BUSY
        if not self._settled(p, now) and not self.global_replies.take(cost, now):
            return DropReason.BUSY
        p[REPLY] = reply - cost
        p[PREPAID] = cost
        return None

    def allow_reply(self, ip: str, size: int, now: float) -> DropReason | None:
        """None if an answer of ``size`` bytes may be sent to ``ip``, else why not
        (an answer charged before it was built is charged only what it exceeds that by)."""
        p = self.peer(ip, now)
        cost = size * p[COST] - p[PREPAID]
        p[PREPAID] = 0.0
        if cost <= 0:
            return None
        reply = p[REPLY]
        if now > p[REPLY_STAMP]:
            reply = min(self.reply_burst, reply + (now - p[REPLY_STAMP]) * self.reply_rate)
        p[REPLY_STAMP] = now
        if reply < cost:
            p[REPLY] = reply
            return DropReason.REPLY_BUDGET
        if not self._settled(p, now) and not self.global_replies.take(cost, now):
            p[REPLY] = reply
            return DropReason.BUSY
        p[REPLY] = reply - cost
        return None
