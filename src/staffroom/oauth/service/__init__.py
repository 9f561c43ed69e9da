"""OAuth business rules (no Litestar here): clients, the authlib server and its flows,
access tokens at the API's door."""
