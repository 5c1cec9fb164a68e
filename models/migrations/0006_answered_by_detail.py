from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# A column added, never an altered one: on SQLite an AlterField on `calls` rebuilds the table, which drops
# the call_counts triggers of 0003 (tests/test_migrations_amd.py checks they survive).


class Migration(migrations.Migration):
    dependencies = [('models', '0005_nodes')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Call',
            name='answered_by_detail',
            field=fields.CharField(null=True, max_length=24),
        ),
    ]
