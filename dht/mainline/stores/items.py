"""The BEP 44 item store: immutable and mutable items, with expiry and caps.

An immutable item is kept under SHA-1 of its bencoded value; a mutable one
under SHA-1(k + salt), with its ``seq`` and signature.  The caller (the
``put`` handler) has checked the token and the signature
(:func:`dht.wire.mainline.check_signature`) before it stores; the store
applies the rules that need what it holds:

* ``cas`` given and an item held: the put goes through only when ``cas``
  equals the held ``seq``, else 301 (CAS mismatch);
* a ``seq`` below the held one: 302; the same ``seq``: only the same value
  is taken (it refreshes the item), another value is 302 too, since BEP 44
  forbids replacing an item without a higher ``seq``;
* a higher ``seq``: the new value replaces the old.

Every put refreshes the item's ``last_seen`` and counts the putting IP
among its announcers (at most ``dht_max_item_announcers``).  An item not
put again within ``dht_item_lifetime`` is gone (0 keeps items forever).

Room.  An item's holder is the IP that put it first.  Items are scored for
importance as libtorrent does: announcers // 5 minus the log2 XOR distance
of the target from our node id, so items near us, or popular ones, rank
higher.  An IP that holds ``dht_max_items_per_ip`` items of a kind and puts
a new one loses its own least important one.  When ``dht_max_dht_items``
items of a kind are held, :mod:`dht.core.fairness` names whose least
important item goes: the heaviest holder's if it holds two more than the
putting IP, else the putting IP's own if it holds any, else the least
important of all (libtorrent's rule, where a newcomer meets a store of
equal holders).  So one IP grinding targets near our id displaces at most
a couple of others' items, however many it puts, and a newcomer always
stores.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from ...wire import bep44
from ...wire.codes import MAINLINE, Meaning
from ...core.fairness import ANYONE, Tally, who_makes_room
from ...core.store_settings import StoreSettings


@dataclass(frozen=True, slots=True)
class StoredItemInfo:
    """A BEP 44 item this node holds, as the explorer shows it (times monotonic)."""

    target: bytes
    value: bytes  # the bencoded ``v``, as stored
    public_key: bytes | None  # None: immutable
    salt: bytes
    seq: int | None
    stored: float  # its last put
    expires: float  # when it goes unless put again (inf: dht_item_lifetime 0, kept forever)


@dataclass(slots=True)
class Item:
    target: bytes
    v: bytes  # bencoded
    last_seen: float
    k: bytes | None = None
    salt: bytes = b""
    seq: int | None = None
    sig: bytes | None = None
    announcers: set[str] = field(default_factory=set)
    holder: str = ""  # the IP that put it first

    @property
    def mutable(self) -> bool:
        return self.k is not None

    def newer_than(self, seq: int | None) -> bool:
        """True when a get that gave ``seq`` should get the value (BEP 44)."""
        return seq is None or self.seq is None or self.seq > seq


def _distance_exp(a: bytes, b: bytes) -> int:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_length() - 1


class _Kind:
    """The items of one kind (immutable or mutable), with who holds them."""

    __slots__ = ("items", "owned", "tally")

    def __init__(self) -> None:
        self.items: dict[bytes, Item] = {}
        self.owned: dict[str, dict[bytes, None]] = {}  # holder -> its targets, in the order they came
        self.tally = Tally()  # items per holder

    def add(self, item: Item) -> None:
        self.items[item.target] = item
        self.owned.setdefault(item.holder, {})[item.target] = None
        self.tally.add(item.holder)

    def remove(self, target: bytes) -> None:
        item = self.items.pop(target)
        owned = self.owned[item.holder]
        del owned[target]
        if not owned:
            del self.owned[item.holder]
        self.tally.remove(item.holder)


class ItemStore:
    # a lab runs thousands of these: no instance dict
    __slots__ = ("_immutable", "_kinds", "_mutable", "exempt_host", "node_id", "settings")

    def __init__(self, node_id: bytes, settings: StoreSettings | None = None) -> None:
        self.node_id = node_id
        self.settings = settings or StoreSettings()
        self._kinds = (_Kind(), _Kind())  # immutable, mutable
        self._immutable = self._kinds[0].items
        self._mutable = self._kinds[1].items
        #: an IP with no share limit (a node's own loopback address, where a lab on one address puts all its nodes)
        self.exempt_host: str | None = None

    def __len__(self) -> int:
        return len(self._immutable) + len(self._mutable)

    def held_by(self, ip: str) -> int:
        """How many items (of both kinds) ``ip`` holds here."""
        return sum(kind.tally.get(ip) for kind in self._kinds)

    def _alive(self, item: Item, now: float) -> bool:
        lifetime = self.settings.dht_item_lifetime
        return lifetime == 0 or item.last_seen + lifetime > now

    def get(self, target: bytes, now: float) -> Item | None:
        """The live item under ``target`` (mutable or immutable), or None."""
        item = self._mutable.get(target) or self._immutable.get(target)
        if item is None or not self._alive(item, now):
            return None
        return item

    def _touch(self, item: Item, ip: str, now: float) -> None:
        item.last_seen = now
        if len(item.announcers) < self.settings.dht_max_item_announcers:
            item.announcers.add(ip)

    def _score(self, item: Item) -> int:
        return len(item.announcers) // 5 - _distance_exp(item.target, self.node_id)

    def _least_important(self, items: Iterable[Item]) -> Item:
        return min(items, key=self._score)

    def _make_room(self, kind: _Kind, ip: str, now: float) -> None:
        """Make room in ``kind`` for a new item put by ``ip`` (see the module's docstring)."""
        s = self.settings
        mine = kind.tally.get(ip)
        if mine >= s.dht_max_items_per_ip and ip != self.exempt_host:
            kind.remove(self._least_important(kind.items[t] for t in kind.owned[ip]).target)
            return
        if len(kind.items) < s.dht_max_dht_items:
            return
        for target in [t for t, i in kind.items.items() if not self._alive(i, now)]:
            kind.remove(target)
        if len(kind.items) < s.dht_max_dht_items:
            return
        holder = who_makes_room(kind.tally.heaviest(), kind.tally.max, ip, mine)
        pool = kind.items.values() if holder is ANYONE else (kind.items[t] for t in kind.owned[holder])
        kind.remove(self._least_important(pool).target)

    def put_immutable(self, v: bytes, ip: str, now: float) -> Item:
        """Store (or refresh) an immutable item; ``v`` is its bencoded value."""
        if len(v) > bep44.MAX_VALUE_BYTES:
            raise MAINLINE.error(Meaning.VALUE_TOO_BIG)
        target = bep44.immutable_target(v)
        item = self._immutable.get(target)
        if item is None:
            kind = self._kinds[0]
            self._make_room(kind, ip, now)
            item = Item(target, v, now, holder=ip)
            kind.add(item)
        self._touch(item, ip, now)
        return item

    def put_mutable(
        self, k: bytes, salt: bytes, seq: int, sig: bytes, v: bytes, cas: int | None, ip: str, now: float
    ) -> Item:
        """Store a mutable item whose signature the caller verified; 301/302 per BEP 44."""
        if len(v) > bep44.MAX_VALUE_BYTES:
            raise MAINLINE.error(Meaning.VALUE_TOO_BIG)
        if len(salt) > bep44.MAX_SALT_BYTES:
            raise MAINLINE.error(Meaning.SALT_TOO_BIG)
        target = bep44.mutable_target(k, salt)
        kind = self._kinds[1]
        item = kind.items.get(target)
        if item is not None and not self._alive(item, now):
            kind.remove(target)
            item = None
        if item is None:
            self._make_room(kind, ip, now)
            item = Item(target, v, now, k, salt, seq, sig, holder=ip)
            kind.add(item)
        else:
            assert item.seq is not None
            if cas is not None and cas != item.seq:
                raise MAINLINE.error(Meaning.CAS_MISMATCH, f"CAS mismatch: held seq is {item.seq}")
            if seq < item.seq or (seq == item.seq and v != item.v):
                raise MAINLINE.error(Meaning.SEQ_TOO_OLD, f"seq {seq} is not above the held {item.seq}")
            item.v, item.seq, item.sig = v, seq, sig
        self._touch(item, ip, now)
        return item

    def stored(self, now: float) -> list[StoredItemInfo]:
        """Every live item held: immutable ones, then mutable ones."""
        lifetime = self.settings.dht_item_lifetime
        return [
            StoredItemInfo(
                i.target, i.v, i.k, i.salt, i.seq, i.last_seen,
                i.last_seen + lifetime if lifetime else math.inf,
            )
            for table in (self._immutable, self._mutable)
            for i in table.values()
            if self._alive(i, now)
        ]

    def expire(self, now: float) -> int:
        """Drop items past their lifetime; returns how many went."""
        gone = 0
        for kind in self._kinds:
            for target in [t for t, i in kind.items.items() if not self._alive(i, now)]:
                kind.remove(target)
                gone += 1
        return gone
