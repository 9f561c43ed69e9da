"""Which domain answers which other domain's hooks: the one module that knows them all
(as `app.py` knows the routes). A lower domain declares a hook and a higher one answers
it, registered here on a runtime, so each app (and each command) has its own and two in
one process never call each other's."""

from __future__ import annotations

from staffroom.accounts.service import api_keys
from staffroom.accounts.service import hooks as members_hooks
from staffroom.accounts.service import personal_data as accounts_data
from staffroom.chat.service import access as chat_access
from staffroom.chat.service import credentials as chat_credentials
from staffroom.chat.service import hooks as chat_hooks
from staffroom.chat.service import personal_data as chat_data
from staffroom.core import personal_data, realtime
from staffroom.core.runtime import Runtime
from staffroom.feeds.service import events as feed_events
from staffroom.feeds.service import media as feed_media
from staffroom.feeds.service import media_access as feed_media_access
from staffroom.feeds.service import personal_data as feeds_data
from staffroom.oauth.service import access as oauth_access
from staffroom.oauth.service import personal as oauth_personal
from staffroom.onboarding.service import codes as onboarding_codes
from staffroom.onboarding.service import invites as onboarding_invites
from staffroom.settings import Settings
from staffroom.sso.service import identities as sso_identities
from staffroom.sso.service import login as sso_login
from staffroom.sso.service import personal_data as sso_data


def wire(rt: Runtime) -> Runtime:
    """Register every domain's hooks on this runtime; returns it."""
    # Deactivation (and erasure) ends what the person left elsewhere.
    members_hooks.on_deactivation(rt, onboarding_invites.revoke_for_user)
    members_hooks.on_deactivation(rt, onboarding_codes.revoke_for_user)
    members_hooks.on_deactivation(rt, chat_credentials.on_deactivation)
    members_hooks.on_deactivation(rt, api_keys.revoke_for_user)
    members_hooks.on_deactivation(rt, oauth_access.revoke_for_user)
    # OAuth access tokens are accepted at authentication like API keys.
    members_hooks.on_bearer_token(rt, (oauth_access.is_access_token, oauth_access.authenticate))
    members_hooks.on_login_methods(rt, sso_login.has_sso)
    members_hooks.on_sso_links(rt, sso_identities.linked)
    realtime.on_topics(rt, feed_events.topics_for)
    realtime.on_topics(rt, chat_access.topics_for)
    chat_hooks.on_attachment_check(rt, feed_media.check_attachments)
    # The reverse question: media asks chat whether the caller may read a message's file.
    feed_media_access.on_media_use(rt, chat_access.media_use)
    _personal_data(rt)
    return rt


def _personal_data(rt: Runtime) -> None:
    """What each domain holds about a person, for compliance's GDPR export and erasure.
    The export lists their files in this order; erasure runs them backwards, so accounts
    (first) marks the person erased once the others have let go."""
    personal_data.register(rt, "accounts", accounts_data.export_for, accounts_data.erase)
    personal_data.register(rt, "feeds", feeds_data.export_for, feeds_data.erase)
    personal_data.register(rt, "sso", sso_data.export_for, sso_data.erase)
    personal_data.register(rt, "chat", chat_data.export_for, chat_data.erase)
    audit_events, kept = personal_data.audit_events_for, personal_data.keep_audit_events
    personal_data.register(rt, "audit", audit_events, kept)
    # Uploads last: their stored bytes go first on erasure, while the rows still say which.
    personal_data.register(rt, "media", feeds_data.media_for, feeds_data.erase_media)
    personal_data.register(rt, "oauth", oauth_personal.export_for, oauth_personal.erase)


def build_runtime(settings: Settings) -> Runtime:
    """A runtime for these settings with every domain's hooks registered (an app's, a
    command's)."""
    return wire(Runtime.build(settings))
