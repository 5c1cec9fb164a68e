from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# Whole-call recordings (Twilio's Record=true on create) have two channels, another source and a start time of
# their own; columns added, never altered (see 0007).


class Migration(migrations.Migration):
    dependencies = [('models', '0014_sip_messages')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Recording',
            name='channels',
            field=fields.SmallIntField(default=1),
        ),
        ops.AddField(
            model_name='Recording',
            name='source',
            field=fields.CharField(default='RecordVerb', max_length=32),
        ),
        ops.AddField(
            model_name='Recording',
            name='start_time',
            field=fields.DatetimeField(null=True),
        ),
    ]
