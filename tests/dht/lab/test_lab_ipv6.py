"""Labs on IPv6: every node on ::1 (IPv6's one loopback address, per-IP limits relaxed as
for a shared IPv4 address), or every node dual-stack with its IPv6 side on ::1."""

from __future__ import annotations

import os

from dhtutil import run

from dht import Config, Lab

ML = Config(PROFILE="mainline", KRPC_TIMEOUT=1.0)


def count(node: object, family: str) -> int:
    return sum(len(b.contacts) for b in node.routing_table_of(family))  # type: ignore[attr-defined]


def test_a_dual_stack_lab_forms_both_tables_and_finds_peers_of_both_families() -> None:
    async def scenario() -> None:
        lab = Lab(12, ML, host6="::1")
        await lab.start()
        try:
            for node in lab.nodes:
                assert node.families == ("IPv4", "IPv6")
                assert count(node, "IPv4") >= 8 and count(node, "IPv6") >= 8
            info_hash = os.urandom(20)
            assert await lab.nodes[2].announce_peer(info_hash, 4444) > 8
            found = await lab.nodes[9].get_peers(info_hash)
            v4 = lab.nodes[2].address_of("IPv4")
            assert v4 is not None
            assert sorted(found.peers) == [(v4[0], 4444), ("::1", 4444)]
            # a killed node comes back on both families
            killed = await lab.kill_node(lab.nodes[4])
            assert not killed.running
            revived = await lab.revive_node()
            assert revived.families == ("IPv4", "IPv6")
        finally:
            await lab.stop()

    run(scenario(), timeout=60)


def test_a_lab_of_ipv6_only_shares_the_one_address() -> None:
    async def scenario() -> None:
        lab = Lab(10, ML, host="::1")
        await lab.start()
        try:
            assert lab.shared_ip and lab.bootstrap_address[0] == "::1"
            assert all(n.families == ("IPv6",) and count(n, "IPv6") >= 8 for n in lab.nodes)
            target = await lab.nodes[1].put_immutable(b"lab on ipv6", local=False)
            found = await lab.nodes[7].get_item(target)
            assert found is not None and found.value == b"lab on ipv6"
        finally:
            await lab.stop()

    run(scenario(), timeout=60)
