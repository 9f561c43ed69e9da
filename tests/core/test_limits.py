"""Rate limits are named once (core/limits.py) and keep the counter keys they always had;
one factory (core/redis_client.py) makes every Redis client."""

from __future__ import annotations

import ast
from pathlib import Path

import msgspec

from staffroom.core import limits
from staffroom.core.ratelimit import Bucket, Rule

SRC = Path(__file__).resolve().parents[2] / "src" / "staffroom"
_LIMITER_CALLS = {"hit", "check", "clear", "take", "fail_with_backoff", "check_backoff"}


def _modules() -> list[tuple[str, ast.Module]]:
    return [
        (str(path.relative_to(SRC)), ast.parse(path.read_text()))
        for path in sorted(SRC.rglob("*.py"))
        if "piccolo_migrations" not in path.parts
    ]


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def test_no_rule_or_counter_key_is_written_outside_core_limits() -> None:
    rules, keys = [], []
    for module, tree in _modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _name(node.func)
            if name in ("Rule", "Bucket") and module not in ("core/limits.py", "core/ratelimit.py"):
                rules.append(f"{module}:{node.lineno}")
            on_limiter = isinstance(node.func, ast.Attribute) and _name(node.func.value) in (
                "limiter",
                "store",
            )
            if on_limiter and name in _LIMITER_CALLS and module != "core/ratelimit.py":
                if any(isinstance(arg, ast.JoinedStr | ast.Constant) for arg in node.args):
                    keys.append(f"{module}:{node.lineno}")
    assert rules == [], f"rate-limit rules written in place (name them in core/limits.py): {rules}"
    assert keys == [], f"counter keys written in place (use a named limit's key): {keys}"


def test_named_limits_count_under_the_keys_they_always_had(settings) -> None:
    s = msgspec.structs.replace(settings, login_fail_limit_ip=7, login_fail_window=600)
    assert limits.LOGIN_IP.at(s, "203.0.113.9") == ("login:ip:203.0.113.9", Rule(7, 600))
    assert limits.LOGIN_ACCOUNT.key("acme", "mia") == "login:acct:acme:mia"
    assert limits.MFA_IP.key("::1") == "mfa:ip:::1"
    assert limits.RESET_ACCOUNT.key("acme", "mia") == "reset:acct:acme:mia"
    assert limits.SIGNUP_ADDRESS.key("acme", "a@b.example") == "signup:addr:acme:a@b.example"
    assert limits.REDEEM_DEVICE.key("ab12") == "redeem:device:ab12"
    assert limits.SSO_DOCTOR_UNSIGNED.at(s, "o", "i") == ("sso_doctor:unsigned:o:i", Rule(10, 60))
    assert limits.GDPR_EXPORT.at(s, "u") == ("gdpr-export:u", Rule(5, 86400))
    assert limits.CHAT_CREDENTIALS.at(s, "u") == ("chat-credentials:u", Rule(60, 900))
    assert limits.PER_IP.at(s, "10.0.0.1") == (
        "ip:10.0.0.1",
        Bucket(s.rate_ip_per_second, s.rate_ip_burst),
    )
    assert limits.PER_USER.key("u") == "user:u" and limits.PER_API_KEY.key("k") == "key:k"
    # Every name is different: no two limits share a counter.
    named = [v for v in vars(limits).values() if isinstance(v, limits.Limit | limits.BucketLimit)]
    names = [limit.name for limit in named]
    assert len(names) == len(set(names)) >= 20


def test_every_redis_client_comes_from_the_one_factory() -> None:
    made = {
        module
        for module, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _name(node.func) in ("from_url", "Redis", "StrictRedis")
    }
    assert made == {"core/redis_client.py"}, made
