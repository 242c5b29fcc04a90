"""The headless command line, run as ``python -m dht`` in subprocesses.

Every subprocess has a timeout; every address is 127.0.0.1 with a port
chosen by the kernel (or a free one nobody listens on).
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator

import pytest
from dhtutil import free_udp_port

TIMEOUT = 30  # seconds, for any one command
HEX40 = re.compile(r"[0-9a-f]{40}")


def dht(*args: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dht", *args],
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )


class Running:
    """A long-running ``python -m dht`` command whose stdout is read line by line."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dht", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def first_line(self, timeout: float = TIMEOUT) -> str:
        line = self.lines.get(timeout=timeout)
        assert line is not None, f"exited early with status {self.proc.wait(TIMEOUT)}"
        return line

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        """Send ``sig``; return the exit status and what was written to stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            _, err = self.proc.communicate(timeout=TIMEOUT)
            return self.proc.returncode, err
        finally:
            self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(TIMEOUT)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def assert_usage_error(result: subprocess.CompletedProcess[str]) -> str:
    """Exit status 2, exactly one line on stderr, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    return lines[0]


# --- node -----------------------------------------------------------------------

NODE_LINE = re.compile(r"node ([0-9a-f]{40}) listening on 127\.0\.0\.1:(\d+)")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_node_prints_its_address_and_exits_0_on_a_signal(tmp_path: Path, sig: int) -> None:
    node = Running("node", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(tmp_path))
    try:
        line = node.first_line()
        match = NODE_LINE.fullmatch(line)
        assert match, line
        port = int(match.group(2))
        assert 0 < port < 65536
        # It really listens there: a one-shot ping reaches it.
        pong = dht("ping", f"127.0.0.1:{port}", "--timeout", "5")
        assert pong.returncode == 0, pong.stderr
        assert pong.stdout == f"{match.group(1)} 127.0.0.1:{port}\n"
        status, err = node.stop(sig)
        assert status == 0 and "Traceback" not in err, err
    finally:
        node.kill()


def test_node_keeps_its_id_across_runs(tmp_path: Path) -> None:
    ids = []
    for _ in range(2):
        node = Running("node", "--host", "127.0.0.1", "--data-dir", str(tmp_path))
        try:
            match = NODE_LINE.fullmatch(node.first_line())
            assert match
            ids.append(match.group(1))
            assert node.stop()[0] == 0
        finally:
            node.kill()
    assert ids[0] == ids[1]
    assert (tmp_path / "khashmir.db").exists()


