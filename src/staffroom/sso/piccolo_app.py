"""Piccolo app for single sign-on."""

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

APP_CONFIG = AppConfig(
    app_name="sso",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=table_finder(
        modules=["staffroom.sso.tables", "staffroom.sso.oidc.tables"], exclude_imported=True
    ),
    migration_dependencies=["staffroom.accounts.piccolo_app"],
    commands=[],
)
