"""Fixtures of the libtorrent interop tests: a swarm of libtorrent sessions on loopback.

Every test here is marked ``interop``; they run by default (the whole
module takes a few seconds) and ``-m "not interop"`` leaves them out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import pytest

from .ltlab import CLIENT_HOST, CLIENT_ID, ClientThread, LtSwarm

if TYPE_CHECKING:
    from .mixed import MixedSwarm

SWARM_SIZE = 3


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "interop: runs real libtorrent sessions on loopback")


@pytest.fixture(scope="module")
def lt_swarm() -> Iterator[LtSwarm]:
    """SWARM_SIZE libtorrent sessions on 127.0.40.1, 127.0.41.1, ..., each knowing the others."""
    swarm = LtSwarm(SWARM_SIZE)
    try:
        swarm.start()
        yield swarm
    finally:
        swarm.close()


@pytest.fixture(scope="module")
def mainline_client() -> Iterator[ClientThread]:
    """Our raw Mainline client on CLIENT_HOST, alive (and answering) for the whole module."""
    client = ClientThread(CLIENT_HOST, CLIENT_ID)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="module")
def lt_swarm6() -> Iterator[LtSwarm]:
    """Two libtorrent sessions on ::1 (IPv6's only loopback address), knowing each other."""
    swarm = LtSwarm(2, ipv6=True)
    try:
        swarm.start()
        yield swarm
    finally:
        swarm.close()


@pytest.fixture(scope="module")
def mixed_swarm() -> Iterator["MixedSwarm"]:
    """MIXED_LT libtorrent sessions and MIXED_OURS Mainline nodes of ours, all knowing each other."""
    from .mixed import MixedSwarm

    swarm = MixedSwarm(MIXED_LT, MIXED_OURS)
    try:
        swarm.start()
        yield swarm
    finally:
        swarm.close()


MIXED_LT = 3
MIXED_OURS = 3
