"""The IdPs' discovery documents and key sets, fetched with httpx and cached with expiry.

A discovery document is accepted only when its `issuer` is exactly the configured one
(OpenID Connect Discovery 1.0 §4.3): a look-alike document cannot move the issuer we check
tokens against. Endpoints must be https (http only on a loopback host, for a local IdP).

Key sets: an ID token whose `kid` is not in the cached set makes us fetch the set again,
once, and fail with `unknown_key` if it is still not there. That is how a key rotated at
the IdP keeps working without a restart, and how a forged kid costs one fetch, not a loop.
ID tokens reach us only from the token endpoint over TLS with our client secret, so only
the IdP (or whoever holds its TLS key) can make us refetch. Concurrent sign-ins after a
rotation share one refetch (a lock per URL; the set is fetched again only if it is still
the one the sign-in found lacking).

Both caches live in this process (like the SAML settings, they are cheap to refetch):
each instance fetches on its own, at most once per document per expiry.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, RSAKey

from staffroom.core import clock
from staffroom.sso.oidc.config import secure_url
from staffroom.sso.oidc.errors import Rejected

ALLOWED_ALGORITHMS = ("RS256", "ES256", "PS256")
# What each allowed algorithm verifies with: key type and, for EC, the curve.
_KEY_FAMILY: dict[str, tuple[str, str | None]] = {
    "RS256": ("RSA", None),
    "PS256": ("RSA", None),
    "ES256": ("EC", "P-256"),
}
MIN_RSA_BITS = 2048
MAX_DOCUMENT_BYTES = 512 * 1024
MAX_KEYS = 100
# Cache lifetimes: the IdP's Cache-Control max-age, kept within these bounds.
DEFAULT_TTL = 3600.0
MIN_TTL = 300.0
MAX_TTL = 86400.0
HTTP_TIMEOUT = 10.0
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d{1,9})\s*(?:,|$)", re.IGNORECASE)


@dataclass(frozen=True)
class ProviderMetadata:
    """The parts of a discovery document the sign-in uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    token_endpoint_auth_methods: tuple[str, ...]
    signing_algorithms: tuple[str, ...]
    end_session_endpoint: str = ""


@dataclass
class KeySet:
    """An IdP's signature keys, by kid (None for a key published without one)."""

    keys: list[tuple[str | None, RSAKey | ECKey]]
    fetched_at: float
    expires_at: float

    def pick(self, kid: str | None, alg: str) -> RSAKey | ECKey | None:
        """The key for this kid and algorithm; without a kid, the only key that fits."""
        fitting = [(k_id, key) for k_id, key in self.keys if _fits(key, alg)]
        if kid is not None:
            return next((key for k_id, key in fitting if k_id == kid), None)
        return fitting[0][1] if len(fitting) == 1 else None


def _fits(key: RSAKey | ECKey, alg: str) -> bool:
    kty, curve = _KEY_FAMILY[alg]
    if key.key_type != kty or key.get("use") not in (None, "sig"):
        return False
    if key.get("alg") not in (None, alg):
        return False
    if curve is not None:
        return key.get("crv") == curve
    return int(key.raw_value.key_size) >= MIN_RSA_BITS


@dataclass
class _Cached:
    metadata: ProviderMetadata
    expires_at: float


