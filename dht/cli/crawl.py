"""``dht crawl``: crawl a network from a fresh node, progress on stderr, the census on stdout.

``--zone BITS`` (the ids starting with a random prefix of BITS bits, and a
size estimate), ``--table HOST:PORT`` (that node's routing table) or
``--full`` (every node reachable); ``--budget`` queries a second;
``--out FILE.csv`` (the nodes found) or ``FILE.json`` (the whole census).
SIGINT stops the crawl, which still prints what it found.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import signal
import sys
import tempfile
from pathlib import Path

from ..core.config import Config
from ..core.errors import LocalError
from ..core.events import CrawlFinished, CrawlProgress, Event
from ..crawl import Census, CrawlSpec
from ..crawl.export import CSV_FIELDS, census_text
from ..node.facade import Node
from .args import UsageError, listen_hosts


def write_out(census: Census, path: Path) -> None:
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(census.to_json(), indent=1) + "\n")
        return
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(census.rows())


def _progress_line(event: CrawlProgress) -> str:
    size = "" if event.estimate is None else (
        f", size ~{event.estimate:.0f} ({event.low or 0:.0f}-{event.high or 0:.0f})")
    return f"crawl: asked {event.asked}, answered {event.answered}, found {event.found}{size}"


async def run_crawl(args: argparse.Namespace, bootstrap: tuple[str, int], table: tuple[str, int] | None) -> int:
    if args.zone is not None:
        spec = CrawlSpec("zone", zone_bits=args.zone, budget=args.budget)
    elif table is not None:
        spec = CrawlSpec("table", table=table, budget=args.budget)
    else:
        spec = CrawlSpec("full", budget=args.budget)
    with tempfile.TemporaryDirectory(prefix="dht-crawl-") as tmp:
        # Mainline: read-only (BEP 43), so that the nodes crawled keep no contact about to leave
        config = Config(PROFILE=args.profile, KRPC_TIMEOUT=args.timeout, READ_ONLY=args.profile == "mainline")
        # one family: the bootstrap's (a crawl walks one routing table of each node)
        family = "only" if ":" in bootstrap[0] else "off"
        host, _ = listen_hosts(args.profile, family if args.profile == "mainline" else None, args.host)
        node = Node(config, host=host, data_dir=tmp)
        await node.start()
        finished: asyncio.Future[Census] = asyncio.get_running_loop().create_future()

        def seen(event: Event) -> None:
            if isinstance(event, CrawlProgress):
                print(_progress_line(event), file=sys.stderr, flush=True)
            elif isinstance(event, CrawlFinished) and not finished.done():
                finished.set_result(event.census)

        try:
            try:
                await node.bootstrap([bootstrap])
            except LocalError as exc:
                raise UsageError(str(exc)) from None
            node.subscribe(seen)
            crawl_id = node.start_crawl(spec)
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGINT, node.stop_crawl, crawl_id)
            try:
                census = await finished
            finally:
                loop.remove_signal_handler(signal.SIGINT)
        finally:
            await node.stop()
    for line in census_text(census):
        print(line)
    if args.out is not None:
        write_out(census, args.out)
    return 0
