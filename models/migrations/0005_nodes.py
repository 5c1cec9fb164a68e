from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from typing import Any

# The survivors' sweep asks which nodes own live calls every few seconds: a partial index holds the live calls
# only, so the question costs the same with a thousand live calls in a table of millions. The same SQL on
# SQLite and PostgreSQL; creating an index never rebuilds the table (0003's triggers stay).
_LIVE_OWNER_INDEX = """
CREATE INDEX IF NOT EXISTS calls_live_owner ON calls (owner_node)
    WHERE status IN ('queued', 'ringing', 'in-progress');
CREATE INDEX IF NOT EXISTS conferences_live_owner ON conferences (owner_node) WHERE status <> 'completed';
"""


async def install(_apps: Any, schema_editor: Any) -> None:
    await schema_editor.client.execute_script(_LIVE_OWNER_INDEX)


class Migration(migrations.Migration):
    dependencies = [('models', '0004_conferences')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Node',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('sip_address', fields.CharField(default='', max_length=128)),
                ('http_address', fields.CharField(default='', max_length=256)),
                ('state', fields.CharField(default='active', max_length=16)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('lease_expires', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'nodes', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Server processes sharing this database, each alive while its lease is current.'},
            bases=['Model'],
        ),
        ops.RunPython(install),
    ]
