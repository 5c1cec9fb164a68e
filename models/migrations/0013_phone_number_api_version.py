from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [('models', '0012_account_suspended_by')]

    initial = False

    operations = [
        ops.AddField(
            model_name='IncomingPhoneNumber',
            name='api_version',
            field=fields.CharField(default='2012-04-24', max_length=10),
        ),
    ]
