"""OAuth 2.0 authorization server: per-org clients, code + PKCE, refresh, client credentials."""
