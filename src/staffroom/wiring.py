"""Which domain answers which other domain's hooks: the one module that knows them all
(as `app.py` knows the routes). A lower domain declares a hook and a higher one answers
it, registered here on a runtime, so each app (and each command) has its own and two in
one process never call each other's."""

from __future__ import annotations

from staffroom.accounts.service import api_keys
from staffroom.accounts.service import hooks as members_hooks
from staffroom.chat.service import access as chat_access
from staffroom.chat.service import credentials as chat_credentials
from staffroom.chat.service import hooks as chat_hooks
from staffroom.core import realtime
from staffroom.core.runtime import Runtime
from staffroom.feeds.service import events as feed_events
from staffroom.feeds.service import media as feed_media
from staffroom.feeds.service import media_access as feed_media_access
from staffroom.oauth.service import access as oauth_access
from staffroom.onboarding.service import codes as onboarding_codes
from staffroom.onboarding.service import invites as onboarding_invites
from staffroom.settings import Settings
from staffroom.sso.service import identities as sso_identities
from staffroom.sso.service import login as sso_login


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
    return rt


def build_runtime(settings: Settings) -> Runtime:
    """A runtime for these settings with every domain's hooks registered (an app's, a
    command's)."""
    return wire(Runtime.build(settings))
