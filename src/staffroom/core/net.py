"""Client addresses, honouring X-Forwarded-For only from configured trusted proxies."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=32)
def parse_networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    """Parse trusted proxy CIDRs once."""
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def _trusted(addr: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_ip(peer: str, forwarded_for: str | None, trusted: tuple[str, ...]) -> str:
    """The real client: walk X-Forwarded-For from the right past trusted proxies."""
    # Every request asks (twice with a request context), and parsing its addresses cost
    # more than a look-up. Only ordinary headers are cached: they are the client's to
    # invent, and long unique ones would fill the cache with kilobytes each.
    if forwarded_for is not None and len(forwarded_for) > 200:
        return _walk(peer, forwarded_for, trusted)
    return _cached_walk(peer, forwarded_for, trusted)


def _walk(peer: str, forwarded_for: str | None, trusted: tuple[str, ...]) -> str:
    networks = parse_networks(trusted)
    if not forwarded_for or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer
    return hops[0] if hops else peer


_cached_walk = lru_cache(maxsize=4096)(_walk)
