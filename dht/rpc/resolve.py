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
import ipaddress
import socket

from ..core.contact import Address, IPV6_REFUSED, RESOLVE_TIMEOUT, check_host, ipv6_literal, is_ipv4, parse_address
from ..core.family import V4, V6, Family, family_of
from ..core.errors import AddressError


async def resolve_host(host: str, timeout: float = RESOLVE_TIMEOUT, families: tuple[Family, ...] = (V4,)) -> str:
    """An address of one of ``families`` for ``host`` (returned as is, canonical, when it
    already is one; the first family's address first).

    Resolution runs through ``loop.getaddrinfo``, never blocking the loop.
    Raises :class:`AddressError` when the name is unknown, has no address of
    those families (an IPv6 address where only IPv4 is taken: the Khashmir
    wire's one line), or takes longer than ``timeout`` seconds.
    """
    if is_ipv4(host):
        if V4 not in families:
            raise AddressError(f"{host} is an IPv4 address; this side of the node is IPv6")
        return host
    if not host:
        raise AddressError("missing host (expected host:port)")
    literal = ipv6_literal(host)
    if literal is not None:
        if V6 not in families:
            raise AddressError(IPV6_REFUSED)
        return literal
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, None, family=_socket_family(families), type=socket.SOCK_DGRAM), timeout
        )
    except asyncio.TimeoutError:
        raise AddressError(f"cannot resolve {host}: no answer within {timeout:g} s") from None
    except socket.gaierror as exc:
        if exc.errno in _NO_IPV4:
            raise AddressError(_no_address(host, families)) from None
        raise AddressError(f"cannot resolve {host}: {exc.strerror or exc}") from None
    except (OSError, UnicodeError) as exc:
        raise AddressError(f"cannot resolve {host}: {exc}") from None
    for family in families:
        for _family, _type, _proto, _name, sockaddr in infos:
            found = str(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])) if sockaddr else ""
            if found and family_of(found) is family:
                return found
    raise AddressError(_no_address(host, families))


def _socket_family(families: tuple[Family, ...]) -> int:
    """The socket family to ask getaddrinfo for: the one asked, or any for several."""
    if len(families) > 1:
        return socket.AF_UNSPEC
    return socket.AF_INET6 if families[0].ipv6 else socket.AF_INET


def _no_address(host: str, families: tuple[Family, ...]) -> str:
    if families == (V4,):
        return f"{host} has no IPv4 address (the Khashmir wire carries IPv4 only)"
    return f"{host} has no {' or '.join(f.label for f in families)} address"


_NO_IPV4 = {
    getattr(socket, name) for name in ("EAI_ADDRFAMILY", "EAI_NODATA", "EAI_FAMILY") if hasattr(socket, name)
}


async def resolve_address(
    address: Address | str, timeout: float = RESOLVE_TIMEOUT, families: tuple[Family, ...] = (V4,)
) -> Address:
    """``"host:port"``, ``"[IPv6]:port"`` or ``(host, port)`` to ``(address, port)``, the
    address of one of ``families`` (IPv4 only unless asked).

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
    return await resolve_host(host, timeout, families), port
