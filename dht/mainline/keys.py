"""The ed25519 key that signs our BEP 44 mutable items, kept in a file.

The file holds the raw 32-byte private seed and nothing else, readable by
its owner only (mode 0600).  :func:`load_or_create_key` makes it on first
use, atomically (a new file is written aside and linked into place, so two
processes never end up with different keys) and refuses a file of another
size or one that others may read, saying which.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from ..core.errors import LocalError

SEED_BYTES = 32
KEY_FILE_MODE = 0o600


def seed_bytes(key: Ed25519PrivateKey) -> bytes:
    """The 32-byte seed of a private key (what the key file holds)."""
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def load_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """The key in ``path``, or LocalError saying what is wrong with the file."""
    p = Path(path)
    try:
        st = p.stat()
        data = p.read_bytes()
    except OSError as exc:
        raise LocalError(f"cannot read key file {p}: {exc.strerror}") from None
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise LocalError(f"key file {p} is readable by others (mode {stat.S_IMODE(st.st_mode):o}); chmod 600 it")
    if len(data) != SEED_BYTES:
        raise LocalError(f"key file {p} must hold a raw {SEED_BYTES}-byte ed25519 seed, not {len(data)} bytes")
    return Ed25519PrivateKey.from_private_bytes(data)


def load_or_create_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """The key in ``path``, created there (mode 0600) when the file does not exist."""
    p = Path(path)
    if p.exists():
        return load_key(p)
    key = Ed25519PrivateKey.generate()
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
        try:
            os.write(fd, seed_bytes(key))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, p)  # fails if another process made the key meanwhile
        except FileExistsError:
            return load_key(p)
    except OSError as exc:
        raise LocalError(f"cannot create key file {p}: {exc.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return key
