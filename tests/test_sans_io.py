"""The sans-IO core stays sans-IO: it never imports the event loop, a clock, threads or the database.

Every module of ``dht/core`` (routing table, lookups, limits, tokens, the
estimator, contacts, events), ``dht/wire`` (both codecs),
``dht/mainline/stores`` (peers, items, samples) and ``dht/crawl`` (the crawl
machine, the census) is a plain object fed bytes,
events and ``now`` (aioquic's rule: the core never reads a clock).  This
reads their source and fails when one of them imports ``asyncio``,
``time``, ``threading``, ``sqlite3`` or ``selectors``, or calls a clock
(``monotonic()``, ``time()``, ``loop.time()``) -- the asyncio shell
(``dht/node``, ``dht/rpc``, ``dht/lab``) is where those belong.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DHT = Path(__file__).resolve().parent.parent / "dht"

#: The sans-IO packages, taken whole by folder: a module added to one of them is checked.
SANS_IO_PACKAGES = ("core", "wire", "machine", "mainline/stores", "crawl")
CORE = sorted(p for folder in SANS_IO_PACKAGES for p in (DHT / folder).rglob("*.py"))
FORBIDDEN = {"asyncio", "time", "threading", "sqlite3", "selectors"}
CLOCKS = {"monotonic", "time", "perf_counter", "monotonic_ns", "time_ns"}


def io_uses(source: str) -> list[str]:
    """What ``source`` imports or calls that a sans-IO module must not."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name.split(".")[0] in FORBIDDEN]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] in FORBIDDEN:
                found.append(f"from {node.module} import ...")
        elif isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            if name in CLOCKS:
                found.append(f"a clock: {ast.unparse(f)}() at line {node.lineno}")
    return found


@pytest.mark.parametrize("path", [p for p in CORE if p.exists()], ids=lambda p: str(p.relative_to(DHT)))
def test_a_core_module_does_no_io_and_reads_no_clock(path: Path) -> None:
    assert io_uses(path.read_text()) == []


def test_the_check_sees_an_import_and_a_clock() -> None:
    assert io_uses("import asyncio\nfrom time import monotonic\n") == ["import asyncio", "from time import ..."]
    assert io_uses("def f(loop):\n    return loop.time()\n") == ["a clock: loop.time() at line 2"]
    assert io_uses("def f(now: float) -> float:\n    return now + 1\n") == []


def test_every_sans_io_folder_holds_modules() -> None:
    """The folders exist and hold modules (a renamed folder must not empty the check)."""
    for folder in SANS_IO_PACKAGES:
        assert len(list((DHT / folder).glob("*.py"))) >= 2, folder
    assert DHT / "core" / "routing.py" in CORE and DHT / "core" / "lookup.py" in CORE


def test_the_shell_reads_one_clock() -> None:
    """Above the core, ``now`` comes from one place, dht.rpc.clock (the loop's clock
    itself, read on every datagram); the store's idle bookkeeping (its own monotonic
    stamps, and the release of an idle connection that reads them) is the one other reader.
    Wall-clock stamps (``time.time()``) and stopwatches (``perf_counter``) are not ``now``."""
    def reads_now(use: str) -> bool:  # monotonic(), or a loop's time()
        return use.startswith("a clock") and ("monotonic" in use or (".time()" in use and "time.time()" not in use))

    readers = {str(p.relative_to(DHT)) for p in DHT.rglob("*.py") if any(map(reads_now, io_uses(p.read_text())))}
    assert readers == {"storage/store.py", "storage/idle.py"}
