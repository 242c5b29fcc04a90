"""Iterative lookups as a sans-IO state machine.

Theory of operation.  A :class:`Lookup` holds every contact found so far,
ordered by XOR distance to the target.  :meth:`Lookup.next_queries` names
the closest contacts not yet asked, as long as fewer than :attr:`window`
requests are *active*.  The driver sends them and feeds back what happened:

* :meth:`answered` with the contacts the peer returned (they join the
  candidates) -- a late answer is accepted the same way;
* :meth:`failed` when the request failed or timed out for good;
* :meth:`soft_timeout` when a request has been silent longer than its soft
  timeout (its contact's round-trip estimate, :mod:`dht.core.rtt`): it stops
  counting as *active*, so the lookup asks one more candidate, but it is
  still *out*: its answer counts in full when it comes (its nodes, its
  token, its values), and until it answers, fails or reaches its full
  timeout (KRPC_TIMEOUT) it holds the end (below).  A soft timeout widens a
  lookup; it never ends one.

The window.  ``concurrency`` (CONCURRENT_REQS) is the most requests a
lookup ever keeps active; ``window`` is how many it may keep active now.
By default the window is the whole of ``concurrency`` from the start: a
find_node (and the find_node before a store) wants the K closest, and so
does the find_value of a get, which runs to its end before the holders are
asked (:class:`ValueRetrieval`); asking CONCURRENT_REQS at a time converges
on them in the fewest round trips.  A lookup that hunts for the *first*
node with something (the explicit first-holder get, which stops at the
first holder) starts with a window of 1 instead: a greedy descent that asks
the closest unasked candidate, waits for its answer, and asks the closest
again, so that no request goes to a contact that the pending answer would
have made pointless.  Each soft timeout widens the window by one, up to
``concurrency``: silence is the only thing that makes waiting costly, so
only silence buys parallelism.  The window never narrows again (a lookup
that met silent contacts is likely to meet more).  An answer or a hard
failure frees its slot without widening: a failure is known at once and
costs no waiting.

Which candidates are asked.  The lookup asks the closest candidates not yet
asked among the K closest that have neither failed nor gone slow: a slow
contact does not take one of the K places there, so each one lets the
lookup reach one candidate further (libtorrent's traversal opens a slot the
same way, by raising its branch factor on a short timeout).

The end.  The *K closest live* candidates are the K closest that have not
failed; a slow one is live (it may still answer).  No lookup is finished
while one of them is not answered: none is new, active or slow.  So a
lookup whose closest contacts are slower than their estimates waits for
their answers instead of ending with less than the network holds, and a
contact that never answers holds it until its full timeout.  Without
``wait_for_all`` (Mainline, as libtorrent's traversal) that is the whole
rule: a request still out to a contact further away than all of them is
not waited for (its answer still reaches the routing table, not the
lookup).  With it (Khashmir, as the seed's actions, which wait for every
request they sent) no active request may be out either.  When fewer than K
contacts are left alive, every one of them must have answered or failed.
Responders of a find_node are remembered with their token (for a later
store); a find_value also remembers how many values each responder holds.

Nothing here sends, sleeps or reads a clock.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .contact import Contact


@dataclass(slots=True)
class Candidate:
    contact: Contact
    distance: int
    state: str = "new"  # new, active, slow (soft timed out), answered, failed
    token: bytes | None = None
    num: int = 0


class Lookup:
    """One iterative lookup of ``target``.

    The candidates are also kept in a list sorted by distance (each joins it
    by bisection), and the active requests are counted as states change, so
    that choosing the next queries after an answer looks at the K closest
    instead of sorting every candidate again.
    """

    def __init__(
        self,
        target: bytes,
        contacts: list[Contact],
        k: int = 8,
        concurrency: int = 4,
        exclude: set[bytes] | None = None,
        window: int | None = None,
        wait_for_all: bool = True,
    ) -> None:
        """``window``: requests active at first (default ``concurrency``);
        each soft timeout widens it by one, up to ``concurrency``.
        ``wait_for_all``: the end waits for every active request (see the end)."""
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.target = target
        self.target_key = int.from_bytes(target, "big")
        self.k = k
        self.concurrency = concurrency
        self.window = concurrency if window is None else max(1, min(window, concurrency))
        self.candidates: dict[bytes, Candidate] = {}
        self._sorted: list[Candidate] = []  # every candidate, closest first
        self._distances: list[int] = []  # their distances, for bisection in C
        self._active = 0
        self._exclude = exclude or set()
        self.wait_for_all = wait_for_all
        self.queried = 0
        self.add(contacts)

    def distance(self, contact: Contact) -> int:
        return int.from_bytes(contact.id, "big") ^ self.target_key

    def add(self, contacts: Iterable[Contact]) -> None:
        candidates, exclude = self.candidates, self._exclude
        for contact in contacts:
            if contact.id not in candidates and contact.id not in exclude:
                self._new(contact)

    def _new(self, contact: Contact) -> Candidate:
        cand = self.candidates[contact.id] = Candidate(contact, self.distance(contact))
        self._insert(cand)
        return cand

    def _insert(self, cand: Candidate) -> None:
        """Into the candidates kept sorted (bisected on their distances, in C)."""
        at = bisect_right(self._distances, cand.distance)
        self._distances.insert(at, cand.distance)
        self._sorted.insert(at, cand)

    def _closest_alive(self) -> Iterator[Candidate]:
        """The K closest candidates that have neither failed nor gone slow, closest first:
        where the next queries come from (a slow one leaves its place to one further)."""
        alive, k = 0, self.k
        for cand in self._sorted:
            if cand.state != "failed" and cand.state != "slow":
                yield cand
                alive += 1
                if alive == k:
                    return

    def _leave(self, cand: Candidate, state: str) -> None:
        if cand.state == "active":
            self._active -= 1
        cand.state = state

    @property
    def active(self) -> int:
        return self._active

    def next_queries(self) -> list[Contact]:
        """Contacts to ask now; they are marked active."""
        room = self.window - self._active
        if room <= 0:
            return []
        chosen: list[Contact] = []
        for cand in self._closest_alive():
            if cand.state == "new":
                cand.state = "active"
                chosen.append(cand.contact)
                if len(chosen) == room:
                    break
        self._active += len(chosen)
        self.queried += len(chosen)
        return chosen

    @property
    def finished(self) -> bool:
        """Every one of the K closest live candidates (slow ones included) has answered;
        with ``wait_for_all``, no request is active either (see the end)."""
        if self.wait_for_all and self._active:
            return False
        live, k = 0, self.k
        for cand in self._sorted:
            state = cand.state
            if state == "failed":
                continue
            if state != "answered":
                return False  # new, active or slow: not known yet
            live += 1
            if live == k:
                break
        return True

    @property
    def slow(self) -> int:
        """Requests silent past their soft timeout, still waited for."""
        return sum(1 for c in self._sorted if c.state == "slow")

    def answered(
        self,
        contact: Contact,
        nodes: Iterable[Contact],
        token: bytes | None = None,
        num: int = 0,
    ) -> None:
        cand = self.candidates.get(contact.id)
        if cand is None:
            cand = self._new(contact)
        self._leave(cand, "answered")
        cand.token = token
        cand.num = num
        self.add(nodes)

    def failed(self, contact: Contact) -> None:
        cand = self.candidates.get(contact.id)
        if cand is not None and cand.state != "answered":
            self._leave(cand, "failed")

    def soft_timeout(self, contact: Contact) -> None:
        cand = self.candidates.get(contact.id)
        if cand is not None and cand.state == "active":
            self._leave(cand, "slow")
            self.window = min(self.window + 1, self.concurrency)

    # --- results ----------------------------------------------------

    def closest_answered(self, count: int | None = None) -> list[Candidate]:
        done = [c for c in self.candidates.values() if c.state == "answered"]
        done.sort(key=lambda c: c.distance)
        return done[: self.k if count is None else count]

    def with_values(self) -> list[Candidate]:
        """Responders that reported values, closest first."""
        have = [c for c in self.candidates.values() if c.state == "answered" and c.num > 0]
        have.sort(key=lambda c: c.distance)
        return have


class ValueRetrieval:
    """The second step of a get: asking the holders a find_value found.

    Theory of operation.  A get is a find_value run to its end, whose result
    is the responders that reported ``num > 0`` (the holders), closest
    first; then, as the seed's GetValue, the holders are asked for their
    values with get_value, at most ``concurrency`` (CONCURRENT_REQS) at a
    time, closest first.  ``retrieve`` is RETRIEVE_VALUES:

    * 0: every value of every holder (each is asked with ``num`` 0);
    * -n: up to n values, from only the closest ``redundancy``
      (STORE_REDUNDANCY) holders that answer: a holder further away is
      asked only when a closer one failed or went silent;
    * n > 0: up to n values, from as many holders as it takes.

    With n != 0, a holder is asked for the values still missing,
    ``n - len(values)``, or for all of its values (``num`` 0) when it holds
    fewer than that (the seed's generateArgs), and no holder is asked while
    the values found plus those expected from the requests out (each
    holder's reported count) reach n.  The values a node holds itself count
    from the start; distinct values are merged in the order found.

    A request silent past its soft timeout frees its place (the next holder
    may be asked, as if it had failed) but is still waited for: its values
    count in full when they come.  The retrieval is finished when it has
    enough (n values, or ``redundancy`` holders answered for -n), or when
    nobody is left to ask and no request is out, slow ones included (they
    end by answering, failing or reaching their full timeout).  Nothing here
    sends, sleeps or reads a clock.
    """

    def __init__(
        self,
        holders: list[Candidate],
        local: list[bytes],
        retrieve: int,
        redundancy: int,
        concurrency: int,
    ) -> None:
        if concurrency < 1 or redundancy < 1:
            raise ValueError("concurrency and redundancy must be at least 1")
        self.retrieve = retrieve
        self.redundancy = redundancy
        self.concurrency = concurrency
        self._queue = sorted(holders, key=lambda c: c.distance)
        self._found: dict[bytes, None] = dict.fromkeys(local)
        self._active: dict[bytes, int] = {}  # holder id -> the values it reported
        self._slow: set[bytes] = set()
        self.asked: list[Contact] = []
        self.answered = 0

    @property
    def values(self) -> list[bytes]:
        """Distinct values found, in order, at most n of them when RETRIEVE_VALUES is n != 0."""
        found = list(self._found)
        return found if self.retrieve == 0 else found[: abs(self.retrieve)]

    def _enough(self) -> bool:
        if self.retrieve == 0:
            return False
        if len(self._found) >= abs(self.retrieve):
            return True
        return self.retrieve < 0 and self.answered >= self.redundancy

    def next_requests(self) -> list[tuple[Contact, int]]:
        """(holder, num) pairs to ask now; they count as outstanding."""
        chosen: list[tuple[Contact, int]] = []
        want = abs(self.retrieve)
        while self._queue and len(self._active) < self.concurrency and not self._enough():
            if self.retrieve != 0 and len(self._found) + sum(self._active.values()) >= want:
                break  # enough values on the way
            if self.retrieve < 0 and self.answered + len(self._active) >= self.redundancy:
                break  # only the closest STORE_REDUNDANCY holders
            holder = self._queue.pop(0)
            num = 0
            if self.retrieve != 0:
                num = want - len(self._found)
                if num > holder.num:
                    num = 0  # it has fewer: ask for all of them
            self._active[holder.contact.id] = holder.num
            self.asked.append(holder.contact)
            chosen.append((holder.contact, num))
        return chosen

    def _settle(self, contact: Contact) -> bool:
        """Forget an outstanding or slow request; False if there was none."""
        out = self._active.pop(contact.id, None) is not None
        if contact.id in self._slow:
            self._slow.discard(contact.id)
            out = True
        return out

    def got_values(self, contact: Contact, values: list[bytes]) -> None:
        if not self._settle(contact) or self._enough():
            return
        self.answered += 1
        for v in values:
            self._found.setdefault(v, None)

    def failed(self, contact: Contact) -> None:
        self._settle(contact)

    def soft_timeout(self, contact: Contact) -> None:
        if self._active.pop(contact.id, None) is not None:
            self._slow.add(contact.id)

    @property
    def finished(self) -> bool:
        if self._enough():
            return True
        return not self._active and not self._slow and not self._queue