def test_node_on_a_port_in_use_is_a_usage_error(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        line = assert_usage_error(
            dht("node", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(tmp_path))
        )
    assert str(port) in line and "in use" in line


# --- a swarm, and one-shot commands against it ---------------------------------------

# Each swarm node listens on its own loopback address (127.0.0.2 up) where the
# platform allows, else all on 127.0.0.1.
SWARM_LINE = re.compile(r"swarm of 6 nodes, bootstrap (127\.0\.\d+\.\d+):(\d+)")


@pytest.fixture(scope="module")
def swarm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running ``dht swarm --nodes 6``; yields its bootstrap HOST:PORT."""
    data_dir = tmp_path_factory.mktemp("swarm")
    proc = Running("swarm", "--nodes", "6", "--data-dir", str(data_dir))
    try:
        match = SWARM_LINE.fullmatch(proc.first_line())
        assert match
        yield f"{match.group(1)}:{match.group(2)}"
        status, err = proc.stop()
        assert status == 0 and "Traceback" not in err, err
    finally:
        proc.kill()


@pytest.fixture(scope="module")
def local_swarm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A ``dht swarm --nodes 6 --host 127.0.0.1`` (where ``localhost`` points); its HOST:PORT."""
    data_dir = tmp_path_factory.mktemp("local-swarm")
    proc = Running("swarm", "--nodes", "6", "--host", "127.0.0.1", "--data-dir", str(data_dir))
    try:
        match = SWARM_LINE.fullmatch(proc.first_line())
        assert match and match.group(1) == "127.0.0.1"
        yield f"{match.group(1)}:{match.group(2)}"
        status, err = proc.stop()
        assert status == 0 and "Traceback" not in err, err
    finally:
        proc.kill()


def test_store_then_get(swarm: str) -> None:
    key = "cli-key-" + os.urandom(4).hex()
    stored = dht("store", "--bootstrap", swarm, key, "hello swarm")
    assert stored.returncode == 0, stored.stderr
    match = re.fullmatch(r"stored on (\d+) node\(s\)\n", stored.stdout)
    assert match, stored.stdout
    assert 1 <= int(match.group(1)) <= 3
    got = dht("get", "--bootstrap", swarm, key)
    assert got.returncode == 0, got.stderr
    assert got.stdout == "hello swarm\n"


def test_get_of_a_missing_key_exits_1(swarm: str) -> None:
    got = dht("get", "--bootstrap", swarm, "never-stored-" + os.urandom(4).hex())
    assert got.returncode == 1, got.stderr
    assert got.stdout == ""
    assert "Traceback" not in got.stderr


def test_key_as_40_hex_digits(swarm: str) -> None:
    key = os.urandom(20).hex()
    assert dht("store", "--bootstrap", swarm, key, "by hex").returncode == 0
    got = dht("get", "--bootstrap", swarm, key.upper())  # hex digits in any case
    assert got.returncode == 0 and got.stdout == "by hex\n"


def test_find_node_lists_contacts(swarm: str) -> None:
    found = dht("find-node", "--bootstrap", swarm, os.urandom(20).hex())
    assert found.returncode == 0, found.stderr
    lines = found.stdout.splitlines()
    # Up to K live nodes of the swarm.  (Earlier one-shot commands joined the
    # swarm and left: their dead entries may hide a swarm node or two.)
    assert 1 <= len(lines) <= 8
    for line in lines:
        node_id, address = line.split(" ")
        assert HEX40.fullmatch(node_id)
        assert re.fullmatch(r"127\.0\.\d+\.\d+:\d+", address)
    assert len(set(lines)) == len(lines)


def test_ping_the_bootstrap_node(swarm: str) -> None:
    pong = dht("ping", swarm)
    assert pong.returncode == 0, pong.stderr
    node_id, address = pong.stdout.split()
    assert HEX40.fullmatch(node_id) and address == swarm


# --- usage errors ------------------------------------------------------------------

@pytest.mark.parametrize(
    "args",
    [
        ["ping", "nonsense"],
        ["ping", "127.0.0.1"],
        ["ping", "127.0.0.1:notaport"],
        ["ping", "127.0.0.1:0"],
        ["ping", "127.0.0.1:70000"],
        ["ping", ":4000"],
        ["get", "somekey"],  # missing --bootstrap
        ["store", "somekey", "value"],  # missing --bootstrap
        ["get", "--bootstrap", "localhost", "somekey"],
        ["get", "--bootstrap", "127.0.0.1:4000", ""],  # empty key
        ["get", "--bootstrap", "127.0.0.1:4000", "--timeout", "0", "key"],
        ["get", "--bootstrap", "127.0.0.1:4000", "--timeout", "soon", "key"],
        ["node", "--port", "65536"],
        ["node", "--port", "-1"],
        ["swarm"],
        ["swarm", "--nodes", "0"],
        ["swarm", "--nodes", "many"],
        ["frobnicate"],
        [],
    ],
)
def test_bad_arguments_exit_2_with_one_line(args: list[str]) -> None:
    line = assert_usage_error(dht(*args))
    assert line.startswith("dht")


IPV6_LINE = "IPv6 addresses are not supported: the Khashmir wire carries IPv4 only"


@pytest.mark.parametrize(
    "args,says",
    [
        (["ping", "[::1]:4000"], IPV6_LINE),
        (["ping", "::1"], "write an IPv6 address with its port as [address]:port"),
        (["get", "--bootstrap", "[::1]:4000", "key"], IPV6_LINE),
        (["store", "--bootstrap", "::1", "key", "v"], "write an IPv6 address with its port as [address]:port"),
        (["node", "--ipv6", "also"], IPV6_LINE),
        (["--profile", "mainline", "node", "--ipv6", "off", "--host", "::1"], "--ipv6 off listens on IPv4 only"),
        (["--profile", "mainline", "node", "--ipv6", "only", "--host", "127.0.0.1"], "is not an IPv6 address"),
        (["--profile", "mainline", "ping", "[::1]4000"], "expected [IPv6]:port"),
        (["--profile", "mainline", "ping", "[::g]:4000"], "is not an IPv6 address"),
        (["node", "--bootstrap", "[::1]:4000"], IPV6_LINE),
        (["node", "--host", "::"], IPV6_LINE),
        (["ping", ":4000"], "missing host before ':4000' (expected host:port)"),
        (["node", "--bootstrap", ":4000"], "missing host before ':4000' (expected host:port)"),
        (["find-node", "--bootstrap", "300.1.1.1:4000", "t"], "not a valid IPv4 address"),
    ],
)
def test_ipv6_and_a_missing_host_are_refused_at_once(tmp_path: Path, args: list[str], says: str) -> None:
    if "node" in args:
        args = [*args, "--data-dir", str(tmp_path)]
    line = assert_usage_error(dht(*args))
    assert says in line
    assert not (tmp_path / "khashmir.db").exists()  # refused before anything started


def test_host_names_are_resolved_and_answered_from_their_address(local_swarm: str) -> None:
    port = local_swarm.rsplit(":", 1)[1]
    # The reply comes from 127.0.0.1: it is matched because we sent to 127.0.0.1.
    pong = dht("ping", f"localhost:{port}", "--timeout", "5")
    assert pong.returncode == 0, pong.stderr
    assert pong.stdout.split()[1] == f"127.0.0.1:{port}"
    key = "by-name-" + os.urandom(4).hex()
    stored = dht("store", "--bootstrap", f"localhost:{port}", key, "found by name", "--timeout", "5")
    assert stored.returncode == 0, stored.stderr
    got = dht("get", "--bootstrap", f"localhost:{port}", key, "--timeout", "5")
    assert got.returncode == 0 and got.stdout == "found by name\n", got.stderr


def test_node_bootstraps_through_a_host_name(tmp_path: Path, local_swarm: str) -> None:
    port = local_swarm.rsplit(":", 1)[1]
    node = Running("node", "--host", "localhost", "--data-dir", str(tmp_path), "--bootstrap", f"localhost:{port}")
    try:
        match = NODE_LINE.fullmatch(node.first_line())
        assert match, "listening on the resolved address"
        # Joined: the swarm now knows it (a find-node for its id returns it).
        found = dht("find-node", "--bootstrap", local_swarm, match.group(1))
        assert found.returncode == 0, found.stderr
        assert f"{match.group(1)} 127.0.0.1:{match.group(2)}" in found.stdout.splitlines()
        status, err = node.stop()
        assert status == 0 and err == "", err
    finally:
        node.kill()


def test_a_second_node_on_a_held_data_directory_exits_2_naming_it(tmp_path: Path) -> None:
    first = Running("node", "--host", "127.0.0.1", "--data-dir", str(tmp_path))
    try:
        match = NODE_LINE.fullmatch(first.first_line())
        assert match
        line = assert_usage_error(dht("node", "--host", "127.0.0.1", "--data-dir", str(tmp_path)))
        assert line == f"dht: data directory {tmp_path} is in use by another node (pid {first.proc.pid})"
        # The first node is unharmed: it still answers, with the same id.
        pong = dht("ping", f"127.0.0.1:{match.group(2)}")
        assert pong.returncode == 0 and pong.stdout.split()[0] == match.group(1)
        assert first.stop()[0] == 0
    finally:
        first.kill()
    # Once it is gone (even killed: the system drops the lock), the directory is free.
    again = Running("node", "--host", "127.0.0.1", "--data-dir", str(tmp_path))
    try:
        again_match = NODE_LINE.fullmatch(again.first_line())
        assert again_match and again_match.group(1) == match.group(1)
        again.proc.kill()
        again.proc.wait(TIMEOUT)
    finally:
        again.kill()
    third = Running("node", "--host", "127.0.0.1", "--data-dir", str(tmp_path))
    try:
        assert NODE_LINE.fullmatch(third.first_line())
        assert third.stop()[0] == 0
    finally:
        third.kill()


def test_unreachable_bootstrap_exits_2_with_one_line() -> None:
    port = free_udp_port()
    for command in (["get", "somekey"], ["store", "somekey", "v"], ["find-node", "target"]):
        result = dht(command[0], "--bootstrap", f"127.0.0.1:{port}", "--timeout", "0.5", *command[1:])
        line = assert_usage_error(result)
        assert f"127.0.0.1:{port}" in line
    line = assert_usage_error(dht("ping", f"127.0.0.1:{port}", "--timeout", "0.5"))
    assert f"127.0.0.1:{port}" in line and "did not answer" in line


def test_too_large_value_is_a_usage_error(swarm: str) -> None:
    line = assert_usage_error(dht("store", "--bootstrap", swarm, "big", "x" * 5000))
    assert "5000" in line


def test_node_with_bootstrap_joins_the_swarm(tmp_path: Path, swarm: str) -> None:
    node = Running("node", "--host", "127.0.0.1", "--data-dir", str(tmp_path), "--bootstrap", swarm)
    try:
        match = NODE_LINE.fullmatch(node.first_line())
        assert match
        address = f"127.0.0.1:{match.group(2)}"
        # Once joined, the node holds its share of the swarm's values: store a
        # key with its own id, which makes it the closest node to the key.
        stored = dht("store", "--bootstrap", address, match.group(1), "for the new node")
        assert stored.returncode == 0, stored.stderr
        got = dht("get", "--bootstrap", swarm, match.group(1))
        assert got.returncode == 0 and got.stdout == "for the new node\n"
        status, err = node.stop()
        assert status == 0 and "Traceback" not in err, err
    finally:
        node.kill()
