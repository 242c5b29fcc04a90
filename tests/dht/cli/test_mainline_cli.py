"""``dht --profile mainline``: the Mainline one-shots against a Mainline swarm, and bad arguments."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import pytest
from .test_cli import HEX40, Running, assert_usage_error, dht

INFOHASH = "0123456789abcdef0123456789abcdef01234567"
#: The same info-hash in base32, as some magnet links carry it.
BASE32 = "AERUKZ4JVPG66AJDIVTYTK6N54ASGRLH"


@pytest.fixture(scope="module")
def swarm() -> Iterator[str]:
    """A Mainline swarm of 8 nodes; yields its bootstrap HOST:PORT."""
    running = Running("--profile", "mainline", "swarm", "--nodes", "8")
    try:
        line = running.first_line()
        match = re.fullmatch(r"swarm of 8 nodes, bootstrap (\S+)", line)
        assert match, line
        yield match.group(1)
        assert running.stop()[0] == 0
    finally:
        running.kill()


def test_announce_then_get_peers_by_hex_and_magnet(swarm: str) -> None:
    announced = dht("--profile", "mainline", "announce", "--bootstrap", swarm, INFOHASH, "6881")
    assert announced.returncode == 0, announced.stderr
    # on both families: the swarm's nodes are dual-stack (--ipv6 also, Mainline's default)
    assert re.fullmatch(r"announced to ([1-9]|1[0-6]) node\(s\)\n", announced.stdout)
    for given in (INFOHASH, f"magnet:?xt=urn:btih:{INFOHASH}&dn=x", f"magnet:?xt=urn:btih:{BASE32}"):
        found = dht("--profile", "mainline", "get-peers", "--bootstrap", swarm, given)
        assert found.returncode == 0, found.stderr
        # the one-shot announcer's address, of each family
        assert sorted(found.stdout.splitlines()) == ["127.0.0.1:6881", "[::1]:6881"]
    none = dht("--profile", "mainline", "get-peers", "--bootstrap", swarm, "ff" * 20)
    assert none.returncode == 1 and none.stdout == ""


def test_put_and_get_items(swarm: str, tmp_path: Path) -> None:
    put = dht("--profile", "mainline", "put", "--bootstrap", swarm, "hello")
    assert put.returncode == 0, put.stderr
    target = put.stdout.strip()
    assert HEX40.fullmatch(target)
    got = dht("--profile", "mainline", "get-item", "--bootstrap", swarm, target)
    assert (got.returncode, got.stdout) == (0, "hello\n")
    key_file = tmp_path / "key"
    lines = []
    for value in ("one", "two"):
        mutable = dht("--profile", "mainline", "put", "--bootstrap", swarm, "--key-file", str(key_file),
                      "--salt", "s", value)
        assert mutable.returncode == 0, mutable.stderr
        lines.append(mutable.stdout)
    assert lines[0] == lines[1]  # same key and salt: same target and public key
    match = re.fullmatch(r"([0-9a-f]{40}) ([0-9a-f]{64})\n", lines[0])
    assert match and key_file.stat().st_mode & 0o077 == 0
    got = dht("--profile", "mainline", "get-item", "--bootstrap", swarm, match.group(1),
              "--key", match.group(2), "--salt", "s")
    assert (got.returncode, got.stdout) == (0, "seq 2: two\n")
    missing = dht("--profile", "mainline", "get-item", "--bootstrap", swarm, "ab" * 20)
    assert missing.returncode == 1 and missing.stdout == ""


def test_sample_prints_info_hashes(swarm: str) -> None:
    dht("--profile", "mainline", "announce", "--bootstrap", swarm, "ee" * 20, "7000")
    sampled = dht("--profile", "mainline", "sample", "--bootstrap", swarm, "--count", "50")
    assert sampled.returncode == 0, sampled.stderr
    lines = sampled.stdout.split()
    assert "ee" * 20 in lines and all(HEX40.fullmatch(h) for h in lines)


@pytest.mark.parametrize("args, says", [
    (["get-peers", "--bootstrap", "127.0.0.1:1", "zz"], "INFOHASH"),
    (["get-peers", "--bootstrap", "127.0.0.1:1", "magnet:?dn=nothing"], "btih"),
    (["get-peers", "--bootstrap", "127.0.0.1:1", "magnet:?xt=urn:btih:1234"], "base32"),
    (["get-item", "--bootstrap", "127.0.0.1:1", INFOHASH, "--key", "00"], "64 hex"),
    (["get-item", "--bootstrap", "127.0.0.1:1", INFOHASH, "--salt", "s"], "--key"),
    (["put", "--bootstrap", "127.0.0.1:1", "--salt", "s", "v"], "--key-file"),
    (["put", "--bootstrap", "127.0.0.1:1", "--key-file", "k", "--salt", "s" * 65, "v"], "64 bytes"),
    (["announce", "--bootstrap", "127.0.0.1:1", INFOHASH, "0"], "range"),
    (["store", "--bootstrap", "127.0.0.1:1", INFOHASH, "v"], "Khashmir command"),
])
def test_bad_mainline_arguments_are_one_line_and_exit_2(args: list[str], says: str) -> None:
    assert says in assert_usage_error(dht("--profile", "mainline", *args))


def test_mainline_commands_need_the_profile() -> None:
    line = assert_usage_error(dht("get-peers", "--bootstrap", "127.0.0.1:1", INFOHASH))
    assert "--profile mainline" in line
    assert "invalid choice" in assert_usage_error(dht("--profile", "kademlia", "ping", "127.0.0.1:1"))


def test_a_node_bootstraps_through_a_router(swarm: str, tmp_path: Path) -> None:
    node = Running("--profile", "mainline", "node", "--host", "127.0.0.1", "--data-dir", str(tmp_path),
                   "--router", swarm)
    try:
        match = re.fullmatch(r"node ([0-9a-f]{40}) listening on 127\.0\.0\.1:(\d+) and \[::1\]:\d+", node.first_line())
        assert match
        # It joins after printing its line: a lookup through it finds the swarm's nodes
        # once it has (a few tries, each a real lookup).
        for _ in range(5):
            found = dht("--profile", "mainline", "find-node", "--bootstrap", f"127.0.0.1:{match.group(2)}", INFOHASH)
            assert found.returncode == 0, found.stderr
            if len(found.stdout.splitlines()) >= 4:
                break
        assert len(found.stdout.splitlines()) >= 4, found.stdout
        assert node.stop()[0] == 0
    finally:
        node.kill()
    assert "Mainline option" in assert_usage_error(dht("node", "--router", "127.0.0.1:1"))
