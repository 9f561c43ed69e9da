"""Piccolo app for compliance."""

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

APP_CONFIG = AppConfig(
    app_name="compliance",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=table_finder(modules=["staffroom.compliance.tables"], exclude_imported=True),
    migration_dependencies=["staffroom.accounts.piccolo_app"],
    commands=[],
)
