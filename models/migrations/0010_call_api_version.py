from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# A column added, never an altered one: on SQLite an AlterField on `calls` rebuilds the table, which drops
# the call_counts triggers of 0003.


class Migration(migrations.Migration):
    dependencies = [('models', '0009_account_limits')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Call',
            name='api_version',
            field=fields.CharField(default='2012-04-24', max_length=10),
        ),
    ]
