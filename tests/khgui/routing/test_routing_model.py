"""Tests of the routing models and helpers: prefixes, qtmodeltester, row identity."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt

from dht import BucketInfo, Contact, ContactInfo
from khgui.routing.history import SplitHistory
from khgui.routing.model import (
    NEVER_ANSWERED, SORT_ROLE, BucketListModel, ContactTableModel, bucket_depth, bucket_prefix, bucket_rows, format_age, id_bits,
)

TOP = 1 << 160


def contact(n: int, prefix_value: int = 0, answered: bool = True) -> ContactInfo:
    """A real dht.ContactInfo, as node.routing_table() returns them."""
    node_id = (prefix_value + n).to_bytes(20, "big")
    return ContactInfo(Contact(node_id, "127.0.0.1", 4000 + n), time.monotonic() - n if answered else None,
                       failures=n % 2, rtt=None if n == 3 else n / 1000)


def caterpillar() -> list[BucketInfo]:
    """Buckets [0, 1/2), [1/2, 3/4), [3/4, 1) of the space, with contacts."""
    half, three_q = TOP // 2, TOP // 4 * 3
    now = time.monotonic()
    return [
        BucketInfo(0, half, now - 5, [contact(i) for i in range(8)]),
        BucketInfo(half, three_q, now - 1, [contact(i, half) for i in range(3)]),
        BucketInfo(three_q, TOP, now, [contact(i, three_q) for i in range(5)]),
    ]


def test_prefix_and_depth() -> None:
    assert bucket_depth(0, TOP) == 0 and bucket_prefix(0, TOP) == ""
    assert bucket_prefix(0, TOP // 2) == "0"
    assert bucket_prefix(TOP // 2, TOP) == "1"
    lo, hi = TOP // 4 * 3, TOP // 4 * 3 + (1 << 150)
    assert bucket_depth(lo, hi) == 10 and bucket_prefix(lo, hi) == "1100000000"
    assert id_bits(b"\x80" + bytes(19), 3) == "100"
    assert format_age(3.25) == "3.2 s" and format_age(600) == "10 min"


def test_bucket_rows_mark_our_bucket() -> None:
    own = (TOP - 1).to_bytes(20, "big")
    rows = bucket_rows(list(reversed(caterpillar())), own)
    assert [r.prefix for r in rows] == ["0", "10", "11"]
    assert [r.own for r in rows] == [False, False, True]


def test_bucket_model_passes_modeltester(qtmodeltester: Any) -> None:
    model = BucketListModel(k=8)
    model.set_buckets(bucket_rows(caterpillar(), None))
    qtmodeltester.check(model)
    assert model.rowCount() == 3 and model.contact_count() == 16
    assert model.index(1, 0).data() == "10"
    assert model.index(0, 2).data() == "8/8"


def test_bucket_model_keeps_rows_when_only_values_change(qtbot: Any) -> None:
    model = BucketListModel()
    model.set_buckets(bucket_rows(caterpillar(), None))
    with qtbot.waitSignal(model.dataChanged, timeout=500):
        buckets = caterpillar()
        buckets[1].contacts.append(contact(7, TOP // 2))
        model.set_buckets(bucket_rows(buckets, None))
    assert model.index(1, 2).data() == "4/8"
    with qtbot.waitSignal(model.modelReset, timeout=500):
        model.set_buckets(bucket_rows(caterpillar()[:1], None))
    assert model.rowCount() == 1


def test_contact_model_passes_modeltester(qtmodeltester: Any) -> None:
    model = ContactTableModel()
    model.set_contacts([contact(i) for i in range(6)])
    qtmodeltester.check(model)
    assert model.index(2, 1).data() == "127.0.0.1:4002"
    assert model.index(3, 4).data() == "\u2013"  # no RTT measured
    assert model.index(2, 4).data() == "2.0 ms"
    assert model.index(1, 3).data() == "1"
    assert model.index(1, 3).data(Qt.ItemDataRole.ForegroundRole) is not None
    model.set_contacts([])
    qtmodeltester.check(model)


def test_contact_model_shows_contacts_that_never_answered(qtmodeltester: Any) -> None:
    model = ContactTableModel()
    model.set_contacts([contact(1), contact(2, answered=False), contact(3)])
    qtmodeltester.check(model)
    assert model.index(1, 2).data() == NEVER_ANSWERED
    assert "never answered" in model.index(1, 2).data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(0, 2).data().endswith(" ago")
    assert "answered" in model.index(0, 2).data(Qt.ItemDataRole.ToolTipRole)
    # Sorted by last seen, a contact that never answered is the oldest of all.
    ages = [model.index(r, 2).data(SORT_ROLE) for r in range(3)]
    assert ages[1] == max(ages) and ages[1] > ages[2] > ages[0]


def test_split_history_counts_and_marks() -> None:
    h = SplitHistory(origin=100.0)
    h.split(101.0, 0, TOP)
    h.split(102.0, TOP // 2, TOP)
    h.merge(103.0, TOP // 2, TOP)
    h.observe(104.0, 2)
    x, y = h.arrays()
    assert y[-1] == 2 and x[-1] == 4.0
    assert (h.splits, h.merges) == (2, 1)
    sx, sy = h.mark_arrays("split")
    assert list(sx) == [1.0, 2.0] and list(sy) == [2.0, 3.0]
    h.observe(110.0, 5)  # a refresh corrects drift
    assert h.count == 5 and h.arrays()[1][-1] == 5


def test_contact_model_shows_each_contacts_client(qtmodeltester: Any) -> None:
    model = ContactTableModel()
    base = contact(1)
    lt = ContactInfo(base.contact, base.last_seen, 0, None, "libtorrent (Rasterbar) 2.1.1")
    model.set_contacts([lt, contact(2)])
    qtmodeltester.check(model)
    assert model.headerData(5, Qt.Orientation.Horizontal) == "Client"
    assert model.index(0, 5).data() == "libtorrent (Rasterbar) 2.1.1"
    assert model.index(1, 5).data() == "\u2013"
    assert "never told us" in model.index(1, 5).data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(0, 5).data(SORT_ROLE) == "libtorrent (Rasterbar) 2.1.1"


def test_contact_model_shows_bep42_validity_and_client_codes(qtmodeltester: Any) -> None:
    from dht.events import DatagramReceived

    from khgui.common.clients import ClientCensus

    census = ClientCensus()
    model = ContactTableModel(census=census)
    base = contact(1)
    valid = ContactInfo(base.contact, base.last_seen, 0, None, "libtorrent (Rasterbar) 2.1.1", True)
    invalid = ContactInfo(contact(2).contact, base.last_seen, 0, None, None, False)
    exempt = contact(3)
    model.set_contacts([valid, invalid, exempt])
    qtmodeltester.check(model)
    assert model.headerData(6, Qt.Orientation.Horizontal) == "BEP 42"
    assert [model.index(r, 6).data() for r in range(3)] == ["\u2713 valid", "\u2717 invalid", "\u2013"]
    assert "does not fit" in model.index(1, 6).data(Qt.ItemDataRole.ToolTipRole)
    assert "exempt" in model.index(2, 6).data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(0, 5).data() == "libtorrent (Rasterbar) 2.1.1"  # nothing heard from it yet
    peer = (invalid.contact.host, invalid.contact.port)
    census.add_events([
        DatagramReceived(1.0, (valid.contact.host, valid.contact.port), "r", "ping", b"aa", 40,
                         {b"y": b"r", b"v": b"LT\x02\x11"}),
        DatagramReceived(1.0, peer, "r", "ping", b"ab", 40, {b"y": b"r", b"v": b"UT\x01\x02"}),
    ])
    assert model.index(0, 5).data() == "LT \u00b7 libtorrent (Rasterbar) 2.1.1"
    assert model.index(1, 5).data() == "UT"  # the table has no name for it: the code
