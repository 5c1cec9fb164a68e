from tortoise import migrations
from tortoise.migrations import operations as ops
from typing import Any

# One live room per (account, name), held by the database: nodes that open the same room at once race on the
# insert, and the loser finds the winner's row (calls/rooms.py). A partial unique index (the same SQL on
# SQLite and PostgreSQL): completed rooms keep their names, any number of times. An index, not an altered
# table: nothing is rebuilt (0003's call_counts triggers live on `calls`, untouched here anyway).
# Rooms of the same name opened on two nodes before this index existed: the newest stays live, the others
# are closed first (their participants with them), or the index could not be built.
_ONE_LIVE_ROOM = """
DELETE FROM participants WHERE conference_sid IN (
    SELECT older.sid FROM conferences AS older JOIN conferences AS newer
        ON newer.account_sid = older.account_sid AND newer.friendly_name = older.friendly_name
       AND newer.status <> 'completed' AND older.status <> 'completed'
       AND (newer.date_created > older.date_created
            OR (newer.date_created = older.date_created AND newer.sid > older.sid)));
UPDATE conferences SET status = 'completed' WHERE status <> 'completed' AND EXISTS (
    SELECT 1 FROM conferences AS newer
     WHERE newer.account_sid = conferences.account_sid AND newer.friendly_name = conferences.friendly_name
       AND newer.status <> 'completed'
       AND (newer.date_created > conferences.date_created
            OR (newer.date_created = conferences.date_created AND newer.sid > conferences.sid)));
CREATE UNIQUE INDEX IF NOT EXISTS conferences_one_live_name ON conferences (account_sid, friendly_name)
    WHERE status <> 'completed';
"""


async def install(_apps: Any, schema_editor: Any) -> None:
    await schema_editor.client.execute_script(_ONE_LIVE_ROOM)


class Migration(migrations.Migration):
    dependencies = [('models', '0015_recording_channels')]

    initial = False

    operations = [
        ops.RunPython(install),
    ]
