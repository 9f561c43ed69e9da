"""DNS look-ups (dnspython): the one adapter for proving control of a domain.

Tests and air-gapped installs point it at their own server with
STAFFROOM_DNS_NAMESERVERS (e.g. `127.0.0.1:5353`); empty uses the system resolver.
"""

from __future__ import annotations

from typing import Protocol

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.resolver

from staffroom.core.errors import Unavailable


class TxtLookup(Protocol):
    """Reads the TXT records of a name."""

    async def txt(self, name: str) -> list[str]:
        """The TXT strings published at `name` ([] when there are none or it does not exist)."""


def _nameserver(spec: str) -> dns.nameserver.Do53Nameserver:
    host, _, port = spec.rpartition(":") if spec.count(":") == 1 else (spec, "", "")
    return dns.nameserver.Do53Nameserver(host or spec, int(port) if port else 53)


class DnsTxtLookup:
    """TXT look-ups through dnspython's asyncio resolver."""

    def __init__(self, nameservers: tuple[str, ...] = (), timeout: float = 5.0) -> None:
        self._nameservers = nameservers
        self._timeout = timeout

    def _resolver(self) -> dns.asyncresolver.Resolver:
        try:
            resolver = dns.asyncresolver.Resolver(configure=not self._nameservers)
        except dns.resolver.NoResolverConfiguration as exc:
            raise Unavailable("dns_unavailable", "No DNS resolver is configured.") from exc
        if self._nameservers:
            resolver.nameservers = [_nameserver(s) for s in self._nameservers]
        resolver.lifetime = self._timeout
        return resolver

    async def txt(self, name: str) -> list[str]:
        try:
            answer = await self._resolver().resolve(name, "TXT", search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.resolver.NoNameservers, dns.exception.Timeout) as exc:
            raise Unavailable(
                "dns_unavailable", "The DNS look-up failed; try again in a few minutes."
            ) from exc
        return [
            b"".join(record.strings).decode("utf-8", "replace")
            for record in answer
            if hasattr(record, "strings")
        ]
