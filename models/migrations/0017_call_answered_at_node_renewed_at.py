from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# Columns added, never altered (see 0007): what a survivor needs to give a dead node's answered calls their
# real duration, answered_at -> the node's last lease renewal (calls/cluster/reaper.py).


class Migration(migrations.Migration):
    dependencies = [('models', '0016_one_live_room')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Call',
            name='answered_at',
            field=fields.DatetimeField(null=True),
        ),
        ops.AddField(
            model_name='Node',
            name='renewed_at',
            field=fields.DatetimeField(null=True),
        ),
    ]
