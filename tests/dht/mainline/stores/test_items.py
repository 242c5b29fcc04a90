"""The BEP 44 item store: seq and CAS rules with their codes, expiry, caps and eviction (fake clock)."""

from __future__ import annotations

import pytest

from dht.mainline.stores.items import ItemStore, _distance_exp
from dht.core.store_settings import StoreSettings
from dht.wire import bep44
from dht.wire.codes import Meaning, WireError

OUR_ID = b"\x00" * 20
K = b"k" * 32
SIG = b"s" * 64


def store(**kw: float) -> ItemStore:
    return ItemStore(OUR_ID, StoreSettings(**kw))  # type: ignore[arg-type]


def code_of(s: ItemStore, **put: object) -> tuple[int, Meaning]:
    args = dict(k=K, salt=b"", seq=1, sig=SIG, v=b"1:a", cas=None, ip="10.0.0.1", now=0.0)
    args.update(put)
    with pytest.raises(WireError) as info:
        s.put_mutable(**args)  # type: ignore[arg-type]
    return info.value.code, info.value.meaning


def test_immutable_items() -> None:
    s = store()
    item = s.put_immutable(b"12:Hello World!", "10.0.0.1", 0)
    assert item.target.hex() == "e5f96f6f38320f0f33959cb4d3d656452117aadb"
    got = s.get(item.target, 1)
    assert got is not None and got.v == b"12:Hello World!" and not got.mutable
    assert s.get(b"\x09" * 20, 1) is None


def test_mutable_seq_rules() -> None:
    s = store()
    target = bep44.mutable_target(K, b"salt")
    s.put_mutable(K, b"salt", 5, SIG, b"1:a", None, "10.0.0.1", 0)
    assert code_of(s, salt=b"salt", seq=4) == (302, Meaning.SEQ_TOO_OLD)
    assert code_of(s, salt=b"salt", seq=5, v=b"1:b") == (302, Meaning.SEQ_TOO_OLD)  # same seq, other value
    s.put_mutable(K, b"salt", 5, SIG, b"1:a", None, "10.0.0.2", 10)  # same seq, same value: a refresh
    s.put_mutable(K, b"salt", 6, SIG, b"1:c", None, "10.0.0.3", 20)
    item = s.get(target, 21)
    assert item is not None and (item.seq, item.v) == (6, b"1:c")
    assert item.announcers == {"10.0.0.1", "10.0.0.2", "10.0.0.3"}
    # BEP 44 get: the value only when its seq is above the asker's.
    assert item.newer_than(5) and not item.newer_than(6) and item.newer_than(None)
    # Another salt is another item.
    assert s.get(bep44.mutable_target(K), 21) is None


def test_cas() -> None:
    s = store()
    assert s.put_mutable(K, b"", 1, SIG, b"1:a", 7, "10.0.0.1", 0).seq == 1  # no item yet: cas ignored
    assert code_of(s, seq=2, cas=0) == (301, Meaning.CAS_MISMATCH)
    assert s.put_mutable(K, b"", 2, SIG, b"1:b", 1, "10.0.0.1", 1).seq == 2


def test_sizes() -> None:
    s = store()
    assert code_of(s, v=b"997:" + b"x" * 997) == (205, Meaning.VALUE_TOO_BIG)
    assert code_of(s, salt=b"s" * 65) == (207, Meaning.SALT_TOO_BIG)
    with pytest.raises(WireError):
        s.put_immutable(b"997:" + b"x" * 997, "10.0.0.1", 0)


def test_expiry_and_refresh() -> None:
    s = store(dht_item_lifetime=100)
    a = s.put_immutable(b"1:a", "10.0.0.1", 0)
    s.put_immutable(b"1:b", "10.0.0.1", 0)
    s.put_immutable(b"1:a", "10.0.0.2", 60)  # put again: lives on
    assert s.get(a.target, 150) is not None
    assert s.expire(150) == 1 and len(s) == 1
    m = s.put_mutable(K, b"", 9, SIG, b"1:a", None, "10.0.0.1", 0)
    assert s.get(m.target, 100) is None
    # An expired mutable item no longer holds back a lower seq.
    assert s.put_mutable(K, b"", 1, SIG, b"1:z", None, "10.0.0.1", 200).seq == 1


def test_lifetime_zero_keeps_items() -> None:
    s = store(dht_item_lifetime=0)
    a = s.put_immutable(b"1:a", "10.0.0.1", 0)
    assert s.get(a.target, 1e9) is not None and s.expire(1e9) == 0


