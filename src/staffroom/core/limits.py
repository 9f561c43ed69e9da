"""Every rate limit by name: what it counts (its key) and how much (its rule).

A limit's keys are its name and the subject it counts (an address, a person, an org …),
so the counters in the store say which limit they belong to; its rule comes from the
settings where an operator may change it. Services count against a limit with
`rt.limiter.hit(*LOGIN_IP.at(settings, ctx.ip))` (and `check`, `clear`,
`fail_with_backoff`): nothing else names a key or writes a rule. The keys are the ones
the code used before they were named here, so counters survive an upgrade.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from staffroom.core.ratelimit import Bucket, Rule
from staffroom.settings import Settings


@dataclass(frozen=True)
class Limit:
    """A named fixed-window limit: at most `rule(settings)` hits per key and window."""

    name: str
    rule: Callable[[Settings], Rule]

    def key(self, *subject: object) -> str:
        """The counter of one subject (an address, a person, an org and a login …)."""
        return ":".join([self.name, *(str(part) for part in subject)])

    def at(self, settings: Settings, *subject: object) -> tuple[str, Rule]:
        """(key, rule) of one subject, as the limiter takes them."""
        return self.key(*subject), self.rule(settings)


def _fixed(limit: int, window: int) -> Callable[[Settings], Rule]:
    rule = Rule(limit, window)
    return lambda _settings: rule


def _login_ip(s: Settings) -> Rule:
    return Rule(s.login_fail_limit_ip, s.login_fail_window)


def _login_account(s: Settings) -> Rule:
    return Rule(s.login_fail_limit_account, s.login_fail_window)


# Failed sign-ins, per address and per account (org and login); the account's counter
# is cleared by a success.
LOGIN_IP = Limit("login:ip", _login_ip)
LOGIN_ACCOUNT = Limit("login:acct", _login_account)
# Wrong or expired second-factor challenges, per address.
MFA_IP = Limit("mfa:ip", _login_ip)
# Proving one's password again (before changing MFA, address …), per person.
PASSWORD_CONFIRM = Limit("pwconfirm", _login_account)
# Password-reset requests, per address and per account.
RESET_IP = Limit("reset:ip", lambda s: Rule(s.reset_limit_per_ip, s.reset_limit_window))
RESET_ACCOUNT = Limit("reset:acct", lambda s: Rule(s.reset_limit_per_login, s.reset_limit_window))
# Address-change requests, per person.
EMAIL_CHANGE = Limit("email_change", _fixed(5, 3600))

# Self-signup requests per address and per (org, email), and bad sign-up links per address.
SIGNUP_IP = Limit("signup:ip", lambda s: Rule(s.signup_limit_per_ip, s.signup_limit_window))
SIGNUP_ADDRESS = Limit(
    "signup:addr", lambda s: Rule(s.signup_limit_per_email, s.signup_limit_window)
)
SIGNUP_COMPLETE_IP = Limit("signup_complete:ip", _login_ip)
# Bad invitation links, per address (only bad ones: a whole office behind one NAT
# address accepting its invitations must get through).
INVITE_ACCEPT_IP = Limit("invite:ip", _login_ip)
# Failed access-code redemptions per address and per org; each device gets a few free
# failures, then waits twice as long after each (`RateLimiter.fail_with_backoff`).
REDEEM_IP = Limit("redeem:ip", lambda s: Rule(s.redeem_fail_limit_ip, s.redeem_fail_window))
REDEEM_ORG = Limit("redeem:org", lambda s: Rule(s.redeem_fail_limit_org, s.redeem_fail_window))
REDEEM_DEVICE = Limit(
    "redeem:device", lambda s: Rule(s.redeem_device_free_fails, s.redeem_fail_window)
)
# DNS look-ups of domain proofs, per org: they cost the org nothing but time; this stops
# a script hammering resolvers.
DOMAIN_VERIFY = Limit("domain_verify", _fixed(30, 3600))

# Bad single sign-on codes, per address.
SSO_EXCHANGE_IP = Limit("sso_exchange:ip", _login_ip)
# Unsigned SAML attempts the SSO doctor records, per IdP (or per org for unknown issuers).
SSO_DOCTOR_UNSIGNED = Limit("sso_doctor:unsigned", _fixed(10, 60))

# Failed OAuth client or grant checks (token, revocation, introspection), per address.
OAUTH_IP = Limit("oauth:ip", _login_ip)

# Chat credentials, per person: a device asks every few minutes; far more is a loop or abuse.
CHAT_CREDENTIALS = Limit("chat-credentials", _fixed(60, 900))
# Data exports, per person.
GDPR_EXPORT = Limit("gdpr-export", _fixed(5, 24 * 3600))


@dataclass(frozen=True)
class BucketLimit:
    """A named token bucket: a steady rate with bursts (the general limits)."""

    name: str
    bucket: Callable[[Settings], Bucket]

    def key(self, *subject: object) -> str:
        """The bucket of one subject."""
        return ":".join([self.name, *(str(part) for part in subject)])

    def at(self, settings: Settings, *subject: object) -> tuple[str, Bucket]:
        """(key, bucket) of one subject, as `RateLimiter.take` takes them."""
        return self.key(*subject), self.bucket(settings)


def _user_bucket(s: Settings) -> Bucket:
    return Bucket(s.rate_user_per_second, s.rate_user_burst)


# Every request, per client address (the forwarded one behind trusted proxies).
PER_IP = BucketLimit("ip", lambda s: Bucket(s.rate_ip_per_second, s.rate_ip_burst))
# Every authenticated request, per person and per API key.
PER_USER = BucketLimit("user", _user_bucket)
PER_API_KEY = BucketLimit("key", _user_bucket)
# An OAuth client acting for itself (client credentials); a person's app shares PER_USER.
PER_OAUTH_CLIENT = BucketLimit("oauth", _user_bucket)