def _resolve_public(host: str, port: int) -> None:
    """Refuse a host resolving to a private, loopback or link-local address (SSRF), as
    SAML's metadata URLs are (sso/service/idps.py)."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise Rejected("idp_unreachable", f"The host {host} cannot be resolved.") from exc
    for info in infos:
        if not ipaddress.ip_address(info[4][0]).is_global:
            raise Rejected("private_address", f"{host} is not a public address.")


@dataclass
class Providers:
    """Discovery documents and key sets by URL, each cached until its expiry.

    Every URL we fetch (discovery, key set, token endpoint) must resolve to public
    addresses unless `allow_private` (STAFFROOM_SSO_METADATA_ALLOW_PRIVATE, as for SAML
    metadata URLs): an admin-typed issuer must not make the server reach inside its own
    network. `transport` lets a test (or an egress proxy set-up) choose how httpx reaches
    the IdP; the token exchange (`client.py`) uses the same one.
    """

    allow_private: bool = False
    transport: httpx.AsyncBaseTransport | None = None
    _metadata: dict[str, _Cached] = field(default_factory=dict)
    _key_sets: dict[str, KeySet] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    def http(self) -> httpx.AsyncClient:
        """A client for one call to an IdP: short timeouts, no redirects followed."""
        return httpx.AsyncClient(
            transport=self.transport, timeout=HTTP_TIMEOUT, follow_redirects=False
        )

    async def check_public(self, url: str) -> None:
        """Refuse a URL whose host is not public (unless private ones are allowed)."""
        if self.allow_private:
            return
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        await asyncio.to_thread(_resolve_public, parts.hostname or "", port)

    def _lock(self, url: str) -> asyncio.Lock:
        return self._locks.setdefault(url, asyncio.Lock())

    async def metadata(self, issuer: str) -> ProviderMetadata:
        """The issuer's discovery document (cached), its issuer equal to `issuer` exactly."""
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        # Keyed by the issuer as configured: "https://x" and "https://x/" share a document
        # URL but are different issuers, and only one of them can match it.
        async with self._lock(url):
            cached = self._metadata.get(issuer)
            if cached and cached.expires_at > clock.now_ts():
                return cached.metadata
            doc, ttl = await self._get_json(url, "discovery")
            metadata = _parse_metadata(doc, issuer)
            self._metadata[issuer] = _Cached(metadata, clock.now_ts() + ttl)
            return metadata

    async def signing_key(self, jwks_uri: str, kid: str | None, alg: str) -> RSAKey | ECKey:
        """The IdP's key for this kid: from the cache, else after one refetch, else refused."""
        key_set = await self._key_set(jwks_uri, stale=None)
        key = key_set.pick(kid, alg)
        if key is None:
            key_set = await self._key_set(jwks_uri, stale=key_set)
            key = key_set.pick(kid, alg)
        if key is None:
            raise Rejected(
                "unknown_key",
                f"No {alg} key with kid {kid!r} in the IdP's key set, even after fetching it "
                "again.",
            )
        return key

    async def _key_set(self, jwks_uri: str, stale: KeySet | None) -> KeySet:
        """The cached set unless expired or the one a caller found lacking (`stale`)."""
        async with self._lock(jwks_uri):
            cached = self._key_sets.get(jwks_uri)
            if cached is not None and cached is not stale and cached.expires_at > clock.now_ts():
                return cached
            doc, ttl = await self._get_json(jwks_uri, "jwks")
            now = clock.now_ts()
            key_set = KeySet(_import_keys(doc), fetched_at=now, expires_at=now + ttl)
            self._key_sets[jwks_uri] = key_set
            return key_set

    async def _get_json(self, url: str, reason: str) -> tuple[dict[str, Any], float]:
        """A JSON object from the IdP, at most MAX_DOCUMENT_BYTES, and how long to keep it."""
        await self.check_public(url)
        body = bytearray()
        try:
            async with self.http() as http, http.stream("GET", url) as resp:
                if resp.status_code != 200:
                    raise Rejected(reason, f"{url} answered HTTP {resp.status_code}.")
                async for chunk in resp.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_DOCUMENT_BYTES:
                        raise Rejected(reason, f"{url} is larger than {MAX_DOCUMENT_BYTES} bytes.")
                ttl = max_age(resp.headers.get("cache-control"))
        except httpx.HTTPError as exc:
            raise Rejected("idp_unreachable", f"{url}: {type(exc).__name__}") from exc
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise Rejected(reason, f"{url} is not a JSON object.")
        return doc, ttl


def max_age(cache_control: str | None) -> float:
    """Seconds to keep a document: its max-age within [MIN_TTL, MAX_TTL], else DEFAULT_TTL."""
    found = _MAX_AGE.search(cache_control or "")
    if not found:
        return DEFAULT_TTL
    return min(max(float(found.group(1)), MIN_TTL), MAX_TTL)


def _endpoint(doc: dict[str, Any], name: str, required: bool = True) -> str:
    value = doc.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not secure_url(value):
        raise Rejected("discovery", f"{name} is missing or not an https URL: {value!r:.200}")
    return value


def _strings(doc: dict[str, Any], name: str) -> tuple[str, ...]:
    value = doc.get(name)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Rejected("discovery", f"{name} is not a list of strings.")
    return tuple(value)


def _parse_metadata(doc: dict[str, Any], issuer: str) -> ProviderMetadata:
    """Check and keep what we use; the issuer must be the configured one, byte for byte."""
    found = doc.get("issuer")
    if found != issuer:
        raise Rejected(
            "issuer",
            f"The discovery document names issuer {found!r:.200}, not the configured {issuer!r}.",
            issuer=found if isinstance(found, str) else "",
        )
    response_types = _strings(doc, "response_types_supported")
    if response_types and "code" not in response_types:
        raise Rejected("discovery", "The IdP does not offer the authorization code flow.")
    algorithms = _strings(doc, "id_token_signing_alg_values_supported")
    if algorithms and not set(algorithms) & set(ALLOWED_ALGORITHMS):
        raise Rejected(
            "algorithm",
            f"The IdP signs ID tokens with {', '.join(algorithms)[:200]} only; "
            f"{', '.join(ALLOWED_ALGORITHMS)} are accepted.",
        )
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=_endpoint(doc, "authorization_endpoint"),
        token_endpoint=_endpoint(doc, "token_endpoint"),
        jwks_uri=_endpoint(doc, "jwks_uri"),
        token_endpoint_auth_methods=_strings(doc, "token_endpoint_auth_methods_supported"),
        signing_algorithms=algorithms,
        end_session_endpoint=_endpoint(doc, "end_session_endpoint", required=False),
    )


def _import_keys(doc: dict[str, Any]) -> list[tuple[str | None, RSAKey | ECKey]]:
    """The RSA and EC public keys of a JWKS; other key types and broken entries are
    skipped (RFC 7517 §5: a key not understood is ignored, not the whole set)."""
    entries = doc.get("keys")
    if not isinstance(entries, list):
        raise Rejected("jwks", "The key set has no keys list.")
    keys: list[tuple[str | None, RSAKey | ECKey]] = []
    for entry in entries[:MAX_KEYS]:
        if not isinstance(entry, dict) or entry.get("kty") not in ("RSA", "EC"):
            continue
        # A published private part would be the IdP's mistake; we never need or keep it.
        public = {k: v for k, v in entry.items() if k not in ("d", "p", "q", "dp", "dq", "qi")}
        try:
            key = JWKRegistry.import_key(public)
        except (JoseError, ValueError, TypeError):
            continue
        if isinstance(key, RSAKey | ECKey):
            kid = entry.get("kid")
            keys.append((kid if isinstance(kid, str) else None, key))
    return keys
