"""Mounts for storage-fault tests: a tmpfs that fills up, bind mounts, remounts.

Shared by the dht and khgui tests.  Mounting needs root and mount(8); where
it is not allowed the tests that ask are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import pytest


def mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)


@contextlib.contextmanager
def mounted(*args: str) -> Iterator[Path]:
    """``mount ARGS DIR`` on a fresh directory, unmounted and removed at the end (skips if it fails)."""
    where = Path(tempfile.mkdtemp(prefix="dht-mount-"))
    result = mount(*args, str(where))
    if result.returncode != 0:
        where.rmdir()
        pytest.skip(f"mount {' '.join(args)} fails here: {result.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30)
        where.rmdir()


@contextlib.contextmanager
def tmpfs(size: str = "2m") -> Iterator[Path]:
    """A fresh tmpfs of ``size``, unmounted at the end (skips when mounting is not allowed)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    with mounted("-t", "tmpfs", "-o", f"size={size}", "tmpfs") as where:
        yield where


def fill(directory: Path) -> Path:
    """Write a file until the file system is full; returns it (delete it to make room)."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for chunk in (65536, 4096, 512):
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def remount(directory: Path, mode: str) -> None:
    result = mount("-o", f"remount,{mode}", str(directory))
    assert result.returncode == 0, result.stderr
