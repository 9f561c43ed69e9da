"""The authorization request and the code exchange, by authlib's httpx OAuth 2.0 client.

authlib builds the request URL (response_type=code, PKCE S256 challenge from our
verifier, state, nonce) and makes the token request (client authentication, the
verifier, the exact redirect URI), so no OAuth message is put together by hand here.
"""

from __future__ import annotations

from typing import Any

import httpx
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

from staffroom.sso.oidc.binding import FlowSecrets
from staffroom.sso.oidc.config import OidcIdp
from staffroom.sso.oidc.discovery import HTTP_TIMEOUT, ProviderMetadata, Providers
from staffroom.sso.oidc.errors import Rejected

# Client authentication at the token endpoint, in our order of preference. Basic is the
# default when the IdP lists none (OpenID Connect Discovery §3).
AUTH_METHODS = ("client_secret_basic", "client_secret_post")


def _auth_method(metadata: ProviderMetadata) -> str:
    offered = metadata.token_endpoint_auth_methods or ("client_secret_basic",)
    for method in AUTH_METHODS:
        if method in offered:
            return method
    raise Rejected(
        "discovery",
        f"The token endpoint takes {', '.join(offered)[:200]}; we can do "
        f"{', '.join(AUTH_METHODS)}.",
    )


def _client(providers: Providers, idp: OidcIdp, metadata: ProviderMetadata) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=idp.client_id,
        client_secret=idp.client_secret,
        token_endpoint_auth_method=_auth_method(metadata),
        scope=" ".join(idp.scopes),
        redirect_uri=idp.redirect_uri,
        code_challenge_method="S256",
        transport=providers.transport,
        timeout=HTTP_TIMEOUT,
        follow_redirects=False,
    )


def _hints(idp: OidcIdp) -> dict[str, str]:
    """Preset parameters that steer the IdP's sign-in page (hints: tokens are still checked)."""
    if idp.preset == "google":
        return {"hd": idp.hosted_domain}
    return {}


async def authorization_url(
    providers: Providers, idp: OidcIdp, metadata: ProviderMetadata, flow: FlowSecrets
) -> str:
    """Where to send the browser: code flow with PKCE S256, our state and nonce."""
    async with _client(providers, idp, metadata) as client:
        url, _ = client.create_authorization_url(
            metadata.authorization_endpoint,
            state=flow.state,
            code_verifier=flow.code_verifier,
            nonce=flow.nonce,
            **_hints(idp),
        )
    return str(url)


async def exchange(
    providers: Providers,
    idp: OidcIdp,
    metadata: ProviderMetadata,
    code: str,
    code_verifier: str,
) -> dict[str, Any]:
    """The token endpoint's answer for our code and verifier (it must hold an ID token)."""
    await providers.check_public(metadata.token_endpoint)
    async with _client(providers, idp, metadata) as client:
        try:
            token = await client.fetch_token(
                metadata.token_endpoint,
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
            )
        except OAuthError as exc:
            raise Rejected("token_endpoint", f"{exc.error}: {exc.description or ''}"[:300]) from exc
        except httpx.HTTPStatusError as exc:
            raise Rejected(
                "token_endpoint", f"The token endpoint answered HTTP {exc.response.status_code}."
            ) from exc
        except httpx.HTTPError as exc:
            raise Rejected("idp_unreachable", f"token endpoint: {type(exc).__name__}") from exc
        except ValueError as exc:  # not a JSON object
            raise Rejected("token_endpoint", str(exc)[:300]) from exc
    id_token = token.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise Rejected("token_endpoint", "The token endpoint's answer has no id_token.")
    return dict(token)
