"""Shared fixtures of the dht tests.

The helpers themselves live in ``dhtutil`` (this directory is on sys.path
while the dht tests run, as pytest puts a rootless test directory there).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import dhtutil  # noqa: E402
from dhtutil import FAST, ThreadedNode  # noqa: E402

from dht import Config  # noqa: E402


@pytest.fixture(autouse=True)
def _silent_ports_closed() -> Iterator[None]:
    """The sockets behind a test's silent_udp_port close when it ends."""
    yield
    while dhtutil._SILENT:
        dhtutil._SILENT.pop().close()


@pytest.fixture
def fast_config() -> Config:
    """Default settings with a 1 s RPC timeout."""
    return FAST


@pytest.fixture(scope="module")
def threaded_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedNode]:
    """One node in a background loop thread, shared by a module's tests."""
    tn = ThreadedNode(tmp_path_factory.mktemp("threaded-node"))
    try:
        yield tn
    finally:
        tn.close()
