"""One Settings class read from STAFFROOM_* environment variables and `.env`.

Nothing else in the code base reads os.environ: everything is passed a Settings.
"""

from __future__ import annotations

import os
import typing
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from dotenv import dotenv_values

PREFIX = "STAFFROOM_"
SECRET_FIELDS = frozenset(
    {"smtp_password", "pubnub_secret_key", "pubnub_publish_key", "metrics_token"}
)


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    """Every setting of the service, with embedded development defaults."""

    env: Literal["development", "production", "test"] = "development"
    data_dir: str = "./var"
    # Empty means SQLite at <data_dir>/staffroom.db; otherwise postgresql://… or sqlite:///path
    database_url: str = ""
    database_pool_max: int = 10
    # Where clients reach the API: the base of every link Staffroom emails and prints.
    # Empty: http://HOST:PORT, so a changed port changes the links too.
    public_url: str = ""
    app_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    redis_url: str = ""
    trusted_proxies: tuple[str, ...] = ()
    # Web app origins allowed by CORS (exact, e.g. https://app.example.com); empty: none.
    cors_origins: tuple[str, ...] = ()
    # Strict-Transport-Security max-age when public_url is https (0: no header).
    hsts_seconds: int = 31536000
    # General limits on top of the auth limits: token buckets per client IP and per user.
    rate_ip_per_second: float = 50.0
    rate_ip_burst: int = 300
    rate_user_per_second: float = 20.0
    rate_user_burst: int = 200
    max_body_bytes: int = 1024 * 1024
    # Prometheus /metrics answers only with this bearer token; empty: metrics off.
    metrics_token: str = ""
    log_level: str = "INFO"
    log_json: bool = True

    keys_file: str = ""
    # AWS KMS key (id, ARN or alias) wrapping the key file's keys; empty: keys in the clear
    # in the key file (embedded). Region defaults to s3_region; the endpoint is for moto only.
    kms_key_id: str = ""
    kms_region: str = ""
    kms_endpoint_url: str = ""
    bcrypt_rounds: int = 12

    access_token_ttl: int = 900
    refresh_idle_ttl: int = 14 * 24 * 3600
    session_absolute_ttl: int = 30 * 24 * 3600
    mfa_token_ttl: int = 300
    reset_token_ttl: int = 3600
    setup_token_ttl: int = 7 * 24 * 3600

    login_fail_limit_account: int = 5
    login_fail_limit_ip: int = 30
    login_fail_window: int = 900
    reset_limit_per_login: int = 3
    reset_limit_per_ip: int = 20
    reset_limit_window: int = 3600
    mfa_fail_limit: int = 5
    mfa_lock_seconds: int = 900

    mail_backend: Literal["outbox", "smtp", "ses"] = "outbox"
    mail_from: str = "Staffroom <no-reply@staffroom.local>"
    mail_worker: bool = True
    mail_poll_seconds: float = 5.0
    # How long undeliverable mail (a server down, a temporary refusal) is retried, from
    # its queueing, before it is marked failed; a permanent refusal fails at once.
    mail_retry_hours: float = 72.0
    # Run the background work of `staffroom serve` other than mail (off only in tests,
    # which call it): the chat relay dispatcher, scheduled posts' announcements and
    # retention (core/jobs/runner.py; each domain's scheduled.py).
    scheduler: bool = True
    scheduler_poll_seconds: float = 5.0
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_timeout: float = 15.0
    smtp_ca_file: str = ""
    # Amazon SES: credentials come from boto3's usual chain (role, profile, environment).
    ses_region: str = "eu-central-1"
    ses_endpoint_url: str = ""

    # Media: a folder under data_dir (embedded) or an S3 bucket (boto3's credential chain).
    blob_backend: Literal["local", "s3"] = "local"
    s3_bucket: str = ""
    s3_region: str = "eu-central-1"
    # Only for a local stand-in such as moto; empty: the real S3 endpoint
    s3_endpoint_url: str = ""
    media_max_bytes: int = 20 * 1024 * 1024
    # Backups and the erasure ledger: a local folder (default <data_dir>) or an S3 bucket
    # (default the media bucket); keep them on other storage than the database.
    backup_backend: Literal["local", "s3"] = "local"
    backup_dir: str = ""
    backup_bucket: str = ""
    backup_keep_daily: int = 7
    backup_keep_weekly: int = 4
    backup_keep_monthly: int = 12

    # Chat relay. PubNub when its keys are set (devices subscribe there); the built-in
    # WebSocket always. Token lifetimes are minutes (PubNub's unit), at most 15.
    pubnub_publish_key: str = ""
    pubnub_subscribe_key: str = ""
    pubnub_secret_key: str = ""
    # Only for a local stand-in ("127.0.0.1:PORT"); empty: PubNub's own origin.
    pubnub_origin: str = ""
    pubnub_ssl: bool = True
    pubnub_token_minutes: int = 15
    # A person in more conversations than this is sent to the built-in WebSocket: every
    # channel makes their token and subscribe URL longer (~180 bytes each, ~32 KiB at most)
    # and PubNub advises multiplexing a few dozen channels, not hundreds.
    pubnub_max_channels: int = 100
    chat_max_message_bytes: int = 8192
    # How often the outbox dispatcher looks for events when nothing woke it.
    relay_poll_seconds: float = 1.0
    # Ended sessions and changes to what someone may read are announced to open sockets,
    # which act at once. Besides, a socket checks its session again before passing an event
    # on once its last check is older than this: an expired session, or an announcement the
    # relay could not carry (Redis down), stops it within this time. A socket that receives
    # nothing costs no check; a company-wide post makes every socket due check at once.
    realtime_recheck_seconds: float = 30.0
    # Each worker keeps who a session is (user, org, role, permissions, MFA state) for at
    # most this long (0: off; SECURITY.md rule 6 allows 30 at most). Entries are dropped on
    # every instance when a change is announced; with Redis configured the cache is unused
    # while the worker's subscription is down (core/principal_cache.py).
    principal_cache_seconds: Annotated[float, msgspec.Meta(ge=0, le=30)] = 30.0
    # How often the scheduler applies the chat retention of every org.
    retention_interval_seconds: float = 3600.0

    # DNS servers for domain verification ("host" or "host:port"); empty: the system's.
    dns_nameservers: tuple[str, ...] = ()
    dns_timeout: float = 5.0
    # Self-signup: link lifetime, and requests per address and per IP in a window.
    signup_token_ttl: int = 24 * 3600
    signup_limit_per_email: int = 3
    signup_limit_per_ip: int = 20
    signup_limit_window: int = 3600
    # Access-code redemption, failed attempts in a window: a device's first few are free,
    # then each makes it wait twice as long (1 s, 2 s … up to the window); the address is
    # only a flood ceiling (a site's staff share one), the org keeps its own limit.
    redeem_device_free_fails: int = 5
    redeem_fail_limit_ip: int = 300
    redeem_fail_limit_org: int = 200
    redeem_fail_window: int = 900

    # SAML SSO. Absolute `next` targets allowed after login besides the app URL
    # (deep links of the mobile apps); a certificate and key to sign our SAML requests.
    sso_redirect_allowlist: tuple[str, ...] = ("staffroom://",)
    saml_sp_cert_file: str = ""
    saml_sp_key_file: str = ""
    saml_max_response_bytes: int = 512 * 1024
    sso_code_ttl: int = 60
    # Fetching IdP metadata from private or loopback addresses (SSRF); only for tests.
    sso_metadata_allow_private: bool = False

    # OAuth 2.0 authorization server (oauth/), lifetimes in seconds: authorization codes,
    # access tokens, and a grant's refresh tokens (unused for the idle time, or in all).
    oauth_code_ttl: int = 60
    oauth_access_token_ttl: int = 3600
    oauth_refresh_idle_ttl: int = 30 * 24 * 3600
    oauth_refresh_absolute_ttl: int = 365 * 24 * 3600
    # Days an ended grant (revoked, or past its lifetimes) is kept before it is deleted.
    oauth_grant_retention_days: int = 30

    def __post_init__(self) -> None:
        if not self.public_url:
            derived = default_public_url(self.host, self.port)
            msgspec.structs.force_setattr(self, "public_url", derived)

    def __repr__(self) -> str:
        # Settings may end up in a traceback or a debug print: never with the secrets.
        shown = {
            f: "***" if f in SECRET_FIELDS and getattr(self, f) else getattr(self, f)
            for f in self.__struct_fields__
        }
        return f"Settings({shown})"

    @property
    def pubnub_enabled(self) -> bool:
        """Whether PubNub relays chat (all three keys are set)."""
        return bool(
            self.pubnub_publish_key and self.pubnub_subscribe_key and self.pubnub_secret_key
        )

    @property
    def data_path(self) -> Path:
        """The folder for embedded data (SQLite, keys, outbox, media)."""
        return Path(self.data_dir)

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to SQLite in the data folder."""
        return self.database_url or f"sqlite:///{self.data_path / 'staffroom.db'}"

    @property
    def effective_app_url(self) -> str:
        """Where the web app lives: the target of links in emails."""
        return (self.app_url or self.public_url).rstrip("/")

    @property
    def effective_keys_file(self) -> Path:
        """The local key file (embedded key module)."""
        return Path(self.keys_file) if self.keys_file else self.data_path / "keys.json"


def default_public_url(host: str, port: int, scheme: str = "http") -> str:
    """The URL of a server bound to host and port, as a client on this machine reaches it
    (a wildcard address is reached on the loopback one)."""
    if host in ("", "0.0.0.0"):  # noqa: S104 (a bound address, not one to bind)
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


def public_url_configured(
    environ: typing.Mapping[str, str] | None = None, env_file: str | None = ".env"
) -> bool:
    """Whether STAFFROOM_PUBLIC_URL is set (else it follows the bound host and port)."""
    return bool(_raw(environ, env_file).get(f"{PREFIX}PUBLIC_URL"))


def _is_sequence(annotation: object) -> bool:
    return typing.get_origin(annotation) in (tuple, list)


def load_settings(
    environ: typing.Mapping[str, str] | None = None, env_file: str | None = ".env"
) -> Settings:
    """Read settings from `.env` then the environment (the environment wins)."""
    raw = _raw(environ, env_file)
    hints = typing.get_type_hints(Settings)
    values: dict[str, object] = {}
    for key, value in raw.items():
        if not key.startswith(PREFIX) or value is None:
            continue
        name = key[len(PREFIX) :].lower()
        if name not in hints:
            continue
        if _is_sequence(hints[name]):
            values[name] = [part.strip() for part in value.split(",") if part.strip()]
        else:
            values[name] = value
    try:
        return msgspec.convert(values, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SystemExit(f"invalid setting: {exc}") from exc


def _raw(environ: typing.Mapping[str, str] | None, env_file: str | None) -> dict[str, str | None]:
    raw: dict[str, str | None] = {}
    if env_file and Path(env_file).is_file():
        raw.update(dotenv_values(env_file))
    raw.update(os.environ if environ is None else environ)
    return raw


def unknown_settings(
    environ: typing.Mapping[str, str] | None = None, env_file: str | None = ".env"
) -> list[str]:
    """STAFFROOM_ variables that name no setting (a typo, or one that was replaced): they
    are ignored, and `staffroom serve` says so rather than run silently without them."""
    hints = typing.get_type_hints(Settings)
    return sorted(
        key
        for key in _raw(environ, env_file)
        if key.startswith(PREFIX) and key[len(PREFIX) :].lower() not in hints
    )
