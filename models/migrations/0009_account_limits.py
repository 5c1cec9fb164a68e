from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# Columns added to `accounts` (not `calls`): nothing rebuilds the calls table and its 0003 triggers.


class Migration(migrations.Migration):
    dependencies = [('models', '0008_call_events_and_twiml')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Account',
            name='calls_per_second',
            field=fields.FloatField(null=True),
        ),
        ops.AddField(
            model_name='Account',
            name='max_concurrent_calls',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Account',
            name='max_concurrent_requests',
            field=fields.IntField(null=True),
        ),
    ]
