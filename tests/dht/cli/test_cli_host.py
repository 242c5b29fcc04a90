"""One-shot commands beyond loopback: ``--host`` (default all interfaces) and,
on Mainline, read-only nodes (BEP 43 ``ro: 1``).

A raw UDP socket on 127.0.0.1 plays the bootstrap: it reads the query the
one-shot node sends, looks up in /proc/net/udp the address the sending
socket is bound to, and (Mainline) answers it.  Nothing is sent anywhere but
loopback.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import bencodepy
import pytest
from .test_cli import HEX40, TIMEOUT, assert_usage_error, dht

pytestmark = pytest.mark.skipif(not Path("/proc/net/udp").exists(), reason="reads /proc/net/udp (Linux)")


def bound_address(sender: tuple[str, int]) -> str:
    """The IPv4 address the UDP socket that sent from ``sender`` is bound to, from
    /proc/net/udp: the sender's own address or all interfaces (another socket may hold
    the same port on another loopback address)."""
    found = []
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        local = line.split()[1]  # e.g. 0100007F:9C40, the address little-endian hex
        hex_ip, hex_port = local.split(":")
        ip = socket.inet_ntoa(bytes.fromhex(hex_ip)[::-1])
        if int(hex_port, 16) == sender[1] and ip in (sender[0], "0.0.0.0"):
            found.append(ip)
    assert len(found) == 1, found
    return found[0]


def one_shot_query(args: list[str], answer: bool) -> tuple[dict[bytes, Any], str, subprocess.CompletedProcess[str]]:
    """Run ``python -m dht ARGS`` against a raw bootstrap socket (its address is
    appended where ARGS says ``{boot}``); the first query it sent, the address its
    socket is bound to, and how it ended.  ``answer``: reply as a Mainline node."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as boot:
        boot.bind(("127.0.0.1", 0))
        boot.settimeout(TIMEOUT)
        where = f"127.0.0.1:{boot.getsockname()[1]}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "dht", *(a.replace("{boot}", where) for a in args)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        )
        try:
            data, sender = boot.recvfrom(65536)
            bound = bound_address(sender)  # the one-shot node is waiting for our answer meanwhile
            query = bencodepy.decode(data)
            if answer:
                boot.sendto(bencodepy.encode({b"t": query[b"t"], b"y": b"r", b"r": {b"id": os.urandom(20)}}), sender)
            out, err = proc.communicate(timeout=TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=TIMEOUT)
    return query, bound, subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_a_mainline_one_shot_binds_all_interfaces_and_is_read_only() -> None:
    query, bound, result = one_shot_query(["--profile", "mainline", "ping", "{boot}", "--timeout", "10"], answer=True)
    assert bound == "0.0.0.0"  # a datagram to any address can leave it
    assert query[b"y"] == b"q" and query[b"q"] == b"ping"
    assert query.get(b"ro") == 1  # BEP 43: keep us out of your table, we are leaving
    assert result.returncode == 0, result.stderr
    assert HEX40.fullmatch(result.stdout.split()[0])


def test_a_mainline_one_shot_on_a_chosen_host_is_read_only_too() -> None:
    args = ["--profile", "mainline", "get-peers", "--bootstrap", "{boot}", "--host", "127.0.0.1",
            "--timeout", "2", "0123456789abcdef0123456789abcdef01234567"]
    query, bound, result = one_shot_query(args, answer=True)
    assert bound == "127.0.0.1"
    assert query.get(b"ro") == 1
    assert "Traceback" not in result.stderr


def test_a_khashmir_one_shot_binds_all_interfaces_by_default_and_the_host_given() -> None:
    for extra, expected in (([], "0.0.0.0"), (["--host", "127.0.0.1"], "127.0.0.1")):
        query, bound, result = one_shot_query(["ping", "{boot}", "--timeout", "0.5", *extra], answer=False)
        assert bound == expected
        assert b"ro" not in query  # read-only is Mainline's (BEP 43)
        line = assert_usage_error(result)  # nobody answered
        assert "did not answer" in line


@pytest.mark.parametrize(
    "args,says",
    [
        (["ping", "127.0.0.1:4000", "--host", "::1"], "IPv6"),
        (["ping", "127.0.0.1:4000", "--host", "300.1.1.1"], "not a valid IPv4 address"),
        (["get", "--bootstrap", "127.0.0.1:4000", "--host", "", "key"], "--host"),
        # An address of no interface here: the bind fails, nothing is sent.
        (["find-node", "--bootstrap", "127.0.0.1:4000", "--host", "192.0.2.1", "t"], "192.0.2.1"),
        (["--profile", "mainline", "sample", "--bootstrap", "127.0.0.1:4000", "--host", "no-such-host.invalid"],
         "no-such-host.invalid"),
    ],
)
def test_a_bad_host_is_one_line_and_exit_2(args: list[str], says: str) -> None:
    line = assert_usage_error(dht(*args))
    assert says in line, line
