"""Lookups on a slow network: a soft timeout widens a lookup and never ends it.

The case that broke: a lab's nodes learn 1 ms round trips, then the network slows
down (a lab switched to Lab conditions of latency, or the public DHT, where round
trips run from 20 ms to over a second).  A store at one node and an immediate get
from another must find the value although every holder answers past the soft
timeout its history gives; the same for Mainline's announce / get_peers and BEP 44
put / get.  Each request went "slow" and was still waited for.
"""

from __future__ import annotations

import os
import time

import pytest
from dhtutil import run

from dht import Config, Lab
from dht.lab.conditions import Conditions
from dht.events import Event, LookupAnswered

CFG = Config(KRPC_TIMEOUT=4.0, SOFT_TIMEOUT_MIN=0.05, SOFT_TIMEOUT_MAX=2.0)
SLOW = Conditions(latency_ms=60, jitter_ms=20)  # round trips of 120-160 ms: past a 50 ms soft timeout


def _slow_outcomes(lab: Lab) -> list[LookupAnswered]:
    seen: list[LookupAnswered] = []

    def watch(event: Event) -> None:
        if isinstance(event, LookupAnswered) and event.outcome == "slow":
            seen.append(event)

    for node in lab.nodes:
        node.subscribe(watch)
    return seen


@pytest.mark.parametrize("profile", ["khashmir", "mainline"])
def test_a_store_then_an_immediate_get_finds_the_value_when_every_answer_is_late(profile: str) -> None:
    async def scenario() -> None:
        lab = Lab(12, CFG.replace(PROFILE=profile), seed=7)
        await lab.start()
        try:
            writer, reader = lab.nodes[3], lab.nodes[9]
            slow = _slow_outcomes(lab)
            lab.set_conditions(SLOW)  # the estimates still say 1 ms
            for attempt in range(3):
                start = time.monotonic()
                if profile == "khashmir":
                    key, value = os.urandom(20), b"world %d" % attempt
                    stored = await writer.store_value(key, value, local=False)
                    assert stored.accepted
                    assert value in await reader.get_value(key)
                else:
                    info_hash = os.urandom(20)
                    assert await writer.announce_peer(info_hash, 6881 + attempt, local=False)
                    found = await reader.get_peers(info_hash)
                    assert (writer.contact.host, 6881 + attempt) in found.peers
                    target = await writer.put_immutable(b"item %d" % attempt, local=False)
                    item = await reader.get_item(target)
                    assert item is not None and item.value == b"item %d" % attempt
                # Waited for the late answers, not for full timeouts.
                assert time.monotonic() - start < CFG.KRPC_TIMEOUT
            assert slow, "no request went past its soft timeout: the case was not exercised"
        finally:
            await lab.stop()

    run(scenario(), 90)
