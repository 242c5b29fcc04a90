"""bench_abuse's Mainline clients: the processes that attack, probe and fill a Mainline node.

Each ``*_main`` runs in its own process (spawn, from :mod:`bench.abuse_mainline`)
on sockets bound to its own loopback addresses, talks raw KRPC to the node
and reports one dict through ``conn``.  :class:`Peer` is a blocking client
(one query, its answer); :func:`liars_main` is 150 fake Mainline nodes.
Every wait has a deadline (RECV_WAIT, or the caller's ``stop``).
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from typing import Any

import bencodepy

PROBE_HOST = "127.0.0.6"
SWARM = hashlib.sha1(b"bench-abuse-swarm").digest()
LIAR_ADDRESS = "203.0.113.9"
RECV_WAIT = 2.0


def mq(method: str, args: dict[bytes, Any], tid: bytes = b"aa") -> bytes:
    data: bytes = bencodepy.encode({b"t": tid, b"y": b"q", b"q": method.encode(), b"a": args})
    return data


def host(block: int, i: int) -> str:
    return f"127.{block}.{i // 250}.{1 + i % 250}"


def sha1(data: bytes) -> bytes:
    return hashlib.sha1(data).digest()


class Peer:
    """A blocking client socket on its own loopback address (in a client process)."""

    def __init__(self, address: str, target: tuple[str, int]) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((address, 0))
        self.sock.settimeout(RECV_WAIT)
        self.target = target
        self.id = sha1(address.encode())
        self.n = 0

    def ask(self, method: str, args: dict[bytes, Any]) -> dict[bytes, Any] | None:
        """The answer (response or error) to one query; None after RECV_WAIT."""
        self.n += 1
        tid = self.n.to_bytes(4, "big")
        self.sock.sendto(mq(method, {b"id": self.id, **args}, tid), self.target)
        deadline = time.monotonic() + RECV_WAIT
        while time.monotonic() < deadline:
            try:
                msg = bencodepy.decode(self.sock.recv(65535))
            except (socket.timeout, bencodepy.BencodeDecodeError):
                return None
            if msg.get(b"t") == tid and msg.get(b"y") in (b"r", b"e"):
                result: dict[bytes, Any] = msg
                return result
        return None

    def announce(self, info_hash: bytes, port: int = 6881) -> bool:
        got = self.ask("get_peers", {b"info_hash": info_hash})
        token = got.get(b"r", {}).get(b"token") if got else None
        if token is None:
            return False
        done = self.ask("announce_peer", {b"info_hash": info_hash, b"port": port, b"token": token})
        return done is not None and b"r" in done

    def put(self, value: bytes) -> bool:
        got = self.ask("get", {b"target": sha1(bencodepy.encode(value))})
        token = got.get(b"r", {}).get(b"token") if got else None
        if token is None:
            return False
        done = self.ask("put", {b"token": token, b"v": value})
        return done is not None and b"r" in done

    def holds(self, value: bytes) -> bool:
        got = self.ask("get", {b"target": sha1(bencodepy.encode(value))})
        return got is not None and got.get(b"r", {}).get(b"v") == value

    def close(self) -> None:
        self.sock.close()


# --- client processes -------------------------------------------------------------

def populate_main(target: tuple[str, int], n: int, conn: Any) -> None:
    """Announce SWARM from ``n`` addresses (a fifth of them seeds: seed flag unused by BEP 5 peers)."""
    ok = 0
    for i in range(n):
        p = Peer(host(100, i), target)
        ok += p.announce(SWARM, 6881)
        p.close()
    conn.send({"announced": ok})
    conn.close()


def probe_main(target: tuple[str, int], conn: Any) -> None:
    """Ping from a fresh address every 50 ms until answered; the seconds it took (30 s at most)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((PROBE_HOST, 0))
    sock.settimeout(0.05)
    t0 = time.monotonic()
    waited = None
    n = 0
    while time.monotonic() - t0 < 30:
        n += 1
        sock.sendto(mq("ping", {b"id": b"P" * 20}, n.to_bytes(2, "big")), target)
        try:
            data = sock.recv(4096)
        except socket.timeout:
            continue
        if bencodepy.decode(data).get(b"y") == b"r":
            waited = time.monotonic() - t0
            break
    sock.close()
    conn.send({"waited": waited})
    conn.close()


def ground(count: int, first_byte: int) -> list[bytes]:
    """Values whose immutable targets start with ``first_byte`` (about 256 SHA-1s each)."""
    out: list[bytes] = []
    n = 0
    while len(out) < count:
        v = b"ground-%d" % n
        if sha1(bencodepy.encode(v))[0] == first_byte:
            out.append(v)
        n += 1
    return out


