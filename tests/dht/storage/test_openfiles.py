"""Open files: a lab raises the soft limit it needs, is refused past the hard one, and a
database that cannot be opened for want of file descriptors says so.

Each case runs in a subprocess whose limits it sets, so this process keeps its own.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dht.storage.openfiles import needed

resource = pytest.importorskip("resource")


def run_py(code: str, soft: int, hard: int | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with RLIMIT_NOFILE (soft, hard)."""
    limit_hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1] if hard is None else hard

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, limit_hard))

    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, preexec_fn=limit)


def test_a_lab_raises_the_soft_limit_it_needs() -> None:
    """With the soft limit many systems give (here 256), a lab of 150 nodes (about 450
    files) starts: the soft limit is raised, never past the hard one."""
    done = run_py("""
        import asyncio, resource
        from dht import Config, Lab
        async def main():
            lab = Lab(150, Config())
            await lab.start()
            print(len(lab.nodes), resource.getrlimit(resource.RLIMIT_NOFILE)[0])
            await lab.stop()
        asyncio.run(main())
    """, soft=256)
    assert done.returncode == 0, done.stderr[-2000:]
    nodes, soft = map(int, done.stdout.split())
    assert nodes == 150 and soft > 256


def test_a_swarm_beyond_the_hard_limit_is_refused_in_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dht", "swarm", "--nodes", "500"], capture_output=True, text=True, timeout=60,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (300, 300)),
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"dht: 500 nodes need about {needed(500)} open files and this process may open 300 (ulimit -Hn); "
        "run fewer nodes or raise the limit"
    ]


def test_a_database_that_cannot_be_opened_for_want_of_files_says_so(tmp_path: Path) -> None:
    """SQLite says only "unable to open database file": the cause is named, not taken
    for a permission problem (the directory is writable)."""
    done = run_py(f"""
        import os
        from dht.errors import StorageError
        from dht.storage import Store
        held = []
        try:
            while True:
                held.append(os.open(os.devnull, os.O_RDONLY))
        except OSError:
            pass
        os.close(held.pop())  # one left: not enough for a database and its log
        try:
            Store({str(tmp_path / "x.db")!r})
        except StorageError as exc:
            print(exc)
    """, soft=64)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "too many open files (the limit is 64, ulimit -n)" in done.stdout
    assert "permission denied" not in done.stdout
