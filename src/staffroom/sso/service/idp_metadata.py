"""Adding a SAML IdP from its metadata: XML given, or fetched from a public URL."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

import httpx
import msgspec

from staffroom.core.context import Principal, RequestContext
from staffroom.core.errors import Forbidden, Invalid
from staffroom.core.runtime import Runtime
from staffroom.sso import saml
from staffroom.sso.schemas import IdpIn, IdpOut, MetadataUrlIn
from staffroom.sso.service.idps import check_url, create

METADATA_MAX_BYTES = 1024 * 1024


async def create_from_metadata(
    rt: Runtime,
    principal: Principal,
    xml: str,
    name: str,
    preset: str,
    ctx: RequestContext,
    enabled: bool = True,
) -> IdpOut:
    """Add an IdP from its metadata XML (entity id, SSO/SLO URLs, certificates)."""
    try:
        parsed = await asyncio.to_thread(saml.parse_idp_metadata, xml)
    except saml.Rejected as exc:
        raise Invalid("invalid_metadata", exc.detail) from exc
    if not parsed["entity_id"] or not parsed["sso_url"] or not parsed["certificates"]:
        raise Invalid(
            "invalid_metadata",
            "The metadata needs an entity id, a Redirect SSO URL and a signing certificate.",
        )
    data = msgspec.convert({**parsed, "name": name, "preset": preset, "enabled": enabled}, IdpIn)
    return await create(rt, principal, data, ctx)


def _public_address(host: str, port: int) -> None:
    """Refuse hosts that resolve to private, loopback or link-local addresses (SSRF)."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise Invalid("metadata_unreachable", f"The host {host} cannot be resolved.") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise Forbidden("metadata_private_address", "Metadata URLs must be public.")


async def fetch_metadata(rt: Runtime, url: str) -> str:
    """GET IdP metadata: public address, 10 s, 1 MiB at most."""
    url = check_url(url, "metadata_url")
    parts = urlsplit(url)
    if not rt.settings.sso_metadata_allow_private:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        await asyncio.to_thread(_public_address, parts.hostname or "", port)
    try:
        async with httpx.AsyncClient(timeout=10, follow_redirects=False) as client:
            async with client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise Invalid(
                        "metadata_unreachable", f"The metadata URL answered {response.status_code}."
                    )
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > METADATA_MAX_BYTES:
                        raise Invalid("metadata_too_large", "The metadata is over 1 MiB.")
    except httpx.HTTPError as exc:
        raise Invalid("metadata_unreachable", "The metadata URL could not be fetched.") from exc
    return body.decode("utf-8", "replace")


async def create_from_url(
    rt: Runtime, principal: Principal, data: MetadataUrlIn, ctx: RequestContext
) -> IdpOut:
    """Add an IdP from a metadata URL."""
    xml = await fetch_metadata(rt, data.url)
    return await create_from_metadata(rt, principal, xml, data.name, data.preset, ctx, data.enabled)
