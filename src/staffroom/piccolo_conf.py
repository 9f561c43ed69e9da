"""Piccolo configuration: the engine comes from Settings (STAFFROOM_DATABASE_URL)."""

from piccolo.conf.apps import AppRegistry

from staffroom.core.db.engine import engine_for
from staffroom.settings import load_settings

DB = engine_for(load_settings().effective_database_url)

APP_REGISTRY = AppRegistry(
    apps=[
        "staffroom.core.piccolo_app",
        "staffroom.accounts.piccolo_app",
        "staffroom.onboarding.piccolo_app",
        "staffroom.sso.piccolo_app",
        "staffroom.feeds.piccolo_app",
        "staffroom.chat.piccolo_app",
        "staffroom.compliance.piccolo_app",
        "staffroom.oauth.piccolo_app",
    ]
)
