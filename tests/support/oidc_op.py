"""A local OpenID provider for the tests, on 127.0.0.1, whose answers a test can bend.

Built on the standard library's HTTP server and joserfc's signing, not on the code under
test (src/staffroom/sso/oidc/): discovery, jwks, authorize (auto-approves the configured
user; checks the client, the exact redirect URI and a PKCE S256 challenge) and token
(client authentication, single-use codes, the PKCE verifier). `bend` makes the next ID
tokens wrong in one way each: another algorithm (`none`, HS256 keyed with the public
key), other or missing claims, another key or kid, a dropped or replayed nonce, padding;
`rotate` replaces the signing key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from cryptography.hazmat.primitives import serialization
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

DROP = object()  # as a claim's value in Bend.claims: leave the claim out

USER: dict[str, Any] = {
    "sub": "00u-ada-4711",
    "email": "ada@acme.example",
    "email_verified": True,
    "name": "Ada Lovelace",
    "given_name": "Ada",
    "family_name": "Lovelace",
    "groups": ["staff", "engineering"],
    "amr": ["pwd", "mfa"],
}


@dataclass
class Bend:
    """How the next ID tokens (or answers) differ from a correct provider's."""

    # RS256 | PS256 | ES256 | none | HS256-public (HMAC keyed with the RSA public key PEM)
    alg: str = "RS256"
    claims: dict[str, Any] = field(default_factory=dict)  # DROP removes a claim
    header: dict[str, Any] = field(default_factory=dict)
    # Sign with this key instead (it is not published); its own kid unless header says.
    key: RSAKey | None = None
    nonce: str = "sent"  # sent | drop | replay (an earlier sign-in's nonce)
    pad: int = 0  # characters of padding claim
    discovery: dict[str, Any] = field(default_factory=dict)  # discovery document overrides
    token_error: str = ""  # the token endpoint answers this OAuth error
    iss_param: str = ""  # an `iss` on the redirect back (RFC 9207)
    tamper: dict[str, Any] = field(default_factory=dict)  # claims changed after signing
    id_token: str = ""  # answer with this token instead (e.g. another provider's)


