"""Failures a user can cause, told apart from bugs, and said in one line.

The controller catches what :func:`expected` accepts (a DHT error, an OS
error, a timeout: a port in use, an unreachable bootstrap, an unreadable
database) and emits :func:`describe_error`'s one line for the window;
anything else is a bug and propagates.  Panels word their inline messages
with :func:`describe_error` too.  :func:`quietly` awaits a shutdown whose
errors no longer matter (they are logged at debug level).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable

log = logging.getLogger(__name__)


def describe_error(exc: BaseException) -> str:
    """A one-line user-facing text for an exception."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    if name == "RpcTimeout":
        return "no answer (timeout)" + (f": {text[len('timeout: '):]}" if text.startswith("timeout: ") else "")
    if isinstance(exc, OSError) and not text:
        return f"system error {exc.errno}"
    return text or name


def expected(exc: BaseException) -> bool:
    """Whether ``exc`` is a failure a user can cause (not a bug)."""
    from dht.errors import DHTError

    return isinstance(exc, (DHTError, OSError, asyncio.TimeoutError))


async def quietly(aw: Awaitable[Any]) -> None:
    try:
        await aw
    except Exception:
        log.debug("ignored error while stopping", exc_info=True)
