from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# Columns added to `registrations` only (the calls table and its triggers are not touched).


class Migration(migrations.Migration):
    dependencies = [('models', '0010_call_api_version')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Registration',
            name='behind_nat',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='Registration',
            name='path',
            field=fields.TextField(default=''),
        ),
    ]