@dataclass
class _Client:
    secret: str
    redirect_uris: list[str]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _new_rsa(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig"})


class OpenIdProvider:
    """The provider; `start()` serves it in a thread, `issuer` is its URL."""

    def __init__(self, prefix: str = "", now: Callable[[], float] = time.time) -> None:
        self.prefix = prefix  # e.g. "/<tenant>/v2.0", as Entra ID's issuers have
        self.now = now  # the tests' movable clock, so both sides agree on the time
        self.clients: dict[str, _Client] = {}
        self._server: ThreadingHTTPServer | None = None
        self._generation = 0
        self.name = secrets.token_hex(3)  # in every kid: two providers' kids never meet
        self.reset()

    # set-up --------------------------------------------------------------------------
    def start(self) -> OpenIdProvider:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def issuer(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.prefix}"

    def register(self, client_id: str, secret: str, redirect_uri: str) -> None:
        self.clients[client_id] = _Client(secret, [redirect_uri])

    def reset(self) -> None:
        """A correct provider again: fresh keys and user, no bends, counters at zero."""
        self._generation += 1
        self.rsa = _new_rsa(f"{self.name}-rsa-{self._generation}")
        self.ec = ECKey.generate_key(
            "P-256", parameters={"kid": f"{self.name}-ec-{self._generation}"}
        )
        self.published: list[RSAKey | ECKey] = [self.rsa, self.ec]
        self.user = dict(USER)
        self.bend = Bend()
        self.codes: dict[str, dict[str, Any]] = {}
        self.nonces: list[str] = []
        self.authorize_requests: list[dict[str, str]] = []
        self.token_requests: list[dict[str, str]] = []
        self.jwks_fetches = 0
        self.discovery_fetches = 0

    def rotate(self, keep_old: bool = False) -> str:
        """A new RSA signing key, published; the old one dropped unless keep_old."""
        self._generation += 1
        old, self.rsa = self.rsa, _new_rsa(f"{self.name}-rsa-{self._generation}")
        self.published = [self.rsa, self.ec, *([old] if keep_old else [])]
        return str(self.rsa.kid)

    # documents -----------------------------------------------------------------------
    def discovery(self) -> dict[str, Any]:
        base = self.issuer
        doc = {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "PS256", "ES256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
        }
        doc.update(self.bend.discovery)
        return doc

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.as_dict(private=False) for k in self.published]}

    # the two protocol endpoints ------------------------------------------------------
    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        self.authorize_requests.append(query)
        client = self.clients.get(query.get("client_id", ""))
        redirect = query.get("redirect_uri", "")
        if client is None or redirect not in client.redirect_uris:
            return 400, {}, b"unknown client or redirect_uri"
        if query.get("response_type") != "code" or "openid" not in query.get("scope", "").split():
            return 400, {}, b"only the openid code flow"
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return 400, {}, b"PKCE S256 required"
        code = secrets.token_urlsafe(32)
        nonce = query.get("nonce", "")
        self.codes[code] = {**query, "used": False}
        self.nonces.append(nonce)
        back = {"code": code, "state": query.get("state", "")}
        if self.bend.iss_param:
            back["iss"] = self.bend.iss_param
        return 302, {"Location": f"{redirect}?{urlencode(back)}"}, b""

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, dict[str, Any]]:
        self.token_requests.append(form)
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if authorization.startswith("Basic "):
            pair = base64.b64decode(authorization[6:]).decode()
            client_id, secret = (unquote(p) for p in pair.split(":", 1))
        client = self.clients.get(client_id)
        if client is None or not hmac.compare_digest(client.secret, secret):
            return 401, {"error": "invalid_client"}
        grant = self.codes.get(form.get("code", ""))
        if form.get("grant_type") != "authorization_code" or grant is None or grant["used"]:
            return 400, {"error": "invalid_grant"}
        grant["used"] = True
        challenge = _b64(hashlib.sha256(form.get("code_verifier", "").encode()).digest())
        if grant["client_id"] != client_id or form.get("redirect_uri") != grant["redirect_uri"]:
            return 400, {"error": "invalid_grant"}
        if not hmac.compare_digest(challenge, grant["code_challenge"]):
            return 400, {"error": "invalid_grant", "error_description": "PKCE verifier"}
        if self.bend.token_error:
            return 400, {"error": self.bend.token_error}
        return 200, {
            "access_token": secrets.token_urlsafe(32),
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": self.bend.id_token or self.id_token(client_id, grant.get("nonce", "")),
        }

    def id_token(self, client_id: str, nonce: str) -> str:
        now = int(self.now())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": client_id,
            "exp": now + 300,
            "iat": now,
            "auth_time": now,
            **self.user,
        }
        if self.bend.nonce == "sent":
            claims["nonce"] = nonce
        elif self.bend.nonce == "replay":
            claims["nonce"] = self.nonces[-2]  # the sign-in before this one
        for name, value in self.bend.claims.items():
            if value is DROP:
                claims.pop(name, None)
            else:
                claims[name] = value
        if self.bend.pad:
            claims["padding"] = "x" * self.bend.pad
        token = self.sign(claims)
        if self.bend.tamper:
            head, _, signature = token.split(".")
            body = _b64(json.dumps({**claims, **self.bend.tamper}).encode())
            token = f"{head}.{body}.{signature}"
        return token

    def sign(self, claims: dict[str, Any]) -> str:
        alg = self.bend.alg
        if alg in ("none", "HS256-public"):
            return self._forge(claims, alg)
        key: RSAKey | ECKey = self.ec if alg == "ES256" else (self.bend.key or self.rsa)
        header = {"alg": alg, "kid": key.kid, "typ": "JWT", **self.bend.header}
        return jwt.encode(header, claims, key, algorithms=[alg])

    def _forge(self, claims: dict[str, Any], alg: str) -> str:
        """What an attacker writes by hand: an unsigned token, or an HMAC whose secret is
        the IdP's public key (the 'RS256 → HS256' confusion)."""
        name = "none" if alg == "none" else "HS256"
        header = {"alg": name, "kid": self.rsa.kid, "typ": "JWT", **self.bend.header}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        if name == "none":
            return signing_input + "."
        public_pem = self.rsa.raw_value.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(mac)}"


class _Handler(BaseHTTPRequestHandler):
    op: OpenIdProvider  # the provider this server answers for (set by _handler)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the tests read the provider's own records

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, doc: dict[str, Any]) -> None:
        headers = {"Content-Type": "application/json", "Cache-Control": "max-age=3600"}
        self._send(status, json.dumps(doc).encode(), headers)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        path = url.path.removeprefix(self.op.prefix)
        if path == "/.well-known/openid-configuration":
            self.op.discovery_fetches += 1
            self._json(200, self.op.discovery())
        elif path == "/jwks":
            self.op.jwks_fetches += 1
            self._json(200, self.op.jwks())
        elif path == "/authorize":
            status, headers, body = self.op.authorize(dict(parse_qsl(url.query)))
            self._send(status, body, headers)
        else:
            self._send(404, b"not found", {})

    def do_POST(self) -> None:
        if urlsplit(self.path).path.removeprefix(self.op.prefix) != "/token":
            self._send(404, b"not found", {})
            return
        length = int(self.headers.get("Content-Length", "0"))
        form = dict(parse_qsl(self.rfile.read(length).decode()))
        status, doc = self.op.token(form, self.headers.get("Authorization", ""))
        self._json(status, doc)


def _handler(op: OpenIdProvider) -> type[BaseHTTPRequestHandler]:
    return type("Handler", (_Handler,), {"op": op})
