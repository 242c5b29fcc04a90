"""``dht --profile mainline`` on both families: a dual-stack node, ``[v6]:port`` addresses,
one-shots reaching it over IPv6, and get-peers printing peers of both families."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import pytest
from .test_cli import HEX40, Running, assert_usage_error, dht

INFOHASH = "00112233445566778899aabbccddeeff00112233"


def start_node(tmp_path: Path, name: str, *extra: str) -> tuple[Running, int]:
    running = Running("--profile", "mainline", "node", "--host", "127.0.0.1", "--data-dir", str(tmp_path / name),
                      *extra)
    line = running.first_line()
    match = re.fullmatch(rf"node ({HEX40.pattern}) listening on 127\.0\.0\.1:(\d+) and \[::1\]:(\d+)", line)
    assert match, line
    assert match.group(2) == match.group(3)  # the IPv6 side on the IPv4 side's port
    return running, int(match.group(2))


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Two dual-stack nodes on 127.0.0.1 and ::1, the second joined through both of the
    first's addresses; yields the first's port."""
    tmp = tmp_path_factory.mktemp("pair")
    first, port = start_node(tmp, "a")
    try:
        second, _ = start_node(tmp, "b", "--bootstrap", f"127.0.0.1:{port}", f"[::1]:{port}")
        try:
            yield port
        finally:
            assert second.stop()[0] == 0
        assert first.stop()[0] == 0
    finally:
        first.kill()


def test_ping_over_ipv6_prints_the_bracketed_address(pair: int) -> None:
    done = dht("--profile", "mainline", "ping", f"[::1]:{pair}")
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(rf"{HEX40.pattern} \[::1\]:{pair}\n", done.stdout)


def test_an_announce_through_ipv4_reaches_both_families_and_get_peers_prints_both(pair: int) -> None:
    announced = dht("--profile", "mainline", "announce", "--bootstrap", f"127.0.0.1:{pair}", INFOHASH, "7001")
    assert announced.returncode == 0, announced.stderr
    found = dht("--profile", "mainline", "get-peers", "--bootstrap", f"[::1]:{pair}", INFOHASH)
    assert found.returncode == 0, found.stderr
    assert sorted(found.stdout.splitlines()) == ["127.0.0.1:7001", "[::1]:7001"]


def test_ipv6_only_node_listens_on_ipv6_alone(tmp_path: Path) -> None:
    running = Running("--profile", "mainline", "node", "--ipv6", "only", "--host", "[::1]",
                      "--data-dir", str(tmp_path))
    try:
        line = running.first_line()
        assert re.fullmatch(rf"node {HEX40.pattern} listening on \[::1\]:\d+", line), line
        assert running.stop()[0] == 0
    finally:
        running.kill()


def test_a_swarm_of_ipv6_only_is_on_the_one_ipv6_loopback_address() -> None:
    running = Running("--profile", "mainline", "swarm", "--nodes", "6", "--ipv6", "only")
    try:
        line = running.first_line()
        match = re.fullmatch(r"swarm of 6 nodes, bootstrap \[::1\]:(\d+)", line)
        assert match, line
        announced = dht("--profile", "mainline", "announce", "--bootstrap", f"[::1]:{match.group(1)}",
                        INFOHASH, "7002")
        assert announced.returncode == 0, announced.stderr
        found = dht("--profile", "mainline", "get-peers", "--bootstrap", f"[::1]:{match.group(1)}", INFOHASH)
        assert found.stdout.splitlines() == ["[::1]:7002"], found.stderr
        assert running.stop()[0] == 0
    finally:
        running.kill()


@pytest.mark.parametrize(
    "args,says",
    [
        (["swarm", "--nodes", "2", "--ipv6", "also", "--host", "::1"], "--host is the IPv4 address"),
        (["swarm", "--nodes", "2", "--ipv6", "only", "--host", "127.0.0.1"], "is not an IPv6 address"),
        (["node", "--host", "[::1"], "is not an IPv6 address"),
    ],
)
def test_bad_ipv6_arguments_are_one_line_and_exit_2(args: list[str], says: str) -> None:
    line = assert_usage_error(dht("--profile", "mainline", *args))
    assert says in line
