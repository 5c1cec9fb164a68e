from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# A column added, never an altered one: on SQLite an AlterField on `calls` rebuilds the table, which drops
# the call_counts triggers of 0003 (tests/test_call_muted_storage.py checks they survive this one too).


class Migration(migrations.Migration):
    dependencies = [('models', '0006_answered_by_detail')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Call',
            name='muted',
            field=fields.BooleanField(default=False),
        ),
    ]
