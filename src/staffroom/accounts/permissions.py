"""Named permissions and the built-in roles (custom roles are sets of the same names)."""

from __future__ import annotations

from types import MappingProxyType

PERMISSIONS: MappingProxyType[str, str] = MappingProxyType(
    {
        "org.manage": "Change organisation settings (MFA policy, login methods)",
        "users.read": "See the staff directory",
        "users.manage": "Change roles and groups, deactivate and reactivate users",
        "users.invite": "Invite staff and hand out access codes",
        "users.mfa_reset": "Reset another user's second factor",
        "groups.manage": "Create, rename and delete groups and their members",
        "roles.manage": "Create and change custom roles",
        "domains.manage": "Bind and verify email domains",
        "sso.manage": "Configure single sign-on",
        "audit.read": "Read the audit log",
        "api_keys.manage": "Create and revoke API keys",
        "oauth_clients.manage": "Register and disable OAuth apps",
        "feeds.read": "Read the news feed",
        "feeds.comment": "Comment on and react to posts",
        "feeds.publish": "Publish posts",
        "feeds.manage": "Manage channels and moderate posts",
        "chat.use": "Chat with colleagues",
        "chat.moderate": "Delete any chat message and start announcement conversations",
        "compliance.manage": "Export and erase personal data, run backups",
    }
)

_EMPLOYEE = frozenset({"users.read", "feeds.read", "feeds.comment", "chat.use"})

BUILTIN_ROLES: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        "owner": frozenset(PERMISSIONS),
        "admin": frozenset(PERMISSIONS) - {"compliance.manage"},
        "hr_admin": _EMPLOYEE
        | {
            "users.manage",
            "users.invite",
            "groups.manage",
            "feeds.publish",
            "audit.read",
            "chat.moderate",
        },
        "editor": _EMPLOYEE | {"feeds.publish", "feeds.manage"},
        "member": _EMPLOYEE,
        "guest": frozenset({"feeds.read"}),
    }
)

BUILTIN_NAMES = MappingProxyType(
    {
        "owner": "Owner",
        "admin": "IT admin",
        "hr_admin": "HR admin",
        "editor": "Editor",
        "member": "Member",
        "guest": "Guest",
    }
)
