from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

# A new table; the calls table is not touched (0003's triggers stay).


class Migration(migrations.Migration):
    dependencies = [('models', '0013_phone_number_api_version')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SipMessage',
            fields=[
                ('sid', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=34)),
                ('account_sid', fields.CharField(max_length=34)),
                ('call_sid', fields.CharField(max_length=34)),
                ('date_created', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('direction', fields.CharField(max_length=8)),
                ('peer', fields.CharField(max_length=64)),
                ('sip_call_id', fields.CharField(max_length=256)),
                ('cseq', fields.IntField(null=True)),
                ('method', fields.CharField(max_length=16)),
                ('status_code', fields.IntField(null=True)),
                ('reason', fields.CharField(null=True, max_length=128)),
                ('summary', fields.TextField()),
            ],
            options={'table': 'sip_messages', 'app': 'models', 'indexes': [Index(fields=['call_sid', 'date_created', 'sid'], name='sip_messages_call_page'), Index(fields=['date_created'], name='sip_messages_age')], 'pk_attr': 'sid'},
            bases=['Model'],
        ),
    ]
