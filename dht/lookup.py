"""Iterative lookups as a sans-IO state machine.

Theory of operation.  A :class:`Lookup` holds every contact found so far,
ordered by XOR distance to the target.  :meth:`Lookup.next_queries` names
the closest contacts not yet asked, as long as fewer than :attr:`window`
requests are *active*.  The driver sends them and feeds back what happened:

* :meth:`answered` with the contacts the peer returned (they join the
  candidates) -- a late answer is accepted the same way;
* :meth:`failed` when the request failed or timed out for good;
* :meth:`soft_timeout` when a request has been silent longer than the soft
  timeout: it stops counting as active, so the lookup moves on to the next
  candidate, but its answer is still taken if it comes.

The window.  ``concurrency`` (CONCURRENT_REQS) is the most requests a
lookup ever keeps active; ``window`` is how many it may keep active now.
By default the window is the whole of ``concurrency`` from the start: a
find_node (and the find_node before a store) wants the K closest, and
asking CONCURRENT_REQS at a time converges on them in the fewest round
trips.  A lookup that hunts for the *first* node with something (the
find_value phase of a get, which stops at the first holder) starts with a
window of 1 instead: a greedy descent that asks the closest unasked
candidate, waits for its answer, and asks the closest again, so that no
request goes to a contact that the pending answer would have made
pointless.  Each soft timeout widens the window by one, up to
``concurrency``: silence is the only thing that makes waiting costly, so
only silence buys parallelism.  The window never narrows again (a lookup
that met silent contacts is likely to meet more).  An answer or a hard
failure frees its slot without widening: a failure is known at once and
costs no waiting.

The lookup is finished when no request is active and every one of the K
closest contacts that have neither failed nor gone silent has been asked.
Responders of a find_node are remembered with their token (for a later
store); a find_value also remembers how many values each responder holds.

Nothing here sends, sleeps or reads a clock.
"""

from __future__ import annotations

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
    """One iterative lookup of ``target``."""

    def __init__(
        self,
        target: bytes,
        contacts: list[Contact],
        k: int = 8,
        concurrency: int = 4,
        exclude: set[bytes] | None = None,
        window: int | None = None,
    ) -> None:
        """``window``: requests active at first (default ``concurrency``);
        each soft timeout widens it by one, up to ``concurrency``."""
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.target = target
        self.target_key = int.from_bytes(target, "big")
        self.k = k
        self.concurrency = concurrency
        self.window = concurrency if window is None else max(1, min(window, concurrency))
        self.candidates: dict[bytes, Candidate] = {}
        self._exclude = exclude or set()
        self.queried = 0
        self.add(contacts)

    def distance(self, contact: Contact) -> int:
        return int.from_bytes(contact.id, "big") ^ self.target_key

    def add(self, contacts: list[Contact]) -> None:
        for contact in contacts:
            if contact.id in self.candidates or contact.id in self._exclude:
                continue
            self.candidates[contact.id] = Candidate(contact, self.distance(contact))

    def _closest_alive(self) -> list[Candidate]:
        alive = [c for c in self.candidates.values() if c.state not in ("failed", "slow")]
        alive.sort(key=lambda c: c.distance)
        return alive[: self.k]

    @property
    def active(self) -> int:
        return sum(1 for c in self.candidates.values() if c.state == "active")

    def next_queries(self) -> list[Contact]:
        """Contacts to ask now; they are marked active."""
        room = self.window - self.active
        if room <= 0:
            return []
        chosen: list[Contact] = []
        for cand in self._closest_alive():
            if cand.state == "new":
                cand.state = "active"
                chosen.append(cand.contact)
                self.queried += 1
                if len(chosen) == room:
                    break
        return chosen

    @property
    def finished(self) -> bool:
        if self.active:
            return False
        return all(c.state != "new" for c in self._closest_alive())

    def answered(
        self,
        contact: Contact,
        nodes: list[Contact],
        token: bytes | None = None,
        num: int = 0,
    ) -> None:
        cand = self.candidates.get(contact.id)
        if cand is None:
            cand = self.candidates[contact.id] = Candidate(contact, self.distance(contact))
        cand.state = "answered"
        cand.token = token
        cand.num = num
        self.add(nodes)

    def failed(self, contact: Contact) -> None:
        cand = self.candidates.get(contact.id)
        if cand is not None and cand.state != "answered":
            cand.state = "failed"

    def soft_timeout(self, contact: Contact) -> None:
        cand = self.candidates.get(contact.id)
        if cand is not None and cand.state == "active":
            cand.state = "slow"
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
