"""dht.core.limits, sans-IO: every budget driven by a fake clock (``now`` passed in).

Properties (hypothesis): a peer keeping to 10 queries a second in bursts of
up to 50 is never refused nor blocked; whatever the arrival times, one IP is
admitted at most QUERY_BURST + QUERY_RATE * t datagrams and sent at most
REPLY_BURST_PER_IP + REPLY_RATE_PER_IP * t bytes; the per-IP state never
exceeds LIMITS_MAX_PEERS entries.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dht import Config
from dht.errors import ConfigError
from dht.core.limits import MAX_CREDIT, Limits
from dht.core.stats import DropReason

CFG = Config()
IP = "192.0.2.1"
OTHER = "192.0.2.2"


def admitted(limits: Limits, ip: str, times: list[float], size: int = 60) -> int:
    return sum(limits.admit(ip, size, t) is None for t in times)


def test_defaults_are_libtorrent_like_and_documented() -> None:
    assert (CFG.QUERY_RATE, CFG.QUERY_BURST) == (10.0, 50)
    assert CFG.BLOCK_RATE == 5 * CFG.QUERY_RATE
    assert (CFG.BLOCK_WINDOW, CFG.BLOCK_DURATION) == (10.0, 300.0)
    assert CFG.MAX_DATAGRAM_SIZE == 1472
    assert CFG.LOOPBACK_LIMIT_FACTOR == 1.0
    for name in ("MAX_DATAGRAM_SIZE", "QUERY_RATE", "REPLY_RATE_PER_IP", "LIMITS_MAX_PEERS"):
        with pytest.raises(ConfigError, match=name):
            Config().replace(**{name: 0})
    with pytest.raises(ConfigError, match="MAX_DATAGRAM_SIZE"):
        Limits(Config(MAX_DATAGRAM_SIZE=70000))


def test_a_burst_of_50_is_admitted_the_51st_is_not() -> None:
    limits = Limits()
    assert admitted(limits, IP, [0.0] * 50) == 50
    assert limits.admit(IP, 60, 0.0) is DropReason.RATE_LIMITED
    assert limits.admit(OTHER, 60, 0.0) is None  # another IP has its own budget
    assert limits.admit(IP, 60, 0.1) is None  # 10/s: one token back after 0.1 s
    assert limits.admit(IP, 60, 0.1) is DropReason.RATE_LIMITED


def test_a_flooder_is_blocked_for_block_duration_from_its_offence() -> None:
    limits = Limits()
    threshold = int(CFG.BLOCK_RATE * CFG.BLOCK_WINDOW)  # 500 datagrams in one window
    verdicts = [limits.admit(IP, 60, 1.0) for _ in range(threshold)]
    assert verdicts.count(None) == 50
    assert verdicts[-1] is DropReason.BLOCKED and verdicts[-2] is DropReason.RATE_LIMITED
    assert limits.blocks == 1 and limits.blocked_count(1.0) == 1 and limits.is_blocked(IP, 1.0)
    # Blocked: dropped, whatever it sends; the block is not extended by them.
    for t in (2.0, 100.0, 300.9):
        assert limits.admit(IP, 60, t) is DropReason.BLOCKED
    assert limits.blocked_count(301.0) == 0
    assert limits.admit(IP, 60, 301.0) is None  # forgiven, with a refilled bucket
    assert limits.blocks == 1


def test_oversize_datagrams_are_refused_before_anything_else() -> None:
    limits = Limits()
    assert limits.admit(IP, CFG.MAX_DATAGRAM_SIZE + 1, 0.0) is DropReason.OVERSIZE
    assert limits.admit(IP, 65507, 0.0) is DropReason.OVERSIZE
    assert limits.admit(IP, CFG.MAX_DATAGRAM_SIZE, 0.0) is None


def test_answers_we_asked_for_spend_credits_not_tokens() -> None:
    limits = Limits()
    assert admitted(limits, IP, [0.0] * 50) == 50  # bucket empty
    for _ in range(80):
        limits.expect(IP, 0.0)
    assert admitted(limits, IP, [0.0] * 80) == 80  # every expected answer gets in
    assert limits.admit(IP, 60, 0.0) is DropReason.RATE_LIMITED
    for _ in range(MAX_CREDIT + 100):
        limits.expect(OTHER, 0.0)
    assert limits.peer(OTHER, 0.0).credit == MAX_CREDIT


def test_credited_answers_never_count_as_an_offence() -> None:
    limits = Limits()
    for _ in range(2000):
        limits.expect(IP, 0.0)
        assert limits.admit(IP, 60, 0.0) is None
    assert limits.blocks == 0


def test_reply_budget_per_ip() -> None:
    limits = Limits()
    size = 1400
    sent = sum(limits.allow_reply(IP, size, 0.0) is None for _ in range(100))
    assert sent == CFG.REPLY_BURST_PER_IP // size
    assert limits.allow_reply(IP, size, 0.0) is DropReason.REPLY_BUDGET
    assert limits.allow_reply(OTHER, size, 0.0) is None
    # One second refills REPLY_RATE_PER_IP bytes.
    again = sum(limits.allow_reply(IP, size, 1.0) is None for _ in range(100))
    assert again == int((CFG.REPLY_RATE_PER_IP + CFG.REPLY_BURST_PER_IP % size) // size)


def test_global_budget_bounds_many_new_sources_but_spares_settled_light_ones() -> None:
    cfg = Config(GLOBAL_QUERY_RATE=100.0, GLOBAL_QUERY_BURST=200)
    limits = Limits(cfg)
    assert limits.admit(IP, 60, 0.0) is None  # a peer known before the flood...
    assert limits.admit(IP, 60, cfg.SETTLE_SECONDS) is None  # ...and settled: asks little
    t = cfg.SETTLE_SECONDS
    flood = [limits.admit(f"10.0.{i // 256}.{i % 256}", 60, t) for i in range(1000)]
    assert flood.count(None) == 200  # the global burst (refilled since the peer's first query)
    assert flood.count(DropReason.BUSY) == 1000 - flood.count(None)
    for k in range(1, 40):  # 7 a second, while the flood goes on
        now = t + k / 7
        assert limits.admit(IP, 60, now) is None
        assert limits.allow_reply(IP, 60, now) is None
        assert limits.admit(f"10.1.0.{k}", 60, now) in (None, DropReason.BUSY)
    # A newcomer (not settled) is subject to the global budget.
    limits.global_queries.tokens = 0.0
    assert limits.admit("10.9.9.9", 60, limits.global_queries.stamp or t) is DropReason.BUSY


def test_global_reply_budget() -> None:
    cfg = Config(GLOBAL_REPLY_RATE=1000.0, GLOBAL_REPLY_BURST=3000, REPLY_BURST_PER_IP=20000)
    limits = Limits(cfg)
    sent = sum(limits.allow_reply(f"10.0.0.{i}", 1000, 0.0) is None for i in range(10))
    assert sent == 3
    assert limits.allow_reply("10.0.1.1", 1000, 0.0) is DropReason.BUSY
    assert limits.allow_reply("10.0.1.1", 1000, 1.0) is None


def test_an_answer_charged_before_it_is_built_is_not_charged_twice() -> None:
    limits = Limits(CFG.replace(REPLY_BURST_PER_IP=1000, REPLY_RATE_PER_IP=100.0))
    assert limits.charge_answer(IP, 600, 0.0) is None
    assert limits.charge_answer(IP, 600, 0.0) == DropReason.REPLY_BUDGET  # 400 left: refused, nothing spent
    assert limits.allow_reply(IP, 550, 0.0) is None  # the first answer, smaller than charged: free
    assert limits.charge_answer(IP, 400, 0.0) is None
    assert limits.allow_reply(IP, 450, 0.0) == DropReason.REPLY_BUDGET  # 50 more than charged, 0 left
    assert limits.charge_answer(IP, 200, 1.0) == DropReason.REPLY_BUDGET  # refilled by 100 a second
    assert limits.charge_answer(IP, 200, 2.0) is None


def test_expensive_answers_share_one_global_cap() -> None:
    limits = Limits(CFG.replace(GLOBAL_EXPENSIVE_RATE=5.0, GLOBAL_EXPENSIVE_BURST=10))
    ips = [f"192.0.2.{i}" for i in range(1, 21)]
    built = [limits.charge_answer(ip, 100, 0.0, expensive=True) for ip in ips]
    assert built.count(None) == 10 and set(built) == {None, DropReason.BUSY}
    assert all(limits.charge_answer(ip, 100, 0.0) is None for ip in ips)  # cheap answers go on
    assert [limits.charge_answer(ip, 100, 1.0, expensive=True) for ip in ips].count(None) == 5


def test_per_ip_state_is_bounded_by_a_million_spoofed_sources() -> None:
    limits = Limits()
    admit = limits.admit
    for i in range(1_000_000):
        admit(f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", 60, i * 1e-6)
    assert len(limits.peers) == CFG.LIMITS_MAX_PEERS
    assert limits.evictions == 1_000_000 - CFG.LIMITS_MAX_PEERS


def test_lru_keeps_the_sources_still_talking() -> None:
    limits = Limits(Config(LIMITS_MAX_PEERS=100))
    limits.admit(IP, 60, 0.0)
    for i in range(1000):
        limits.admit(f"10.0.{i // 256}.{i % 256}", 60, 0.0)
        if i % 50 == 0:
            limits.admit(IP, 60, 0.0)  # heard again: most recently used
    assert IP in limits.peers and len(limits.peers) == 100


def test_loopback_factor_raises_every_budget_of_loopback_sources_only() -> None:
    limits = Limits(Config(LOOPBACK_LIMIT_FACTOR=100.0))
    assert admitted(limits, "127.0.0.1", [0.0] * 5000) == 5000
    assert limits.admit("127.0.0.1", 60, 0.0) is DropReason.RATE_LIMITED
    assert admitted(limits, IP, [0.0] * 60) == 50
    assert sum(limits.allow_reply("127.0.0.1", 1000, 0.0) is None for _ in range(3000)) == 2000
    assert limits.blocks == 0
    default = Limits()
    assert admitted(default, "127.0.0.5", [0.0] * 60) == 50  # the default: loopback as any host


def test_own_loopback_address_is_exempt_only_when_we_listen_on_loopback() -> None:
    limits = Limits()
    limits.admit("127.0.0.1", 60, 0.0)  # heard before the address was known: forgotten
    limits.set_own_address("127.0.0.1")
    assert "127.0.0.1" not in limits.peers
    assert admitted(limits, "127.0.0.1", [0.0] * 10_000) == 10_000
    assert admitted(limits, "127.0.0.2", [0.0] * 60) == 50  # another loopback address: as any host
    everywhere = Limits()
    everywhere.set_own_address("0.0.0.0")  # all interfaces: 127.0.0.1 is ours too
    assert everywhere.own_ip == "127.0.0.1"
    assert admitted(everywhere, "127.0.0.1", [0.0] * 10_000) == 10_000
    public = Limits()
    public.set_own_address("192.0.2.7")  # a spoofed source with our own public IP gains nothing
    assert public.own_ip is None
    assert admitted(public, "192.0.2.7", [0.0] * 60) == 50


# --- properties ------------------------------------------------------------

bursts = st.lists(
    st.tuples(st.integers(min_value=1, max_value=50), st.floats(min_value=0.0, max_value=3.0)),
    min_size=1, max_size=40,
)


@settings(max_examples=200, deadline=None, database=None)
@given(bursts=bursts, start=st.floats(min_value=0.0, max_value=1e6))
def test_a_peer_within_10_per_second_in_bursts_of_50_is_never_refused(
    bursts: list[tuple[int, float]], start: float
) -> None:
    limits = Limits()
    now = start
    for size, extra in bursts:
        for i in range(size):  # a burst, within 1 ms
            verdict = limits.admit(IP, 100, now + i * 1e-6)
            assert verdict is None, (verdict, size)
            assert limits.allow_reply(IP, 330, now + i * 1e-6) is None  # a find_node answer
        now += size / CFG.QUERY_RATE + extra  # then keeps to 10/s on average
    assert limits.blocks == 0


@settings(max_examples=200, deadline=None, database=None)
@given(gaps=st.lists(st.floats(min_value=0.0, max_value=0.5), min_size=1, max_size=3000),
       size=st.integers(min_value=1, max_value=1472))
def test_one_ip_never_gets_more_than_its_budgets(gaps: list[float], size: int) -> None:
    limits = Limits()
    now, taken, replied = 0.0, 0, 0
    for gap in gaps:
        now += gap
        if limits.admit(IP, size, now) is None:
            taken += 1
            if limits.allow_reply(IP, size, now) is None:
                replied += size
        assert taken <= CFG.QUERY_BURST + CFG.QUERY_RATE * now + 1e-6
        assert replied <= CFG.REPLY_BURST_PER_IP + CFG.REPLY_RATE_PER_IP * now + 1e-6


@settings(max_examples=100, deadline=None, database=None)
@given(ips=st.lists(st.integers(min_value=0, max_value=2**32 - 1), max_size=500),
       cap=st.integers(min_value=1, max_value=50))
def test_state_never_exceeds_its_cap(ips: list[int], cap: int) -> None:
    limits = Limits(Config(LIMITS_MAX_PEERS=cap))
    for n, ip in enumerate(ips):
        text = ".".join(str(ip >> s & 255) for s in (24, 16, 8, 0))
        limits.admit(text, 60, n * 0.01)
        limits.allow_reply(text, 60, n * 0.01)
        assert len(limits.peers) <= cap
    assert len(limits.peers) == min(cap, len(set(ips)))


# --- records at rest ---------------------------------------------------------

_OPS = st.lists(
    st.tuples(
        st.sampled_from(("admit", "expect", "charge", "reply", "rest")),
        st.sampled_from((IP, OTHER, "127.0.0.9")),
        st.floats(min_value=0.0, max_value=40.0),  # seconds since the last step
        st.integers(min_value=1, max_value=3000),  # size
    ),
    max_size=120,
)


def _apply(limits: Limits, op: str, ip: str, now: float, size: int) -> object:
    if op == "admit":
        return limits.admit(ip, size, now)
    if op == "expect":
        return limits.expect(ip, now)
    if op == "charge":
        return limits.charge_answer(ip, size, now)
    if op == "reply":
        return limits.allow_reply(ip, size, now)
    return None


@settings(max_examples=300, deadline=None)
@given(_OPS)
def test_a_record_at_rest_decides_as_the_record_kept(ops: list[tuple[str, str, float, int]]) -> None:
    cfg = Config(QUERY_RATE=2.0, QUERY_BURST=5, BLOCK_RATE=1.0, BLOCK_WINDOW=5.0, BLOCK_DURATION=20.0,
                 REPLY_RATE_PER_IP=500.0, REPLY_BURST_PER_IP=2000, SETTLE_SECONDS=30.0,
                 GLOBAL_QUERY_RATE=1e9, GLOBAL_QUERY_BURST=10**9, GLOBAL_REPLY_RATE=1e9, GLOBAL_REPLY_BURST=10**9)
    resting, kept = Limits(cfg), Limits(cfg)
    kept.next_rest = float("inf")  # never swept
    now = 0.0
    rested = 0
    for op, ip, dt, size in ops:
        now += dt
        if op == "rest":
            rested += resting.rest(now)
        assert _apply(resting, op, ip, now, size) == _apply(kept, op, ip, now, size)
        assert resting.blocked_count(now) == kept.blocked_count(now)
        assert resting.is_blocked(ip, now) == kept.is_blocked(ip, now)
    assert list(resting.peers) == list(kept.peers)  # the same LRU order
    for ip in list(kept.peers):  # revived, each is what the kept one is (to within the refill)
        a, b = resting.peer(ip, now + 100.0), kept.peer(ip, now + 100.0)
        assert (a.first_seen, a.credit, a.prepaid, a.cost) == (b.first_seen, b.credit, b.prepaid, b.cost)
        assert resting._settled(a, now + 100.0) == kept._settled(b, now + 100.0)


def test_records_at_rest_are_swept_to_a_float_and_revived_on_the_next_datagram() -> None:
    limits = Limits(CFG)
    assert limits.admit(IP, 60, 0.0) is None
    limits.expect(OTHER, 0.0)  # a credit outstanding: not at rest
    assert limits.rest(1.0) == 0  # IP's offence window is still open
    assert limits.admit(OTHER, 60, 30.0) is None  # spends the credit; sweeps IP at 30 s
    assert limits.peers[IP] == 0.0  # only the time it was first seen
    assert isinstance(limits.peers[OTHER], object) and limits.peers[OTHER] != 30.0
    assert list(limits.peers) == [IP, OTHER]  # its place in the LRU order kept
    assert limits.admit(IP, 60, 30.5) is None
    p = limits.peer(IP, 30.5)
    assert p.first_seen == 0.0 and limits._settled(p, 30.5)  # still settled
    assert p.tokens == CFG.QUERY_BURST - 1 and p.in_window == 1.0
    assert list(limits.peers) == [OTHER, IP]


def test_a_blocked_record_is_not_at_rest() -> None:
    cfg = Config(BLOCK_RATE=1.0, BLOCK_WINDOW=5.0)
    limits = Limits(cfg)
    for i in range(5):
        limits.admit(IP, 60, i * 0.01)
    assert limits.is_blocked(IP, 1.0)
    assert limits.rest(100.0) == 0 and limits.is_blocked(IP, 100.0)
    assert limits.rest(cfg.BLOCK_DURATION + 10.0) == 1 and not limits.is_blocked(IP, cfg.BLOCK_DURATION + 10.0)