def test_a_full_store_evicts_the_least_important() -> None:
    values = [b"i%de" % i for i in range(3)]
    home = bep44.immutable_target(values[0])  # our id: the first item's target
    s = ItemStore(home, StoreSettings(dht_max_dht_items=3))
    items = [s.put_immutable(v, "10.0.0.1", 0) for v in values]
    s.put_immutable(b"i99e", "10.0.0.1", 1)
    assert len(s) == 3
    assert s.get(items[0].target, 2) is not None  # nearest to us: kept
    gone = [i for i in items[1:] if s.get(i.target, 2) is None]
    assert len(gone) == 1
    kept = next(i for i in items[1:] if i is not gone[0])
    assert _distance_exp(gone[0].target, home) >= _distance_exp(kept.target, home)


def test_popular_items_outweigh_distance() -> None:
    values = [b"i%de" % i for i in range(3)]
    s = ItemStore(OUR_ID, StoreSettings(dht_max_dht_items=2))
    a, b = (s.put_immutable(v, "10.0.0.1", 0) for v in values[:2])
    for i in range(64):  # each 5 announcers are worth a bit of distance (64 counted at most)
        s.put_immutable(a.v, f"10.0.{i}.1", 1)
    assert _distance_exp(a.target, OUR_ID) - _distance_exp(b.target, OUR_ID) < 64 // 5
    s.put_immutable(values[2], "10.0.0.1", 2)
    assert s.get(a.target, 3) is not None and s.get(b.target, 3) is None


def test_announcers_are_bounded() -> None:
    s = store(dht_max_item_announcers=4)
    for i in range(10):
        item = s.put_immutable(b"1:a", f"10.0.0.{i}", i)
    assert len(item.announcers) == 4


def test_the_stored_list_has_live_items_with_their_times() -> None:
    import math

    from dht.mainline.stores.items import StoredItemInfo

    s = store(dht_item_lifetime=100)
    imm = s.put_immutable(b"3:abc", "10.0.0.1", now=0.0)
    s.put_mutable(K, b"salt", 4, SIG, b"1:m", None, "10.0.0.2", now=30.0)
    target = bep44.mutable_target(K, b"salt")
    assert s.stored(now=40.0) == [
        StoredItemInfo(imm.target, b"3:abc", None, b"", None, 0.0, 100.0),
        StoredItemInfo(target, b"1:m", K, b"salt", 4, 30.0, 130.0),
    ]
    assert [i.target for i in s.stored(now=100.0)] == [target]
    forever = store(dht_item_lifetime=0)
    forever.put_immutable(b"i1e", "10.0.0.1", now=5.0)
    assert forever.stored(now=1e9)[0].expires == math.inf


def near_values(count: int, start: int = 0) -> list[bytes]:
    """Immutable values whose targets share their first byte with OUR_ID (ground, as an attacker would)."""
    out: list[bytes] = []
    n = start
    while len(out) < count:
        v = b"i%de" % n
        if bep44.immutable_target(v)[0] == 0:
            out.append(v)
        n += 1
    return out


def test_one_ip_grinding_targets_near_us_does_not_evict_the_others() -> None:
    s = store(dht_max_dht_items=10, dht_max_items_per_ip=10)  # the share as big as the store
    others = [s.put_immutable(b"3:o%02d" % i, f"10.0.1.{i}", 0) for i in range(5)]
    for t, v in enumerate(near_values(50)):
        s.put_immutable(v, "10.0.9.9", 1 + t)
    assert all(s.get(o.target, 100) is not None for o in others)
    assert s.held_by("10.0.9.9") == 5 and len(s) == 10  # it took the free places, then its own
    newcomer = s.put_immutable(b"3:new", "10.0.2.1", 100)
    assert s.get(newcomer.target, 101) is not None and s.held_by("10.0.9.9") == 4


def test_a_full_store_of_equal_holders_takes_a_newcomer_and_settles() -> None:
    s = store(dht_max_dht_items=6)
    for i in range(6):
        s.put_immutable(b"3:e%02d" % i, f"10.0.1.{i}", 0)
    for t, v in enumerate(near_values(20)):  # a newcomer meets equals: libtorrent's rule, then its own
        s.put_immutable(v, "10.0.9.9", 1 + t)
    assert s.held_by("10.0.9.9") == 1 and len(s) == 6  # one of the others went, once


def test_one_ip_holds_at_most_its_share_of_items() -> None:
    s = store(dht_max_items_per_ip=3)
    items = [s.put_immutable(b"i%de" % i, "10.0.0.1", i) for i in range(5)]
    assert s.held_by("10.0.0.1") == 3 and len(s) == 3
    mutable = [s.put_mutable(bytes([i]) * 32, b"", 1, SIG, b"1:a", None, "10.0.0.1", 9) for i in range(4)]
    assert s.held_by("10.0.0.1") == 6  # a share per kind
    assert sum(s.get(m.target, 10) is not None for m in mutable) == 3
    s.exempt_host = "127.0.0.1"
    for i in range(5):
        s.put_immutable(b"i%de" % (100 + i), "127.0.0.1", 20)
    assert s.held_by("127.0.0.1") == 5
    assert sum(s.get(i.target, 21) is not None for i in items) == 3