def items_main(target: tuple[str, int], node_id: bytes, others: int, flood: int, conn: Any) -> None:
    honest = [Peer(host(110, i), target) for i in range(others)]
    stored = sum(p.put(b"honest-%d" % i) for i, p in enumerate(honest))
    attacker = Peer("127.0.9.9", target)
    values = ground(flood, node_id[0])
    t0 = time.process_time()
    taken = sum(attacker.put(v) for v in values)
    grind_and_put = time.process_time() - t0
    checker = Peer("127.0.8.1", target)
    kept = sum(checker.holds(b"honest-%d" % i) for i in range(others))
    attacker_held = sum(checker.holds(v) for v in values)
    newcomer = Peer("127.0.8.8", target)
    new_ok = newcomer.put(b"the newcomer's item") and checker.holds(b"the newcomer's item")
    conn.send({"stored": stored, "taken": taken, "kept": kept, "attacker_held": attacker_held,
               "newcomer": new_ok, "client_cpu": grind_and_put})
    conn.close()


def peers_main(target: tuple[str, int], fill: int, conn: Any) -> None:
    filler = Peer("127.0.9.9", target)
    filled = sum(filler.announce(sha1(b"fill-%d" % i)) for i in range(fill))
    newcomer = Peer("127.0.8.8", target)
    wanted = sha1(b"the newcomer's torrent")
    announced = newcomer.announce(wanted, 7000)
    finder = Peer("127.0.8.1", target)
    got = finder.ask("get_peers", {b"info_hash": wanted})
    values = got.get(b"r", {}).get(b"values", []) if got else []
    held = sum(bool((finder.ask("get_peers", {b"info_hash": sha1(b"fill-%d" % i)}) or {}).get(b"r", {}).get(b"values"))
               for i in range(0, fill, max(1, fill // 200)))
    conn.send({"filled": filled, "announced": announced, "found": len(values), "held_sampled": held,
               "sampled": len(range(0, fill, max(1, fill // 200)))})
    conn.close()


def cpu_client_main(target: tuple[str, int], scrape: bool, rounds: int, n_ips: int, conn: Any) -> None:
    """``rounds`` x ``n_ips`` get_peers (a batch from every address, then its answers)."""
    socks = []
    for i in range(n_ips):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((host(120, i), 0))
        s.settimeout(RECV_WAIT)
        socks.append(s)
    args: dict[bytes, Any] = {b"id": b"Q" * 20, b"info_hash": SWARM}
    if scrape:
        args[b"scrape"] = 1
    answers = 0
    for r in range(rounds):
        for s in socks:
            s.sendto(mq("get_peers", args, r.to_bytes(2, "big")), target)
        for s in socks:
            try:
                while True:
                    if bencodepy.decode(s.recv(65535)).get(b"y") == b"r":
                        answers += 1
                        break
            except socket.timeout:
                pass
    for s in socks:
        s.close()
    conn.send({"answers": answers})
    conn.close()


def liars_main(n: int, lying: Any, stop: Any, conn: Any) -> None:
    """``n`` fake Mainline nodes answering ping, find_node and get_peers with the 8 of them
    closest to the target as ``nodes``, as a DHT node does; their ``ip`` is the asker's
    address, or LIAR_ADDRESS once ``lying`` is set."""
    socks = []
    infos = []
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((host(130, i), 0))
        s.setblocking(False)
        node_id = os.urandom(20)
        socks.append((s, node_id))
        addr = s.getsockname()
        infos.append(node_id + socket.inet_aton(addr[0]) + addr[1].to_bytes(2, "big"))
    conn.send({"addresses": [s.getsockname() for s, _ in socks], "ids": [node_id for _, node_id in socks]})
    t0 = time.monotonic()
    while not stop.is_set() and time.monotonic() - t0 < 120:
        idle = True
        for i, (s, node_id) in enumerate(socks):
            try:
                data, peer = s.recvfrom(4096)
            except BlockingIOError:
                continue
            idle = False
            try:
                msg = bencodepy.decode(data)
            except bencodepy.BencodeDecodeError:
                continue
            if msg.get(b"y") != b"q":
                continue
            a = msg.get(b"a", {})
            target = a.get(b"target") or a.get(b"info_hash") or node_id
            key = int.from_bytes(target, "big") if isinstance(target, bytes) else 0
            nodes = b"".join(sorted(infos, key=lambda info: int.from_bytes(info[:20], "big") ^ key)[:8])
            r: dict[bytes, Any] = {b"id": node_id, b"nodes": nodes}
            if msg.get(b"q") == b"get_peers":
                r[b"token"] = b"tok"
            reported = (LIAR_ADDRESS, 4000) if lying.is_set() else peer
            ip = socket.inet_aton(reported[0]) + reported[1].to_bytes(2, "big")
            s.sendto(bencodepy.encode({b"t": msg[b"t"], b"y": b"r", b"r": r, b"ip": ip}), peer)
        if idle:
            time.sleep(0.002)
    for s, _ in socks:
        s.close()
