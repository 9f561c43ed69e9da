"""Piccolo app for core's tables."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from staffroom.core.tables import AuditChain, AuditEvent, MailMessage

APP_CONFIG = AppConfig(
    app_name="core",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[AuditEvent, AuditChain, MailMessage],
    migration_dependencies=[],
    commands=[],
)
