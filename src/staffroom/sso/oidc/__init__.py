"""OpenID Connect sign-in (relying party), beside SAML: the protocol core.

discovery (issuer metadata and key sets, cached), binding (state, nonce and PKCE,
single-use and bound to the browser), client (authlib: the authorization request and the
code exchange), id_token (strict validation with joserfc), claims (the assertion the
login pipeline provisions from), flow (the steps together), errors (the doctor's reasons).
"""
