"""Host names to addresses, on the event loop: what a user types, made something to send to.

:func:`resolve_address` takes ``"host:port"`` or ``(host, port)``, checks it
with :func:`dht.core.contact.parse_address`, and resolves a name through the
loop's ``getaddrinfo`` (in its executor: the loop never blocks).  Replies
come from the resolved address, which is why requests go to it and not to
the name (``localhost`` answers as ``127.0.0.1``).  The sans-IO core never
resolves: this is the shell's.
"""

from __future__ import annotations

import asyncio
import socket

from ..core.contact import Address, IPV6_REFUSED, RESOLVE_TIMEOUT, check_host, is_ipv4, parse_address
from ..core.errors import AddressError


async def resolve_host(host: str, timeout: float = RESOLVE_TIMEOUT) -> str:
    """An IPv4 address for ``host`` (returned as is when it already is one).

    Resolution runs through ``loop.getaddrinfo``, never blocking the loop.
    Raises :class:`AddressError` when the name is unknown, has no IPv4
    address, or takes longer than ``timeout`` seconds.
    """
    if is_ipv4(host):
        return host
    if not host or host.startswith("[") or ":" in host:
        raise AddressError(IPV6_REFUSED if host else "missing host (expected host:port)")
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, None, family=socket.AF_INET, type=socket.SOCK_DGRAM), timeout
        )
    except asyncio.TimeoutError:
        raise AddressError(f"cannot resolve {host}: no answer within {timeout:g} s") from None
    except socket.gaierror as exc:
        if exc.errno in _NO_IPV4:
            raise AddressError(f"{host} has no IPv4 address (the Khashmir wire carries IPv4 only)") from None
        raise AddressError(f"cannot resolve {host}: {exc.strerror or exc}") from None
    except (OSError, UnicodeError) as exc:
        raise AddressError(f"cannot resolve {host}: {exc}") from None
    for _family, _type, _proto, _name, sockaddr in infos:
        if sockaddr and is_ipv4(sockaddr[0]):
            return str(sockaddr[0])
    raise AddressError(f"{host} has no IPv4 address (the Khashmir wire carries IPv4 only)")


_NO_IPV4 = {
    getattr(socket, name) for name in ("EAI_ADDRFAMILY", "EAI_NODATA", "EAI_FAMILY") if hasattr(socket, name)
}


async def resolve_address(address: Address | str, timeout: float = RESOLVE_TIMEOUT) -> Address:
    """``"host:port"`` or ``(host, port)`` to ``(IPv4 address, port)``.

    Text is checked by :func:`parse_address` first; a host name is resolved
    by :func:`resolve_host`.  Raises :class:`AddressError` saying why not.
    """
    if isinstance(address, str):
        host, port = parse_address(address)
    else:
        host, port = address
        if not isinstance(port, int) or not 1 <= port <= 65535:
            raise AddressError(f"port {port!r} is out of range 1-65535")
        if not is_ipv4(host):
            check_host(host)
    return await resolve_host(host, timeout), port
