from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Text, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-03T08:17:42:251097"
VERSION = "1.38.0"
DESCRIPTION = "mail bodies sealed, dropped once delivered"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="core", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="MailMessage",
        tablename="mail_message",
        column_name="sealed_body",
        db_column_name="sealed_body",
        column_class_name="Text",
        column_class=Text,
        params={
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    # Mail delivered (or given up on) before bodies were sealed still holds its links in
    # the clear: dropped. Mail still queued is delivered from its clear copy, which
    # delivery then drops too.
    class MailMessage(Table, tablename="mail_message"):
        status = Varchar(length=20)
        text_body = Text()
        html_body = Text()

    async def drop_delivered_bodies():
        await MailMessage.update(
            {MailMessage.text_body: "", MailMessage.html_body: ""}
        ).where(MailMessage.status.is_in(["sent", "failed"]))

    manager.add_raw(drop_delivered_bodies)

    return manager
