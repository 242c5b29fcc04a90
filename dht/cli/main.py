"""The headless command line: ``python -m dht`` and the ``dht`` script.

Commands: ``node`` (one node until a signal), ``swarm`` (a local lab, its
links flat or ``--conditions public``), and one-shot ``ping``,
``find-node``, ``store`` and ``get`` from a fresh node that joins, acts and
leaves (listening on all interfaces unless ``--host``; on Mainline
read-only, BEP 43, so that it leaves no dead contact behind); ``decode`` prints the KRPC messages of a
capture (``node`` and ``swarm`` record one with ``--capture FILE``).
``--profile mainline`` (before the command) speaks BitTorrent's Mainline
DHT instead of Khashmir, for every command; its one-shots are
``get-peers``, ``announce``, ``put``, ``get-item`` and ``sample`` (and
``ping``, ``find-node``), where ``store`` and ``get`` are Khashmir's.  A
bad argument or an unreachable bootstrap gives one line on stderr and exit
status 2, never a traceback.

The arguments, their types and the parser are in :mod:`dht.cli.args`
(re-exported here, as khgui imports them from ``dht.cli.main``); this module
runs the commands.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import tempfile
from typing import Any, Sequence

from ..capture import CaptureError, CaptureReader, CaptureWriter, KrpcDecoder, capture_summary, format_address
from .args import (
    lab_hosts, listen_hosts,
    EXIT_USAGE, KHASHMIR_ONLY, MAINLINE_ONLY, OneLineParser, UsageError, address_argument, bounded_float,
    build_parser, check_profile, hex_bytes, host_argument, info_hash_argument, int_in_range, parse_key,
    port_number, positive_float, salt_argument,
)
from ..lab.conditions import PUBLIC_JITTER_MS, Conditions
from ..core.config import Config
from ..core.contact import Address, ipv6_literal, is_ipv4
from ..core.family import FAMILIES, V4, shown
from ..rpc.resolve import resolve_address
from ..core.errors import AddressError, DHTError, LocalError
from ..core.events import LabWorkerLost
from ..lab.lab import Lab
from ..lab.procs import LabProcesses, default_processes
from .crawl import run_crawl
from ..node.facade import Node

__all__ = [
    "EXIT_USAGE", "KHASHMIR_ONLY", "MAINLINE_ONLY", "OneLineParser", "UsageError", "address_argument",
    "bounded_float", "build_parser", "check_profile", "hex_bytes", "host_argument", "info_hash_argument",
    "int_in_range", "main", "parse_key", "port_number", "positive_float", "resolve_all", "run_decode",
    "run_mainline", "run_node", "run_one_shot", "run_swarm", "salt_argument",
]


async def resolve_all(what: str, addresses: Sequence[Address], profile: str = "khashmir") -> list[Address]:
    """Each address with its host name resolved (replies come from that address): to
    IPv4 on Khashmir (an IPv6 address: its one line), on Mainline to each family's
    address the name has."""
    families = FAMILIES if profile == "mainline" else (V4,)
    resolved: list[Address] = []
    for host, port in addresses:
        found: list[Address] = []
        error: AddressError | None = None
        is_name = ipv6_literal(host) is None and not is_ipv4(host)
        for asked in [(f,) for f in families] if is_name else [families]:
            try:
                found.append(await resolve_address((host, port), families=asked))
            except AddressError as exc:
                error = error or exc
        if not found:
            assert error is not None
            raise UsageError(f"{what} {shown((host, port))}: {error}") from None
        resolved.extend(found)
    return resolved



def _catch_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM (install before saying we are ready)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def run_node(args: argparse.Namespace) -> int:
    host, host6 = listen_hosts(args.profile, args.ipv6, args.host)
    bootstrap = await resolve_all("--bootstrap", args.bootstrap, args.profile)
    routers = await resolve_all("--router", args.router, args.profile)
    if routers and args.profile != "mainline":
        raise UsageError("--router is a Mainline option (Khashmir joins through --bootstrap)")
    node = Node(Config(PROFILE=args.profile), host=host, host6=host6, port=args.port, data_dir=args.data_dir)
    capture = CaptureWriter(args.capture) if args.capture else None
    try:
        await node.start()
    except BaseException:
        if capture is not None:
            capture.close()
        raise
    if capture is not None:
        node.capture_to(capture)
    stop = _catch_signals()
    try:
        for warning in node.warnings:
            print(f"dht: {warning}", file=sys.stderr)
        listening = " and ".join(shown(a) for a in (node.address_of(f) for f in node.families) if a)
        print(f"node {node.id.hex()} listening on {listening}", flush=True)
        if bootstrap or routers:
            try:
                await node.bootstrap(bootstrap, routers=routers)
            except LocalError as exc:
                raise UsageError(str(exc)) from None
        await stop.wait()
    finally:
        await node.stop()
        if capture is not None:
            capture.close()
    return 0


async def run_swarm(args: argparse.Namespace) -> int:
    if args.nodes < 1:
        raise UsageError("--nodes must be at least 1")
    if args.conditions == "public":
        if args.latency is not None:
            raise UsageError("--latency does not go with --conditions public (each node's latency is drawn)")
        conditions = Conditions.public(args.loss, PUBLIC_JITTER_MS if args.jitter is None else args.jitter,
                                       args.churn)
    else:
        conditions = Conditions(args.latency or 0.0, args.jitter or 0.0, args.loss, args.churn)
    host, host6 = lab_hosts(args.profile, args.ipv6, args.host)
    processes = default_processes(args.nodes) if args.processes == 0 else args.processes
    if processes > args.nodes:
        raise UsageError(f"--processes must be at most --nodes ({args.nodes}), not {processes}")
    if processes > 1:
        return await run_swarm_processes(args, processes, conditions, host6)
    capture = CaptureWriter(args.capture) if args.capture else None
    lab = Lab(args.nodes, Config(PROFILE=args.profile), host=host, host6=host6, base_port=args.base_port,
              data_dir=args.data_dir, capture=capture, conditions=conditions, seed=args.seed)
    try:
        await lab.start()
        stop = _catch_signals()
        host, port = lab.bootstrap_address
        described = "" if conditions == Conditions() else f" ({conditions.describe()})"
        print(f"swarm of {len(lab.nodes)} nodes, bootstrap {shown((host, port))}{described}", flush=True)
        six = lab.nodes[0].address_of("IPv6") if host6 is not None else None
        if six is not None:
            print(f"IPv6 bootstrap {shown(six)}", flush=True)
        await stop.wait()
    finally:
        await lab.stop()
        if capture is not None:
            capture.close()
    return 0


async def run_swarm_processes(args: argparse.Namespace, processes: int, conditions: Conditions,
                              host6: str | None) -> int:
    """``swarm --processes P`` (P > 1): the lab in P worker processes (:class:`LabProcesses`)."""
    for option, given in (("--capture", args.capture), ("--base-port", args.base_port), ("--host", args.host)):
        if given:
            raise UsageError(f"{option} does not go with --processes {processes} (a lab in one process only)")
    # No window to give way to: the workers run at the swarm's own priority (niceness 0).
    lab = LabProcesses(args.nodes, Config(PROFILE=args.profile), processes=processes, host6=host6,
                       data_dir=args.data_dir, conditions=conditions, seed=args.seed, niceness=0)
    try:
        await lab.start()
        stop = _catch_signals()
        described = "" if conditions == Conditions() else f" ({conditions.describe()})"
        print(f"swarm of {lab.size} nodes in {processes} processes, bootstrap {shown(lab.bootstrap_address)}"
              f"{described}", flush=True)
        six = lab.bootstrap_address6
        if six is not None:
            print(f"IPv6 bootstrap {shown(six)}", flush=True)
        lost = asyncio.get_running_loop().create_future()

        def watch(batch: list[Any]) -> None:
            for _, event in batch:
                if isinstance(event, LabWorkerLost) and not lost.done():
                    lost.set_result(event)

        lab.subscribe(watch)
        await asyncio.wait([asyncio.ensure_future(stop.wait()), lost], return_when=asyncio.FIRST_COMPLETED)
        if lost.done():
            event = lost.result()
            raise LocalError(f"lab worker process {event.worker} ended (exit code {event.exitcode}) "
                             f"with {event.nodes} nodes")
    finally:
        await lab.stop()
    return 0


def run_decode(args: argparse.Namespace) -> int:
    """One line per KRPC message, then a summary; damage: what came before, then exit 2."""
    import json
    from datetime import datetime, timezone

    out = sys.stdout
    decoder = KrpcDecoder()
    reader = CaptureReader(args.file)  # CaptureError (a LocalError): one line, exit 2
    damage: CaptureError | None = None
    try:
        for datagram in reader:
            m = decoder.feed(datagram)
            if m is None:
                continue
            if args.json:
                out.write(json.dumps(m.record()) + "\n")
                continue
            clock = datetime.fromtimestamp(m.time, timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
            out.write(f"{clock} {format_address(m.src)} > {format_address(m.dst)} {m.kind} "
                      f"{m.method or '-'} {m.tid.hex() or '-'} {m.size}\n")
    except CaptureError as exc:
        damage = exc
    finally:
        reader.close()
    if args.json:
        summary = {"messages": decoder.messages, "pairs": decoder.pairs,
                   "skipped": reader.skipped_total + decoder.not_krpc, "packets": reader.packets}
        out.write(json.dumps({"summary": summary}) + "\n")
    else:
        out.write(capture_summary(reader, decoder) + "\n")
    out.flush()
    if damage is not None:
        raise UsageError(str(damage))
    return 0


def _show(value: bytes) -> str:
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return value.hex()
    return text if text.isprintable() else value.hex()


async def run_one_shot(args: argparse.Namespace) -> int:
    if args.command == "crawl":
        (bootstrap,) = await resolve_all("--bootstrap", [args.bootstrap])
        table = None if args.table is None else (await resolve_all("--table", [args.table]))[0]
        return await run_crawl(args, bootstrap, table)
    host, host6 = listen_hosts(args.profile, None, args.host)
    if args.command == "ping":
        address = (await resolve_all("ping", [args.address], args.profile))[0]
    else:
        address = (await resolve_all("--bootstrap", [args.bootstrap], args.profile))[0]
    with tempfile.TemporaryDirectory(prefix="dht-") as tmp:
        # Mainline: read-only (BEP 43), so that the nodes asked keep no contact that is
        # about to leave; on all interfaces unless --host, so that any address can be reached.
        config = Config(PROFILE=args.profile, KRPC_TIMEOUT=args.timeout, READ_ONLY=args.profile == "mainline")
        node = Node(config, host=host, host6=host6, data_dir=tmp)
        await node.start()
        try:
            if args.command == "ping":
                try:
                    their_id = await node.ping(*address)
                except DHTError as exc:
                    raise UsageError(f"{shown(address)} did not answer: {exc}") from None
                print(f"{their_id.hex()} {shown(address)}")
                return 0
            try:
                await node.bootstrap([address])
            except LocalError as exc:
                raise UsageError(str(exc)) from None
            if args.command == "find-node":
                for contact in await node.find_node(args.target):
                    print(f"{contact.id.hex()} {shown(contact.address)}")
                return 0
            if args.command in MAINLINE_ONLY:
                try:
                    return await run_mainline(node, args)
                except DHTError as exc:
                    raise UsageError(f"{args.command}: {exc}") from None
            if args.command == "store":
                value = args.value.encode("utf-8")
                try:
                    result = await node.store_value(args.key, value, local=False)
                except LocalError as exc:
                    raise UsageError(str(exc)) from None
                for contact, error in result.refused:
                    print(f"refused by {contact.host}:{contact.port}: {error}", file=sys.stderr)
                print(f"stored on {len(result.accepted)} node(s)")
                return 0 if result.accepted else 1
            values = await node.get_value(args.key)
            for v in values:
                print(_show(v))
            return 0 if values else 1
        finally:
            await node.stop()


def _show_item(value: Any) -> str:
    if isinstance(value, bytes):
        return _show(value)
    return repr(value)


async def run_mainline(node: Node, args: argparse.Namespace) -> int:
    """The Mainline one-shots, from a node that leaves after (never storing on itself)."""
    if args.command == "get-peers":
        found = await node.get_peers(args.info_hash)
        for peer in found.peers:
            print(shown(peer))
        return 0 if found.peers else 1
    if args.command == "announce":
        accepted = await node.announce_peer(args.info_hash, args.port, local=False)
        print(f"announced to {accepted} node(s)")
        return 0 if accepted else 1
    if args.command == "put":
        value = args.value.encode("utf-8")
        if args.key_file is None:
            print((await node.put_immutable(value, local=False)).hex())
            return 0
        put = await node.put_mutable(args.key_file, value, args.salt or b"", local=False)
        print(f"{put.target.hex()} {put.public_key.hex()}")
        return 0
    if args.command == "get-item":
        item = await node.get_item(args.target, args.key, args.salt or b"")
        if item is None:
            return 1
        text = _show_item(item.value)
        print(text if item.seq is None else f"seq {item.seq}: {text}")
        return 0
    for info_hash in (await node.sample_infohashes(args.count)).info_hashes:
        print(info_hash.hex())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    import multiprocessing

    multiprocessing.freeze_support()  # a frozen program's lab worker processes (a no-op elsewhere)
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="dht: %(levelname)s %(message)s")
    runner: Any = {"node": run_node, "swarm": run_swarm}.get(args.command, run_one_shot)
    try:
        check_profile(args)
        if args.command == "decode":
            try:
                return run_decode(args)
            except BrokenPipeError:  # dht decode FILE | head
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                return 0
        return int(asyncio.run(runner(args)))
    except (UsageError, LocalError) as exc:
        print(f"dht: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
