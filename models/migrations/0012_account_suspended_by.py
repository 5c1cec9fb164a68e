from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# A column added to `accounts` only (the calls table and its triggers are not touched).


class Migration(migrations.Migration):
    dependencies = [('models', '0011_registration_nat_and_path')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Account',
            name='suspended_by',
            field=fields.CharField(max_length=34, null=True),
        ),
    ]
